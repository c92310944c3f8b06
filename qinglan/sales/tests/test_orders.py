"""Sales orders through the paths members take: amounts and taxes, the status flow in one
place, credit control (refused or sent to approval), the lock while waiting for approval,
change orders kept as versions with a diff, supplementary orders."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from qinglan.core.permissions import Scope
from qinglan.core.testing import grant, make_department, make_member
from qinglan.customers.models import Customer
from qinglan.customers.tests.factories import make_customer
from qinglan.org.models import CompanyProfile, Currency
from qinglan.sales import services
from qinglan.sales.choices import OrderStatus
from qinglan.sales.models import SalesOrder, SalesOrderLine, SalesOrderVersion, TaxRate

from qinglan.workflow import services as workflow
from qinglan.workflow.models import WorkTask

from .factories import make_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    twd = Currency.objects.create(code="TWD", name="新臺幣", decimal_places=0)
    CompanyProfile.objects.create(name="青藍貿易", base_currency=twd)
    department = make_department("業務一部")
    boss = make_member("boss", department=department)
    seller = make_member("seller", department=department, manager=boss)
    grant(seller, SalesOrder, ["view", "add", "change", "delete"], scope=Scope.OWN)
    grant(seller, Customer, ["view"], scope=Scope.OWN)
    grant(boss, SalesOrder, ["view", "approve"], scope=Scope.DEPARTMENT)
    return seller, boss


def client_for(member):
    client = Client()
    client.force_login(member)
    return client


def action(client, order, name):
    return client.post(f"/sales/salesorder/{order.pk}/do/{name}/")


def edit_data(order, **values):
    """The edit form as the page posts it, with the order's lines."""
    lines = list(order.lines.all())
    data = {
        "customer": str(order.customer_id), "order_date": str(order.order_date), "currency": str(order.currency_id),
        "lines-TOTAL_FORMS": str(len(lines)), "lines-INITIAL_FORMS": str(len(lines)),
    }
    for index, line in enumerate(lines):
        data.update({
            f"lines-{index}-id": str(line.pk), f"lines-{index}-description": line.description, f"lines-{index}-quantity": str(line.quantity),
            f"lines-{index}-unit_price": str(line.unit_price), f"lines-{index}-discount": str(line.discount),
            f"lines-{index}-tax_rate": str(line.tax_rate_id or ""),
        })
    data.update(values)
    return data


def test_line_amounts_with_exclusive_and_inclusive_tax_and_the_default_rate(team):
    seller, _boss = team
    exclusive = TaxRate.objects.get(rate=5, inclusive=False)
    inclusive = TaxRate.objects.get(rate=5, inclusive=True)
    order = make_order(seller, lines=[(Decimal("3"), Decimal("1000"))], tax_rate=exclusive)
    line = order.lines.get()
    assert (line.net_amount, line.tax_amount, line.line_total) == (Decimal("3000.00"), Decimal("150.00"), Decimal("3150.00"))
    SalesOrderLine.objects.create(order=order, description="含稅品", quantity=Decimal("1"), unit_price=Decimal("1050"), discount=Decimal("10"), tax_rate=inclusive)
    SalesOrderLine.objects.create(order=order, description="未指定稅率", quantity=Decimal("2"), unit_price=Decimal("99.99"))
    services.order_saved(order=order, user=seller)
    order.refresh_from_db()
    included = order.lines.get(description="含稅品")
    assert (included.line_total, included.net_amount, included.tax_amount) == (Decimal("945.00"), Decimal("900.00"), Decimal("45.00"))
    defaulted = order.lines.get(description="未指定稅率")
    assert defaulted.tax_rate == TaxRate.objects.get(is_default=True)
    # Amounts are rounded to the currency's places: TWD has none, so 2 × 99.99 = 199.98 → 200.
    assert (defaulted.net_amount, defaulted.tax_amount) == (Decimal("200.00"), Decimal("10.00"))
    assert (order.subtotal, order.tax_total) == (Decimal("4100.00"), Decimal("205.00"))
    assert order.total == order.subtotal + order.tax_total == order.total_base


def test_submit_within_the_limit_approves_at_once(team):
    seller, _boss = team
    client = client_for(seller)
    empty = make_order(seller, lines=[])
    response = action(client, empty, "submit")
    assert response.status_code == 302
    assert "送出訂單前請至少新增一筆明細。" in client.get(response.url).content.decode()
    order = make_order(seller, customer=make_customer(seller, "額度夠的客戶", credit_limit=Decimal("1000000")))
    action(client, order, "submit")
    order.refresh_from_db()
    assert order.status == OrderStatus.APPROVED


def test_beyond_the_credit_limit_is_refused_when_the_company_blocks(team):
    seller, _boss = team
    customer = make_customer(seller, "額度小的客戶", credit_limit=Decimal("3000"))
    running = make_order(seller, customer=customer, lines=[(Decimal("1"), Decimal("1500"))])
    services.submit_order(record=running, user=seller)  # 1,575 of 3,000 used
    order = make_order(seller, customer=customer, lines=[(Decimal("2"), Decimal("1000"))])  # 2,100 more
    with pytest.raises(ValidationError) as refused:
        services.submit_order(record=order, user=seller)
    assert "1,575.00" in refused.value.messages[0] and "3,675.00" in refused.value.messages[0]
    order.refresh_from_db()
    assert order.status == OrderStatus.DRAFT


def test_beyond_the_limit_waits_for_approval_locked_until_decided(team):
    seller, boss = team
    CompanyProfile.objects.update(credit_control="approval")
    customer = make_customer(seller, "額度小的客戶", credit_limit=Decimal("1000"))
    order = make_order(seller, customer=customer)
    seller_client, boss_client = client_for(seller), client_for(boss)
    action(seller_client, order, "submit")
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED and "1,000.00" in order.approval_reason
    # Locked: no edit page, no API change, no deletion, no Edit button.
    page = seller_client.get(f"/sales/salesorder/{order.pk}/").content.decode()
    assert "data-edit-lock" in page and f"/sales/salesorder/{order.pk}/edit/" not in page
    response = seller_client.get(f"/sales/salesorder/{order.pk}/edit/")
    assert response.status_code == 302 and response.url == f"/sales/salesorder/{order.pk}/"
    response = seller_client.post(f"/sales/salesorder/{order.pk}/edit/", edit_data(order, notes="偷改"))
    assert response.status_code == 400 and "訂單審核中，核准或退回前不能修改。" in response.content.decode()
    response = seller_client.patch(f"/api/sales/salesorders/{order.pk}/", {"notes": "偷改"}, content_type="application/json")
    assert response.status_code == 400
    seller_client.post(f"/sales/salesorder/{order.pk}/delete/")
    order.refresh_from_db()
    assert order.notes == "" and SalesOrder.objects.filter(pk=order.pk).exists()
    # It waits in the order credit process for the seller's manager, who approves from the inbox.
    task = WorkTask.objects.get(instance=workflow.pending_instance(order), status="open")
    assert task.assignee == boss
    assert "訂單信用審批" in boss_client.get(f"/sales/salesorder/{order.pk}/").content.decode()
    with pytest.raises(PermissionDenied):
        workflow.complete(task=task, user=seller, outcome="approve")
    workflow.complete(task=task, user=boss, outcome="approve", comment="老客戶，先出貨")
    order.refresh_from_db()
    assert (order.status, order.approved_by) == (OrderStatus.APPROVED, boss)


def test_a_rejected_order_goes_back_to_draft(team):
    seller, boss = team
    CompanyProfile.objects.update(credit_control="approval")
    order = make_order(seller, customer=make_customer(seller, "客戶", credit_limit=Decimal("1")))
    services.submit_order(record=order, user=seller)
    task = WorkTask.objects.get(instance=workflow.pending_instance(order), status="open")
    workflow.complete(task=task, user=boss, outcome="reject", comment="額度不足")
    order.refresh_from_db()
    assert (order.status, order.approval_reason) == (OrderStatus.DRAFT, "退回：額度不足")


def test_cancelling_an_order_waiting_for_approval_withdraws_it(team):
    seller, _boss = team
    CompanyProfile.objects.update(credit_control="approval")
    order = make_order(seller, customer=make_customer(seller, "客戶", credit_limit=Decimal("1")))
    services.submit_order(record=order, user=seller)
    instance = workflow.pending_instance(order)
    action(client_for(seller), order, "cancel")
    order.refresh_from_db()
    instance.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED and workflow.pending_instance(order) is None
    assert instance.status == "withdrawn"


def test_a_change_after_approval_makes_a_version_with_its_diff(team):
    seller, _boss = team
    client = client_for(seller)
    order = make_order(seller, lines=[(Decimal("2"), Decimal("1000")), (Decimal("1"), Decimal("500"))])
    services.submit_order(record=order, user=seller)
    order.refresh_from_db()
    data = edit_data(order, **{"lines-0-quantity": "5", "notes": "追加數量"})
    response = client.post(f"/sales/salesorder/{order.pk}/edit/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    order.refresh_from_db()
    assert (order.status, order.version) == (OrderStatus.APPROVED, 2)
    kept = SalesOrderVersion.objects.get(order=order)
    assert kept.version == 1 and kept.data["lines"][0]["quantity"] == "2" and kept.changed_by == seller
    page = client.get(f"/sales/salesorder/{order.pk}/").content.decode()
    assert "版本 1 → 2" in page and "追加數量" in page
    assert "<del class=\"text-danger\">2</del> → <ins class=\"text-success\">5</ins>" in page
    # Saving without a change makes no new version.
    client.post(f"/sales/salesorder/{order.pk}/edit/", edit_data(order, notes="追加數量"))
    order.refresh_from_db()
    assert order.version == 2
    # Deleting an approved order is refused: it is cancelled or closed instead.
    client.post(f"/sales/salesorder/{order.pk}/delete/")
    assert SalesOrder.objects.filter(pk=order.pk).exists()


def test_a_change_beyond_the_limit_goes_back_to_approval(team):
    seller, _boss = team
    CompanyProfile.objects.update(credit_control="approval")
    order = make_order(seller, customer=make_customer(seller, "客戶", credit_limit=Decimal("5000")), lines=[(Decimal("1"), Decimal("1000"))])
    services.submit_order(record=order, user=seller)
    order.refresh_from_db()
    assert order.status == OrderStatus.APPROVED
    client_for(seller).post(f"/sales/salesorder/{order.pk}/edit/", edit_data(order, **{"lines-0-quantity": "10"}))
    order.refresh_from_db()
    assert (order.status, order.version) == (OrderStatus.SUBMITTED, 2) and order.approval_reason


def test_the_status_flow_is_enforced(team):
    seller, _boss = team
    client = client_for(seller)
    order = make_order(seller)
    with pytest.raises(ValidationError):
        services.complete_order(record=order, user=seller)  # a draft is not in fulfilment
    services.submit_order(record=order, user=seller)
    action(client, order, "fulfil")
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLING
    response = action(client, order, "cancel")
    assert "履行中或已結束的訂單不能取消；請改為結案。" in client.get(response.url).content.decode()
    action(client, order, "complete")
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert client.get(f"/sales/salesorder/{order.pk}/edit/").status_code == 302  # finished: locked
    other = make_order(seller)
    services.submit_order(record=other, user=seller)
    action(client, other, "close")
    other.refresh_from_db()
    assert other.status == OrderStatus.CLOSED


def test_a_supplementary_order_links_to_its_original(team):
    seller, _boss = team
    client = client_for(seller)
    order = make_order(seller)
    response = action(client, order, "supplement")
    assert "補充訂單只能加在已核准、履行中或已完成的訂單上。" in client.get(response.url).content.decode()
    services.submit_order(record=order, user=seller)
    response = action(client, order, "supplement")
    supplement = SalesOrder.objects.get(original=order)
    assert response.url == f"/sales/salesorder/{supplement.pk}/"
    assert (supplement.status, supplement.customer, supplement.owner, supplement.total_base) == (OrderStatus.DRAFT, order.customer, seller, Decimal(0))
    page = client.get(f"/sales/salesorder/{order.pk}/").content.decode()
    assert f'data-supplement="{supplement.pk}"' in page
    other = make_customer(seller, "別的客戶")
    data = edit_data(supplement, customer=str(other.pk), original=str(order.pk))
    response = client.post(f"/sales/salesorder/{supplement.pk}/edit/", data)
    assert response.status_code == 400 and "補充訂單的客戶須與原訂單相同。" in response.content.decode()


def test_the_customer_page_lists_the_orders_the_member_may_see(team):
    seller, _boss = team
    colleague = make_member("colleague", department=seller.department)
    customer = make_customer(seller, "青藍科技")
    mine = make_order(seller, customer=customer)
    theirs = make_order(colleague, customer=customer)
    page = client_for(seller).get(f"/customers/customer/{customer.pk}/").content.decode()
    assert f'data-order="{mine.pk}"' in page and f'data-order="{theirs.pk}"' not in page


def test_an_opportunity_becomes_a_draft_order_with_its_lines(team):
    from qinglan.sales.choices import StageKind
    from qinglan.sales.models import LossReason, Opportunity, OpportunityLine

    from .factories import make_opportunity, stage

    seller, _boss = team
    grant(seller, Opportunity, ["view", "change"], scope=Scope.OWN)
    client = client_for(seller)
    opportunity = make_opportunity(seller, "年度採購")
    OpportunityLine.objects.create(opportunity=opportunity, description="筆記型電腦", quantity=Decimal("10"), unit_price=Decimal("35900"), discount=Decimal("10"))
    response = client.post(f"/sales/opportunity/{opportunity.pk}/do/order/")
    order = SalesOrder.objects.get(opportunity=opportunity)
    assert response.url == f"/sales/salesorder/{order.pk}/"
    assert (order.status, order.customer, order.owner) == (OrderStatus.DRAFT, opportunity.customer, seller)
    line = order.lines.get()
    assert (line.description, line.quantity, line.unit_price, line.discount) == ("筆記型電腦", Decimal("10"), Decimal("35900"), Decimal("10"))
    assert order.subtotal == Decimal("323100.00")
    lost = make_opportunity(seller, "沒成的案子")
    services.move_stage(opportunity=lost, stage=stage(StageKind.LOST), user=seller, loss_reason=LossReason.objects.first())
    response = client.post(f"/sales/opportunity/{lost.pk}/do/order/")
    assert not SalesOrder.objects.filter(opportunity=lost).exists()


def test_edit_selected_refuses_a_locked_order_and_changes_nothing(team):
    seller, _boss = team
    CompanyProfile.objects.update(credit_control="approval")
    waiting = make_order(seller, customer=make_customer(seller, "客戶", credit_limit=Decimal("1")))
    services.submit_order(record=waiting, user=seller)
    draft = make_order(seller)
    response = client_for(seller).post(
        "/sales/salesorder/bulk-edit/", {"pk": [draft.pk, waiting.pk], "_apply": "1", "notes": "批次備註", "set_notes": "on"},
    )
    assert response.status_code == 200 and "訂單審核中，核准或退回前不能修改。" in response.content.decode()
    draft.refresh_from_db()
    waiting.refresh_from_db()
    assert draft.notes == "" and waiting.notes == ""  # all or nothing
