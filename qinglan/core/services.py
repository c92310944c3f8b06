"""Generic services behind every resource: create, update, delete, bulk edit, bulk delete.
Each writes its change-log rows and queues its domain events in the same transaction, and
checks the result against restrict() so a member cannot create or edit a record into a
scope they may not act on."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models.deletion import ProtectedError, RestrictedError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .bulk import insert_new
from .changelog import log_change, log_creations, new_record_snapshot, snapshot
from .events import event_name, queue_event, queue_events
from .models import ObjectChange
from .permissions import may

class RecordErrors(Exception):
    """Some records of a batch cannot be saved: {index in the batch: [(field name or "",
    message)]}. Nothing of the batch was written."""

    def __init__(self, errors):
        super().__init__(errors)
        self.errors = errors


def _check_in_scope(record, user, action):
    if not may(user, action, record):
        raise PermissionDenied(_("You may not save this record with these values."))


def _resource(record):
    from .registry import registry

    return registry.get(type(record))


def _check_unlocked(record, action):
    """Refuse to change or delete a record its resource (or another module) has locked
    (Resource.edit_lock, core.resources.add_edit_lock)."""
    resource = _resource(record)
    reason = resource.locked(record, action) if resource is not None else None
    if reason:
        raise ValidationError(reason)


def _save_form(form, formsets, user):
    record = form.save(commit=False)
    created = record.pk is None
    owner_field = getattr(record, "owner_id", "missing")
    if owner_field is None and user is not None:
        record.owner = user
    resource = _resource(record)
    if resource is not None:
        resource.before_save(record, user=user, created=created)
    record.save()
    form.save_m2m()
    if hasattr(form, "save_tags"):
        form.save_tags(record)
    for formset in formsets.values():
        formset.instance = record
        formset.save()
    if resource is not None:
        resource.after_save(record, user=user, created=created)
    return record


@transaction.atomic
def create_record(*, form, formsets=None, user):
    formsets = formsets or {}
    record = _save_form(form, formsets, user)
    _check_in_scope(record, user, "add")
    log_change(record=record, action=ObjectChange.Action.CREATE, user=user, after=snapshot(record, formsets))
    queue_event(event_name(record, "created"), record=record, user=user)
    return record


@transaction.atomic
def create_many(*, resource, records, user, m2m=None, tags=None):
    """Create new, validated records in bulk with what create_record does for one (the
    resource's hooks, uniqueness, the scope check, change-log rows, events), but with a few
    statements per batch instead of a dozen per record. `m2m` and `tags` are per record
    ({field name: objects} and tags). Raises RecordErrors, writing nothing, when a record
    clashes with a unique value or falls outside what `user` may add."""
    if not records:
        return records
    m2m = m2m or [{}] * len(records)
    tags = tags or [None] * len(records)
    model = resource.model
    for record in records:
        if getattr(record, "owner_id", "missing") is None and user is not None:
            record.owner = user
    resource.before_create_many(records, user=user)
    clashes = unique_clashes(records)
    if clashes:
        raise RecordErrors(clashes)
    insert_new(model, records)
    for record, values, record_tags in zip(records, m2m, tags):
        for name, objects in values.items():
            if objects:
                getattr(record, name).set(objects)
        if record_tags:
            from qinglan.extras.models import set_tags

            set_tags(record, record_tags)
    resource.after_create_many(records, user=user)
    allowed = set(model._default_manager.restrict(user, "add").filter(pk__anyof=[r.pk for r in records]).values_list("pk", flat=True))
    outside = {index: [("", _("You may not save this record with these values."))] for index, r in enumerate(records) if r.pk not in allowed}
    if outside:
        raise RecordErrors(outside)
    log_creations(records, [new_record_snapshot(r, values, t) for r, values, t in zip(records, m2m, tags)], user=user)
    queue_events(event_name(records[0], "created"), records=records, user=user)
    return records


def unique_clashes(records):
    """{index: [(field, message)]} of new records whose unique values (single fields,
    unique_together, unconditional UniqueConstraints) are taken in the database or by an
    earlier record of the same list: one query per unique field group."""
    model = type(records[0])
    meta = model._meta
    groups = [(f.name,) for f in meta.concrete_fields if f.unique and not f.primary_key]
    groups += [tuple(names) for names in meta.unique_together]
    groups += [
        tuple(c.fields) for c in meta.constraints
        if isinstance(c, models.UniqueConstraint) and c.fields and c.condition is None and not c.expressions
    ]
    errors = {}
    for names in groups:
        fields = [meta.get_field(name) for name in names]
        indexes_by_key = {}
        for index, record in enumerate(records):
            key = tuple(getattr(record, f.attname) for f in fields)
            if None not in key:  # NULLs never clash
                indexes_by_key.setdefault(key, []).append(index)
        if not indexes_by_key:
            continue
        first = fields[0].attname
        values = list({key[0] for key in indexes_by_key})
        lookup = "anyof" if all(isinstance(value, (str, int)) for value in values) else "in"
        taken = model._default_manager.filter(**{f"{first}__{lookup}": values})
        taken = {tuple(row) for row in taken.values_list(*[f.attname for f in fields])}
        for key, indexes in indexes_by_key.items():
            for index in indexes if key in taken else indexes[1:]:
                message = records[index].unique_error_message(model, names)
                errors.setdefault(index, []).append((names[0] if len(names) == 1 else "", message.messages[0]))
    return errors


@transaction.atomic
def update_record(*, form, formsets=None, user):
    formsets = formsets or {}
    model = type(form.instance)
    # Lock the row and take the 'before' snapshot from the database, not from the form.
    current = model._default_manager.select_for_update().get(pk=form.instance.pk)
    _check_unlocked(current, "change")
    before = snapshot(current, formsets)
    record = _save_form(form, formsets, user)
    _check_in_scope(record, user, "change")
    after = snapshot(record, formsets)
    if after != before:
        log_change(record=record, action=ObjectChange.Action.UPDATE, user=user, before=before, after=after)
        queue_event(event_name(record, "updated"), record=record, user=user)
    return record


def dependents_message(record, error):
    """A clear sentence naming the records that still refer to `record`."""
    blocking = list(error.protected_objects if isinstance(error, ProtectedError) else error.restricted_objects)
    names = []
    for obj in blocking[:5]:
        names.append(f"{obj._meta.verbose_name} “{obj}”")
    more = len(blocking) - len(names)
    text = ngettext(
        "“%(record)s” cannot be deleted: %(count)d other record refers to it (%(names)s).",
        "“%(record)s” cannot be deleted: %(count)d other records refer to it (%(names)s).",
        len(blocking),
    ) % {"record": record, "count": len(blocking), "names": ", ".join(names) + ("…" if more > 0 else "")}
    return text


def _delete_record_links(record):
    """Comments, attachments, tags and shares of a deleted record go with it."""
    from django.contrib.contenttypes.models import ContentType

    from qinglan.extras.models import Attachment, Comment, TaggedItem

    from .models import RecordShare

    content_type = ContentType.objects.get_for_model(record)
    for attachment in Attachment.objects.filter(content_type=content_type, object_id=record.pk):
        transaction.on_commit(lambda name=attachment.file.name, storage=attachment.file.storage: storage.delete(name))
    for model in (Attachment, Comment, TaggedItem, RecordShare):
        model.objects.filter(content_type=content_type, object_id=record.pk).delete()


@transaction.atomic
def delete_record(*, record, user):
    if not may(user, "delete", record):
        raise PermissionDenied(_("You may not delete this record."))
    _check_unlocked(record, "delete")
    before = snapshot(record)
    pk = record.pk
    try:
        with transaction.atomic():
            record.delete()
    except (ProtectedError, RestrictedError) as error:
        raise ValidationError(dependents_message(record, error)) from error
    record.pk = pk
    resource = _resource(record)
    if resource is not None:
        resource.after_delete(record, user=user)
    _delete_record_links(record)
    log_change(record=record, action=ObjectChange.Action.DELETE, user=user, before=before)
    queue_event(event_name(record, "deleted"), record=record, user=user, data={"before": before})


@transaction.atomic
def bulk_update(*, resource, queryset, changes, user):
    """Apply {field: value} (custom fields as cf_<name>) to every record the member may change.
    Returns the number of records changed; all or nothing."""
    from qinglan.extras.customfields import field_defs_for

    definitions = {f"cf_{d.name}": d for d in field_defs_for(resource.model)} if changes else {}
    count = 0
    for record in queryset.restrict(user, "change").select_related(None).select_for_update():
        _check_unlocked(record, "change")
        before = snapshot(record)
        for name, value in changes.items():
            if name in definitions:
                data = dict(record.custom_field_data or {})
                data[definitions[name].name] = definitions[name].to_json(value)
                record.custom_field_data = data
                continue
            field = record._meta.get_field(name)
            if isinstance(field, models.ManyToManyField):
                continue
            setattr(record, name, value)
        for name, value in changes.items():
            field = None if name in definitions else record._meta.get_field(name)
            if isinstance(field, models.ManyToManyField):
                getattr(record, name).set(value)
        record.full_clean(validate_unique=True)
        resource.before_save(record, user=user, created=False)
        record.save()
        resource.after_save(record, user=user, created=False)
        _check_in_scope(record, user, "change")
        after = snapshot(record)
        if after != before:
            log_change(record=record, action=ObjectChange.Action.UPDATE, user=user, before=before, after=after)
            queue_event(event_name(record, "updated"), record=record, user=user)
            count += 1
    return count


@transaction.atomic
def bulk_delete(*, queryset, user):
    """Delete every given record the member may delete; all or nothing, with a clear error
    naming what still depends on a record."""
    count = 0
    for record in queryset.restrict(user, "delete"):
        delete_record(record=record, user=user)
        count += 1
    return count


@transaction.atomic
def share_record(*, record, member, can_change=False, user):
    """Share a record with a member beyond its owner (see Resource.own_q)."""
    from django.contrib.contenttypes.models import ContentType

    from .models import RecordShare

    if not may(user, "change", record):
        raise PermissionDenied(_("You may not share this record."))
    if not member.is_active:
        raise ValidationError(_("%(member)s is not an active member.") % {"member": member})
    share, _created = RecordShare.objects.update_or_create(
        content_type=ContentType.objects.get_for_model(record), object_id=record.pk, user=member, defaults={"can_change": can_change}
    )
    log_change(record=record, action=ObjectChange.Action.UPDATE, user=user, before={}, after={"shared_with": str(member), "may_change": can_change})
    queue_event(event_name(record, "shared"), record=record, user=user, data={"member": member.pk})
    return share


@transaction.atomic
def unshare_record(*, record, member, user):
    from django.contrib.contenttypes.models import ContentType

    from .models import RecordShare

    if not may(user, "change", record):
        raise PermissionDenied(_("You may not share this record."))
    RecordShare.objects.filter(content_type=ContentType.objects.get_for_model(record), object_id=record.pk, user=member).delete()
    log_change(record=record, action=ObjectChange.Action.UPDATE, user=user, before={"shared_with": str(member)}, after={})
