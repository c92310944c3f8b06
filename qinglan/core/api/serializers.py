"""Serializers generated from a resource. They describe the API (and its OpenAPI schema);
writes are validated by the resource's own model form and saved by the generic services,
so the API and the UI share one validation path, one change log and one set of events."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from .. import services
from ..forms import QueryLike, form_data_from_instance
from ..models import CustomFieldsMixin, TagsMixin


# What a yes/no field accepts through the API besides JSON true and false (HTML forms post "on").
TRUE_WORDS = {"true", "on", "yes", "1"}
BOOLEAN_WORDS = TRUE_WORDS | {"false", "off", "no", "0", ""}


class ResourceSerializer(serializers.ModelSerializer):
    display = serializers.SerializerMethodField(help_text="The record's name as shown in the UI.")
    resource = None

    def get_display(self, obj) -> str:
        return str(obj)

    def get_fields(self):
        fields = super().get_fields()
        model = self.Meta.model
        if issubclass(model, CustomFieldsMixin):
            fields["custom_fields"] = serializers.JSONField(required=False, help_text="Values of custom fields by name.")
        if issubclass(model, TagsMixin):
            fields["tags"] = serializers.ListField(child=serializers.CharField(), required=False, help_text="Tag slugs.")
        return fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if isinstance(instance, CustomFieldsMixin):
            data["custom_fields"] = instance.custom_field_data or {}
        if isinstance(instance, TagsMixin):
            data["tags"] = [item.tag.slug for item in instance.tagged_items.select_related("tag")]
        return data

    # ---- writes through the model form -----------------------------------------------
    def _form_data(self, instance):
        resource = self.resource
        names = list(resource.form_fields())
        data = form_data_from_instance(resource, instance) if instance is not None and instance.pk else {}
        incoming = self.initial_data
        for name in names:
            if name in incoming:
                data[name] = incoming[name]
        custom = incoming.get("custom_fields") or {}
        if not isinstance(custom, dict):
            raise serializers.ValidationError({"custom_fields": _("Expected an object of field name → value.")})
        for key, value in custom.items():
            data[f"cf_{key}"] = value
        self._check_booleans(data)
        if "tags" in incoming:
            from qinglan.extras.models import Tag

            slugs = incoming.get("tags") or []
            tags = list(Tag.objects.filter(slug__in=slugs).values_list("pk", "slug"))
            unknown = set(slugs) - {slug for _pk, slug in tags}
            if unknown:
                raise serializers.ValidationError({"tags": _("Unknown tags: %(names)s") % {"names": ", ".join(sorted(unknown))}})
            data["tags"] = [pk for pk, _slug in tags]
        return data

    def _check_booleans(self, data):
        """A form's checkbox takes any text for "yes"; the API takes true or false (or the
        words of BOOLEAN_WORDS) and refuses anything else."""
        from qinglan.extras.customfields import field_defs_for

        booleans = {name for name in data if isinstance(self.resource.model_field(name), models.BooleanField)}
        if issubclass(self.Meta.model, CustomFieldsMixin):
            booleans |= {f"cf_{d.name}" for d in field_defs_for(self.Meta.model) if d.type == "boolean"}
        errors = {}
        for name in sorted(booleans & set(data)):
            value = data[name]
            if value is None:
                continue
            if isinstance(value, (bool, int)) and value in (0, 1):
                data[name] = bool(value)
            elif isinstance(value, str) and value.strip().lower() in BOOLEAN_WORDS:
                data[name] = value.strip().lower() in TRUE_WORDS  # the form's checkbox reads any text as yes
            else:
                message = _("“%(value)s” is not true or false.") % {"value": value}
                if name.startswith("cf_"):
                    errors.setdefault("custom_fields", []).append(f"{name[3:]}: {message}")
                else:
                    errors.setdefault(name, []).append(message)
        if errors:
            raise serializers.ValidationError(errors)

    def validate(self, attrs):
        user = self.context["request"].user
        form = self.resource.form_class(data=QueryLike(self._form_data(self.instance)), instance=self.instance, user=user, purpose="api")
        self._form = form  # also when invalid: a subclass may add what the form found to the 400
        if not form.is_valid():
            errors = {}
            for key, messages in form.errors.items():
                name = "non_field_errors" if key == "__all__" else ("custom_fields" if key.startswith("cf_") else key)
                errors.setdefault(name, []).extend(f"{key[3:]}: {m}" if key.startswith("cf_") else m for m in messages)
            raise serializers.ValidationError(errors)
        return attrs

    def create(self, validated_data):
        return services.create_record(form=self._form, user=self.context["request"].user)

    def update(self, instance, validated_data):
        return services.update_record(form=self._form, user=self.context["request"].user)


def resource_serializer_factory(resource):
    names = ["id", "display", *resource.form_fields()]
    for name in resource.columns:
        field = resource.model_field(name)
        if field is not None and name not in names and not isinstance(field, models.ManyToManyField):
            names.append(name)
    read_only = [name for name in names if name not in resource.form_fields() and name not in ("display",)]
    if "created" in {f.name for f in resource.model._meta.fields}:
        names += ["created", "last_updated"]
        read_only += ["created", "last_updated"]
    meta = type(
        "Meta",
        (),
        {"model": resource.model, "fields": names, "read_only_fields": read_only, "ref_name": f"{resource.app_label}.{resource.model.__name__}"},
    )
    return type(f"{resource.model.__name__}Serializer", (ResourceSerializer,), {"Meta": meta, "resource": resource})
