"""Commission plans and statements: rates by product category (inherited down the tree, a
default for the rest), achievement tiers from the member's target, only invoices paid in the
period (the money share of each), credit notes given back as money count negative, confirmed
statements are final and never pay an invoice line twice — hand-checked figures, and the pages."""

import datetime
from decimal import Decimal

import pytest
from django.test import Client

from qinglan.core.permissions import Scope
from qinglan.core.testing import grant, make_department, make_member
from qinglan.customers.tests.factories import make_customer
from qinglan.org.models import CompanyProfile, Currency, User
from qinglan.products.tests.factories import make_category, make_product
from qinglan.sales import commissions, services
from qinglan.sales.choices import CommissionStatus
from qinglan.sales.models import (
    CommissionLine,
    CommissionPlan,
    CommissionRate,
    CommissionStatement,
    CommissionTier,
    Invoice,
    InvoiceLine,
    Receipt,
    ReceiptAllocation,
    SalesTarget,
    TaxRate,
)

pytestmark = pytest.mark.django_db
day = lambda month, number: datetime.date(2026, month, number)  # noqa: E731


def issued_invoice(owner, customer, lines, on):
    """`lines`: (product, net unit price) with 5 % tax on top."""
    invoice = Invoice(owner=owner, customer=customer, invoice_date=on)
    services.prepare_invoice(invoice=invoice, created=True)
    invoice.save()
    tax = TaxRate.objects.get(rate=5, inclusive=False)
    for product, price in lines:
        InvoiceLine.objects.create(invoice=invoice, product=product, description=product.name, quantity=Decimal(1), unit_price=Decimal(price), tax_rate=tax)
    services.invoice_saved(invoice=invoice, user=owner)
    return services.issue_invoice(record=invoice, user=owner)


def pay(invoice, amount, on):
    receipt = Receipt(customer=invoice.customer, owner=invoice.owner, amount=Decimal(amount), received_on=on)
    services.prepare_receipt(receipt=receipt, created=True)
    receipt.save()
    ReceiptAllocation.objects.create(receipt=receipt, invoice=invoice, amount=Decimal(amount))
    services.receipt_saved(receipt=receipt, user=invoice.owner)


def credit(invoice, on, keep):
    """A credit note of the invoice for the lines whose products are in `keep` (whole quantities)."""
    note = services.credit_note_from_invoice(record=invoice, user=invoice.owner)
    note.lines.exclude(product__in=keep).delete()
    Invoice.objects.filter(pk=note.pk).update(invoice_date=on, due_date=on)
    note.refresh_from_db()
    services.invoice_saved(invoice=note, user=invoice.owner)
    return services.issue_invoice(record=note, user=invoice.owner)


def credit_half(invoice, on):
    note = services.credit_note_from_invoice(record=invoice, user=invoice.owner)
    note.lines.update(quantity=Decimal("0.5"))
    Invoice.objects.filter(pk=note.pk).update(invoice_date=on, due_date=on)
    note.refresh_from_db()
    services.invoice_saved(invoice=note, user=invoice.owner)
    return services.issue_invoice(record=note, user=invoice.owner)


@pytest.fixture
def world():
    cny = Currency.objects.create(code="CNY", name="人民幣", decimal_places=2)
    CompanyProfile.objects.create(name="青藍貿易", base_currency=cny)
    sales = make_department("業務部")
    alice = make_member("alice", department=sales, superuser=True)
    bob = make_member("bob", department=sales, superuser=True)
    electronics = make_category("電子產品")
    phones = make_category("手機", parent=electronics)
    services_category = make_category("服務")
    phone = make_product("P1", "手機 X1", phones)
    install = make_product("P2", "安裝服務", services_category)
    cable = make_product("P3", "線材", make_category("雜項"))
    plan = CommissionPlan.objects.create(name="業務佣金", default_rate=Decimal(2))
    plan.members.set([alice, bob])
    CommissionRate.objects.create(plan=plan, category=electronics, rate=Decimal(5))
    CommissionRate.objects.create(plan=plan, category=services_category, rate=Decimal(3))
    for start, multiplier in ((0, 50), (80, 100), (120, 110)):
        CommissionTier.objects.create(plan=plan, from_achievement=Decimal(start), multiplier=Decimal(multiplier))
    SalesTarget.objects.create(year=2026, period="month", number=3, member=alice, amount=Decimal("10000"))
    customer = make_customer(alice, "上海客戶")
    a = issued_invoice(alice, customer, [(phone, 5000), (install, 3000), (cable, 1000)], day(3, 1))  # net 9,000, total 9,450
    pay(a, "9450", day(3, 20))
    b = issued_invoice(alice, customer, [(phone, 2000)], day(3, 5))                                 # total 2,100
    pay(b, "1000", day(3, 25))                                                                          # not paid in full
    c = issued_invoice(alice, customer, [(install, 1000)], day(2, 10))                                # February, total 1,050
    pay(c, "1050", day(3, 2))                                                                           # paid in March
    d = issued_invoice(alice, customer, [(phone, 4000)], day(3, 8))                                   # total 4,200
    pay(d, "2100", day(3, 10))
    credit_half(d, day(3, 12))                                                                          # the other half credited
    e = issued_invoice(bob, make_customer(bob, "北京客戶"), [(phone, 8000)], day(3, 3))
    pay(e, "8400", day(3, 4))
    return {"alice": alice, "bob": bob, "plan": plan, "a": a, "b": b, "c": c, "d": d, "e": e, "cable": cable, "sales": sales}


def statement(world, member="alice", **period):
    record = CommissionStatement(member=world[member], plan=world["plan"], **({"period": "month", "year": 2026, "number": 3} | period))
    record.full_clean(exclude=["code"])
    commissions.prepare_statement(statement=record, created=True)
    record.save()
    commissions.statement_saved(statement=record)
    record.refresh_from_db()
    return record


def test_rates_by_category_tiers_and_paid_invoices_only(world):
    march = statement(world)
    # Target: invoiced net in March 9,000 + 2,000 + 4,000 − 2,000 credited = 13,000 of 10,000 → 130 % → tier ≥ 120 % pays 110 %.
    assert (march.target_amount, march.achieved, march.achievement, march.multiplier) == (Decimal("10000.00"), Decimal("13000.00"), Decimal("130.0"), Decimal("110.00"))
    lines = {(line.invoice_id, line.invoice_line.product.code): (line.amount, line.rate, line.commission) for line in march.lines.select_related("invoice_line__product")}
    assert lines == {
        (world["a"].pk, "P1"): (Decimal("5000.00"), Decimal("5.00"), Decimal("275.00")),  # 手機 inherits 電子產品's 5 %
        (world["a"].pk, "P2"): (Decimal("3000.00"), Decimal("3.00"), Decimal("99.00")),
        (world["a"].pk, "P3"): (Decimal("1000.00"), Decimal("2.00"), Decimal("22.00")),   # a category without a rate: the default 2 %
        (world["c"].pk, "P2"): (Decimal("1000.00"), Decimal("3.00"), Decimal("33.00")),   # invoiced in February, paid in March
        (world["d"].pk, "P1"): (Decimal("2000.00"), Decimal("5.00"), Decimal("110.00")),  # half paid with money, half credited
    }
    assert (march.paid_sales, march.commission) == (Decimal("12000.00"), Decimal("539.00"))
    assert {line.settled_on for line in march.lines.filter(invoice=world["d"])} == {day(3, 12)}  # the credit note settled it
    # Bob's statement has only his invoice; no target → the rates as they are.
    bobs = statement(world, "bob")
    assert (bobs.paid_sales, bobs.multiplier, bobs.commission, bobs.target_amount) == (Decimal("8000.00"), Decimal("100"), Decimal("400.00"), None)


def test_lower_tier_and_money_given_back(world):
    SalesTarget.objects.filter(member=world["alice"]).update(amount=Decimal("20000"))  # 65 % → below 80 % pays half
    march = statement(world)
    assert (march.achievement, march.multiplier, march.commission) == (Decimal("65.0"), Decimal("50.00"), Decimal("245.00"))
    # April: the cable on the paid invoice A is credited back (money to the customer) → −1,000 × 2 %.
    credit(world["a"], day(4, 3), keep=[world["cable"]])
    april = statement(world, number=4)
    assert (april.paid_sales, april.commission) == (Decimal("-1000.00"), Decimal("-20.00"))
    assert april.lines.get().invoice.is_credit_note


def test_confirmed_statements_are_final_and_pay_a_line_once(world):
    march = statement(world)
    admin = world["alice"]
    commissions.confirm(record=march, user=admin)
    march.refresh_from_db()
    assert march.status == CommissionStatus.CONFIRMED and march.confirmed_by == admin
    quarter = statement(world, period="quarter", number=1)
    assert (quarter.paid_sales, quarter.commission, quarter.lines.count()) == (Decimal("0"), Decimal("0"), 0)
    client = Client()
    client.force_login(admin)
    page = client.post(f"/sales/commissionstatement/{march.pk}/edit/", {"member": admin.pk, "plan": world["plan"].pk, "period": "month", "year": 2026, "number": 3, "notes": "改"})
    assert page.status_code in (302, 400, 403) and CommissionStatement.objects.get(pk=march.pk).notes == ""
    commissions.reopen(record=march, user=admin)
    commissions.recalculate(record=quarter, user=admin)
    quarter.refresh_from_db()
    assert quarter.commission == Decimal("490.00")  # Q1 has no target: 110 % no longer applies → 250 + 90 + 20 + 30 + 100


def test_statement_pages_and_run(world):
    manager = make_member("manager", department=world["sales"])
    grant(manager, CommissionStatement, ["view", "add", "change", "approve"], scope=Scope.DEPARTMENT)
    grant(manager, CommissionPlan, ["view"], scope=Scope.ALL)
    grant(manager, User, ["view"], scope=Scope.DEPARTMENT)
    client = Client()
    client.force_login(manager)
    page = client.post("/sales/commissions/run/", {"plan": world["plan"].pk, "period": "month", "year": 2026, "number": 3})
    assert page.status_code == 200
    made = CommissionStatement.objects.filter(year=2026, number=3).order_by("member__username")
    assert [(s.member.username, s.commission) for s in made] == [("alice", Decimal("539.00")), ("bob", Decimal("400.00"))]
    detail = client.get(made[0].get_absolute_url()).content.decode()
    assert "539.00" in detail and world["a"].code in detail and "275.00" in detail
    # Bad input: a quarter numbered 5, a member outside the plan — refused, nothing made.
    assert client.post("/sales/commissions/run/", {"plan": world["plan"].pk, "period": "quarter", "year": 2026, "number": 5}).status_code == 400
    stranger = make_member("stranger", department=world["sales"])
    answer = client.post("/sales/commissionstatement/add/", {"member": stranger.pk, "plan": world["plan"].pk, "period": "month", "year": 2026, "number": 3})
    assert answer.status_code == 400 and "不是佣金方案" in answer.content.decode()
    assert not CommissionStatement.objects.filter(member=stranger).exists()
    # Alice, with her own records only, sees her statement and not Bob's.
    seller = make_member("seller", department=make_department("北區"))
    grant(seller, CommissionStatement, ["view"], scope=Scope.OWN)
    CommissionStatement.objects.filter(member=world["bob"]).update(owner=seller)
    client.force_login(seller)
    listing = client.get("/sales/commissionstatement/").content.decode()
    assert made[1].code in listing and made[0].code not in listing
    assert client.get(made[0].get_absolute_url()).status_code == 404
    assert client.get("/sales/commissions/run/").status_code == 403
    assert CommissionLine.objects.filter(statement=made[0]).count() == 5
