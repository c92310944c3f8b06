"""Custom fields: one form field per definition is the single validation path for the UI,
imports, bulk edit and the API; values live in the record's ``custom_field_data`` as JSON."""

import datetime
import json
from decimal import Decimal, InvalidOperation

from asgiref.local import Local
from django import forms
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.signals import request_finished, request_started
from django.db import models
from django.db.models import Q
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _
from django_filters.fields import RangeField
from django_filters.widgets import RangeWidget

from .models import FieldDef, FieldType

# Definitions are read by the filterset, the table, the column chooser and the forms of one
# request: they are cached for the length of a request (never across requests, so several
# worker processes can't disagree), and forgotten as soon as a definition is saved or deleted.
_request = Local()


def _start_request(**kwargs):
    _request.field_defs = {}


def _end_request(**kwargs):
    _request.field_defs = None


def _forget_field_defs(**kwargs):
    cache = getattr(_request, "field_defs", None)
    if cache:
        cache.clear()


request_started.connect(_start_request, dispatch_uid="qinglan.customfields.start")
request_finished.connect(_end_request, dispatch_uid="qinglan.customfields.end")
post_save.connect(_forget_field_defs, sender=FieldDef, dispatch_uid="qinglan.customfields.saved")
post_delete.connect(_forget_field_defs, sender=FieldDef, dispatch_uid="qinglan.customfields.deleted")


def field_defs_for(model):
    content_type = ContentType.objects.get_for_model(model)
    cache = getattr(_request, "field_defs", None)
    if cache is not None and content_type.pk in cache:
        return list(cache[content_type.pk])
    definitions = list(FieldDef.objects.filter(content_type=content_type).select_related("dictionary", "reference_type"))
    if cache is not None:
        cache[content_type.pk] = definitions
    return list(definitions)


def form_field(definition):
    kind = definition.type
    common = {"label": definition.label, "required": definition.required, "help_text": definition.help_text}
    if kind == FieldType.TEXT:
        field = forms.CharField(max_length=500, **common)
    elif kind == FieldType.LONGTEXT:
        field = forms.CharField(max_length=10000, widget=forms.Textarea(attrs={"rows": 3}), **common)
    elif kind == FieldType.INTEGER:
        field = forms.IntegerField(**common)
    elif kind == FieldType.DECIMAL:
        field = forms.DecimalField(max_digits=20, decimal_places=6, **common)
    elif kind == FieldType.DATE:
        field = forms.DateField(widget=forms.DateInput(), **common)
    elif kind == FieldType.DATETIME:
        field = forms.DateTimeField(widget=forms.DateTimeInput(), **common)
    elif kind == FieldType.BOOLEAN:
        common["required"] = False
        field = forms.BooleanField(**common)
    elif kind == FieldType.CHOICE:
        field = forms.ChoiceField(choices=[("", "---------")] + definition.option_choices(), **common)
    elif kind == FieldType.MULTICHOICE:
        field = forms.MultipleChoiceField(choices=definition.option_choices(), **common)
    elif kind == FieldType.URL:
        field = forms.URLField(max_length=500, **common)
    elif kind == FieldType.EMAIL:
        field = forms.EmailField(**common)
    elif kind == FieldType.REFERENCE:
        model = definition.reference_type.model_class()
        field = forms.ModelChoiceField(model._default_manager.all(), **common)
    else:  # pragma: no cover - FieldType is closed
        raise ValueError(kind)
    if definition.default is not None and not definition.required:
        field.initial = to_form(definition, definition.default)
    return field


def to_json(definition, value):
    """Cleaned form value → JSON-storable value."""
    if value in (None, "", []):
        return None if definition.type != FieldType.BOOLEAN else bool(value)
    kind = definition.type
    if kind == FieldType.DECIMAL:
        return str(value)
    if kind == FieldType.DATE:
        return value.isoformat()
    if kind == FieldType.DATETIME:
        return value.astimezone(datetime.UTC).isoformat()
    if kind == FieldType.REFERENCE:
        return value.pk
    if kind == FieldType.MULTICHOICE:
        return list(value)
    return value


def to_form(definition, value):
    """Stored JSON value → initial form value."""
    if value is None:
        return None
    kind = definition.type
    if kind == FieldType.DECIMAL:
        try:
            return Decimal(str(value))
        except InvalidOperation:
            return None
    if kind == FieldType.DATE:
        return parse_date(value) if isinstance(value, str) else value
    if kind == FieldType.DATETIME:
        parsed = parse_datetime(value) if isinstance(value, str) else value
        return timezone.localtime(parsed) if parsed else None
    return value


def display(definition, value, *, labels=None, records=None):
    """Stored value → text shown in lists, detail pages and exports. For many values of one
    field use display_many(), which reads the options and the referenced records once."""
    if value in (None, "", []):
        return ""
    kind = definition.type
    if kind == FieldType.BOOLEAN:
        return str(_("Yes") if value else _("No"))
    if kind in (FieldType.CHOICE, FieldType.MULTICHOICE):
        if labels is None:
            labels = dict(definition.option_choices())
        values = value if isinstance(value, list) else [value]
        return ", ".join(str(labels.get(item, item)) for item in values)
    if kind == FieldType.REFERENCE:
        if records is None:
            records = referenced_records(definition, [value])
        record = records.get(_reference_key(definition, value))
        return str(record) if record is not None else f"#{value}"
    if kind == FieldType.DATETIME:
        parsed = parse_datetime(value) if isinstance(value, str) else value
        return timezone.localtime(parsed).strftime("%Y-%m-%d %H:%M") if parsed else str(value)
    return str(value)


def display_many(definition, values):
    """display() of each value, with at most one query for the whole lot (the options of a
    dictionary, or the referenced records)."""
    values = list(values)
    labels = records = None
    if definition.type in (FieldType.CHOICE, FieldType.MULTICHOICE):
        labels = dict(definition.option_choices())
    elif definition.type == FieldType.REFERENCE:
        records = referenced_records(definition, values)
    return [display(definition, value, labels=labels, records=records) for value in values]


def _referenced_model(definition):
    return definition.reference_type.model_class() if definition.reference_type_id else None


def _reference_key(definition, value):
    """The referenced primary key a stored value stands for, or None if it can't be one."""
    model = _referenced_model(definition)
    if model is None or value in (None, "", []) or isinstance(value, (list, dict, bool)):
        return None
    try:
        return model._meta.pk.to_python(value)
    except (ValidationError, TypeError, ValueError):
        return None


def referenced_records(definition, values):
    """{pk: record} for the records a reference field's stored values point to, in one query."""
    model = _referenced_model(definition)
    keys = {key for key in (_reference_key(definition, value) for value in values) if key is not None}
    if model is None or not keys:
        return {}
    return model._default_manager.in_bulk(keys)


def clean_value(definition, raw):
    """Validate a raw value (from the API or an import) exactly as the form would."""
    field = form_field(definition)
    if definition.type == FieldType.MULTICHOICE and isinstance(raw, str):
        raw = [item.strip() for item in raw.replace("，", ",").split(",") if item.strip()]
    if definition.type == FieldType.BOOLEAN and isinstance(raw, str):
        raw = raw.strip().lower() in {"1", "true", "yes", "y", "是", "對", "对", "x", "✓"}
    if definition.type == FieldType.REFERENCE and isinstance(raw, dict):
        raw = raw.get("id")
    return to_json(definition, field.clean(raw))


def clean_definition(definition):
    if definition.type in (FieldType.CHOICE, FieldType.MULTICHOICE):
        if not definition.dictionary_id and not definition.choices:
            raise ValidationError({"choices": _("Give the options, or pick a dictionary.")})
    if definition.type == FieldType.REFERENCE and not definition.reference_type_id:
        raise ValidationError({"reference_type": _("Pick the resource this field refers to.")})
    if definition.default not in (None, ""):
        try:
            definition.default = clean_value(definition, definition.default)
        except ValidationError as exc:
            raise ValidationError({"default": exc.messages}) from exc
    model = definition.content_type.model_class() if definition.content_type_id else None
    if model is not None and definition.name in {f.name for f in model._meta.get_fields()}:
        raise ValidationError({"name": _("The resource already has a field with this name.")})


def filter_for(definition):
    """(form field, apply(queryset, cleaned value) -> queryset) for the list filter of one
    custom field; the same filter serves the list, the export and the API. Numbers, dates and
    times filter by a from–to range, like the resource's own fields."""
    key = f"custom_field_data__{definition.name}"
    kind = definition.type
    label = definition.label

    def by(**lookups):
        return lambda queryset, value: queryset.filter(**{name: make(value) for name, make in lookups.items()})

    if kind in (FieldType.TEXT, FieldType.LONGTEXT, FieldType.URL, FieldType.EMAIL):
        return forms.CharField(label=label, required=False), by(**{f"{key}__icontains": str})
    if kind in (FieldType.INTEGER, FieldType.DECIMAL):
        number = forms.IntegerField if kind == FieldType.INTEGER else forms.DecimalField
        field = RangeField(fields=(number(), number()), label=label, required=False, widget=RangeWidget())
        output = models.IntegerField() if kind == FieldType.INTEGER else models.DecimalField(max_digits=30, decimal_places=6)
        return field, _range(definition.name, lambda: Cast(KT(key), output), lambda value: value)
    if kind in (FieldType.DATE, FieldType.DATETIME):
        field = RangeField(fields=(forms.DateField(), forms.DateField()), label=label, required=False, widget=RangeWidget(attrs={"type": "date"}))
        if kind == FieldType.DATE:
            return field, _range(definition.name, lambda: _as_text(key), datetime.date.isoformat)
        # Stored as UTC ISO text of one fixed format, which sorts as the times do; the dates
        # are the member's own (their time zone's midnight to midnight).
        return field, _range(definition.name, lambda: _as_text(key), _utc_text, inclusive_day=True)
    if kind == FieldType.BOOLEAN:
        widget = forms.Select(choices=[("", _("Any")), ("true", _("Yes")), ("false", _("No"))])
        # A record saved before the field existed has no value: it counts as "no".
        return forms.NullBooleanField(label=label, required=False, widget=widget), lambda queryset, value: queryset.filter(
            Q(**{key: True}) if value else Q(**{key: False}) | Q(**{f"{key}__isnull": True})
        )
    if kind == FieldType.CHOICE:
        choices = [("", "---------")] + definition.option_choices()
        return forms.ChoiceField(label=label, required=False, choices=choices), by(**{key: str})
    if kind == FieldType.MULTICHOICE:
        # A JSON array is matched on its text, option with its quotes. SQLite keeps the text as
        # Django wrote it (non-ASCII as \uXXXX escapes), PostgreSQL's jsonb as characters.
        choices = [("", "---------")] + definition.option_choices()
        return forms.ChoiceField(label=label, required=False, choices=choices), lambda queryset, value: queryset.filter(
            Q(**{f"{key}__icontains": json.dumps(value)}) | Q(**{f"{key}__icontains": json.dumps(value, ensure_ascii=False)})
        )
    if kind == FieldType.REFERENCE:
        model = definition.reference_type.model_class() if definition.reference_type_id else None
        if model is None:
            return None, None
        # Offered and accepted only within the member's scope, searched as one types (the
        # filterset's prepare_reference_fields).
        field = forms.ModelChoiceField(model._default_manager.all(), label=label, required=False)
        return field, by(**{key: lambda record: record.pk})
    return None, None


def _as_text(key):
    # KT() alone keeps the JSON key's own comparison lookups, which parse the bound as JSON.
    return Cast(KT(key), models.TextField())


def _utc_text(moment):
    return moment.astimezone(datetime.UTC).isoformat()


def _range(name, expression, as_text, inclusive_day=False):
    """Filter `expression` (built per query) between a RangeField's bounds; a date range over
    times runs from the first day's midnight to the end of the last day, in the member's zone."""
    alias = f"_cf_range_{name}"

    def apply(queryset, bounds):
        start, stop = bounds.start, bounds.stop
        queryset = queryset.alias(**{alias: expression()})
        if inclusive_day:
            zone = timezone.get_current_timezone()
            start = datetime.datetime.combine(start, datetime.time.min, tzinfo=zone) if start else None
            stop = datetime.datetime.combine(stop + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone) if stop else None
            if start is not None:
                queryset = queryset.filter(**{f"{alias}__gte": as_text(start)})
            if stop is not None:
                queryset = queryset.filter(**{f"{alias}__lt": as_text(stop)})
            return queryset
        if start is not None:
            queryset = queryset.filter(**{f"{alias}__gte": as_text(start)})
        if stop is not None:
            queryset = queryset.filter(**{f"{alias}__lte": as_text(stop)})
        return queryset

    return apply
