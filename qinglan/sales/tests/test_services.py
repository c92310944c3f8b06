"""Opportunity rules through the paths members take: the form (UI), the pipeline's move, the
API; amounts, probabilities, stage history, the customer's potential value."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone

from qinglan.core.models import ObjectChange
from qinglan.core.permissions import Scope
from qinglan.core.testing import grant, make_department, make_member
from qinglan.customers.models import Contact, Customer, ValueGradeRule
from qinglan.customers.tests.factories import make_contact, make_customer
from qinglan.org.models import CompanyProfile, Currency, ExchangeRate
from qinglan.sales import services
from qinglan.sales.choices import StageKind
from qinglan.sales.models import LossReason, Opportunity, OpportunityStage, StageChange

from .factories import make_opportunity, stage

pytestmark = pytest.mark.django_db


@pytest.fixture
def seller():
    member = make_member("seller", department=make_department("業務一部"))
    grant(member, Opportunity, ["view", "add", "change", "delete"], scope=Scope.OWN)
    grant(member, Customer, ["view"], scope=Scope.OWN)
    client = Client()
    client.force_login(member)
    return member, client


@pytest.fixture
def twd():
    currency = Currency.objects.create(code="TWD", name="新臺幣", decimal_places=0)
    CompanyProfile.objects.create(name="青藍貿易", base_currency=currency)
    return currency


def form(customer, stage_, **values):
    return {
        "name": "年度採購", "customer": str(customer.pk), "stage": str(stage_.pk), "amount": "200000",
        "lines-TOTAL_FORMS": "0", "lines-INITIAL_FORMS": "0", **values,  # the lines' formset, empty
    }


def test_the_stage_decides_status_probability_and_weighted_amount(seller, twd):
    member, client = seller
    customer = make_customer(member, "青藍科技")
    proposal = stage(name="方案報價") or stage()
    response = client.post("/sales/opportunity/add/", form(customer, proposal))
    assert response.status_code == 302, response.content.decode()[:2000]
    record = Opportunity.objects.get()
    assert (record.status, record.probability, record.currency_id) == (StageKind.OPEN, None, twd.pk)
    assert record.weighted_amount == Decimal("200000") * proposal.probability / 100
    assert record.amount_base == Decimal("200000") and record.weighted_base == record.weighted_amount
    # A probability typed on the form replaces the stage's.
    client.post(f"/sales/opportunity/{record.pk}/edit/", form(customer, proposal, probability="90"))
    record.refresh_from_db()
    assert (record.probability, record.weighted_amount) == (Decimal("90"), Decimal("180000.00"))
    # Won: 100 %, closed today, whatever was typed.
    client.post(f"/sales/opportunity/{record.pk}/edit/", form(customer, stage(StageKind.WON), probability="40"))
    record.refresh_from_db()
    assert (record.status, record.probability, record.effective_probability) == (StageKind.WON, None, Decimal(100))
    assert record.closed_on == timezone.localdate() and record.weighted_amount == Decimal("200000.00")
    # Reopened: no closing date any more.
    client.post(f"/sales/opportunity/{record.pk}/edit/", form(customer, proposal))
    record.refresh_from_db()
    assert (record.status, record.closed_on) == (StageKind.OPEN, None)
    moves = list(StageChange.objects.filter(opportunity=record).order_by("id").values_list("to_stage__kind", flat=True))
    assert moves == ["open", "won", "open"]


def test_lost_needs_a_reason_and_a_contact_must_be_the_customers(seller, twd):
    member, client = seller
    customer = make_customer(member, "青藍科技")
    other = make_customer(member, "別家公司")
    record = make_opportunity(member, "網路升級", customer=customer)
    response = client.post(f"/sales/opportunity/{record.pk}/edit/", form(customer, stage(StageKind.LOST)))
    assert response.status_code == 400  # the form again, with the error
    assert "請說明輸單原因。" in response.content.decode()
    record.refresh_from_db()
    assert record.status == StageKind.OPEN  # nothing written
    stranger = make_contact(other, "王小明")
    grant(member, Contact, ["view"])  # to pick a contact at all
    response = client.post(f"/sales/opportunity/{record.pk}/edit/", form(customer, stage(), contact=str(stranger.pk)))
    assert "此聯絡人屬於其他客戶。" in response.content.decode()
    reason = LossReason.objects.first()
    response = client.post(f"/sales/opportunity/{record.pk}/edit/", form(customer, stage(StageKind.LOST), loss_reason=str(reason.pk)))
    assert response.status_code == 302
    record.refresh_from_db()
    assert (record.status, record.loss_reason_id, record.weighted_amount) == (StageKind.LOST, reason.pk, Decimal("0.00"))


def test_product_lines_make_the_amount(seller, twd):
    member, client = seller
    customer = make_customer(member, "青藍科技")
    data = {
        **form(customer, stage(), amount="1"),
        "lines-TOTAL_FORMS": "2", "lines-INITIAL_FORMS": "0",
        "lines-0-description": "筆記型電腦", "lines-0-quantity": "10", "lines-0-unit_price": "35900", "lines-0-discount": "10",
        "lines-1-description": "充電器", "lines-1-quantity": "20", "lines-1-unit_price": "1290", "lines-1-discount": "0",
    }
    response = client.post("/sales/opportunity/add/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    record = Opportunity.objects.get()
    assert record.amount == Decimal("323100.00") + Decimal("25800.00")
    assert record.weighted_amount == (record.amount * record.stage.probability / 100).quantize(Decimal("0.01"))
    # A line with neither product nor description is refused, the opportunity unchanged.
    bad = {**form(customer, stage()), "lines-TOTAL_FORMS": "1", "lines-0-quantity": "1", "lines-0-unit_price": "5"}
    response = client.post(f"/sales/opportunity/{record.pk}/edit/", bad)
    assert response.status_code == 400 and "請選擇產品或填寫明細說明。" in response.content.decode()


def test_amounts_in_another_currency_use_the_latest_rate(seller, twd):
    member, _client = seller
    usd = Currency.objects.create(code="USD", name="US Dollar")
    ExchangeRate.objects.create(currency=usd, date=datetime.date(2026, 1, 1), rate=Decimal("31.5"))
    ExchangeRate.objects.create(currency=usd, date=timezone.localdate() - datetime.timedelta(days=1), rate=Decimal("32.2"))
    ExchangeRate.objects.create(currency=usd, date=timezone.localdate() + datetime.timedelta(days=30), rate=Decimal("40"))  # not valid yet
    record = make_opportunity(member, "美金案", amount=Decimal("10000"), currency=usd, stage=stage(probability=50) or stage())
    assert record.amount_base == Decimal("322000.00")
    assert record.weighted_base == (Decimal("322000.00") * record.effective_probability / 100).quantize(Decimal("0.01"))
    yen = Currency.objects.create(code="JPY", name="日圓")
    unknown = make_opportunity(member, "日圓案", currency=yen)
    assert unknown.amount_base is None and unknown.weighted_base is None


def test_move_stage_checks_permission_records_history_and_needs_a_reason_for_lost(seller, twd):
    member, _client = seller
    record = make_opportunity(member, "網路升級")
    other = make_member("other-seller")
    grant(other, Opportunity, ["view"])  # may look, may not change
    negotiation = OpportunityStage.objects.filter(kind=StageKind.OPEN).order_by("-order").first()
    with pytest.raises(PermissionDenied):
        services.move_stage(opportunity=record, stage=negotiation, user=other)
    services.move_stage(opportunity=record, stage=negotiation, user=member)
    record.refresh_from_db()
    assert record.stage == negotiation and record.weighted_amount == record.amount * negotiation.probability / 100
    change = StageChange.objects.filter(opportunity=record).latest("id")
    assert (change.to_stage, change.changed_by, change.probability) == (negotiation, member, negotiation.probability)
    assert ObjectChange.objects.filter(object_id=record.pk, action="update").exists()
    with pytest.raises(ValidationError):
        services.move_stage(opportunity=record, stage=stage(StageKind.LOST), user=member)
    record.refresh_from_db()
    assert record.stage == negotiation  # the refused move wrote nothing
    retired = OpportunityStage.objects.create(name="舊階段", order=99, probability=5, active=False)
    with pytest.raises(ValidationError):
        services.move_stage(opportunity=record, stage=retired, user=member)


def test_the_customers_potential_value_follows_its_open_opportunities(seller, twd):
    member, client = seller
    ValueGradeRule.objects.create(grade="A", min_value=100_000)
    ValueGradeRule.objects.create(grade="D", min_value=0)
    customer = make_customer(member, "青藍科技", potential_estimate=Decimal("1000"))
    negotiation = OpportunityStage.objects.filter(kind=StageKind.OPEN).order_by("-order").first()
    record = make_opportunity(member, "大案子", customer=customer, amount=Decimal("400000"), stage=negotiation)
    customer.refresh_from_db()
    assert customer.potential_value == Decimal("1000") + record.weighted_base
    assert customer.value_grade == "A"
    services.move_stage(opportunity=record, stage=stage(StageKind.LOST), user=member, loss_reason=LossReason.objects.first())
    customer.refresh_from_db()
    assert (customer.potential_value, customer.value_grade) == (Decimal("1000"), "D")
    services.move_stage(opportunity=record, stage=negotiation, user=member)
    response = client.post(f"/sales/opportunity/{record.pk}/delete/")
    assert response.status_code == 302 and not Opportunity.objects.filter(pk=record.pk).exists()
    customer.refresh_from_db()
    assert customer.potential_value == Decimal("1000")


def test_api_writes_through_the_same_rules(seller, twd):
    member, client = seller
    customer = make_customer(member, "青藍科技")
    response = client.post(
        "/api/sales/opportunities/", {"name": "API 商機", "customer": customer.pk, "stage": stage(StageKind.LOST).pk, "amount": "5000"},
        content_type="application/json",
    )
    assert response.status_code == 400 and "loss_reason" in response.json()
    response = client.post(
        "/api/sales/opportunities/", {"name": "API 商機", "customer": customer.pk, "stage": stage().pk, "amount": "5000"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    record = Opportunity.objects.get(name="API 商機")
    assert record.code.startswith("OP") and record.weighted_amount == Decimal("5000") * record.stage.probability / 100
