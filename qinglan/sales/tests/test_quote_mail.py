"""Sending a quote by e-mail through the page a salesperson uses: the form filled in from the
contact, the printed quote attached, the quote marked sent and the mail kept as an e-mail
follow-up on the customer; bad addresses, a draft quote, a stranger and a mail server that
refuses the message change nothing."""

import io
import socket

import pytest
from django.core import mail

from qinglan.core.permissions import Scope
from qinglan.core.testing import client_for, grant, make_department, make_member
from qinglan.customers.choices import ActivityKind
from qinglan.customers.models import Activity, Contact
from qinglan.customers.tests.factories import make_customer
from qinglan.sales.choices import QuoteStatus
from qinglan.sales.models import Quote

from .test_quotes import make_team, quote_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def approved():
    seller, _boss, product = make_team()
    seller.email = "li@qinglan.example"
    seller.save()
    customer = make_customer(seller, "青藍百貨")
    contact = Contact.objects.create(customer=customer, name="陳採購", email="chen@baihuo.example")
    client = client_for(seller)
    client.post("/sales/quote/add/", quote_form(customer, product))
    quote = Quote.objects.get()
    Quote.objects.filter(pk=quote.pk).update(contact=contact)
    client.post(f"/sales/quote/{quote.pk}/do/submit/")
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.APPROVED
    return seller, client, quote


def mail_form(**extra):
    data = {"to": "chen@baihuo.example", "cc": "", "subject": "青藍貿易 報價單", "message": "請查收。", "formats": ["pdf"]}
    data.update(extra)
    return data


def test_the_quote_is_sent_with_the_printed_quote_and_kept_as_a_follow_up(approved):
    seller, client, quote = approved
    page = client.get(f"/sales/quote/{quote.pk}/")
    assert f"/sales/quote/{quote.pk}/mail/" in page.content.decode()
    form = client.get(f"/sales/quote/{quote.pk}/mail/")
    assert form.status_code == 200
    html = form.content.decode()
    assert 'value="chen@baihuo.example"' in html  # the contact's address
    assert f"青藍貿易 報價單 {quote.code}" in html and "陳採購 您好" in html  # in the member's language (zh-Hant)
    response = client.post(f"/sales/quote/{quote.pk}/mail/", mail_form(cc="boss@qinglan.example; li@qinglan.example", formats=["pdf", "docx"]))
    assert response.status_code == 302
    (message,) = mail.outbox
    assert message.to == ["chen@baihuo.example"] and message.cc == ["boss@qinglan.example", "li@qinglan.example"]
    assert message.reply_to == ["li@qinglan.example"] and message.subject == "青藍貿易 報價單" and message.body == "請查收。"
    names = [name for name, _content, _type in message.attachments]
    assert names == [f"{quote.code}-v1.pdf", f"{quote.code}-v1.docx"]
    import pypdf

    pdf = message.attachments[0][1]
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert quote.code in text and "青藍百貨" in text
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.SENT
    follow_up = Activity.objects.get(customer=quote.customer)
    assert (follow_up.kind, follow_up.owner, follow_up.contact.name, follow_up.subject) == (ActivityKind.EMAIL, seller, "陳採購", "青藍貿易 報價單")
    assert "chen@baihuo.example, boss@qinglan.example" in follow_up.outcome and "請查收。" in follow_up.outcome
    quote.customer.refresh_from_db()
    assert quote.customer.last_activity_at == follow_up.occurred_at
    # A sent quote may be sent again (e.g. to another address); it stays sent.
    assert client.post(f"/sales/quote/{quote.pk}/mail/", mail_form(to="other@baihuo.example")).status_code == 302
    assert len(mail.outbox) == 2 and Activity.objects.filter(customer=quote.customer).count() == 2


def test_bad_addresses_and_missing_fields_are_refused_and_nothing_is_sent(approved):
    _seller, client, quote = approved
    for data, expected in (
        (mail_form(to=""), "此欄位為必填"),
        (mail_form(to="chen@baihuo.example, 不是地址"), "不是有效的電子郵件地址：不是地址"),
        (mail_form(cc="a@b"), "不是有效的電子郵件地址：a@b"),
        (mail_form(to=",".join(f"p{n}@x.example" for n in range(21))), "最多 20 個地址"),
        (mail_form(formats=[]), "此欄位為必填"),
        (mail_form(formats=["exe"]), "exe"),
        (mail_form(subject=""), "此欄位為必填"),
    ):
        response = client.post(f"/sales/quote/{quote.pk}/mail/", data)
        assert response.status_code == 400, data
        assert expected in response.content.decode(), data
    assert mail.outbox == []
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.APPROVED and not Activity.objects.exists()


def test_a_draft_quote_and_a_stranger_cannot_send(approved):
    seller, client, quote = approved
    # A draft (revised) quote: the page says why and a POST sends nothing.
    client.post(f"/sales/quote/{quote.pk}/do/revise/")
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.DRAFT
    page = client.get(f"/sales/quote/{quote.pk}/mail/")
    assert page.status_code == 400 and "只有已核准的報價可以送出給客戶" in page.content.decode()
    assert f"/sales/quote/{quote.pk}/mail/" not in client.get(f"/sales/quote/{quote.pk}/").content.decode()
    response = client.post(f"/sales/quote/{quote.pk}/mail/", mail_form())
    assert response.status_code == 400 and mail.outbox == []
    # A member who may only view other people's quotes neither sees the button nor sends.
    viewer = make_member("viewer", department=make_department("財務部"))
    grant(viewer, Quote, ["view"], scope=Scope.ALL)
    grant(viewer, Quote, ["change"], scope=Scope.OWN)
    other = client_for(viewer)
    quote.status = QuoteStatus.APPROVED
    quote.save(update_fields=["status"])
    assert f"/sales/quote/{quote.pk}/mail/" not in other.get(f"/sales/quote/{quote.pk}/").content.decode()
    assert other.get(f"/sales/quote/{quote.pk}/mail/").status_code == 404
    assert other.post(f"/sales/quote/{quote.pk}/mail/", mail_form()).status_code == 404
    assert mail.outbox == []


def test_a_mail_server_that_refuses_changes_nothing(approved, settings):
    _seller, client, quote = approved
    with socket.socket() as closed:  # a port nobody listens on: the real SMTP backend fails to connect
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend", "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5}}}
    response = client.post(f"/sales/quote/{quote.pk}/mail/", mail_form())
    assert response.status_code == 400
    assert "郵件伺服器未接受此郵件" in response.content.decode()
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.APPROVED and not Activity.objects.exists()
