"""Filtersets generated from a resource's ``filters`` and ``search``; custom fields and tags
are added per request. The same filterset serves the list page, exports and the API."""

import django_filters
from django import forms
from django.contrib.auth.models import AnonymousUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from .forms import style_field
from .models import CustomFieldsMixin, TagsMixin
from .widgets import prepare_reference_fields


class ResourceFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_quick_search", label=_("Search"))
    resource = None

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None):
        super().__init__(data=data, queryset=queryset, request=request, prefix=prefix)
        model = self._meta.model
        self._custom_filters = {}
        if issubclass(model, CustomFieldsMixin):
            from qinglan.extras.customfields import field_defs_for, filter_for

            for definition in field_defs_for(model):
                if not definition.filterable:
                    continue
                form_field, apply = filter_for(definition)
                if form_field is not None:
                    self._custom_filters[f"cf_{definition.name}"] = (form_field, apply)
        if issubclass(model, TagsMixin):
            from qinglan.extras.models import Tag

            self.filters["tag"] = django_filters.ModelMultipleChoiceFilter(
                queryset=Tag.objects.all(),
                field_name="tagged_items__tag__slug",
                to_field_name="slug",
                label=_("tags"),
                distinct=True,
            )
            self.filters["tag"].model = model

    @property
    def form(self):
        if not hasattr(self, "_form"):
            form = super().form
            for name, (form_field, _apply) in self._custom_filters.items():
                form.fields[name] = form_field
            # Reference filters offer and accept only records the member may view.
            prepare_reference_fields(form.fields, getattr(self.request, "user", None) or AnonymousUser())
            for field in form.fields.values():
                style_field(field)
                field.required = False
            if self.is_bound:
                form.full_clean()
            self._form = form
        return self._form

    def filter_queryset(self, queryset):
        for name, value in self.form.cleaned_data.items():
            if name in self._custom_filters:
                if value not in (None, "") and not (isinstance(value, slice) and value.start is None and value.stop is None):
                    queryset = self._custom_filters[name][1](queryset, value)
            else:
                queryset = self.filters[name].filter(queryset, value)
        return queryset

    def filter_quick_search(self, queryset, name, value):
        if self.resource is None:
            return queryset
        return queryset.filter(self.resource.quick_search_q(value))

    def active_filters(self):
        """[(label, value text)] of the filters in use, for the chips above the list."""
        result = []
        if not self.is_bound or not self.form.is_valid():
            return result
        for name, value in self.form.cleaned_data.items():
            if value in (None, "", []) or (hasattr(value, "exists") and not value.exists()):
                continue
            field = self.form.fields[name]
            label = field.label or name
            # Choice labels rather than stored values; never iterate a queryset's choices.
            labels = {} if hasattr(field, "queryset") else {str(key): text for key, text in getattr(field, "choices", None) or []}

            def shown(item):
                if isinstance(item, bool):
                    return str(_("Yes") if item else _("No"))
                return str(labels.get(str(item), item))

            if hasattr(value, "__iter__") and not isinstance(value, str):
                text = ", ".join(shown(item) for item in value)
            elif isinstance(value, slice):
                text = f"{value.start or ''} – {value.stop or ''}"
            else:
                text = shown(value)
            result.append((name, label, text))
        return result


def filter_for_field(field):
    name = field.name
    label = field.verbose_name
    if isinstance(field, (models.ForeignKey, models.ManyToManyField)):
        queryset = field.related_model._default_manager.complex_filter(field.get_limit_choices_to() or {})
        return django_filters.ModelMultipleChoiceFilter(
            field_name=name, queryset=queryset, label=label,
            distinct=isinstance(field, models.ManyToManyField),
        )
    if field.choices:
        # distinct=False: one value per row cannot repeat rows, and DISTINCT over every
        # column makes the bounded count read whole rows.
        return django_filters.MultipleChoiceFilter(field_name=name, choices=field.choices, label=label, distinct=False)
    if isinstance(field, models.BooleanField):
        return django_filters.BooleanFilter(field_name=name, label=label, widget=forms.Select(choices=[("", _("Any")), ("true", _("Yes")), ("false", _("No"))]))
    if isinstance(field, models.DateTimeField):
        return django_filters.DateFromToRangeFilter(
            field_name=name, label=label, widget=django_filters.widgets.RangeWidget(attrs={"type": "date"})
        )
    if isinstance(field, models.DateField):
        return django_filters.DateFromToRangeFilter(
            field_name=name, label=label, widget=django_filters.widgets.RangeWidget(attrs={"type": "date"})
        )
    if isinstance(field, (models.IntegerField, models.DecimalField, models.FloatField)):
        return django_filters.RangeFilter(field_name=name, label=label)
    return django_filters.CharFilter(field_name=name, lookup_expr="icontains", label=label)


def resource_filterset_factory(resource):
    declared = {}
    for name in resource.filters:
        field = resource.model_field(name)
        if field is None:
            raise ValueError(f"{resource.label}: filter {name!r} is not a model field")
        declared[name] = filter_for_field(field)
    meta = type("Meta", (), {"model": resource.model, "fields": []})
    attrs = {"Meta": meta, "resource": resource, **declared}
    return type(f"{resource.model.__name__}FilterSet", (ResourceFilterSet,), attrs)
