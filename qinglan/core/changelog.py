"""Snapshots of records for the change log (who changed what, before and after)."""

import contextvars
import datetime
import functools
import uuid
from decimal import Decimal
from operator import attrgetter

from django.contrib.contenttypes.models import ContentType
from django.db import models

from .bulk import insert_rows
from .models import ObjectChange, TagsMixin

current_request_id = contextvars.ContextVar("qinglan_request_id", default=None)
HIDDEN_FIELDS = {"password", "last_login"}


def _plain(value):
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, models.fields.files.FieldFile):
        return value.name or None
    return value


# Values _plain() returns as they are: kept without its isinstance() chain (most of a record's
# fields, in the snapshot of every imported row).
_PLAIN_AS_IS = frozenset({str, int, bool, float, type(None)})


def snapshot(record, children=()):
    """The record's stored state as JSON: concrete fields, many-to-many ids, custom fields,
    tags and the named child lines."""
    data = _field_values(record)
    if record.pk:
        for field in record._meta.many_to_many:
            data[field.name] = sorted(obj.pk for obj in field.value_from_object(record))
        if isinstance(record, TagsMixin):
            data["tags"] = sorted(record.tagged_items.values_list("tag__name", flat=True))
        for name in children:
            manager = getattr(record, name)
            data[name] = [
                {f.attname: _plain(f.value_from_object(line)) for f in line._meta.concrete_fields} for line in manager.all()
            ]
    return _with_custom_fields(record, data)


def new_record_snapshot(record, m2m, tags):
    """snapshot() of a record just created in bulk, from the many-to-many values and tags it
    was created with (no query per record)."""
    data = _field_values(record)
    for field in record._meta.many_to_many:
        data[field.name] = sorted(obj.pk for obj in m2m.get(field.name, ()))
    if isinstance(record, TagsMixin):
        data["tags"] = sorted(tag.name for tag in tags or ())
    return _with_custom_fields(record, data)


def _field_values(record):
    keys, read = _layout(record._meta.model)  # not type(record): a lazy request.user is a SimpleLazyObject
    return {key: value if type(value) in _PLAIN_AS_IS else _plain(value) for key, value in zip(keys, read(record))}


@functools.cache
def _layout(model):
    """The keys of a snapshot of `model` (concrete fields but hidden ones and the custom
    field data; a reference under its attname) and one getter reading all their values, as
    each field's value_from_object() reads it: worked out once per model, not per record."""
    fields = [f for f in model._meta.concrete_fields if f.name not in HIDDEN_FIELDS and f.name != "custom_field_data"]
    keys = tuple(f.attname if isinstance(f, models.ForeignKey) else f.name for f in fields)
    read = attrgetter(*(f.attname for f in fields))
    return keys, read if len(fields) > 1 else (lambda record: (read(record),))


def _with_custom_fields(record, data):
    for key, value in (getattr(record, "custom_field_data", None) or {}).items():
        data[f"cf_{key}"] = value
    return data


def log_change(*, record, action, user, before=None, after=None):
    return ObjectChange.objects.create(**_change_values(record, action, user, before, after))


def log_creations(records, after, *, user):
    """One 'created' change-log row per record (`after`: their snapshots), in bulk."""
    common = _change_values(records[0], ObjectChange.Action.CREATE, user, None, None)
    common = {
        "user_id": common["user"].pk if common["user"] else None, "user_name": common["user_name"],
        "request_id": common["request_id"], "action": common["action"], "content_type_id": common["content_type"].pk,
        "prechange_data": None,
    }
    insert_rows(ObjectChange, [
        {**common, "object_id": record.pk, "object_repr": str(record)[:200], "postchange_data": data}
        for record, data in zip(records, after)
    ])


def _change_values(record, action, user, before, after):
    signed_in = user is not None and user.is_authenticated
    return {
        "user": user if signed_in else None,
        "user_name": user.get_username() if signed_in else "",
        "request_id": current_request_id.get(),
        "action": action,
        "content_type": ContentType.objects.get_for_model(record),
        "object_id": record.pk,
        "object_repr": str(record)[:200],
        "prechange_data": before,
        "postchange_data": after,
    }


def changes_for(record):
    return ObjectChange.objects.filter(
        content_type=ContentType.objects.get_for_model(record), object_id=record.pk
    ).select_related("user")
