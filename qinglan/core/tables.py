"""Tables generated from a resource. django-tables2 defines and renders the cells; sorting
and keyset pagination are done in the database by the list view, not by the table.

A page of rows costs a fixed number of queries whatever its size: columns that need other
records (custom reference fields, tags, foreign keys not already joined) load them for the
whole page the first time one of their cells is rendered."""

import datetime

import django_tables2 as tables
import django_tables2.utils
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import prefetch_related_objects
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from .detail import decimal_text

_library_signature = django_tables2.utils.signature
_signatures = {}


def _memoised_signature(fn):
    """django-tables2 inspects a cell's render method for every cell it renders (450 times
    for a page of 50 rows); a function's signature never changes, so read it once."""
    function = getattr(fn, "__func__", fn)
    if not callable(function) or not hasattr(function, "__code__"):
        return _library_signature(fn)
    key = (function, hasattr(fn, "__self__"))
    if key not in _signatures:
        _signatures[key] = _library_signature(fn)
    return _signatures[key]


django_tables2.utils.signature = _memoised_signature


def page_cache(table, key, build):
    """`build(records)` over all the records of the table's page, computed once per table."""
    cache = table.__dict__.setdefault("_qinglan_page_cache", {})
    if key not in cache:
        cache[key] = build(list(table.data))
    return cache[key]


class LinkColumn(tables.Column):
    """The record's main column: links to its page."""

    def render(self, value, record):
        return format_html('<a href="{}">{}</a>', record.get_absolute_url(), value)


class PythonDateFormat:
    """Dates and times formatted in Python, in the member's time zone, like the ``date``
    filter would: django-tables2's own columns compile a template for every cell."""

    def __init__(self, *, format, **kwargs):
        super().__init__(format=format, **kwargs)
        self.date_format = format

    def render(self, value, bound_column):
        if value in (None, ""):
            return bound_column.default
        if isinstance(value, datetime.datetime) and timezone.is_aware(value):
            value = timezone.localtime(value)
        return formats.date_format(value, self.date_format)


class DateTimeColumn(PythonDateFormat, tables.DateTimeColumn):
    pass


class DateColumn(PythonDateFormat, tables.DateColumn):
    pass


class DecimalColumn(tables.Column):
    """Amounts and quantities grouped by thousands, right-aligned (core.detail.decimal_text)."""

    def __init__(self, *, places, **kwargs):
        super().__init__(attrs={"td": {"class": "text-end text-nowrap"}, "th": {"class": "text-end"}}, **kwargs)
        self.places = places

    def render(self, value):
        return decimal_text(value, self.places)


class SelectColumn(tables.CheckBoxColumn):
    """The row's checkbox: core/table.html writes it, so the cell itself renders nothing."""

    def render(self, value, bound_column, record):
        return ""


class CustomFieldColumn(tables.Column):
    def __init__(self, definition, **kwargs):
        self.definition = definition
        super().__init__(verbose_name=definition.label, accessor="custom_field_data", orderable=False, empty_values=(), **kwargs)

    def render(self, value, record, table):
        texts = page_cache(table, ("cf", self.definition.name), self._texts)
        return texts.get(record.pk) or "—"

    def _texts(self, records):
        from qinglan.extras.customfields import display_many

        name = self.definition.name
        values = [(record.custom_field_data or {}).get(name) for record in records]
        return {record.pk: text for record, text in zip(records, display_many(self.definition, values), strict=True)}


class TagsColumn(tables.Column):
    def __init__(self, **kwargs):
        super().__init__(verbose_name=_("tags"), accessor="pk", orderable=False, empty_values=(), **kwargs)

    def render(self, value, record, table):
        tags = getattr(record, "prefetched_tags", None)
        if tags is None:
            tags = page_cache(table, "tags", self._tags).get(record.pk, [])
        return format_html_join("", '<span class="badge me-1" style="background:{}">{}</span>', ((tag.color, tag.name) for tag in tags))

    @staticmethod
    def _tags(records):
        from django.contrib.contenttypes.models import ContentType

        from qinglan.extras.models import TaggedItem

        by_record = {}
        if not records:
            return by_record
        content_type = ContentType.objects.get_for_model(records[0])
        items = TaggedItem.objects.filter(content_type=content_type, object_id__in=[record.pk for record in records])
        for item in items.select_related("tag").order_by("pk"):
            by_record.setdefault(item.object_id, []).append(item.tag)
        return by_record


class ResourceTable(tables.Table):
    select = SelectColumn(accessor="pk", attrs={"th__input": {"data-select-all": "1", "aria-label": _("Select all")}})

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
            attrs[name] = DateTimeColumn(verbose_name=verbose, orderable=orderable, format="Y-m-d H:i")
        elif isinstance(field, models.DateField):
            attrs[name] = DateColumn(verbose_name=verbose, orderable=orderable, format="Y-m-d")
        elif isinstance(field, models.DecimalField):
            attrs[name] = DecimalColumn(verbose_name=verbose, orderable=orderable, places=field.decimal_places)
        else:
            attrs[name] = tables.Column(verbose_name=verbose, orderable=orderable)
    meta = type("Meta", (ResourceTable.Meta,), {"model": resource.model, "fields": ("select", *candidates)})
    attrs["Meta"] = meta
    return type(f"{resource.model.__name__}Table", (ResourceTable,), attrs)


def build_table(resource, rows, *, visible=None):
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
    if isinstance(rows, list) and rows:
        # Foreign keys shown but not joined by the queryset: one query each for the page.
        related = [path for path in (_related_path(resource.model, name) for name in chosen) if path]
        if related:
            prefetch_related_objects(rows, *related)
    # No request: the table must not sort or paginate the page it is given.
    return resource.table_class(
        rows,
        extra_columns=extra,
        sequence=["select", *chosen, "..."],
        exclude=[name for name in names if name not in chosen],
    )


def _related_path(model, name):
    """The longest chain of forward foreign keys (or one-to-ones) at the start of a column
    path, e.g. "department" for "department" or "department__head" for
    "department__head__username"; "" if there is none."""
    chain = []
    for part in name.split("__"):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            break
        if not (field.is_relation and field.concrete and (field.many_to_one or field.one_to_one)):
            break
        chain.append(part)
        model = field.related_model
    return "__".join(chain)


_chooser = {}


def available_columns(resource):
    """[(name, label)] for the column chooser: a table of every column, built once per resource,
    language and set of custom fields rather than on every page (a table deep-copies each of its
    columns when it is made)."""
    from django.utils.translation import get_language

    from .models import CustomFieldsMixin

    definitions = ()
    if issubclass(resource.model, CustomFieldsMixin):
        from qinglan.extras.customfields import field_defs_for

        definitions = tuple((definition.pk, definition.name, definition.label) for definition in field_defs_for(resource.model))
    key = (resource, get_language(), definitions)
    if key not in _chooser:
        table = build_table(resource, [], visible=all_column_names(resource))
        if len(_chooser) > 1000:
            _chooser.clear()
        _chooser[key] = [(column.name, str(column.header)) for column in table.columns.all() if column.name != "select"]
    return list(_chooser[key])


def all_column_names(resource):
    from .models import CustomFieldsMixin, TagsMixin

    names = column_candidates(resource)
    if issubclass(resource.model, CustomFieldsMixin):
        from qinglan.extras.customfields import field_defs_for

        names += [f"cf_{definition.name}" for definition in field_defs_for(resource.model)]
    if issubclass(resource.model, TagsMixin):
        names.append("tags")
    return names


def page_fields(resource, queryset, visible, keys):
    """The fields a list page reads, for `.only()`: the pk, the visible columns and the sort
    keys of the listed model, and of each record joined to it (select_related) the fields its
    text needs when its model names them (`str_fields`, e.g. a customer's name), else all but
    its JSON fields. A page of 50 orders then reads 19 columns instead of ~100 (customers,
    members and currencies whole). None when a visible column is no field path of the model
    (the page then reads whole rows, less unshown JSON fields)."""
    from .models import CustomFieldsMixin

    model = resource.model
    chosen = list(visible or resource.columns)
    if not visible and issubclass(model, CustomFieldsMixin) and _custom_fields_in_list(model):
        chosen.append("custom_field_data")
    related = queryset.query.select_related
    related = related if isinstance(related, dict) else {}
    wanted = {model._meta.pk.name}
    for name in [*chosen, *(key.path for key in keys), resource.owner_field, resource.department_field]:
        if not name or name in ("self", "pk", "tags"):
            continue
        if name.startswith("cf_"):
            name = "custom_field_data"
        try:
            field = model._meta.get_field(name.split("__")[0])
        except FieldDoesNotExist:
            return None
        if not field.concrete or field.many_to_many:
            return None
        # a path through a record not joined (its records are fetched for the page apart): the reference alone
        wanted.add(name if field.name in related or "__" not in name else field.name)
    stack = [("", model, related)]
    while stack:
        prefix, parent, tree = stack.pop()
        for name, subtree in tree.items():
            field = parent._meta.get_field(name)
            target = field.related_model
            wanted.add(prefix + name)
            text_fields = getattr(target, "str_fields", None)
            if text_fields is None:
                text_fields = [f.name for f in target._meta.concrete_fields if not isinstance(f, models.JSONField)]
            wanted.update(f"{prefix}{name}__{text}" for text in (target._meta.pk.name, *text_fields))
            stack.append((f"{prefix}{name}__", target, subtree or {}))
    return sorted(wanted)


def unshown_json_fields(resource, queryset, visible):
    """JSON fields (custom field data…) of the rows and of the records joined to them that no
    visible column shows: decoding them is wasted work on every row of a page."""
    from .models import CustomFieldsMixin

    chosen = visible or resource.columns
    shows_custom_fields = any(name.startswith("cf_") for name in chosen) or (
        not visible and issubclass(resource.model, CustomFieldsMixin) and _custom_fields_in_list(resource.model)
    )
    paths = [("", resource.model)]
    related = queryset.query.select_related
    if isinstance(related, dict):
        stack = [("", resource.model, related)]
        while stack:
            prefix, model, tree = stack.pop()
            for name, subtree in tree.items():
                try:
                    field = model._meta.get_field(name)
                except FieldDoesNotExist:
                    continue
                if field.is_relation and field.related_model is not None:
                    paths.append((f"{prefix}{name}__", field.related_model))
                    stack.append((f"{prefix}{name}__", field.related_model, subtree or {}))
    deferred = []
    for prefix, model in paths:
        for field in model._meta.concrete_fields:
            if not isinstance(field, models.JSONField):
                continue
            if not prefix and (field.name in chosen or (field.name == "custom_field_data" and shows_custom_fields)):
                continue
            deferred.append(prefix + field.name)
    return deferred


def _custom_fields_in_list(model):
    from qinglan.extras.customfields import field_defs_for

    return any(definition.show_in_list for definition in field_defs_for(model))
