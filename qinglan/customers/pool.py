"""The public pool (公海): customers nobody owns. Members claim them within a limit (and a
customer that left a member for the pool only after its level's reclaim days), owners
release them, a nightly job returns customers nobody followed up for their level's number of
days, and managers reassign customers in bulk. Every change of owner writes a PoolTransfer,
a change-log entry and a domain event in the same transaction."""

import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from qinglan.core.changelog import log_change, snapshot
from qinglan.core.events import event_name, queue_event
from qinglan.core.models import ObjectChange
from qinglan.core.permissions import has_permission, may

from . import services
from .choices import TransferKind
from .models import ClaimLimit, Customer, CustomerLevel, PoolTransfer

RETURN_BATCH_SIZE = 1000
EVENT_VERBS = {
    TransferKind.CLAIM: "claimed",
    TransferKind.RELEASE: "released",
    TransferKind.RETURN: "returned_to_pool",
    TransferKind.REASSIGN: "reassigned",
}


# ---- limits ------------------------------------------------------------------------------


def claim_limit_for(member):
    """The most customers `member` may own (their own limit, else the default), or None."""
    limits = dict(ClaimLimit.objects.filter(Q(member=member) | Q(member__isnull=True)).values_list("member_id", "limit"))
    return limits.get(member.pk, limits.get(None))


def owned_count(member):
    """How many customers the member owns now (counted live, never cached)."""
    return Customer.objects.filter(owner=member, is_customer=True).count()


def _lock_member(member):
    """Serialise the claims of one member, so two claims cannot both take the last free slot.
    FOR NO KEY UPDATE leaves rows that merely refer to the member (change log, notifications)
    free to be written by others."""
    get_user_model().objects.select_for_update(no_key=True).filter(pk=member.pk).values_list("pk", flat=True).first()


def _check_limit(member, adding):
    limit = claim_limit_for(member)
    if limit is None:
        return
    owned = owned_count(member)
    if owned + adding > limit:
        free = max(limit - owned, 0)
        if adding == 1 or free == 0:
            raise ValidationError(
                _("You already own %(owned)d customers and may own at most %(limit)d: release some to the pool before claiming more.")
                % {"owned": owned, "limit": limit}
            )
        raise ValidationError(
            ngettext(
                "You may claim only %(free)d more customer, and %(count)d were selected.",
                "You may claim only %(free)d more customers, and %(count)d were selected.",
                free,
            )
            % {"free": free, "count": adding}
        )


# ---- cool-down before claiming back ------------------------------------------------------------

# The customer went from its owner to the pool: released (by whoever may change it) or returned
# by the nightly job. A manager's reassignment is no claim and is never held back.
LEFT_FOR_THE_POOL = (TransferKind.RELEASE, TransferKind.RETURN)


def reclaim_blocked_until(customers, member, now=None):
    """{customer pk: the moment it may be claimed again} for those of `customers` that left
    `member` for the pool less than their level's reclaim days ago. Other members are free to
    claim them; a level with 0 reclaim days holds nobody back."""
    now = now or timezone.now()
    days_by_level = dict(
        CustomerLevel.objects.filter(pk__in={c.level_id for c in customers if c.level_id}, reclaim_days__gt=0)
        .values_list("pk", "reclaim_days")
    )
    held = [customer.pk for customer in customers if customer.level_id in days_by_level]
    if not held:
        return {}
    left_at = dict(
        PoolTransfer.objects.filter(customer_id__in=held, from_owner=member, kind__in=LEFT_FOR_THE_POOL)
        .values("customer_id")
        .annotate(latest=Max("at"))
        .values_list("customer_id", "latest")
    )
    blocked = {}
    for customer in customers:
        if customer.pk in left_at:
            until = left_at[customer.pk] + datetime.timedelta(days=days_by_level[customer.level_id])
            if until > now:
                blocked[customer.pk] = until
    return blocked


def shown_moment(moment):
    """The local date and minute, rounded up so the time shown is never before the one meant."""
    moment = timezone.localtime(moment)
    if moment.second or moment.microsecond:
        moment = moment.replace(second=0, microsecond=0) + datetime.timedelta(minutes=1)
    return formats.date_format(moment, "Y-m-d H:i")


def _check_cool_down(customers, member):
    blocked = reclaim_blocked_until(customers, member)
    if blocked:
        raise ValidationError(
            [
                _("“%(customer)s” went from you to the public pool recently: you may claim it again from %(date)s.")
                % {"customer": customer, "date": shown_moment(blocked[customer.pk])}
                for customer in customers
                if customer.pk in blocked
            ]
        )


# ---- one change of owner -------------------------------------------------------------------


def _locked(customer):
    return Customer.objects.select_for_update().get(pk=customer.pk)


def _transfer(customer, *, kind, to_owner, user, reason="", now=None):
    """Give a locked customer to `to_owner` (None: to the pool), department following the owner."""
    now = now or timezone.now()
    before = snapshot(customer)
    from_owner_id = customer.owner_id
    customer.owner = to_owner
    services.prepare_customer(customer=customer, user=user, created=False)
    if to_owner is None:
        customer.in_pool, customer.pooled_at, customer.owned_since = True, now, None
    else:
        customer.in_pool, customer.pooled_at, customer.owned_since = False, None, now
    customer.save()
    PoolTransfer.objects.create(
        customer=customer, kind=kind, from_owner_id=from_owner_id, to_owner=to_owner, by=user, at=now, reason=(reason or "")[:300]
    )
    log_change(record=customer, action=ObjectChange.Action.UPDATE, user=user, before=before, after=snapshot(customer))
    queue_event(
        event_name(customer, EVENT_VERBS[kind]),
        record=customer,
        user=user,
        data={"from_owner": from_owner_id, "to_owner": to_owner.pk if to_owner else None, "reason": reason or ""},
    )
    return customer


def _may_take_customers(user):
    if not has_permission(user, Customer, "change"):
        raise PermissionDenied(_("You may not take on customers."))


@transaction.atomic
def claim(*, customer, user):
    """Take a customer from the public pool, within the member's claim limit and, for a
    customer that left this member for the pool, after its level's reclaim days."""
    return claim_many(customers=[customer], user=user)[0]


@transaction.atomic
def claim_many(*, customers, user):
    """Claim several pool customers at once: all of them, or none with a clear reason (one
    not in the pool any more, one the member let go to the pool within its level's reclaim
    days, or the member's claim limit)."""
    _may_take_customers(user)
    _lock_member(user)
    ids = sorted({customer.pk for customer in customers})
    locked = list(Customer.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    taken = [customer for customer in locked if not customer.in_pool]
    if taken or len(locked) != len(ids):
        name = taken[0] if taken else _("A customer")
        raise ValidationError(_("“%(customer)s” is not in the public pool (any more): someone may have claimed it just now.") % {"customer": name})
    _check_cool_down(locked, user)
    _check_limit(user, adding=len(locked))
    return [_transfer(customer, kind=TransferKind.CLAIM, to_owner=user, user=user) for customer in locked]


@transaction.atomic
def release(*, customer, user, reason=""):
    """The owner (or whoever may change the customer) gives it back to the public pool."""
    if not may(user, "change", customer):
        raise PermissionDenied(_("You may not release this customer."))
    customer = _locked(customer)
    if customer.in_pool:
        raise ValidationError(_("“%(customer)s” is in the public pool already.") % {"customer": customer})
    return _transfer(customer, kind=TransferKind.RELEASE, to_owner=None, user=user, reason=reason)


@transaction.atomic
def reassign(*, customers, to_owner, user, reason=""):
    """Give every customer of `customers` that `user` may change to `to_owner`, whether it is
    owned or in the pool (claim limits are for claims, not for a manager's decision). Returns
    the number of customers reassigned."""
    if to_owner is None or not to_owner.is_active:
        raise ValidationError(_("Choose an active member to give the customers to."))
    queryset = Customer.objects.filter(pk__in=customers.values("pk")).restrict(user, "change")
    count = 0
    now = timezone.now()
    for customer in queryset.select_for_update().order_by("pk"):
        if customer.owner_id == to_owner.pk:
            continue
        _transfer(customer, kind=TransferKind.REASSIGN, to_owner=to_owner, user=user, reason=reason, now=now)
        count += 1
    if count and to_owner != user:
        _notify(
            to_owner,
            lambda: ngettext(
                "%(member)s gave you %(count)d customer.", "%(member)s gave you %(count)d customers.", count
            ) % {"member": user, "count": count},
            url=customer_list_url(mine=to_owner),
            event="customers.customer.reassigned",
        )
    return count


def note_owner_change(*, customer, user):
    """For a customer saved through a form, the API or an import: when its owner changed, log
    the transfer and take it out of the pool (called by the resource's save hook, inside the
    saving transaction, before the customer is written)."""
    previous = Customer.objects.filter(pk=customer.pk).values_list("owner_id", flat=True).first()
    if customer.pk is None or previous == customer.owner_id:
        return
    now = timezone.now()
    if customer.owner_id:
        customer.in_pool, customer.pooled_at, customer.owned_since = False, None, now
    PoolTransfer.objects.create(
        customer_id=customer.pk, kind=TransferKind.REASSIGN, from_owner_id=previous, to_owner_id=customer.owner_id, by=user, at=now
    )


# ---- the nightly job ----------------------------------------------------------------------------


def idle_customers(level, now):
    """Owned customers of `level` nobody followed up for its pool days: the last follow-up (or,
    never followed up, the creation) and the taking-on by the current owner both before the cutoff."""
    cutoff = now - datetime.timedelta(days=level.pool_days)
    last_follow_up = Q(last_activity_at__lt=cutoff) | Q(last_activity_at__isnull=True, created__lt=cutoff)
    taken_on = Q(owned_since__lt=cutoff) | Q(owned_since__isnull=True)
    return Customer.objects.filter(level=level, in_pool=False).filter(last_follow_up, taken_on)


def return_idle_customers(now=None, batch_size=RETURN_BATCH_SIZE):
    """Return idle customers to the pool, level by level, in batches of set-based statements
    (one transaction per batch, so a long run holds no lock for long and a stop loses nothing
    half-written). Their previous owners are told once each. Returns how many were returned."""
    now = now or timezone.now()
    returned_by_owner = {}
    returned = 0
    for level in CustomerLevel.objects.filter(pool_days__isnull=False):
        last_pk = 0
        while True:
            with transaction.atomic():
                batch = list(
                    idle_customers(level, now)
                    .filter(pk__gt=last_pk)
                    .order_by("pk")
                    .select_for_update(skip_locked=True)
                    .values_list("pk", "owner_id", "department_id", "name")[:batch_size]
                )
                if not batch:
                    break
                last_pk = batch[-1][0]
                _return_batch(batch, level, now)
            returned += len(batch)
            for _pk, owner_id, _department, _name in batch:
                if owner_id:
                    returned_by_owner[owner_id] = returned_by_owner.get(owner_id, 0) + 1
    _tell_previous_owners(returned_by_owner)
    return returned


def _return_batch(batch, level, now):
    ids = [pk for pk, _owner, _department, _name in batch]
    Customer.objects.filter(pk__in=ids).update(owner=None, department=None, in_pool=True, pooled_at=now, owned_since=None, last_updated=now)
    reason = _("No follow-up for %(days)d days (level %(level)s).") % {"days": level.pool_days, "level": level}
    PoolTransfer.objects.bulk_create(
        [PoolTransfer(customer_id=pk, kind=TransferKind.RETURN, from_owner_id=owner_id, at=now, reason=reason) for pk, owner_id, _d, _n in batch]
    )
    content_type = ContentType.objects.get_for_model(Customer)
    ObjectChange.objects.bulk_create(
        [
            ObjectChange(
                action=ObjectChange.Action.UPDATE,
                content_type=content_type,
                object_id=pk,
                object_repr=str(name)[:200],
                prechange_data={"owner": owner_id, "department": department_id, "in_pool": False, "pooled_at": None},
                postchange_data={"owner": None, "department": None, "in_pool": True, "pooled_at": now.isoformat()},
            )
            for pk, owner_id, department_id, name in batch
        ]
    )
    for pk, owner_id, _department, _name in batch:
        customer = Customer(pk=pk)
        queue_event(event_name(customer, EVENT_VERBS[TransferKind.RETURN]), record=customer, data={"from_owner": owner_id, "reason": reason})


def _tell_previous_owners(returned_by_owner):
    members = get_user_model().objects.filter(pk__in=list(returned_by_owner), is_active=True)
    for member in members:
        count = returned_by_owner[member.pk]
        _notify(
            member,
            lambda count=count: ngettext(
                "%(count)d of your customers went back to the public pool: nobody followed it up in time.",
                "%(count)d of your customers went back to the public pool: nobody followed them up in time.",
                count,
            ) % {"count": count},
            url=Poolcustomer_list_url(),
            event="customers.customer.returned_to_pool",
        )


# ---- notifications ------------------------------------------------------------------------------


def _notify(member, title, *, url, event, body=None):
    """An in-app notification in the member's own language (jobs have no request to take it from)."""
    from qinglan.extras.services import notify

    with translation.override(member.language or settings.LANGUAGE_CODE):
        return notify(user=member, title=str(title()), body=str(body()) if body else "", url=url, event=event)


def customer_list_url(mine=None):
    from qinglan.core.registry import registry

    url = registry.get(Customer).list_url
    return f"{url}?owner={mine.pk}" if mine is not None else url


def Poolcustomer_list_url():
    from qinglan.core.registry import registry

    from .models import PoolCustomer

    return registry.get(PoolCustomer).list_url
