"""The stock pages through the URLs members use: the stock report (now and on a past date),
stock value, low stock and expiry alerts, the count sheet (blind for counters, visible to
reviewers) and a delivery drafted from a sales order's page — each showing only the
warehouses the member may view."""

import datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from qinglan.core.permissions import Scope
from qinglan.core.testing import grant, make_member
from qinglan.inventory import stocktaking
from qinglan.inventory.models import ReorderRule, StockBalance, Stocktake, Warehouse

from .factories import make_product, make_warehouse, receive

pytestmark = pytest.mark.django_db


@pytest.fixture
def keeper():
    member = make_member("倉管小陳")
    grant(member, Warehouse, ["view"], scope=Scope.OWN)
    grant(member, StockBalance, ["view"], scope=Scope.OWN)
    grant(member, ReorderRule, ["view"], scope=Scope.OWN)
    grant(member, Stocktake, ["view", "change"], scope=Scope.OWN)
    return member


def client_for(member):
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hant")
    client.force_login(member)
    return client


def test_stock_report_shows_only_the_members_warehouses(keeper):
    mine = make_warehouse("KEEP", "小陳的倉", owner=keeper)
    other = make_warehouse("ELSE", "別人的倉", owner=make_member("別人"))
    product = make_product("VR1", "保溫瓶")
    receive(mine, product, 6, unit_cost=Decimal(100))
    receive(other, product, 9, unit_cost=Decimal(100))
    page = client_for(keeper).get("/inventory/stock/").content.decode()
    assert 'data-stock-row="VR1@KEEP"' in page and "ELSE" not in page
    assert "庫存報表" in page
    value = client_for(keeper).get("/inventory/value/").content.decode()
    assert 'data-value-warehouse="KEEP"' in value and 'data-value-warehouse="ELSE"' not in value
    assert ">600<" in value.replace("600.00", "600")


def test_stock_on_a_past_date_is_summed_from_the_ledger(keeper):
    mine = make_warehouse("KEEP", "小陳的倉", owner=keeper)
    product = make_product("VR2", "水壺")
    receive(mine, product, 4)
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    page = client_for(keeper).get("/inventory/stock/", {"as_of": yesterday.isoformat()}).content.decode()
    assert 'data-stock-row="VR2@KEEP"' not in page
    page = client_for(keeper).get("/inventory/stock/", {"as_of": timezone.localdate().isoformat()}).content.decode()
    assert 'data-stock-row="VR2@KEEP"' in page


def test_stock_pages_need_the_view_grant():
    nobody = make_member("路人")
    for url in ("/inventory/stock/", "/inventory/value/", "/inventory/alerts/"):
        assert client_for(nobody).get(url).status_code == 403


def test_low_stock_and_expiring_batches(keeper):
    mine = make_warehouse("KEEP", "小陳的倉", owner=keeper)
    low = make_product("VR3", "口罩")
    fine = make_product("VR4", "手套")
    receive(mine, low, 3, batch_code="M-1", expiry_date=timezone.localdate() + datetime.timedelta(days=5))
    receive(mine, fine, 50)
    ReorderRule.objects.create(product=low, warehouse=mine, minimum=Decimal(10), reorder_quantity=Decimal(20))
    ReorderRule.objects.create(product=fine, warehouse=mine, minimum=Decimal(10))
    page = client_for(keeper).get("/inventory/alerts/").content.decode()
    assert 'data-low-stock="VR3"' in page and 'data-low-stock="VR4"' not in page
    assert 'data-expiring="M-1"' in page
    assert 'data-expiring="M-1"' not in client_for(keeper).get("/inventory/alerts/", {"days": "1"}).content.decode()


def test_blind_count_sheet_hides_the_book_and_takes_counts(keeper):
    mine = make_warehouse("KEEP", "小陳的倉", owner=keeper)
    product = make_product("VR5", "膠水")
    receive(mine, product, 12)
    stocktake = Stocktake(warehouse=mine, owner=keeper, blind=True)
    stocktaking.prepare_stocktake(stocktake=stocktake, created=True)
    stocktake.save()
    stocktaking.start_stocktake(stocktake=stocktake, user=keeper)
    line = stocktake.lines.get()
    client = client_for(keeper)
    page = client.get(f"/inventory/stocktake/{stocktake.pk}/sheet/").content.decode()
    assert ">帳面數量</th>" not in page and "盲盤" in page
    response = client.post(f"/inventory/stocktake/{stocktake.pk}/sheet/", {f"count-{line.pk}": "abc"})
    assert response.status_code == 400 and "不是數量" in response.content.decode()
    line.refresh_from_db()
    assert line.counted_quantity is None
    client.post(f"/inventory/stocktake/{stocktake.pk}/sheet/", {f"count-{line.pk}": "11"})
    line.refresh_from_db()
    assert line.counted_quantity == 11
    reviewer = make_member("主管")
    grant(reviewer, Stocktake, ["view", "approve"])
    assert ">帳面數量</th>" in client_for(reviewer).get(f"/inventory/stocktake/{stocktake.pk}/sheet/").content.decode()


def test_a_delivery_is_drafted_from_the_orders_page():
    from qinglan.customers.tests.factories import make_customer
    from qinglan.sales import services as sales
    from qinglan.sales.models import SalesOrder, SalesOrderLine

    boss = make_member("老闆", superuser=True)
    warehouse = make_warehouse("SHIP", "出貨倉")
    product = make_product("VR6", "耳機")
    receive(warehouse, product, 5)
    order = SalesOrder(owner=boss, customer=make_customer(boss, "買家", is_customer=True))
    sales.prepare_order(order=order, created=True)
    order.save()
    SalesOrderLine.objects.create(order=order, product=product, unit=product.base_unit, quantity=Decimal(2), unit_price=Decimal(10))
    sales.order_saved(order=order, user=boss)
    sales.submit_order(record=order, user=boss)
    client = client_for(boss)
    page = client.get(order.get_absolute_url()).content.decode()
    assert "建立出貨單" in page
    response = client.post(f"/inventory/order/{order.pk}/delivery/", {"warehouse": warehouse.pk})
    assert response.status_code == 302 and "/inventory/salesdelivery/" in response["Location"]
    response = client.post(f"/inventory/order/{order.pk}/delivery/", {"warehouse": "0"}, follow=True)
    assert "請選擇倉庫" in response.content.decode()
