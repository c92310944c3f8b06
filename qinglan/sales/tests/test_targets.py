"""Sales targets by month, quarter and year for a member, a department (with its
sub-departments), a region (with its sub-regions) or the company, achieved by issued invoices
net of tax less credit notes, or by receipts — hand-checked figures, and the page."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from qinglan.core.permissions import Scope
from qinglan.core.testing import grant, make_department, make_member
from qinglan.customers.models import Region
from qinglan.customers.tests.factories import make_customer
from qinglan.org.models import CompanyProfile, Currency
from qinglan.sales import services, targets
from qinglan.sales.models import Invoice, InvoiceLine, Receipt, ReceiptAllocation, SalesTarget, TaxRate

pytestmark = pytest.mark.django_db
MARCH = datetime.date(2026, 3, 10)


def issued_invoice(owner, customer, net, day=MARCH):
    invoice = Invoice(owner=owner, customer=customer, invoice_date=day)
    services.prepare_invoice(invoice=invoice, created=True)
    invoice.save()
    InvoiceLine.objects.create(invoice=invoice, description="服務", quantity=Decimal(1), unit_price=Decimal(net), tax_rate=TaxRate.objects.get(rate=5, inclusive=False))
    services.invoice_saved(invoice=invoice, user=owner)
    return services.issue_invoice(record=invoice, user=owner)


@pytest.fixture
def world():
    cny = Currency.objects.create(code="CNY", name="人民幣", decimal_places=2)
    CompanyProfile.objects.create(name="青藍貿易", base_currency=cny)
    sales = make_department("業務部")
    north = make_department("北區", parent=sales)
    alice = make_member("alice", department=sales, superuser=True)
    bob = make_member("bob", department=north, superuser=True)
    east = Region(name="華東")
    east.save()
    shanghai = Region(name="上海")
    shanghai.new_parent = east
    shanghai.save()
    customer = make_customer(alice, "上海客戶", region=shanghai)
    other = make_customer(bob, "北京客戶")
    issued_invoice(alice, customer, "1000")                         # Alice, 上海, March
    issued_invoice(bob, other, "2500")                              # Bob (北區), March
    issued_invoice(bob, other, "700", day=datetime.date(2026, 5, 2))  # Bob, May (Q2)
    first = Invoice.objects.filter(owner=alice).first()
    note = services.credit_note_from_invoice(record=first, user=alice)  # 1,000 credited back in part
    note.lines.update(quantity=Decimal("0.2"))
    Invoice.objects.filter(pk=note.pk).update(invoice_date=MARCH, due_date=MARCH)
    services.invoice_saved(invoice=note, user=alice)
    services.issue_invoice(record=note, user=alice)                  # −200
    receipt = Receipt(customer=other, owner=bob, amount=Decimal("1500"), received_on=MARCH)
    services.prepare_receipt(receipt=receipt, created=True)
    receipt.save()
    ReceiptAllocation.objects.create(receipt=receipt, invoice=Invoice.objects.filter(owner=bob).order_by("id").first(), amount=Decimal("1500"))
    services.receipt_saved(receipt=receipt, user=bob)
    return {"sales": sales, "north": north, "alice": alice, "bob": bob, "east": east}


def achieved(**values):
    target = SalesTarget.objects.create(year=2026, amount=Decimal("10000"), **values)
    return targets.achieved(target)


def test_achievement_by_member_department_region_and_company(world):
    assert achieved(period="month", number=3, member=world["alice"]) == Decimal("800.00")  # 1,000 − 200
    assert achieved(period="month", number=3, member=world["bob"]) == Decimal("2500.00")
    assert achieved(period="quarter", number=1, department=world["sales"]) == Decimal("3300.00")  # with 北區 below it
    assert achieved(period="quarter", number=1, department=world["north"]) == Decimal("2500.00")
    assert achieved(period="quarter", number=2, department=world["north"]) == Decimal("700.00")
    assert achieved(period="year", region=world["east"]) == Decimal("800.00")  # 上海 is under 華東
    assert achieved(period="year") == Decimal("4000.00")
    assert achieved(period="month", number=3, member=world["bob"], measure="received") == Decimal("1500.00")
    assert achieved(period="month", number=4, member=world["bob"]) == Decimal("0.00")


def test_bad_targets_are_refused(world):
    with pytest.raises(ValidationError):
        SalesTarget(year=2026, period="quarter", number=5, amount=Decimal(1)).full_clean()
    with pytest.raises(ValidationError):
        SalesTarget(year=2026, period="month", number=1, amount=Decimal(1), member=world["alice"], region=world["east"]).full_clean()


def test_the_achievement_page(world):
    SalesTarget.objects.create(year=2026, period="quarter", number=1, department=world["sales"], amount=Decimal("4000"))
    viewer = make_member("viewer", department=world["sales"])
    grant(viewer, SalesTarget, ["view"], scope=Scope.ALL)
    client = Client()
    client.force_login(viewer)
    page = client.get("/sales/targets/", {"year": 2026}).content.decode()
    assert "2026 Q1" in page and "業務部" in page and "3,300.00" in page and "82.5%" in page
    assert "2026 Q1" not in client.get("/sales/targets/", {"year": 2025}).content.decode()
    outsider = make_member("outsider", department=make_department("財務部"))
    client.force_login(outsider)
    assert client.get("/sales/targets/").status_code == 403
