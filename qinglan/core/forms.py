"""Forms generated from a resource: the model form (with custom fields and tags), child
formsets, bulk edit and import mapping."""

from django import forms
from django.db import models
from django.forms import inlineformset_factory, modelform_factory
from django.utils.translation import gettext_lazy as _

from .models import CustomFieldsMixin, TagsMixin
from .widgets import AutocompleteSelect, prepare_reference_fields

# Django 6.1's label of the empty choice; its own Chinese catalogues lack it, ours have it.
BLANK_CHOICE_LABEL = _("- Select an option -")

WIDGET_CLASSES = {
    forms.CheckboxInput: "form-check-input",
    forms.Select: "form-select",
    forms.SelectMultiple: "form-select",
    forms.NullBooleanSelect: "form-select",
}


def style_field(field):
    """Bootstrap classes on a form field's widget."""
    widget = field.widget
    css = next((cls for kind, cls in WIDGET_CLASSES.items() if isinstance(widget, kind)), "form-control")
    if isinstance(widget, forms.CheckboxSelectMultiple):
        css = ""
    existing = widget.attrs.get("class", "")
    widget.attrs["class"] = f"{existing} {css}".strip()
    if isinstance(widget, forms.DateInput) and not isinstance(widget, forms.DateTimeInput):
        widget.input_type = "date"
        widget.format = "%Y-%m-%d"
    elif isinstance(widget, forms.DateTimeInput):
        widget.input_type = "datetime-local"
        widget.format = "%Y-%m-%dT%H:%M"


class StyledFormMixin:
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            style_field(field)


class ResourceForm(StyledFormMixin, forms.ModelForm):
    """Model form plus custom fields (``cf_<name>``) and tags. `purpose` is "ui", "api" or
    "import", for the rare field that differs (e.g. a new member's password)."""

    def __init__(self, *args, user=None, purpose="ui", **kwargs):
        self.user = user
        self.purpose = purpose
        super().__init__(*args, **kwargs)
        from qinglan.extras.customfields import field_defs_for

        self.custom_field_defs = []
        if isinstance(self.instance, CustomFieldsMixin):
            data = self.instance.custom_field_data or {}
            for definition in field_defs_for(self._meta.model):
                form_field = definition.form_field()
                style_field(form_field)
                if self.instance.pk:
                    form_field.initial = definition.to_form(data.get(definition.name))
                self.fields[f"cf_{definition.name}"] = form_field
                self.custom_field_defs.append(definition)
        if isinstance(self.instance, TagsMixin):
            from qinglan.extras.models import Tag

            self.fields["tags"] = forms.ModelMultipleChoiceField(
                Tag.objects.all(), required=False, label=_("tags"), widget=forms.SelectMultiple(attrs={"class": "form-select"})
            )
            if self.instance.pk:
                self.fields["tags"].initial = [item.tag_id for item in self.instance.tagged_items.all()]
        self._restrict_choices()

    # Set by the import for a file's new records: checks that read the database once per record
    # (uniqueness, a subclass's duplicate search) are then made for a chunk of rows at once by
    # the import (see core.imports.RowValidator and Resource.check_created).
    batch_checks = False

    def rebind(self, data, instance):
        """Validate another record with this same form: an import checks thousands of rows
        with one form, because building a form costs more than validating a row with it."""
        self.data = data
        self.instance = instance
        self.is_bound = True
        self._errors = None
        self.__dict__.pop("changed_data", None)

    def _get_validation_exclusions(self):
        exclude = super()._get_validation_exclusions()
        if self.batch_checks:
            # A reference the form field accepted was looked up in that field's queryset
            # (limit_choices_to and the member's scope included); the model need not look again.
            exclude |= {name for name, field in self.fields.items() if isinstance(field, forms.ModelChoiceField)}
        return exclude

    def validate_unique(self):
        if not self.batch_checks:
            super().validate_unique()

    def validate_constraints(self):
        if not self.batch_checks:
            super().validate_constraints()

    def _restrict_choices(self):
        """Reference fields offer only the records the member may see."""
        if self.user is not None:
            prepare_reference_fields(self.fields, self.user)

    def clean(self):
        cleaned = super().clean()
        for name, value in cleaned.items():
            # An empty optional unique code is "no code", not a second "" that collides.
            if value == "":
                field = self._meta.model._meta.get_field(name) if name in self._meta.fields else None
                if isinstance(field, models.CharField) and field.null and field.unique:
                    cleaned[name] = None
        if self.custom_field_defs:
            data = dict(self.instance.custom_field_data or {})
            for definition in self.custom_field_defs:
                key = f"cf_{definition.name}"
                if key in cleaned:
                    data[definition.name] = definition.to_json(cleaned[key])
            self.instance.custom_field_data = data
        return cleaned

    def save_tags(self, instance):
        if "tags" not in self.fields or "tags" not in self.cleaned_data:
            return
        from qinglan.extras.models import set_tags

        set_tags(instance, self.cleaned_data["tags"])

    @property
    def custom_field_names(self):
        return [f"cf_{definition.name}" for definition in self.custom_field_defs]


class TreeForm(ResourceForm):
    """Form of a tree node (see core.models.TreeModel): where it sits comes with its name;
    a node cannot be moved under itself or its own descendants."""

    parent = forms.ModelChoiceField(queryset=None, required=False, label=_("parent"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["parent"]
        field.queryset = self._meta.model._default_manager.all()
        if self.instance.pk:
            field.initial = self.instance.parent
            field.queryset = field.queryset.exclude(path__startswith=self.instance.path)
        if self.user is not None:
            prepare_reference_fields({"parent": field}, self.user)
        style_field(field)
        self.order_fields(["parent"])

    def save(self, commit=True):
        self.instance.new_parent = self.cleaned_data.get("parent")
        return super().save(commit)


def resource_form_factory(resource):
    from .models import TreeModel

    names = [name for name in resource.form_fields()]
    base = TreeForm if issubclass(resource.model, TreeModel) else ResourceForm
    return modelform_factory(resource.model, form=base, fields=names)


class ChildFormSetBase(forms.BaseInlineFormSet):
    """Lines of a record; their references are restricted like the parent form's, and
    narrowed by the record when the Child says how (`Child.limit`)."""

    child = None  # the resource's Child declaration (set by child_formset_factory)

    def __init__(self, *args, user=None, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def _construct_form(self, i, **kwargs):
        return self._prepare(super()._construct_form(i, **kwargs))

    @property
    def empty_form(self):
        return self._prepare(super().empty_form)

    def _prepare(self, form):
        limit = getattr(self.child, "limit", None)
        if limit is not None:
            for name, field in form.fields.items():
                if getattr(field, "queryset", None) is not None:
                    field.queryset = limit(self.instance, name, field.queryset)
        if self.user is not None:
            # Not the line's own id: it picks one of the parent's lines, which the formset
            # already limits to that record (and lines have no grants of their own).
            pk_name = self.model._meta.pk.name
            prepare_reference_fields({name: field for name, field in form.fields.items() if name != pk_name}, self.user)
        for field in form.fields.values():
            style_field(field)
        return form


def child_formset_factory(resource, name, child):
    formset = inlineformset_factory(
        resource.model,
        child.model,
        form=child.form or forms.ModelForm,
        formset=ChildFormSetBase,
        fk_name=child.fk_name,
        fields=child.fields,
        extra=child.extra,
        min_num=child.min_num,
        validate_min=bool(child.min_num),
        can_delete=True,
    )
    formset.child = child
    return formset


class BulkEditForm(StyledFormMixin, forms.Form):
    """One field per bulk-editable model field, each with a 'set this' switch."""

    def __init__(self, resource, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.resource = resource
        model_form = resource.form_class(user=user)
        self.editable = []
        for name in resource.get_bulk_edit_fields():
            if name not in model_form.fields:
                continue
            form_field = model_form.fields[name]
            form_field.required = False
            self.fields[name] = form_field
            self.fields[f"set_{name}"] = forms.BooleanField(required=False, label=_("change"))
            self.editable.append(name)
        for name in model_form.custom_field_names:
            form_field = model_form.fields[name]
            form_field.required = False
            self.fields[name] = form_field
            self.fields[f"set_{name}"] = forms.BooleanField(required=False, label=_("change"))
            self.editable.append(name)
        for field in self.fields.values():
            style_field(field)

    def rows(self):
        for name in self.editable:
            yield self[f"set_{name}"], self[name]

    def changes(self):
        """{field name: new value} for the fields the user chose to set."""
        return {name: self.cleaned_data.get(name) for name in self.editable if self.cleaned_data.get(f"set_{name}")}

    def clean(self):
        cleaned = super().clean()
        if not any(cleaned.get(f"set_{name}") for name in self.editable):
            raise forms.ValidationError(_("Choose at least one field to change."))
        for name in self.editable:
            if not cleaned.get(f"set_{name}"):
                continue
            field = self.resource.model_field(name)
            if field is not None and not field.null and not field.blank and cleaned.get(name) in (None, ""):
                self.add_error(name, _("This field is required."))
        return cleaned


class ShareForm(forms.Form):
    """Choose a member to share a record with (the detail page's sharing panel)."""

    def __init__(self, *args, exclude=(), **kwargs):
        super().__init__(*args, **kwargs)
        from django.contrib.auth import get_user_model
        from django.urls import reverse

        # Any active colleague may be named; what they then see is the shared record only.
        self.fields["member"] = forms.ModelChoiceField(
            get_user_model().objects.filter(is_active=True).exclude(pk__in=list(exclude)),
            label=_("member"),
            empty_label=_("Share with…"),
            widget=AutocompleteSelect(reverse("org:colleagues"), attrs={"class": "form-select form-select-sm", "id": "share-member"}),
        )


class QueryLike(dict):
    """A dict a form can read like a QueryDict (lists for multiple choices)."""

    def getlist(self, key, default=None):
        value = self.get(key, default)
        if value is None:
            return []
        return value if isinstance(value, list) else [value]


def form_data_from_instance(resource, instance):
    """The form data that reproduces a record's current state (for partial updates)."""
    from django.forms.models import model_to_dict

    data = {}
    for key, value in model_to_dict(instance, fields=list(resource.form_fields())).items():
        if isinstance(value, list):
            value = [getattr(item, "pk", item) for item in value]
        data[key] = getattr(value, "pk", value)
    for key, value in (getattr(instance, "custom_field_data", None) or {}).items():
        data[f"cf_{key}"] = value
    if isinstance(instance, TagsMixin):
        data["tags"] = list(instance.tagged_items.values_list("tag_id", flat=True))
    return data
