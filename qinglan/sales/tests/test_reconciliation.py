"""Reconciliation with a customer: an account statement's book figures (opening balance,
invoiced, credit notes, received, closing balance) in one currency for a period, its
documents with a running balance, sending it (figures kept), the customer's balance agreed or
disputed with the difference, print as PDF/DOCX — hand-checked numbers through the pages."""

import datetime
import io
import re
from decimal import Decimal

import docx
import pypdf
import pytest
from django.test import Client

from qinglan.core.permissions import Scope
from qinglan.core.testing import grant, make_department, make_member
from qinglan.customers.tests.factories import make_customer
from qinglan.org.models import CompanyProfile, Currency
from qinglan.sales import services
from qinglan.sales.choices import StatementStatus
from qinglan.sales.models import AccountStatement, Invoice, InvoiceLine, Receipt, ReceiptAllocation, TaxRate

pytestmark = pytest.mark.django_db
day = lambda month, number: datetime.date(2026, month, number)  # noqa: E731


def issued(owner, customer, net, on, currency=None):
    invoice = Invoice(owner=owner, customer=customer, invoice_date=on, currency=currency)
    services.prepare_invoice(invoice=invoice, created=True)
    invoice.save()
    InvoiceLine.objects.create(invoice=invoice, description="顧問服務", quantity=Decimal(1), unit_price=Decimal(net), tax_rate=TaxRate.objects.get(rate=5, inclusive=False))
    services.invoice_saved(invoice=invoice, user=owner)
    return services.issue_invoice(record=invoice, user=owner)


def received(owner, customer, amount, on, invoice=None):
    receipt = Receipt(customer=customer, owner=owner, amount=Decimal(amount), received_on=on)
    services.prepare_receipt(receipt=receipt, created=True)
    receipt.save()
    if invoice is not None:
        ReceiptAllocation.objects.create(receipt=receipt, invoice=invoice, amount=Decimal(amount))
    services.receipt_saved(receipt=receipt, user=owner)
    return receipt


@pytest.fixture
def world():
    cny = Currency.objects.create(code="CNY", name="人民幣", decimal_places=2)
    usd = Currency.objects.create(code="USD", name="美元", decimal_places=2)
    CompanyProfile.objects.create(name="青藍貿易", base_currency=cny)
    clerk = make_member("clerk", department=make_department("財務部"), superuser=True)
    customer = make_customer(clerk, "對帳客戶股份有限公司")
    january = issued(clerk, customer, "1000", day(1, 10))                      # 1,050
    issued(clerk, customer, "2000", day(2, 5))                                 # 2,100
    note = services.credit_note_from_invoice(record=january, user=clerk)
    note.lines.update(quantity=Decimal("0.2"))
    Invoice.objects.filter(pk=note.pk).update(invoice_date=day(2, 10))
    note.refresh_from_db()
    services.invoice_saved(invoice=note, user=clerk)
    services.issue_invoice(record=note, user=clerk)                            # −210
    received(clerk, customer, "840", day(2, 20), invoice=january)              # the rest of January's
    received(clerk, customer, "210", day(2, 21))                               # a prepayment
    received(clerk, customer, "500", day(3, 3))                                # after the period
    issued(clerk, customer, "9000", day(2, 6), currency=usd)                   # another currency
    draft = Invoice(owner=clerk, customer=customer, invoice_date=day(2, 7))   # a draft counts for nothing
    services.prepare_invoice(invoice=draft, created=True)
    draft.save()
    client = Client()
    client.force_login(clerk)
    return {"clerk": clerk, "customer": customer, "client": client}


def make_statement(world):
    answer = world["client"].post("/sales/accountstatement/add/", {"customer": world["customer"].pk, "period_start": "2026-02-01", "period_end": "2026-02-28", "owner": world["clerk"].pk})
    assert answer.status_code == 302, answer.content.decode()[:1000]
    return AccountStatement.objects.get()


def edit(world, statement, **values):
    data = {"customer": statement.customer_id, "currency": statement.currency_id, "period_start": "2026-02-01", "period_end": "2026-02-28", "owner": world["clerk"].pk, **values}
    return world["client"].post(f"/sales/accountstatement/{statement.pk}/edit/", data)


def test_book_figures_and_running_balance(world):
    statement = make_statement(world)
    figures = (statement.opening_balance, statement.invoiced, statement.credited, statement.received, statement.closing_balance)
    assert figures == (Decimal("1050.00"), Decimal("2100.00"), Decimal("210.00"), Decimal("1050.00"), Decimal("1890.00"))
    assert statement.currency.code == "CNY" and statement.status == StatementStatus.DRAFT
    page = world["client"].get(statement.get_absolute_url()).content.decode()
    balances = re.findall(r'data-statement-row="[^"]+">.*?data-balance>([\d,.\-]+)<', page, re.S)
    assert balances == ["3,150.00", "2,940.00", "2,100.00", "1,890.00"]  # invoice, credit note, two receipts
    customer_page = world["client"].get(world["customer"].get_absolute_url()).content.decode()
    assert statement.code in customer_page


def test_sent_agreed_or_disputed(world):
    statement = make_statement(world)
    refused = edit(world, statement, customer_balance="1890")
    assert refused.status_code == 400 and "請先送出對帳單" in refused.content.decode()
    world["client"].post(f"/sales/accountstatement/{statement.pk}/do/send/")
    statement.refresh_from_db()
    assert statement.status == StatementStatus.SENT and statement.sent_on
    received(world["clerk"], world["customer"], "100", day(2, 25))  # booked after sending: the sent figures stay
    moved = edit(world, statement, period_end="2026-03-31")
    assert moved.status_code == 400 and AccountStatement.objects.get().period_end == day(2, 28)
    unexplained = edit(world, statement, customer_balance="1390")
    assert unexplained.status_code == 400 and "-500.00" in unexplained.content.decode()
    assert edit(world, statement, customer_balance="1390", answer="客戶說 2/26 已匯 500").status_code == 302
    statement.refresh_from_db()
    assert (statement.status, statement.difference, statement.closing_balance) == (StatementStatus.DISPUTED, Decimal("-500.00"), Decimal("1890.00"))
    world["client"].post(f"/sales/accountstatement/{statement.pk}/do/draft/")
    statement.refresh_from_db()
    assert (statement.status, statement.closing_balance, statement.customer_balance) == (StatementStatus.DRAFT, Decimal("1790.00"), None)
    world["client"].post(f"/sales/accountstatement/{statement.pk}/do/send/")
    assert edit(world, statement, customer_balance="1790").status_code == 302
    statement.refresh_from_db()
    assert (statement.status, statement.difference) == (StatementStatus.AGREED, Decimal("0.00"))
    assert edit(world, statement, customer_balance="1", answer="x").status_code in (302, 400, 403)
    statement.refresh_from_db()
    assert statement.customer_balance == Decimal("1790.00")  # agreed: final


def test_printed_and_permissions(world):
    statement = make_statement(world)
    response = world["client"].get(f"/sales/accountstatement/{statement.pk}/print/pdf/")
    assert response["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(response.content)).pages)
    for expected in (statement.code, "對帳客戶股份有限公司", "1,890.00", "3,150.00", "青藍貿易"):
        assert expected in text
    document = docx.Document(io.BytesIO(world["client"].get(f"/sales/accountstatement/{statement.pk}/print/docx/").content))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    assert "2,940.00" in cells and statement.code in cells
    stranger = make_member("stranger", department=make_department("業務部"))
    grant(stranger, AccountStatement, ["view"], scope=Scope.OWN)
    client = Client()
    client.force_login(stranger)
    assert client.get(f"/sales/accountstatement/{statement.pk}/print/pdf/").status_code == 404
    assert client.get(statement.get_absolute_url()).status_code == 404
