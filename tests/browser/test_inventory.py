"""The warehouse in real Chromium, in Chinese: a clerk enters a purchase receipt with a line on
its form, posts it, sees the stock report follow, and a delivery beyond the stock is refused
with the reason and changes nothing."""

import pytest

from .conftest import choose, log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def store(transactional_db):
    from qinglan.core import testing
    from qinglan.customers.models import Customer
    from qinglan.customers.tests.factories import make_customer
    from qinglan.inventory.models import StockBalance, StockDocument, StockEntry, Warehouse
    from qinglan.inventory.tests.factories import make_product, make_warehouse
    from qinglan.products.models import Product

    clerk = testing.make_member("clerk")
    for model in (Warehouse, Product, Customer, StockBalance, StockEntry):
        testing.grant(clerk, model, ["view"])
    testing.grant(clerk, StockDocument, ["view", "add", "change"])
    make_warehouse("BW1", "台北倉", owner=clerk)
    make_product("BT-1", "烏龍茶禮盒")
    make_customer(clerk, "茶山供應社", is_supplier=True)
    return {"clerk": clerk, "password": testing.PASSWORD}


def press(page, name):
    """Click an action button; the browser's confirmation is the core's, answered yes here."""
    page.evaluate("document.querySelectorAll('[data-confirm]').forEach(button => button.removeAttribute('data-confirm'))")
    with page.expect_navigation():
        page.get_by_role("button", name=name, exact=True).click()


def test_receive_post_and_a_refused_delivery(open_page, store):
    from qinglan.inventory.models import StockBalance, StockEntry

    page = log_in(open_page(locale="zh-TW"), store["clerk"].username, store["password"])
    page.goto("/inventory/purchasereceipt/add/")
    choose(page, "#id_partner", "茶山供應社", typed="茶山")
    choose(page, "#id_warehouse", "台北倉", typed="BW1")
    choose(page, "#id_lines-0-product", "烏龍茶禮盒", typed="BT-1")
    page.fill("#id_lines-0-quantity", "12")
    page.fill("#id_lines-0-unit_cost", "450")
    page.fill("#id_lines-0-batch_code", "T2026-01")
    with page.expect_navigation():
        page.get_by_role("button", name="儲存", exact=True).click()
    assert "/inventory/purchasereceipt/" in page.url and "採購入庫單" in page.content()
    press(page, "過帳")
    assert "已過帳" in page.content()
    assert "5,400" in page.locator("text=庫存異動").locator("xpath=ancestor::div[contains(@class,'card')]").inner_text()
    page.goto("/inventory/stock/")
    row = page.locator('[data-stock-row="BT-1@BW1"]').inner_text()
    assert "12" in row and "5,400" in row

    page.goto("/inventory/salesdelivery/add/")
    choose(page, "#id_warehouse", "台北倉", typed="BW1")
    choose(page, "#id_lines-0-product", "烏龍茶禮盒", typed="BT-1")
    page.fill("#id_lines-0-quantity", "20")
    with page.expect_navigation():
        page.get_by_role("button", name="儲存", exact=True).click()
    press(page, "過帳")
    alert = page.locator(".alert").all_inner_texts()
    assert any("庫存不足" in text and "共可用 12，需要 20" in text for text in alert), alert
    assert StockEntry.objects.count() == 1
    assert StockBalance.objects.get().on_hand == 12
    assert page.watch.page_errors == [] and page.watch.console_errors == []
