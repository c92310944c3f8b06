"""Customer value (客戶價值).

* Established value — lifetime revenue, gross margin, orders, payments — is computed from
  the sales module's records when it exists (it calls `record_established_value`); nobody
  types it in.
* Potential value = the open opportunities weighted by their probability (modules register a
  source with `register_potential_source`) + the estimate a salesperson enters.
* Model value (predicted lifetime value) is left empty until the data-mining module fills it.
* The value grade (A–D) comes from administrator-set minimums (ValueGradeRule) applied to
  lifetime revenue + potential value."""

from decimal import Decimal

from django.db import transaction
from django.db.models import Case, F, Value, When

from .models import Customer, ValueGradeRule

_potential_sources = []


def register_potential_source(source):
    """source(customer_ids) -> {customer_id: Decimal}: e.g. the sales module's weighted open
    opportunities. Each source's amounts are added to the customer's potential value."""
    _potential_sources.append(source)


def potential_from_sources(customer_id):
    return sum((Decimal(source([customer_id]).get(customer_id, 0)) for source in _potential_sources), Decimal(0))


def grade_for(value, rules):
    """The best grade (A before B…) whose minimum `value` reaches, or '' (rules: [(grade, minimum)])."""
    for grade, minimum in sorted(rules):
        if value >= minimum:
            return grade
    return ""


def current_rules():
    return list(ValueGradeRule.objects.values_list("grade", "min_value"))


def refresh_value(*, customer, rules=None):
    """Potential value and grade of one customer about to be saved (`rules`: current_rules(),
    when the caller grades many customers)."""
    from_sources = potential_from_sources(customer.pk) if customer.pk else Decimal(0)  # a new customer has no opportunities yet
    customer.potential_value = (customer.potential_estimate or Decimal(0)) + from_sources
    customer.value_grade = grade_for(customer.lifetime_revenue + customer.potential_value, current_rules() if rules is None else rules)


@transaction.atomic
def refresh_potential(*, customer_ids):
    """Potential value and grade of customers whose sources changed (e.g. an opportunity was
    saved, moved or deleted); written only where they differ."""
    rules = current_rules()
    for customer in Customer.objects.select_for_update().filter(pk__in=list(customer_ids)).order_by("pk"):
        before = (customer.potential_value, customer.value_grade)
        refresh_value(customer=customer, rules=rules)
        if (customer.potential_value, customer.value_grade) != before:
            Customer.objects.filter(pk=customer.pk).update(potential_value=customer.potential_value, value_grade=customer.value_grade)


@transaction.atomic
def regrade_all():
    """Every customer's grade from the current rules, in one UPDATE (run after the rules
    change; at a million customers this is a job, not a request)."""
    rules = sorted(current_rules())  # A first: the best grade whose minimum is reached wins
    total = F("lifetime_revenue") + F("potential_value")
    grade = Case(*[When(**{"total__gte": minimum}, then=Value(grade)) for grade, minimum in rules], default=Value(""))
    return Customer.objects.alias(total=total).exclude(value_grade=grade).update(value_grade=grade)


@transaction.atomic
def record_established_value(*, customer_id, lifetime_revenue, gross_margin, order_count, first_order_date, last_order_date, paid_total):
    """For the sales module: the customer's established value as computed from its orders,
    invoices and receipts; the grade follows."""
    customer = Customer.objects.select_for_update().get(pk=customer_id)
    customer.lifetime_revenue, customer.gross_margin, customer.paid_total = lifetime_revenue, gross_margin, paid_total
    customer.order_count, customer.first_order_date, customer.last_order_date = order_count, first_order_date, last_order_date
    refresh_value(customer=customer)
    customer.save(update_fields=[
        "lifetime_revenue", "gross_margin", "paid_total", "order_count", "first_order_date", "last_order_date",
        "potential_value", "value_grade", "last_updated",
    ])
    return customer
