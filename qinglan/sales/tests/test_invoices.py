"""Invoices and receipts through the paths members take: invoicing an order's open
quantities, never beyond what was ordered; issuing locks; receipts applied to invoices with
partial and over-payment (kept as prepayment); the aging report; unpaid invoices count
against the credit limit; the customer's established value follows."""

import datetime
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from qinglan.core.permissions import Scope
from qinglan.core.testing import grant, make_department, make_member
from qinglan.customers.models import Customer
from qinglan.customers.tests.factories import make_customer
from qinglan.org.models import CompanyProfile, Currency
from qinglan.sales import services
from qinglan.sales.choices import InvoiceStatus
from qinglan.sales.models import Invoice, Receipt, SalesOrder, TaxRate

from .factories import make_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    twd = Currency.objects.create(code="TWD", name="新臺幣", decimal_places=0)
    CompanyProfile.objects.create(name="青藍貿易", base_currency=twd)
    department = make_department("業務一部")
    seller = make_member("seller", department=department)
    colleague = make_member("colleague", department=department)
    for member in (seller, colleague):
        grant(member, SalesOrder, ["view", "add", "change"], scope=Scope.OWN)
        grant(member, Invoice, ["view", "add", "change"], scope=Scope.OWN)
        grant(member, Receipt, ["view", "add", "change", "delete"], scope=Scope.OWN)
        grant(member, Customer, ["view"], scope=Scope.OWN)
    return seller, colleague


def client_for(member):
    client = Client()
    client.force_login(member)
    return client


def approved_order(seller, customer=None, lines=((Decimal("10"), Decimal("100")),)):
    exclusive = TaxRate.objects.get(rate=5, inclusive=False)
    order = make_order(seller, customer=customer, lines=lines, tax_rate=exclusive)
    services.submit_order(record=order, user=seller)
    order.refresh_from_db()
    return order


def receipt_data(customer, amount, allocations=(), **values):
    data = {
        "customer": str(customer.pk), "received_on": str(timezone.localdate()), "method": "bank", "amount": str(amount),
        "allocations-TOTAL_FORMS": str(len(allocations)), "allocations-INITIAL_FORMS": "0",
    }
    for index, (invoice, paid) in enumerate(allocations):
        data.update({f"allocations-{index}-invoice": str(invoice.pk), f"allocations-{index}-amount": str(paid)})
    data.update(values)
    return data


def test_an_order_is_invoiced_for_what_is_open_and_never_beyond(team):
    seller, _colleague = team
    client = client_for(seller)
    order = approved_order(seller, lines=[(Decimal("10"), Decimal("100")), (Decimal("4"), Decimal("50"))])
    response = client.post(f"/sales/salesorder/{order.pk}/do/invoice/")
    first = Invoice.objects.get(order=order)
    assert response.url == f"/sales/invoice/{first.pk}/"
    assert [(line.quantity, line.unit_price) for line in first.lines.order_by("id")] == [(Decimal("10"), Decimal("100")), (Decimal("4"), Decimal("50"))]
    assert (first.total, first.status, first.currency, first.due_date) == (Decimal("1260.00"), InvoiceStatus.DRAFT, order.currency, first.invoice_date)
    # Invoice part of it: six of the ten.
    line = first.lines.order_by("id").first()
    line.quantity = Decimal("6")
    line.save()
    first.lines.order_by("id").last().delete()
    services.invoice_saved(invoice=first, user=seller)
    services.issue_invoice(record=first, user=seller)
    first.refresh_from_db()
    assert (first.status, first.total, first.balance_base) == (InvoiceStatus.ISSUED, Decimal("630.00"), Decimal("630.00"))
    # The next invoice offers what is left: four and four.
    client.post(f"/sales/salesorder/{order.pk}/do/invoice/")
    second = Invoice.objects.filter(order=order).exclude(pk=first.pk).get()
    assert sorted(line.quantity for line in second.lines.all()) == [Decimal("4"), Decimal("4")]
    # Nothing is left to invoice while the second draft holds the rest.
    response = client.post(f"/sales/salesorder/{order.pk}/do/invoice/")
    assert "此訂單已全部開立發票。" in client.get(response.url).content.decode()
    # A draft changed to more than is left cannot be issued.
    line = second.lines.order_by("id").first()
    line.quantity = Decimal("5")
    line.save()
    with pytest.raises(ValidationError) as refused:
        services.issue_invoice(record=second, user=seller)
    assert "10" in refused.value.messages[0] and "6" in refused.value.messages[0]
    second.refresh_from_db()
    assert second.status == InvoiceStatus.DRAFT


def test_an_issued_invoice_is_locked_and_cancelled_only_while_unpaid(team):
    seller, _colleague = team
    client = client_for(seller)
    invoice = services.invoice_from_order(record=approved_order(seller), user=seller)
    client.post(f"/sales/invoice/{invoice.pk}/do/issue/")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.ISSUED
    assert client.get(f"/sales/invoice/{invoice.pk}/edit/").status_code == 302
    response = client.patch(f"/api/sales/invoices/{invoice.pk}/", {"notes": "改"}, content_type="application/json")
    assert response.status_code == 400
    client.post("/sales/receipt/add/", receipt_data(invoice.customer, 100, [(invoice, 100)]))
    response = client.post(f"/sales/invoice/{invoice.pk}/do/cancel/")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.ISSUED and "請先從收款單移除" in client.get(response.url).content.decode()


def test_receipts_pay_invoices_partly_fully_and_keep_the_rest_as_prepayment(team):
    seller, _colleague = team
    client = client_for(seller)
    customer = make_customer(seller, "青藍科技")
    first = services.issue_invoice(record=services.invoice_from_order(record=approved_order(seller, customer), user=seller), user=seller)
    second = services.issue_invoice(record=services.invoice_from_order(record=approved_order(seller, customer), user=seller), user=seller)
    response = client.post("/sales/receipt/add/", receipt_data(customer, 500, [(first, 500)]))
    assert response.status_code == 302
    first.refresh_from_db()
    assert (first.status, first.paid_amount, first.balance_base) == (InvoiceStatus.ISSUED, Decimal("500.00"), Decimal("550.00"))
    response = client.post("/sales/receipt/add/", receipt_data(customer, 2000, [(first, 550), (second, 1050)]))
    assert response.status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status, second.balance_base) == (InvoiceStatus.PAID, InvoiceStatus.PAID, Decimal("0.00"))
    receipt = Receipt.objects.get(amount=2000)
    assert (receipt.applied_amount, receipt.prepayment) == (Decimal("1600.00"), Decimal("400.00"))
    customer.refresh_from_db()
    assert customer.lifetime_revenue == Decimal("2000.00") and customer.paid_total == Decimal("2500.00")
    # Deleting the receipt reopens what it paid.
    client.post(f"/sales/receipt/{receipt.pk}/delete/")
    second.refresh_from_db()
    assert (second.status, second.paid_amount) == (InvoiceStatus.ISSUED, Decimal("0.00"))


def test_bad_allocations_are_refused_and_nothing_is_written(team):
    seller, colleague = team
    client = client_for(seller)
    customer = make_customer(seller, "青藍科技")
    invoice = services.issue_invoice(record=services.invoice_from_order(record=approved_order(seller, customer), user=seller), user=seller)
    response = client.post("/sales/receipt/add/", receipt_data(customer, 100, [(invoice, 300)]))
    assert response.status_code == 400 and "但只收到" in response.content.decode()
    response = client.post("/sales/receipt/add/", receipt_data(customer, 5000, [(invoice, 2000)]))
    assert response.status_code == 400 and "的 1,050.00" in response.content.decode()
    draft = services.invoice_from_order(record=approved_order(seller, customer), user=seller)
    response = client.post("/sales/receipt/add/", receipt_data(customer, 100, [(draft, 100)]))
    assert response.status_code == 400 and "尚未開立" in response.content.decode()
    other = make_customer(seller, "別的客戶")
    response = client.post("/sales/receipt/add/", receipt_data(other, 100, [(invoice, 100)]))
    assert response.status_code == 400 and "是其他客戶的發票" in response.content.decode()
    assert Receipt.objects.count() == 0
    invoice.refresh_from_db()
    assert invoice.paid_amount == 0


def test_unpaid_invoices_count_against_the_credit_limit(team):
    seller, _colleague = team
    customer = make_customer(seller, "額度客戶", credit_limit=Decimal("2000"))
    order = approved_order(seller, customer)  # 1,050 open
    services.issue_invoice(record=services.invoice_from_order(record=order, user=seller), user=seller)
    services.close_order(record=order, user=seller)  # no longer open: the invoice is what is owed
    assert services.credit_exposure(customer.pk) == Decimal("1050.00")
    again = make_order(seller, customer=customer, lines=[(Decimal("10"), Decimal("100"))], tax_rate=TaxRate.objects.get(rate=5, inclusive=False))
    with pytest.raises(ValidationError):
        services.submit_order(record=again, user=seller)


def test_aging_by_customer_and_days_past_due(team):
    seller, colleague = team
    today = timezone.localdate()
    customer = make_customer(seller, "青藍科技")
    for days_ago in (0, 10, 45, 200):
        invoice = services.invoice_from_order(record=approved_order(seller, customer), user=seller)
        Invoice.objects.filter(pk=invoice.pk).update(due_date=today - datetime.timedelta(days=days_ago))
        services.issue_invoice(record=invoice, user=seller)
    hidden = make_customer(colleague, "同事的客戶")
    services.issue_invoice(record=services.invoice_from_order(record=approved_order(colleague, hidden), user=colleague), user=colleague)
    html = client_for(seller).get("/sales/receivables/").content.decode()
    rows = re.findall(r"<tr data-aging-row>(.*?)</tr>", html, re.S)
    assert len(rows) == 1 and "同事的客戶" not in html
    cells = [re.sub(r"<[^>]+>|\s", "", cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", rows[0], re.S)]
    assert cells == ["4", "1,050", "1,050", "1,050", "–", "1,050", "4,200"]
    assert f'href="/customers/customer/{customer.pk}/"' in html  # the seller may open their customer
    # The seller's invoice to a customer they may not open: named, not linked.
    theirs = make_customer(colleague, "同事負責的客戶")
    order = make_order(seller, customer=theirs, lines=[(Decimal("1"), Decimal("100"))], tax_rate=TaxRate.objects.get(rate=5, inclusive=False))
    services.submit_order(record=order, user=seller)
    services.issue_invoice(record=services.invoice_from_order(record=order, user=seller), user=seller)
    html = client_for(seller).get("/sales/receivables/").content.decode()
    assert "同事負責的客戶" in html and f'href="/customers/customer/{theirs.pk}/"' not in html
    outsider = make_member("outsider")
    assert client_for(outsider).get("/sales/receivables/").status_code == 403


def test_a_cash_sale_is_ordered_invoiced_and_paid_in_one_step(team):
    seller, _colleague = team
    client = client_for(seller)
    order = make_order(seller, lines=[(Decimal("3"), Decimal("200"))], tax_rate=TaxRate.objects.get(rate=5, inclusive=False))
    response = client.post(f"/sales/salesorder/{order.pk}/do/cash_sale/")
    assert response.status_code == 302
    order.refresh_from_db()
    invoice = Invoice.objects.get(order=order)
    receipt = Receipt.objects.get(customer=order.customer)
    assert order.status == "completed"
    assert (invoice.status, invoice.total, invoice.paid_amount) == (InvoiceStatus.PAID, Decimal("630.00"), Decimal("630.00"))
    assert (receipt.method, receipt.amount, receipt.applied_amount) == ("cash", Decimal("630.00"), Decimal("630.00"))
    # Beyond the credit limit (refused by the company's rule): nothing is written.
    limited = make_order(seller, customer=make_customer(seller, "額度客戶", credit_limit=Decimal("10")))
    client.post(f"/sales/salesorder/{limited.pk}/do/cash_sale/")
    limited.refresh_from_db()
    assert limited.status == "draft" and not Invoice.objects.filter(order=limited).exists()
