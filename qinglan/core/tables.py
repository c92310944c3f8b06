"""Tables generated from a resource. django-tables2 defines and renders the cells; sorting
and keyset pagination are done in the database by the list view, not by the table."""

import django_tables2 as tables
from django.db import models
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _


class LinkColumn(tables.Column):
    """The record's main column: links to its page."""

    def render(self, value, record):
        return format_html('<a href="{}">{}</a>', record.get_absolute_url(), value)


class CustomFieldColumn(tables.Column):
    def __init__(self, definition, **kwargs):
        self.definition = definition
        super().__init__(verbose_name=definition.label, accessor="custom_field_data", orderable=False, empty_values=(), **kwargs)

    def render(self, value, record):
        from qinglan.extras.customfields import display

        return display(self.definition, (record.custom_field_data or {}).get(self.definition.name)) or "—"


class TagsColumn(tables.Column):
    def __init__(self, **kwargs):
        super().__init__(verbose_name=_("tags"), accessor="pk", orderable=False, empty_values=(), **kwargs)

    def render(self, value, record):
        tags = getattr(record, "prefetched_tags", None)
        if tags is None:
            tags = [item.tag for item in record.tagged_items.all()]
        return format_html_join("", '<span class="badge me-1" style="background:{}">{}</span>', ((tag.color, tag.name) for tag in tags))


class ResourceTable(tables.Table):
    select = tables.CheckBoxColumn(accessor="pk", attrs={"th__input": {"data-select-all": "1", "aria-label": _("Select all")}})

    class Meta:
        attrs = {"class": "table table-hover table-sm align-middle mb-0"}
        template_name = "core/table.html"
        orderable = False


def column_candidates(resource):
    """Every column a member may pick: declared columns first, then other plain fields."""
    names = list(resource.columns)
    for field in resource.model._meta.get_fields():
        if not getattr(field, "concrete", False) or field.name in names:
            continue
        if isinstance(field, (models.ManyToManyField, models.JSONField, models.FileField)) or field.name in {
            "password",
            "path",
            "depth",
            "numchild",
        }:
            continue
        names.append(field.name)
    return names


def resource_table_factory(resource):
    candidates = column_candidates(resource)
    attrs = {}
    link_column = resource.columns[0] if resource.columns else None
    for name in candidates:
        field = resource.model_field(name)
        verbose = field.verbose_name if field is not None else name
        orderable = field is not None and not isinstance(field, (models.ManyToManyField,))
        if name == link_column:
            attrs[name] = LinkColumn(verbose_name=verbose, orderable=orderable)
        elif isinstance(field, models.BooleanField):
            attrs[name] = tables.BooleanColumn(verbose_name=verbose, orderable=orderable)
        elif isinstance(field, models.DateTimeField):
            attrs[name] = tables.DateTimeColumn(verbose_name=verbose, orderable=orderable, format="Y-m-d H:i")
        elif isinstance(field, models.DateField):
            attrs[name] = tables.DateColumn(verbose_name=verbose, orderable=orderable, format="Y-m-d")
        else:
            attrs[name] = tables.Column(verbose_name=verbose, orderable=orderable)
    meta = type("Meta", (ResourceTable.Meta,), {"model": resource.model, "fields": ("select", *candidates)})
    attrs["Meta"] = meta
    return type(f"{resource.model.__name__}Table", (ResourceTable,), attrs)


def build_table(resource, rows, *, visible=None, request=None):
    """A table over one page of rows showing the member's chosen columns (and custom fields)."""
    from .models import CustomFieldsMixin, TagsMixin

    extra, default_extra = [], []
    if issubclass(resource.model, CustomFieldsMixin):
        from qinglan.extras.customfields import field_defs_for

        for definition in field_defs_for(resource.model):
            extra.append((f"cf_{definition.name}", CustomFieldColumn(definition)))
            if definition.show_in_list:
                default_extra.append(f"cf_{definition.name}")
    if issubclass(resource.model, TagsMixin):
        extra.append(("tags", TagsColumn()))
    names = [*column_candidates(resource), *(name for name, _column in extra)]
    chosen = [name for name in (visible or [*resource.columns, *default_extra]) if name in names]
    return resource.table_class(
        rows,
        extra_columns=extra,
        request=request,
        sequence=["select", *chosen, "..."],
        exclude=[name for name in names if name not in chosen],
    )


def available_columns(resource):
    """[(name, label)] for the column chooser."""
    table = build_table(resource, [], visible=all_column_names(resource))
    return [(column.name, str(column.header)) for column in table.columns.all() if column.name != "select"]


def all_column_names(resource):
    from .models import CustomFieldsMixin, TagsMixin

    names = column_candidates(resource)
    if issubclass(resource.model, CustomFieldsMixin):
        from qinglan.extras.customfields import field_defs_for

        names += [f"cf_{definition.name}" for definition in field_defs_for(resource.model)]
    if issubclass(resource.model, TagsMixin):
        names.append("tags")
    return names
