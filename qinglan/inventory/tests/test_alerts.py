"""Stock reports and alerts: slow movers (no outgoing movement for N days, with value, per
warehouse and category), expiry alerts notified to the warehouse's managers once per batch and
threshold by the daily job, and a stocktake of one category freezing only that category's
products in its warehouse."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.test import Client
from django.utils import timezone, translation

from qinglan.core.permissions import Scope
from qinglan.core.testing import grant, make_member
from qinglan.extras.models import Notification
from qinglan.inventory import alerts, services, stocktaking, tasks
from qinglan.inventory.choices import DocumentKind
from qinglan.inventory.models import StockBalance, StockEntry, Stocktake, Warehouse
from qinglan.products.tests.factories import make_category

from .factories import make_product, make_warehouse, receive, stock_clerk

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def deliver(warehouse, product, quantity, user):
    document = services.create_document(kind=DocumentKind.DELIVERY, warehouse=warehouse, user=user, lines=[{"product": product, "quantity": Decimal(quantity)}])
    return services.post_document(record=document, user=user)


def age(product, days):
    """Move a product's movements `days` into the past (the ledger refuses updates through the
    model; this is the test going back in time)."""
    StockEntry.objects.filter(product=product).update(posted_at=timezone.now() - datetime.timedelta(days=days))


def test_slow_movers_per_warehouse_and_category(db):
    clerk = stock_clerk()
    main, other = make_warehouse("SLW1", "總倉"), make_warehouse("SLW2", "分倉")
    paper = make_category("紙品")
    sleepy = make_product("SL-1", "舊型號", category=paper)
    busy = make_product("SL-2", "暢銷品", category=paper)
    fresh = make_product("SL-3", "新品")
    receive(main, sleepy, 10, unit_cost=Decimal(50), user=clerk)
    deliver(main, sleepy, 2, clerk)
    age(sleepy, 200)
    receive(main, busy, 10, user=clerk)
    age(busy, 200)
    deliver(main, busy, 1, clerk)  # went out today
    receive(other, fresh, 5, user=clerk)  # came in today: not slow, whatever its movements
    table, _cutoff = alerts.slow_movers(StockBalance.objects.all(), days=90)
    assert [(row["product_id"], row["warehouse_id"], row["on_hand"], row["value"]) for row in table] == [(sleepy.pk, main.pk, Decimal(8), Decimal(400))]
    assert alerts.slow_movers(StockBalance.objects.all(), days=365)[0] == []
    assert alerts.slow_movers(StockBalance.objects.all(), days=90, category=make_category("別類"))[0] == []
    assert len(alerts.slow_movers(StockBalance.objects.all(), days=90, category=paper, warehouse_id=main.pk)[0]) == 1
    # The page, in the member's warehouses only.
    keeper = make_member("slow-keeper")
    grant(keeper, StockBalance, ["view"], scope=Scope.OWN)
    client = Client()
    client.force_login(keeper)
    assert 'data-slow-row="SL-1"' not in client.get("/inventory/slow/").content.decode()
    Warehouse.objects.filter(pk=main.pk).update(owner=keeper)
    page = client.get("/inventory/slow/?days=90").content.decode()
    assert 'data-slow-row="SL-1"' in page and 'data-slow-row="SL-2"' not in page and "data-slow-category" in page


def test_expiry_alerts_reach_the_managers_once_per_batch_and_threshold(db):
    clerk = stock_clerk()
    keeper, deputy = make_member("expiry-keeper"), make_member("expiry-deputy")
    warehouse = make_warehouse("EXW", "冷藏倉", owner=keeper)
    warehouse.managers.add(deputy)
    milk = make_product("EX-1", "鮮奶")
    today = timezone.localdate()
    receive(warehouse, milk, 5, user=clerk, batch_code="B-SOON", expiry_date=today + datetime.timedelta(days=20))
    receive(warehouse, milk, 5, user=clerk, batch_code="B-LATER", expiry_date=today + datetime.timedelta(days=100))
    assert tasks.send_expiry_alerts.call_local() == 2  # the 30-day threshold of B-SOON, to both managers
    assert set(Notification.objects.values_list("user__username", flat=True)) == {"expiry-keeper", "expiry-deputy"}
    assert "B-SOON" in Notification.objects.first().title
    assert alerts.send_expiry_alerts() == 0  # told once
    assert alerts.send_expiry_alerts(on=today + datetime.timedelta(days=14)) == 2  # the 7-day threshold
    assert alerts.send_expiry_alerts(on=today + datetime.timedelta(days=21)) == 2  # expired
    assert alerts.send_expiry_alerts(on=today + datetime.timedelta(days=21)) == 0
    assert Notification.objects.filter(user=keeper).count() == 3


def test_a_category_stocktake_freezes_only_that_category(db):
    clerk = stock_clerk()
    main = make_warehouse("CTW", "總倉")
    drinks = make_category("飲料")
    tea = make_category("茶飲", parent=drinks)
    green = make_product("CT-1", "綠茶", category=tea)
    bolt = make_product("CT-2", "螺栓")
    receive(main, green, 10, user=clerk)
    receive(main, bolt, 10, user=clerk)
    stocktake = Stocktake(warehouse=main, owner=clerk, category=drinks)
    stocktaking.prepare_stocktake(stocktake=stocktake, created=True)
    stocktake.save()
    stocktaking.start_stocktake(stocktake=stocktake, user=clerk)
    main.refresh_from_db()
    assert (main.frozen, main.partly_frozen) == (False, True)
    assert list(stocktake.lines.values_list("product__code", flat=True)) == ["CT-1"]
    deliver(main, bolt, 3, clerk)  # the rest of the warehouse keeps moving
    with pytest.raises(ValidationError, match="is being counted in CTW"):
        deliver(main, green, 1, clerk)
    assert StockBalance.objects.get(product=green, warehouse=main).on_hand == 10
    # The same subtree cannot be counted twice at once, nor the whole warehouse meanwhile.
    for category in (tea, None):
        with pytest.raises(ValidationError, match="being counted"), transaction.atomic():  # as the add form: all or nothing
            again = Stocktake(warehouse=main, owner=clerk, category=category)
            stocktaking.prepare_stocktake(stocktake=again, created=True)
            again.save()
            stocktaking.start_stocktake(stocktake=again, user=clerk)
    assert Stocktake.objects.count() == 1
    stocktaking.record_counts(stocktake=stocktake, counts={stocktake.lines.get().pk: Decimal(9)}, user=clerk)
    stocktaking.post_stocktake(record=stocktake, user=clerk)
    main.refresh_from_db()
    assert not main.partly_frozen
    assert StockBalance.objects.get(product=green, warehouse=main).on_hand == 9
    deliver(main, green, 1, clerk)
