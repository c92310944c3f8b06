"""Customer services. The generic create/update/import/API paths call `prepare_customer`,
`prepare_contact` and `activity_saved` through the resources' save hooks."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from qinglan.org.services import next_numbers

from .models import Activity, Customer
from .normalize import email_key, name_key, person_key, phone_key
from .value import current_rules, refresh_value

CUSTOMER_SEQUENCE = "customer"
OPTION_LISTS = {"customer-industry": "客戶行業 Customer industries", "customer-source": "客戶來源 Customer sources"}


def ensure_defaults():
    """The customer number sequence and option lists (made by a migration; made again here
    if an administrator or a database flush removed them)."""
    from qinglan.org.models import Dictionary, NumberSequence

    NumberSequence.objects.get_or_create(
        code=CUSTOMER_SEQUENCE, defaults={"name": "客戶編號 Customer numbers", "prefix": "C", "padding": 6, "reset_yearly": False}
    )
    for code, name in OPTION_LISTS.items():
        Dictionary.objects.get_or_create(code=code, defaults={"name": name})


def customer_numbers(count):
    """The next `count` customer codes."""
    try:
        return next_numbers(code=CUSTOMER_SEQUENCE, count=count)
    except ValidationError:  # the sequence was deleted: recreate it rather than refuse the save
        ensure_defaults()
        return next_numbers(code=CUSTOMER_SEQUENCE, count=count)


def prepare_customer(*, customer, user, created, rules=None):
    """Number a new customer, keep its department with its owner, derive the search keys."""
    if created and not customer.code:
        customer.code = customer_numbers(1)[0]
    customer.department_id = customer.owner.department_id if customer.owner_id else None
    customer.name_key = name_key(customer.name)
    refresh_value(customer=customer, rules=rules)
    customer.phone_key = phone_key(customer.phone or customer.mobile)


def prepare_new_customers(*, customers, user):
    """prepare_customer for many new customers (an import): their numbers reserved in one
    step, the grade rules read once."""
    unnumbered = [customer for customer in customers if not customer.code]
    for customer, code in zip(unnumbered, customer_numbers(len(unnumbered)) if unnumbered else ()):
        customer.code = code
    rules = current_rules()
    for customer in customers:
        prepare_customer(customer=customer, user=user, created=True, rules=rules)


def prepare_contact(*, contact, user, created):
    """Derive the contact's phone key and store its e-mail as duplicates are looked up."""
    contact.name_key = person_key(contact.name)
    contact.phone_key = phone_key(contact.mobile or contact.phone)
    contact.email = email_key(contact.email)


@transaction.atomic
def refresh_follow_up(*, customer_id):
    """A follow-up saved or deleted moves its customer's 'last follow-up' and 'next follow-up'."""
    activities = Activity.objects.filter(customer_id=customer_id)
    latest = activities.aggregate(last=Max("occurred_at"))["last"]
    upcoming = (
        activities.filter(next_follow_up__gte=timezone.localdate()).order_by("next_follow_up").values_list("next_follow_up", flat=True).first()
    )
    Customer.objects.filter(pk=customer_id).update(last_activity_at=latest, next_follow_up=upcoming)
