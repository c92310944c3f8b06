"""Customer value: potential value from the estimate (and registered sources), grades from
administrator-set minimums, regraded when the rules change; established value is only ever
written by the service the sales module calls."""

from decimal import Decimal

import pytest
from django.test import Client

from qinglan.core.testing import grant, make_member
from qinglan.customers import value
from qinglan.customers.models import Customer, ValueGradeRule

from .factories import make_customer


@pytest.fixture
def rules(db):
    for grade, minimum in (("A", 1_000_000), ("B", 300_000), ("C", 50_000), ("D", 0)):
        ValueGradeRule.objects.create(grade=grade, min_value=minimum)


def test_grade_follows_the_estimate_through_the_form(rules):
    member = make_member("sales")
    grant(member, Customer, ["view", "add", "change"])
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(member)
    response = client.post("/customers/customer/add/", {
        "kind": "company", "name": "價值測試股份有限公司", "status": "prospect", "potential_estimate": "400000",
        "addresses-TOTAL_FORMS": "0", "addresses-INITIAL_FORMS": "0",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    customer = Customer.objects.get(name="價值測試股份有限公司")
    assert (customer.potential_value, customer.value_grade) == (Decimal("400000.00"), "B")
    assert customer.model_value is None  # filled by data mining later, never faked


def test_established_value_and_registered_sources_count(rules):
    customer = make_customer(make_member("owner"), "來源測試有限公司")
    def source(ids):
        return {customer.pk: Decimal(250_000)}

    value.register_potential_source(source)
    try:
        customer = value.record_established_value(
            customer_id=customer.pk, lifetime_revenue=Decimal(800_000), gross_margin=Decimal(120_000), order_count=3,
            first_order_date=None, last_order_date=None, paid_total=Decimal(700_000),
        )
    finally:
        value._potential_sources.remove(source)  # the other modules' sources (sales) stay
    customer.refresh_from_db()
    assert customer.potential_value == Decimal(250_000)
    assert customer.value_grade == "A"  # 800,000 + 250,000 ≥ 1,000,000


def test_changing_the_rules_regrades_every_customer(rules, django_capture_on_commit_callbacks):
    admin = make_member("admin", superuser=True)
    small = make_customer(admin, "小客戶有限公司", potential_estimate=Decimal(60_000))
    big = make_customer(admin, "大客戶有限公司", potential_estimate=Decimal(350_000))
    assert [small.value_grade, big.value_grade] == ["C", "B"]
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(admin)
    rule_b = ValueGradeRule.objects.get(grade="B")
    with django_capture_on_commit_callbacks(execute=True):  # the regrade job is queued on commit
        response = client.post(f"/customers/valuegraderule/{rule_b.pk}/edit/", {"grade": "B", "min_value": "40000"})
    assert response.status_code == 302
    small.refresh_from_db()
    big.refresh_from_db()
    assert [small.value_grade, big.value_grade] == ["B", "B"]
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/customers/valuegraderule/{rule_b.pk}/delete/")
    small.refresh_from_db()
    assert small.value_grade == "C"


def test_a_negative_minimum_is_refused(rules):
    admin = make_member("admin", superuser=True)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(admin)
    response = client.post("/customers/valuegraderule/add/", {"grade": "A", "min_value": "-5"})
    assert response.status_code == 400
    assert ValueGradeRule.objects.count() == 4
