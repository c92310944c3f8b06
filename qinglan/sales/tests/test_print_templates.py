"""Print templates an administrator edits: title, texts above the lines and below the totals, a
footer on every page and the company logo, with the document's values put in {{ placeholders }}
— nothing else runs (unknown names refused, values never read as placeholders); one default
per kind of document, a quote may choose another."""

import datetime
import io

import docx
import pypdf
import pytest
from django.core.files.base import ContentFile
from django.test import Client
from PIL import Image

from qinglan.core.testing import make_member
from qinglan.customers.tests.factories import make_customer
from qinglan.org.models import CompanyProfile, Currency
from qinglan.sales import quotes, reconciliation
from qinglan.sales.models import AccountStatement, PrintTemplate, Quote, QuoteLine

pytestmark = pytest.mark.django_db


def png():
    buffer = io.BytesIO()
    Image.new("RGB", (120, 40), (31, 95, 168)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def admin():
    cny = Currency.objects.create(code="CNY", name="人民幣", decimal_places=2)
    company = CompanyProfile.objects.create(name="青藍貿易", base_currency=cny)
    company.logo.save("logo.png", ContentFile(png()))
    member = make_member("admin", superuser=True, display_name="系統管理員")
    client = Client()
    client.force_login(member)
    return member, client


def template_data(**values):
    return {"name": "正式報價", "kind": "quote", "is_default": "on", "show_logo": "on", "title": "正式報價單", "intro": "敬啟者 {{ customer }}：",
            "closing": "本報價有效至 {{ valid_until }}，合計 {{ currency }} {{ total }}。", "footer": "{{ company }} · 報價單 {{ code }}", **values}


def a_quote(owner, name="{{ total }}百貨"):
    quote = Quote(owner=owner, customer=make_customer(owner, name), quote_date=datetime.date(2026, 11, 2))
    quotes.prepare_quote(quote=quote, created=True)
    quote.save()
    QuoteLine.objects.create(quote=quote, description="顧問服務", quantity=2, unit_price=1500)
    quotes.quote_saved(quote=quote, user=owner)
    quote.refresh_from_db()
    return quote


def pdf_text(content):
    return "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages)


def test_unknown_placeholders_are_refused(admin):
    _member, client = admin
    answer = client.post("/sales/printtemplate/add/", template_data(intro="{{ quote.delete }} {{ customer }}", footer="{{ owner.password }}"))
    assert answer.status_code == 400 and not PrintTemplate.objects.exists()
    page = answer.content.decode()
    assert "{{ quote.delete }}" in page and "{{ owner.password }}" in page and "{{ valid_until }}" in page  # the names it may use
    answer = client.post("/sales/printtemplate/add/", template_data(kind="statement"))  # a quote's names on a statement
    assert answer.status_code == 400 and "{{ valid_until }}" in answer.content.decode()


def test_quotes_and_statements_print_with_their_templates(admin):
    member, client = admin
    assert client.post("/sales/printtemplate/add/", template_data()).status_code == 302
    quote = a_quote(member)
    text = pdf_text(client.get(f"/sales/quote/{quote.pk}/print/pdf/").content)
    assert "正式報價單" in text and "敬啟者 {{ total }}百貨：" in text  # the customer's name is put in as it is, never read again
    assert f"本報價有效至 {quote.valid_until.isoformat()}，合計 CNY 3,150.00。" in text and f"青藍貿易 · 報價單 {quote.code}" in text
    assert b"/Subtype /Image" in client.get(f"/sales/quote/{quote.pk}/print/pdf/").content  # the logo
    document = docx.Document(io.BytesIO(client.get(f"/sales/quote/{quote.pk}/print/docx/").content))
    paragraphs = [paragraph.text for paragraph in document.paragraphs]
    assert "敬啟者 {{ total }}百貨：" in paragraphs and document.sections[0].footer.paragraphs[0].text == f"青藍貿易 · 報價單 {quote.code}"
    assert len(document.inline_shapes) == 1
    # A second default takes over; a quote may still choose the first one.
    client.post("/sales/printtemplate/add/", template_data(name="簡式報價", title="報價", intro="", closing="", footer="", show_logo=""))
    first, second = PrintTemplate.objects.order_by("id")
    assert (first.is_default, second.is_default) == (False, True)
    assert "正式報價單" not in pdf_text(client.get(f"/sales/quote/{quote.pk}/print/pdf/").content)
    Quote.objects.filter(pk=quote.pk).update(print_template=first)
    assert "正式報價單" in pdf_text(client.get(f"/sales/quote/{quote.pk}/print/pdf/").content)
    # Account statements print with the default statement template.
    client.post("/sales/printtemplate/add/", {
        "name": "對帳單範本", "kind": "statement", "is_default": "on", "title": "{{ company }} 對帳單", "closing": "請於 7 日內回覆 {{ owner }}。",
        "intro": "", "footer": "",
    })
    statement = AccountStatement(owner=member, customer=quote.customer, period_start=datetime.date(2026, 11, 1), period_end=datetime.date(2026, 11, 30))
    reconciliation.prepare_statement(statement=statement, created=True)
    statement.save()
    text = pdf_text(client.get(f"/sales/accountstatement/{statement.pk}/print/pdf/").content)
    assert "青藍貿易 對帳單" in text and "請於 7 日內回覆 系統管理員。" in text
