"""Who owns a new customer: modules register assignment rules (the sales module's territories)
that may give a new customer — entered on the form, imported or created through the API — to
another owner. The member who entered it then keeps seeing and changing it through a share,
and the new owner is told in the bell. The customers app knows no rule; it only asks them."""

from django.contrib.contenttypes.models import ContentType
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

ASSIGNERS = []


def register_assigner(assigner):
    """`assigner(customers, user)` sets ``owner`` on the new (unsaved) customers a rule gives to
    someone, and ``assigned_by`` (what decided it, shown to the new owner) on each of them."""
    if assigner not in ASSIGNERS:
        ASSIGNERS.append(assigner)


def assign_new(customers, user):
    for assigner in ASSIGNERS:
        assigner([customer for customer in customers if not getattr(customer, "assigned_by", None)], user)


def after_assignment(customers, user):
    """After the new customers are saved: the member who entered a customer a rule gave to
    someone else keeps it through a share (may change); the new owners are notified."""
    from qinglan.core.models import RecordShare

    from .models import Customer
    from .pool import _notify, customer_list_url

    moved = [customer for customer in customers if getattr(customer, "assigned_by", None) and customer.owner_id]
    if not moved:
        return
    if user is not None and user.is_authenticated:
        content_type = ContentType.objects.get_for_model(Customer)
        RecordShare.objects.bulk_create(
            [RecordShare(content_type=content_type, object_id=customer.pk, user=user, can_change=True) for customer in moved if customer.owner_id != user.pk],
            ignore_conflicts=True,
        )
    given = {}
    for customer in moved:
        if user is None or customer.owner_id != getattr(user, "pk", None):
            given.setdefault(customer.owner_id, []).append(customer)
    for batch in given.values():
        first = batch[0]
        if len(batch) == 1:
            _notify(
                first.owner, lambda: _("New customer %(customer)s is yours") % {"customer": first.name},
                body=lambda: _("Assigned by %(rule)s.") % {"rule": first.assigned_by},
                url=first.get_absolute_url(), event="customers.customer.assigned",
            )
        else:
            _notify(
                first.owner, lambda count=len(batch): ngettext("%(count)d new customer is yours", "%(count)d new customers are yours", count) % {"count": count},
                body=lambda: _("Assigned by %(rule)s.") % {"rule": first.assigned_by},
                url=customer_list_url(first.owner), event="customers.customer.assigned",
            )
