"""The newer warehouse and purchasing pages in real Chromium, in Chinese: a purchase request
submitted by its requester, approved by their manager from the workflow inbox, converted into
a purchase order, placed, received and posted, invoiced by the supplier and paid; then the
slow movers page, and a stocktake of one category counted on its sheet and posted while the
rest of the warehouse keeps moving."""

import datetime
from decimal import Decimal

import pytest

from .conftest import choose, log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def team(transactional_db):
    from qinglan.core import testing
    from qinglan.core.permissions import Scope
    from qinglan.customers.models import Customer
    from qinglan.customers.tests.factories import make_customer
    from qinglan.inventory.models import StockBalance, StockDocument, StockEntry, Stocktake, Warehouse
    from qinglan.inventory.tests.factories import make_product, make_warehouse
    from qinglan.products.models import Product
    from qinglan.purchasing.models import PurchaseOrder, PurchaseRequest, SupplierInvoice, SupplierPayment
    from qinglan.purchasing.tests.factories import make_request

    department = testing.make_department("生產部")
    boss = testing.make_member("plant-boss", department=department)
    requester = testing.make_member("planner", department=department, manager=boss)
    buyer = testing.make_member("buyer", department=testing.make_department("採購部"))
    testing.grant(requester, PurchaseRequest, ["view", "add", "change"], scope=Scope.OWN)
    testing.grant(boss, PurchaseRequest, ["view"], scope=Scope.DEPARTMENT)
    testing.grant(buyer, PurchaseRequest, ["view"])
    for model in (PurchaseOrder, SupplierInvoice, SupplierPayment, Stocktake):
        testing.grant(buyer, model, ["view", "add", "change"])
    testing.grant(buyer, StockDocument, ["view", "add", "change"])
    for model in (Warehouse, Product, Customer, StockBalance, StockEntry):
        testing.grant(buyer, model, ["view"])
    warehouse = make_warehouse("PBW", "原料倉")
    bolts = make_product("PB-1", "不鏽鋼螺栓", cost=Decimal(3))
    supplier = make_customer(buyer, "五金行甲", is_supplier=True)
    request = make_request(requester, warehouse=warehouse, lines=[(bolts, 100)], reason="新產線開工")
    return {"boss": boss, "requester": requester, "buyer": buyer, "warehouse": warehouse, "bolts": bolts, "supplier": supplier,
            "request": request, "password": testing.PASSWORD}


def chinese(open_page, member, password):
    return log_in(open_page(locale="zh-TW"), member.username, password)


def press(page, name):
    """Click a record's action button (the confirmation is the core's, answered yes here)."""
    page.evaluate("document.querySelectorAll('[data-confirm]').forEach(button => button.removeAttribute('data-confirm'))")
    with page.expect_navigation():
        page.get_by_role("button", name=name, exact=True).click()


def save(page):
    with page.expect_navigation():
        page.get_by_role("button", name="儲存", exact=True).click()


def no_errors(*pages):
    """No script error on any page; the one console message allowed is the refused form's 400."""
    for page in pages:
        errors = [error for error in page.watch.console_errors if "status of 400" not in error]
        assert not page.watch.page_errors and not errors, (page.watch.page_errors, errors)


def test_request_approved_ordered_received_invoiced_and_paid(open_page, team):
    from qinglan.inventory.models import StockBalance
    from qinglan.purchasing.choices import PurchaseStatus, RequestStatus, SupplierInvoiceStatus
    from qinglan.purchasing.models import PurchaseOrder, SupplierInvoice

    request = team["request"]
    # The requester submits the request for approval.
    planner = chinese(open_page, team["requester"], team["password"])
    planner.goto(request.get_absolute_url())
    press(planner, "提交審批")
    request.refresh_from_db()
    assert request.status == RequestStatus.SUBMITTED

    # Their manager finds it in the workflow inbox and approves it.
    boss = chinese(open_page, team["boss"], team["password"])
    boss.goto("/workflow/tasks/")
    rows = boss.locator("tr[data-task]")
    assert rows.count() == 1, rows.all_inner_texts()
    with boss.expect_navigation():
        rows.first.locator("a").first.click()
    form = boss.locator('[data-testid="task-form"]').first
    form.locator('textarea[name="comment"]').fill("同意採購")
    with boss.expect_navigation():
        form.locator('button[value="approve"]').click()
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED

    # The buyer converts it: beyond the request is refused and nothing is made; then 100 at 2.8.
    buyer = chinese(open_page, team["buyer"], team["password"])
    buyer.goto(f"/purchasing/purchaserequest/{request.pk}/convert/")
    line = request.lines.get()
    buyer.select_option(f'select[name="supplier-{line.pk}"]', str(team["supplier"].pk))
    buyer.fill(f'input[name="quantity-{line.pk}"]', "120")
    buyer.fill(f'input[name="price-{line.pk}"]', "2.8")
    with buyer.expect_navigation():
        buyer.get_by_role("button", name="產生採購單").click()
    assert "120" in buyer.locator("[data-convert-error]").inner_text()
    assert not PurchaseOrder.objects.exists()
    buyer.fill(f'input[name="quantity-{line.pk}"]', "100")
    with buyer.expect_navigation():
        buyer.get_by_role("button", name="產生採購單").click()
    order = PurchaseOrder.objects.get()
    assert order.supplier == team["supplier"] and order.lines.get().unit_price == Decimal("2.8")
    buyer.goto(order.get_absolute_url())
    press(buyer, "下單")
    order.refresh_from_db()
    assert order.status == PurchaseStatus.ORDERED

    # Received: the action drafts the receipt of what is open, the buyer posts it.
    press(buyer, "收貨")
    assert "/inventory/purchasereceipt/" in buyer.url
    press(buyer, "過帳")
    assert "已過帳" in buyer.content()
    assert StockBalance.objects.get(product=team["bolts"], warehouse=team["warehouse"]).on_hand == 100
    order.refresh_from_db()
    assert order.status == PurchaseStatus.RECEIVED

    # The supplier's invoice of the received goods, issued; then paid in full.
    buyer.goto(order.get_absolute_url())
    press(buyer, "登錄進項發票")
    invoice = SupplierInvoice.objects.get()
    assert f"/purchasing/supplierinvoice/{invoice.pk}/" in buyer.url
    press(buyer, "開立")
    invoice.refresh_from_db()
    assert invoice.status == SupplierInvoiceStatus.ISSUED and invoice.total == Decimal(280)
    buyer.goto("/purchasing/supplierpayment/add/")
    choose(buyer, "#id_supplier", "五金行甲", typed="五金")
    buyer.fill("#id_amount", "280")
    choose(buyer, "#id_allocations-0-invoice", invoice.code, typed=invoice.code)
    buyer.fill("#id_allocations-0-amount", "280")
    save(buyer)
    invoice.refresh_from_db()
    assert invoice.status == SupplierInvoiceStatus.PAID and invoice.paid_amount == Decimal(280)
    buyer.goto(invoice.get_absolute_url())
    assert "280" in buyer.content()
    no_errors(planner, boss, buyer)


def test_slow_movers_and_a_category_stocktake(open_page, team):
    from django.utils import timezone

    from qinglan.inventory.models import StockBalance, StockEntry, Stocktake, Warehouse
    from qinglan.inventory.tests.factories import make_product, receive, stock_clerk
    from qinglan.products.tests.factories import make_category

    clerk = stock_clerk()
    warehouse = team["warehouse"]
    drinks = make_category("飲料")
    tea = make_product("PB-T", "烏龍茶", category=drinks)
    receive(warehouse, tea, 20, unit_cost=Decimal(40), user=clerk)
    receive(warehouse, team["bolts"], 50, unit_cost=Decimal(3), user=clerk)
    StockEntry.objects.filter(product=tea).update(posted_at=timezone.now() - datetime.timedelta(days=150))  # nothing went out for 150 days

    buyer = chinese(open_page, team["buyer"], team["password"])
    buyer.goto("/inventory/slow/?days=90")
    row = buyer.locator('[data-slow-row="PB-T"]')
    assert "20" in row.inner_text() and "800" in row.inner_text()
    assert buyer.locator('[data-slow-row="PB-1"]').count() == 0  # came in today
    assert "飲料" in buyer.locator("[data-slow-category]").first.inner_text()

    # A stocktake of the drinks only: the sheet lists the tea, the bolts keep moving meanwhile.
    buyer.goto("/inventory/stocktake/add/")
    choose(buyer, "#id_warehouse", "原料倉", typed="PBW")
    choose(buyer, "#id_category", "飲料", typed="飲料")
    save(buyer)
    stocktake = Stocktake.objects.get()
    assert Warehouse.objects.get(pk=warehouse.pk).partly_frozen
    buyer.goto(f"/inventory/stocktake/{stocktake.pk}/sheet/")
    line = stocktake.lines.get()
    assert line.product == tea
    # The sheet's Print button prints (its handler is allowed by the content security policy).
    buyer.evaluate("window.print = () => { window.printed = true; }")
    buyer.get_by_role("button", name="列印").click()
    assert buyer.evaluate("window.printed === true")
    buyer.fill(f'input[name="count-{line.pk}"]', "18")
    with buyer.expect_navigation():
        buyer.get_by_role("button", name="儲存實盤數量").click()
    line.refresh_from_db()
    assert line.counted_quantity == 18
    buyer.goto(stocktake.get_absolute_url())
    press(buyer, "過帳盤差")
    stocktake.refresh_from_db()
    assert stocktake.status == "posted"
    assert StockBalance.objects.get(product=tea, warehouse=warehouse).on_hand == 18
    assert not Warehouse.objects.get(pk=warehouse.pk).partly_frozen
    no_errors(buyer)
