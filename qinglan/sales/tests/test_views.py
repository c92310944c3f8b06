"""The pipeline board and the forecast through HTTP, as members use them: what each member
sees, moving a card (htmx and a plain form post), CSRF, the customer page's panel."""

import datetime
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from qinglan.core.permissions import Scope
from qinglan.core.testing import grant, make_department, make_member
from qinglan.customers.models import Customer
from qinglan.customers.tests.factories import make_customer
from qinglan.org.models import CompanyProfile, Currency
from qinglan.sales.choices import StageKind
from qinglan.sales.models import LossReason, Opportunity, OpportunityStage

from .factories import make_opportunity, stage

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    Currency.objects.create(code="TWD", name="新臺幣", decimal_places=0)
    CompanyProfile.objects.create(name="青藍貿易", base_currency=Currency.objects.get(code="TWD"))
    department = make_department("業務一部")
    seller = make_member("seller", department=department)
    colleague = make_member("colleague", department=department)
    manager = make_member("manager", department=department)
    grant(seller, Opportunity, ["view", "add", "change"], scope=Scope.OWN)
    grant(manager, Opportunity, ["view"], scope=Scope.DEPARTMENT)
    grant(seller, Customer, ["view"], scope=Scope.OWN)
    return seller, colleague, manager


def client_for(member, **options):
    client = Client(**options)
    client.force_login(member)
    return client


def card_ids(html):
    return {int(pk) for pk in re.findall(r'data-card="(\d+)"', html)}


def column_of(html, pk):
    """The stage id of the column a card is in."""
    position = html.index(f'data-card="{pk}"')
    return int(re.findall(r'data-stage-column="(\d+)"', html[:position])[-1])


def test_the_board_shows_what_each_member_may_see(team):
    seller, colleague, manager = team
    mine = make_opportunity(seller, "我的案子", amount=Decimal("300000"))
    theirs = make_opportunity(colleague, "同事的案子", amount=Decimal("500000"))
    html = client_for(seller).get("/sales/pipeline/").content.decode()
    assert card_ids(html) == {mine.pk}
    assert "同事的案子" not in html and "500,000" not in html  # no card, no sum
    html = client_for(manager).get("/sales/pipeline/").content.decode()
    assert card_ids(html) == {mine.pk, theirs.pk}
    first = stage()
    assert column_of(html, mine.pk) == first.pk
    assert "800,000" in html  # the column's sum
    assert 'draggable="true"' not in html  # the manager may only look
    assert client_for(manager).get("/sales/pipeline/?owner=me").content.decode().count("data-card=") == 0
    outsider = make_member("outsider")
    assert client_for(outsider).get("/sales/pipeline/").status_code == 403
    assert client_for(outsider).get("/sales/forecast/").status_code == 403


def test_moving_a_card_with_htmx_and_with_a_plain_post(team):
    seller, colleague, _manager = team
    record = make_opportunity(seller, "網路升級")
    proposal = OpportunityStage.objects.filter(kind=StageKind.OPEN).order_by("order")[2]
    client = client_for(seller)
    response = client.post("/sales/pipeline/move/", {"opportunity": record.pk, "stage": proposal.pk}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html  # the board alone, swapped in place
    assert column_of(html, record.pk) == proposal.pk
    record.refresh_from_db()
    assert record.stage == proposal
    # Lost without a reason: refused, said on the board, nothing moved.
    lost = stage(StageKind.LOST)
    html = client.post("/sales/pipeline/move/", {"opportunity": record.pk, "stage": lost.pk}, HTTP_HX_REQUEST="true").content.decode()
    assert "data-pipeline-error" in html and "請說明輸單原因。" in html
    record.refresh_from_db()
    assert record.stage == proposal
    # A plain form post (no JavaScript) with a reason goes back to the board.
    reason = LossReason.objects.first()
    response = client.post("/sales/pipeline/move/", {"opportunity": record.pk, "stage": lost.pk, "loss_reason": reason.pk, "note": "預算刪減"})
    assert response.status_code == 302 and response.url == "/sales/pipeline/"
    record.refresh_from_db()
    assert (record.status, record.loss_reason, record.close_note) == (StageKind.LOST, reason, "預算刪減")
    # Someone else's opportunity: not found for a member who may not see it.
    other = make_opportunity(colleague, "同事的案子")
    assert client.post("/sales/pipeline/move/", {"opportunity": other.pk, "stage": proposal.pk}).status_code == 404
    assert client.post("/sales/pipeline/move/", {"opportunity": "x", "stage": proposal.pk}).status_code == 404


def test_moving_needs_the_csrf_token(team):
    seller, _colleague, _manager = team
    record = make_opportunity(seller, "網路升級")
    client = client_for(seller, enforce_csrf_checks=True)
    response = client.post("/sales/pipeline/move/", {"opportunity": record.pk, "stage": stage(StageKind.WON).pk})
    assert response.status_code == 403
    record.refresh_from_db()
    assert record.status == StageKind.OPEN


def test_forecast_by_month_owner_and_stage(team):
    seller, colleague, manager = team
    today = timezone.localdate()
    next_month = (today.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)
    negotiation = OpportunityStage.objects.filter(kind=StageKind.OPEN).order_by("-order").first()  # 75 %
    make_opportunity(seller, "本月案", amount=Decimal("100000"), stage=negotiation, expected_close_date=today)
    make_opportunity(seller, "下月案", amount=Decimal("200000"), stage=negotiation, expected_close_date=next_month)
    make_opportunity(colleague, "同事案", amount=Decimal("400000"), stage=negotiation, expected_close_date=next_month)
    make_opportunity(seller, "逾期案", amount=Decimal("50000"), stage=negotiation, expected_close_date=today.replace(day=1) - datetime.timedelta(days=3))
    make_opportunity(seller, "無日期", amount=Decimal("10000"), stage=negotiation)
    make_opportunity(seller, "遠期案", amount=Decimal("999000"), stage=negotiation, expected_close_date=today + datetime.timedelta(days=400))
    make_opportunity(seller, "已贏", amount=Decimal("70000"), stage=stage(StageKind.WON))
    html = client_for(manager).get("/sales/forecast/", {"months": "3"}).content.decode()
    rows = re.findall(r"<tr data-forecast-row>(.*?)</tr>", html, re.S)
    assert len(rows) == 2 and "seller" in rows[1 if "colleague" in rows[0] else 0]
    seller_row = next(row for row in rows if "seller" in row)
    cells = [re.sub(r"<[^>]+>", " ", cell).split() for cell in re.findall(r"<td[^>]*>(.*?)</td>", seller_row, re.S)]
    # overdue, this month, next month, the month after, total, no date: weighted over expected
    assert cells[0] == ["37,500", "50,000"]
    assert cells[1] == ["75,000", "100,000"] and cells[2] == ["150,000", "200,000"] and cells[3] == ["–"]
    assert cells[4] == ["225,000", "300,000"] and cells[5] == ["7,500", "10,000"]
    total = re.search(r"<tr class=\"table-light\" data-forecast-total>(.*?)</tr>", html, re.S).group(1)
    assert "75,000" in total and "450,000" in total and "525,000" in total  # 150,000 + 300,000 next month
    assert "999,000" not in html and "749,250" not in html  # beyond the months shown
    won = re.search(r"<tr data-forecast-won>(.*?)</tr>", html, re.S).group(1)
    assert "70,000" in won
    html = client_for(seller).get("/sales/forecast/", {"by": "stage"}).content.decode()
    assert "同事" not in html and "400,000" not in html and negotiation.name in html


def test_a_currency_without_rate_is_left_out_of_the_forecast_with_a_warning(team):
    seller, _colleague, _manager = team
    yen = Currency.objects.create(code="JPY", name="日圓")
    make_opportunity(seller, "日圓案", currency=yen, expected_close_date=timezone.localdate())
    html = client_for(seller).get("/sales/forecast/").content.decode()
    assert "有 1 筆進行中的銷售機會因幣別沒有匯率而未計入。" in html


def test_the_customer_page_lists_the_opportunities_the_member_may_see(team):
    seller, colleague, _manager = team
    customer = make_customer(seller, "青藍科技")
    make_opportunity(seller, "看得到的案子", customer=customer)
    make_opportunity(colleague, "看不到的案子", customer=customer)
    html = client_for(seller).get(f"/customers/customer/{customer.pk}/").content.decode()
    assert "看得到的案子" in html and "看不到的案子" not in html
