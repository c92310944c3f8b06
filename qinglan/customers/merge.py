"""Merging two customer records into one (合併客戶).

Everything that points at the merged customer moves to the kept one: rows with a foreign key
to Customer (contacts, follow-ups, addresses, pool transfers, and whatever later modules add
— orders, tickets, contracts), many-to-many links, and rows attached through a generic
relation (comments, attachments, tags, record shares). They are found from the model
registry at run time, so a new module's links move without this file knowing them."""

from django.apps import apps
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _

from qinglan.core.changelog import log_change, snapshot
from qinglan.core.events import event_name, queue_event
from qinglan.core.models import ObjectChange

from .choices import TransferKind
from .models import Customer, PoolTransfer
from .services import prepare_customer, refresh_follow_up

# Derived, computed or bookkeeping fields: never chosen, recomputed or kept as they are.
NOT_CHOSEN = {
    "id", "created", "last_updated", "name_key", "phone_key", "department", "custom_field_data",
    "in_pool", "pooled_at", "last_activity_at", "next_follow_up",
}


def choosable_fields():
    """The customer's fields a member picks between when merging, in form order."""
    from qinglan.core.registry import registry

    resource = registry.get(Customer)
    names = [name for name in resource.form_fields() if name not in NOT_CHOSEN]
    for model_field in Customer._meta.concrete_fields:
        if model_field.name not in names and model_field.name not in NOT_CHOSEN and model_field.editable:
            names.append(model_field.name)
    return [Customer._meta.get_field(name) for name in names]


def is_empty(value):
    return value in (None, "", [], {})


def default_choice(model_field, keep_value, merge_value):
    """Keep's value, unless it is empty and merge's is not; a role flag (supplier, partner…)
    set on either side stays set."""
    if isinstance(model_field, models.BooleanField):
        return "merge" if merge_value and not keep_value else "keep"
    return "merge" if is_empty(keep_value) and not is_empty(merge_value) else "keep"


def _check_permissions(keep, merge, user):
    restricted = Customer.objects.restrict
    allowed_change = set(restricted(user, "change").filter(pk__in=[keep.pk, merge.pk]).values_list("pk", flat=True))
    if allowed_change != {keep.pk, merge.pk}:
        raise PermissionDenied(_("You may merge only customers you may change."))
    if not restricted(user, "delete").filter(pk=merge.pk).exists():
        raise PermissionDenied(_("You may not delete the customer that would be merged away."))


def _apply_choices(keep, merge, choices):
    """Set keep's fields: the chosen side, else keep's value, filled from merge when empty."""
    for model_field in choosable_fields():
        name = model_field.attname
        keep_value, merge_value = getattr(keep, name), getattr(merge, name)
        choice = choices.get(model_field.name)
        if choice not in (None, "keep", "merge"):
            raise ValidationError(_("Choose “keep” or “merge” for %(field)s.") % {"field": model_field.verbose_name})
        if (choice or default_choice(model_field, keep_value, merge_value)) == "merge":
            setattr(keep, name, merge_value)
    if isinstance(getattr(keep, "custom_field_data", None), dict):
        data = dict(merge.custom_field_data or {})
        for key, value in (keep.custom_field_data or {}).items():
            if not is_empty(value) or choices.get(f"cf_{key}") == "keep":
                data[key] = value
        for key, choice in choices.items():
            if key.startswith("cf_") and choice == "merge":
                data[key[3:]] = (merge.custom_field_data or {}).get(key[3:])
        keep.custom_field_data = data


def _move_foreign_keys(keep, merge):
    """Rows of any model with a foreign key (or one-to-one) to Customer."""
    moved = {}
    for relation in Customer._meta.related_objects:
        if relation.many_to_many:
            continue
        related_model = relation.related_model
        name = relation.field.name
        rows = related_model._base_manager.filter(**{name: merge.pk})
        if relation.one_to_one and related_model._base_manager.filter(**{name: keep.pk}).exists():
            raise ValidationError(
                _("Both customers have a %(type)s; remove one before merging.") % {"type": related_model._meta.verbose_name}
            )
        try:
            with transaction.atomic():
                count = rows.update(**{name: keep.pk})
        except IntegrityError as error:
            raise ValidationError(
                _("The %(type)s of the two customers cannot be combined: %(error)s")
                % {"type": related_model._meta.verbose_name_plural, "error": error}
            ) from error
        if count:
            moved[str(related_model._meta.verbose_name_plural)] = moved.get(str(related_model._meta.verbose_name_plural), 0) + count
    return moved


def _move_many_to_many(keep, merge):
    """Many-to-many links from and to Customer; links keep already has are not doubled."""
    for model_field in Customer._meta.many_to_many:  # Customer's own (e.g. collaborators)
        getattr(keep, model_field.name).add(*getattr(merge, model_field.name).all())
    for relation in Customer._meta.related_objects:  # other models' links to customers
        if not relation.many_to_many:
            continue
        through = relation.through
        to_customer = relation.field.m2m_reverse_field_name()
        other = relation.field.m2m_field_name()
        already = through._base_manager.filter(**{to_customer: keep.pk}).values(other)
        through._base_manager.filter(**{to_customer: merge.pk, f"{other}__in": already}).delete()
        through._base_manager.filter(**{to_customer: merge.pk}).update(**{to_customer: keep.pk})


def _move_generic(keep, merge):
    """Rows attached through a generic foreign key: comments, attachments, tags, shares… A row
    that would repeat one keep already has (the same tag, a share with the same member) goes."""
    content_type = ContentType.objects.get_for_model(Customer)
    moved = {}
    for model in apps.get_models():
        for private in model._meta.private_fields:
            if not isinstance(private, GenericForeignKey):
                continue
            ct_field = model._meta.get_field(private.ct_field).attname
            rows = model._base_manager.filter(**{ct_field: content_type.pk, private.fk_field: merge.pk})
            count = 0
            try:
                with transaction.atomic():
                    count = rows.update(**{private.fk_field: keep.pk})
            except IntegrityError:
                for row in rows:
                    try:
                        with transaction.atomic():
                            model._base_manager.filter(pk=row.pk).update(**{private.fk_field: keep.pk})
                            count += 1
                    except IntegrityError:
                        model._base_manager.filter(pk=row.pk).delete()
            if count:
                moved[str(model._meta.verbose_name_plural)] = count
    return moved


@transaction.atomic
def merge_customers(*, keep, merge, user, choices=None):
    """Merge `merge` into `keep`: move everything that points at `merge`, fill keep's empty
    fields from it (or take the values `choices` name: {field: "keep" | "merge"}), log the
    change on both, record a MERGE transfer, delete `merge` and queue
    ``customers.customer.merged``. Needs change on both and delete on `merge`."""
    choices = dict(choices or {})
    if keep.pk == merge.pk:
        raise ValidationError(_("Choose two different customers to merge."))
    locked = {row.pk: row for row in Customer.objects.select_for_update().filter(pk__in=sorted([keep.pk, merge.pk])).order_by("pk")}
    if len(locked) != 2:
        raise ValidationError(_("One of the customers no longer exists."))
    keep, merge = locked[keep.pk], locked[merge.pk]
    _check_permissions(keep, merge, user)

    before_keep, before_merge = snapshot(keep), snapshot(merge)
    old_owner_id = keep.owner_id
    _apply_choices(keep, merge, choices)
    merged_code = merge.code
    moved = _move_foreign_keys(keep, merge)
    _move_many_to_many(keep, merge)
    for label, count in _move_generic(keep, merge).items():
        moved[label] = moved.get(label, 0) + count

    # The merged record goes before keep is saved, so keep may take over its unique code.
    merge_pk = merge.pk
    Customer.objects.filter(pk=merge_pk).delete()
    merge.pk = merge_pk
    prepare_customer(customer=keep, user=user, created=False)
    keep.save()
    refresh_follow_up(customer_id=keep.pk)
    keep.refresh_from_db()

    PoolTransfer.objects.create(
        customer=keep, kind=TransferKind.MERGE, from_owner_id=merge.owner_id, to_owner_id=keep.owner_id, by=user,
        reason=(_("Merged %(code)s %(name)s into this customer.") % {"code": merged_code, "name": merge.name})[:300],
    )
    if old_owner_id != keep.owner_id:
        PoolTransfer.objects.create(customer=keep, kind=TransferKind.REASSIGN, from_owner_id=old_owner_id, to_owner_id=keep.owner_id, by=user)
    after_keep = snapshot(keep)
    after_keep["merged_from"] = {"id": merge_pk, "code": merged_code, "name": merge.name, "moved": moved}
    log_change(record=keep, action=ObjectChange.Action.UPDATE, user=user, before=before_keep, after=after_keep)
    log_change(
        record=merge, action=ObjectChange.Action.DELETE, user=user, before=before_merge,
        after={"merged_into": {"id": keep.pk, "code": keep.code, "name": keep.name}},
    )
    queue_event(event_name(keep, "merged"), record=keep, user=user, data={"merged": {"id": merge_pk, "code": merged_code}, "moved": moved})
    queue_event(event_name(merge, "deleted"), record=merge, user=user, data={"before": before_merge, "merged_into": keep.pk})
    return keep
