"""Customer services. The generic create/update/import/API paths call `prepare_customer`,
`prepare_contact` and `activity_saved` through the resources' save hooks."""

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from qinglan.org.services import next_number

from .models import Activity, Customer
from .normalize import name_key, phone_key

CUSTOMER_SEQUENCE = "customer"


def prepare_customer(*, customer, user, created):
    """Number a new customer, keep its department with its owner, derive the search keys."""
    if created and not customer.code:
        customer.code = next_number(code=CUSTOMER_SEQUENCE)
    customer.department_id = customer.owner.department_id if customer.owner_id else None
    customer.name_key = name_key(customer.name)
    customer.phone_key = phone_key(customer.phone or customer.mobile)


def prepare_contact(*, contact, user, created):
    contact.phone_key = phone_key(contact.mobile or contact.phone)


@transaction.atomic
def refresh_follow_up(*, customer_id):
    """A follow-up saved or deleted moves its customer's 'last follow-up' and 'next follow-up'."""
    activities = Activity.objects.filter(customer_id=customer_id)
    latest = activities.aggregate(last=Max("occurred_at"))["last"]
    upcoming = (
        activities.filter(next_follow_up__gte=timezone.localdate()).order_by("next_follow_up").values_list("next_follow_up", flat=True).first()
    )
    Customer.objects.filter(pk=customer_id).update(last_activity_at=latest, next_follow_up=upcoming)
