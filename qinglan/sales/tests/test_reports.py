"""The sales-by-month report and the sales dashboard: booked orders, invoiced net less credit
notes and money received per month, by owner or department, over the records the member may
view — hand-checked figures through the pages, CSV, and bad input."""

import datetime
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from qinglan.core.permissions import Scope
from qinglan.core.testing import grant, make_department, make_member
from qinglan.customers.tests.factories import make_customer
from qinglan.org.models import CompanyProfile, Currency
from qinglan.sales import services
from qinglan.sales.models import Invoice, InvoiceLine, Opportunity, Receipt, ReceiptAllocation, SalesOrder, SalesTarget, TaxRate
from qinglan.sales.tests.factories import make_opportunity, make_order

pytestmark = pytest.mark.django_db


def issued_invoice(owner, customer, net, day, user=None):
    invoice = Invoice(owner=owner, customer=customer, invoice_date=day)
    services.prepare_invoice(invoice=invoice, created=True)
    invoice.save()
    InvoiceLine.objects.create(invoice=invoice, description="服務", quantity=Decimal(1), unit_price=Decimal(net), tax_rate=TaxRate.objects.get(rate=5, inclusive=False))
    services.invoice_saved(invoice=invoice, user=user or owner)
    return services.issue_invoice(record=invoice, user=user or owner)


def receive(invoice, amount, day, user=None):
    receipt = Receipt(customer=invoice.customer, owner=invoice.owner, amount=Decimal(amount), received_on=day)
    services.prepare_receipt(receipt=receipt, created=True)
    receipt.save()
    ReceiptAllocation.objects.create(receipt=receipt, invoice=invoice, amount=Decimal(amount))
    services.receipt_saved(receipt=receipt, user=user or invoice.owner)


def booked(owner, customer, net, day):
    order = make_order(owner, customer=customer, lines=[(Decimal(1), Decimal(net))], tax_rate=TaxRate.objects.get(rate=5, inclusive=False), order_date=day)
    services.submit_order(record=order, user=owner)
    return order


@pytest.fixture
def world():
    cny = Currency.objects.create(code="CNY", name="人民幣", decimal_places=2)
    CompanyProfile.objects.create(name="青藍貿易", base_currency=cny)
    sales = make_department("業務部")
    north = make_department("北區", parent=sales)
    alice = make_member("alice", department=sales, superuser=True)
    bob = make_member("bob", department=north, superuser=True)
    shanghai = make_customer(alice, "上海客戶", credit_limit=Decimal("1000000"))
    beijing = make_customer(bob, "北京客戶", credit_limit=Decimal("1000000"))
    booked(alice, shanghai, "2000", datetime.date(2026, 1, 15))
    booked(bob, beijing, "3000", datetime.date(2026, 2, 3))
    make_order(alice, customer=shanghai, lines=[(Decimal(1), Decimal("5000"))], order_date=datetime.date(2026, 2, 9))  # a draft: not booked
    first = issued_invoice(alice, shanghai, "1000", datetime.date(2026, 1, 20))
    note = services.credit_note_from_invoice(record=first, user=alice)
    note.lines.update(quantity=Decimal("0.2"))
    Invoice.objects.filter(pk=note.pk).update(invoice_date=datetime.date(2026, 2, 2))
    note.refresh_from_db()
    services.invoice_saved(invoice=note, user=alice)
    services.issue_invoice(record=note, user=alice)                       # −200 in February
    second = issued_invoice(bob, beijing, "2500", datetime.date(2026, 2, 10))
    receive(second, "1500", datetime.date(2026, 2, 28))
    for user in (alice, bob):
        user.is_superuser = False
        user.save()
        for model in (SalesOrder, Invoice, Receipt):
            grant(user, model, ["view"], scope=Scope.SUBTREE if user == alice else Scope.OWN)
    return {"alice": alice, "bob": bob, "sales": sales, "north": north}


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def months_of(html):
    return {
        month: [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)][1:]
        for month, row in re.findall(r'<tr data-month="([\d-]+)">(.*?)</tr>', html, re.S)
    }


def test_sales_by_month_with_owners_and_scope(world):
    html = client_for(world["alice"]).get("/sales/reports/by-month/", {"start": "2026-01", "end": "2026-03", "by": "owner"}).content.decode()
    assert months_of(html) == {
        "2026-01": ["1", "2,000.00", "1,000.00", "0.00"],
        "2026-02": ["1", "3,000.00", "2,300.00", "1,500.00"],  # 2,500 invoiced less the 200 credit note; the draft order is not booked
        "2026-03": ["0", "0.00", "0.00", "0.00"],
    }
    owners = "各負責人成交訂單（未稅）" in html
    assert owners and html.index("bob") < html.rindex("alice")  # the biggest first: bob 3,000, alice 2,000
    # Bob sees his own records only.
    mine = months_of(client_for(world["bob"]).get("/sales/reports/by-month/", {"start": "2026-01", "end": "2026-02"}).content.decode())
    assert mine == {"2026-01": ["0", "0.00", "0.00", "0.00"], "2026-02": ["1", "3,000.00", "2,500.00", "1,500.00"]}
    csv = client_for(world["alice"]).get("/sales/reports/by-month/", {"start": "2026-01", "end": "2026-02", "by": "department", "format": "csv"})
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[1:3] == ["2026-01,1,2000.00,1000.00,0.00", "2026-02,1,3000.00,2300.00,1500.00"]
    assert "業務部,2000.00,0.00,2000.00" in lines and "北區,0.00,3000.00,3000.00" in lines


def test_bad_report_input_and_no_permission(world):
    client = client_for(world["alice"])
    assert client.get("/sales/reports/by-month/", {"start": "2026-05", "end": "2026-01"}).status_code == 400
    refused = client.get("/sales/reports/by-month/", {"start": "2020-01", "end": "2026-01"})
    assert refused.status_code == 400 and "36" in refused.content.decode()
    assert client.get("/sales/reports/by-month/", {"start": "not a month"}).status_code == 400
    outsider = make_member("outsider", department=make_department("財務部"))
    assert client_for(outsider).get("/sales/reports/by-month/").status_code == 403
    assert client_for(outsider).get("/sales/dashboard/").status_code == 403


def test_dashboard_figures(world):
    alice = world["alice"]
    today = timezone.localdate()
    admin = make_member("admin", superuser=True)
    customer = make_customer(alice, "本月客戶", credit_limit=Decimal("1000000"))
    invoice = issued_invoice(alice, customer, "1000", today, user=admin)
    receive(invoice, "500", today, user=admin)
    SalesTarget.objects.create(year=today.year, period="month", number=today.month, member=alice, amount=Decimal("4000"))
    grant(alice, SalesTarget, ["view"], scope=Scope.ALL)
    html = client_for(alice).get("/sales/dashboard/").content.decode()
    kpis = dict(re.findall(r'data-kpi="(\w+)">(?:<a[^>]*>)?([\d,.\-]+)', html))
    assert kpis["invoiced"] == "1,000.00" and kpis["received"] == "500.00"
    open_before = Decimal("2625") - Decimal("1500") + Decimal("840")  # bob's 2,625 less 1,500 paid; alice's January 1,050 less the 210 credited
    assert kpis["open"] == f"{open_before + Decimal('550'):,.2f}"
    assert "本月客戶" in html and "上海客戶" in html  # top customers of the year
    assert "1,000.00 / 4,000.00 (25.0%)" in html
    assert "<svg" in html and 'data-section="pipeline"' not in html  # no grant on opportunities: no pipeline
    grant(alice, Opportunity, ["view"], scope=Scope.OWN)
    make_opportunity(alice, "大案", amount=Decimal("100000"))
    html = client_for(alice).get("/sales/dashboard/").content.decode()
    assert 'data-section="pipeline"' in html and re.search(r"\(1\)<title>", html)  # the stage's bar counts the opportunity
