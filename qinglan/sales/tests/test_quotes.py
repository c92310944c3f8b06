"""Quotes through the paths a salesperson takes: lines priced by the engine, submitted within
the discount limit (approved at once) or beyond it (waiting in the workflow for the manager,
locked meanwhile, approved or sent back), printed to PDF and DOCX, revised into versions,
converted into a sales order; bad input refused."""

import datetime
import io
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from qinglan.core.permissions import Scope
from qinglan.core.testing import grant, make_department, make_member
from qinglan.customers.models import Customer
from qinglan.customers.tests.factories import make_customer
from qinglan.org.models import CompanyProfile, Currency
from qinglan.products.models import Product
from qinglan.products.tests.factories import make_category, make_product
from qinglan.sales import quotes
from qinglan.sales.choices import QuoteStatus
from qinglan.sales.models import Quote, QuoteVersion, SalesOrder, TaxRate
from qinglan.workflow import services as workflow
from qinglan.workflow.models import WorkTask

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    return make_team()


def make_team():
    """A seller and their manager who may work with their own quotes and orders, and a product."""
    cny = Currency.objects.create(code="CNY", name="人民幣", decimal_places=2)
    CompanyProfile.objects.create(name="青藍貿易", base_currency=cny, quote_discount_limit=Decimal("10"))
    department = make_department("業務部")
    boss = make_member("boss", department=department, display_name="王經理")
    seller = make_member("seller", department=department, manager=boss, display_name="李業務")
    for member in (seller, boss):
        grant(member, Quote, ["view", "add", "change"], scope=Scope.OWN)
        grant(member, SalesOrder, ["view", "add", "change"], scope=Scope.OWN)
        grant(member, Customer, ["view"], scope=Scope.OWN)
        grant(member, Product, ["view"], scope=Scope.ALL)
    product = make_product("P-100", "青藍伺服器", make_category("伺服器"), list_price=Decimal("20000"), cost=Decimal("12000"))
    return seller, boss, product


def client_for(member):
    client = Client()
    client.force_login(member)
    return client


def quote_form(customer, product, *, price="", quantity="2", **extra):
    exclusive = TaxRate.objects.get(rate=5, inclusive=False)
    data = {
        "customer": str(customer.pk), "quote_date": str(timezone.localdate()), "owner": str(customer.owner_id), "terms": "交貨期：訂單確認後 14 天",
        "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "0",
        "lines-0-product": str(product.pk), "lines-0-quantity": quantity, "lines-0-unit_price": price, "lines-0-discount": "0",
        "lines-0-tax_rate": str(exclusive.pk),
    }
    data.update(extra)
    return data


def test_a_quote_is_priced_approved_printed_and_converted_to_an_order(team):
    seller, _boss, product = team
    client = client_for(seller)
    customer = make_customer(seller, "青藍百貨")
    assert client.post("/sales/quote/add/", quote_form(customer, product)).status_code == 302
    quote = Quote.objects.get()
    line = quote.lines.get()
    assert (line.unit_price, line.price_basis) == (Decimal("20000.00"), "定價 20,000.00")
    assert (quote.code.startswith("QT-"), quote.total, quote.valid_until) == (True, Decimal("42000.00"), quote.quote_date + datetime.timedelta(days=30))
    client.post(f"/sales/quote/{quote.pk}/do/submit/")
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.APPROVED
    # Printed: the PDF and the DOCX carry the code, the customer, the line and the terms.
    import docx
    import pypdf

    response = client.get(f"/sales/quote/{quote.pk}/print/pdf/")
    assert response["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(response.content)).pages)
    for expected in (quote.code, "青藍百貨", "P-100 青藍伺服器", "42,000.00", "交貨期"):
        assert expected in text
    response = client.get(f"/sales/quote/{quote.pk}/print/docx/")
    document = docx.Document(io.BytesIO(response.content))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    assert "P-100 青藍伺服器" in cells and "42,000.00" in cells
    # Another member cannot print it.
    stranger = make_member("stranger", department=make_department("財務部"))
    grant(stranger, Quote, ["view"], scope=Scope.OWN)
    assert client_for(stranger).get(f"/sales/quote/{quote.pk}/print/pdf/").status_code == 404
    # Sent, then accepted: a draft order with the quoted lines.
    client.post(f"/sales/quote/{quote.pk}/do/send/")
    response = client.post(f"/sales/quote/{quote.pk}/do/order/")
    order = SalesOrder.objects.get()
    quote.refresh_from_db()
    assert (quote.status, quote.order) == (QuoteStatus.ACCEPTED, order)
    assert [(line.quantity, line.unit_price) for line in order.lines.all()] == [(Decimal("2"), Decimal("20000.00"))]
    assert order.total == Decimal("42000.00")


def test_a_discount_beyond_the_limit_waits_for_the_manager(team):
    seller, boss, product = team
    client = client_for(seller)
    customer = make_customer(seller, "殺價客戶")
    # 16,000 is 20% below the list price: beyond the 10% limit.
    client.post("/sales/quote/add/", quote_form(customer, product, price="16000"))
    quote = Quote.objects.get()
    assert quote.max_discount == Decimal("20.00")
    client.post(f"/sales/quote/{quote.pk}/do/submit/")
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.SUBMITTED and "20.00%" in quote.approval_reason
    instance = workflow.pending_instance(quote)
    task = WorkTask.objects.get(instance=instance, status="open")
    assert task.assignee == boss
    # Locked while it waits: the edit is refused and nothing changes.
    client.post(f"/sales/quote/{quote.pk}/edit/", quote_form(customer, product, price="1"))
    assert quote.lines.get().unit_price == Decimal("16000.00")
    # The manager rejects: back to the seller as a draft, with the reason.
    workflow.complete(task=task, user=boss, outcome="reject", comment="折扣太大")
    quote.refresh_from_db()
    assert (quote.status, quote.approval_reason) == (QuoteStatus.DRAFT, "退回：折扣太大")
    # 17,500 (12.5% off) is still beyond; the manager approves this time.
    quote.lines.update(unit_price=Decimal("17500"))
    quotes.quote_saved(quote=quote, user=seller)
    client.post(f"/sales/quote/{quote.pk}/do/submit/")
    task = WorkTask.objects.get(instance=workflow.pending_instance(quote), status="open")
    workflow.complete(task=task, user=boss, outcome="approve")
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.APPROVED


def test_revising_keeps_the_sent_quote_as_a_version(team):
    seller, _boss, product = team
    client = client_for(seller)
    customer = make_customer(seller, "青藍百貨")
    client.post("/sales/quote/add/", quote_form(customer, product))
    quote = Quote.objects.get()
    for verb in ("submit", "send", "revise"):
        client.post(f"/sales/quote/{quote.pk}/do/{verb}/")
    quote.refresh_from_db()
    assert (quote.status, quote.version) == (QuoteStatus.DRAFT, 2)
    kept = QuoteVersion.objects.get(quote=quote)
    assert kept.version == 1 and kept.data["lines"][0]["quantity"] == "2"
    line = quote.lines.get()
    data = quote_form(customer, product, quantity="3", **{
        "lines-INITIAL_FORMS": "1", "lines-0-id": str(line.pk), "lines-0-unit_price": "20000", "valid_until": str(quote.valid_until),
    })
    assert client.post(f"/sales/quote/{quote.pk}/edit/", data).status_code == 302
    page = client.get(f"/sales/quote/{quote.pk}/").content.decode()
    assert 'data-quote-version="1"' in page
    assert '<del class="text-danger">2</del> → <ins class="text-success">3</ins>' in page
    assert '<del class="text-danger">42,000.00</del> → <ins class="text-success">63,000.00</ins>' in page  # amounts grouped


def test_an_expired_quote_is_not_ordered_and_bad_dates_are_refused(team):
    seller, _boss, product = team
    client = client_for(seller)
    customer = make_customer(seller, "青藍百貨")
    last_month = timezone.localdate() - datetime.timedelta(days=40)
    response = client.post("/sales/quote/add/", quote_form(customer, product, quote_date=str(last_month), valid_until=str(last_month - datetime.timedelta(days=1))))
    assert response.status_code == 400 and not Quote.objects.exists()
    client.post("/sales/quote/add/", quote_form(customer, product, quote_date=str(last_month)))
    quote = Quote.objects.get()
    client.post(f"/sales/quote/{quote.pk}/do/submit/")
    response = client.post(f"/sales/quote/{quote.pk}/do/order/", follow=True)
    assert "報價已於" in response.content.decode()
    assert not SalesOrder.objects.exists()
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.APPROVED
