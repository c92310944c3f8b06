"""A salesperson drags an opportunity card to the next stage of the pipeline in Chromium, then
marks another lost through the card's menu, giving the reason the dialog asks for."""

from decimal import Decimal

import pytest

from qinglan.core.permissions import Scope
from qinglan.core.testing import PASSWORD, grant, make_department, make_member
from qinglan.customers.models import Customer
from qinglan.sales.choices import StageKind
from qinglan.sales.models import LossReason, Opportunity, OpportunityStage
from qinglan.sales.tests.factories import make_opportunity, stage

from .conftest import log_in

pytestmark = pytest.mark.browser


def test_drag_a_card_then_mark_one_lost(open_page, transactional_db):
    seller = make_member("seller", department=make_department("業務一部"), display_name="王大同")
    grant(seller, Opportunity, ["view", "add", "change"], scope=Scope.OWN)
    grant(seller, Customer, ["view"], scope=Scope.OWN)
    first = stage()
    second = OpportunityStage.objects.filter(kind=StageKind.OPEN, order__gt=first.order).order_by("order").first()
    moving = make_opportunity(seller, "網路升級案", amount=Decimal("120000"))
    losing = make_opportunity(seller, "門市系統案", amount=Decimal("80000"))
    reason = LossReason.objects.order_by("name").first()

    page = log_in(open_page(locale="zh-TW"), "seller", PASSWORD)
    page.goto("/sales/pipeline/")
    card = page.locator(f'[data-card="{moving.pk}"]')
    target = page.locator(f'[data-stage-column="{second.pk}"] .ql-board-cards')
    with page.expect_response(lambda response: "/sales/pipeline/move/" in response.url):
        card.drag_to(target)
    page.wait_for_selector(f'[data-stage-column="{second.pk}"] [data-card="{moving.pk}"]')
    moving.refresh_from_db()
    assert moving.stage == second

    lost = stage(StageKind.LOST)
    page.locator(f'[data-card="{losing.pk}"] [data-bs-toggle="dropdown"]').click()
    page.locator(f'[data-card="{losing.pk}"] [data-move-to="{lost.pk}"]').click()
    dialog = page.locator("#ql-lost")
    assert dialog.is_visible()
    dialog.locator("select[name=loss_reason]").select_option(str(reason.pk))
    dialog.locator("textarea[name=note]").fill("客戶預算刪減")
    with page.expect_response(lambda response: "/sales/pipeline/move/" in response.url):
        dialog.locator("button[type=submit]").click()
    page.wait_for_selector(f'[data-stage-column="{lost.pk}"] [data-card="{losing.pk}"]')
    losing.refresh_from_db()
    assert (losing.status, losing.loss_reason, losing.close_note) == (StageKind.LOST, reason, "客戶預算刪減")
    assert page.watch.console_errors == [] and page.watch.page_errors == []
