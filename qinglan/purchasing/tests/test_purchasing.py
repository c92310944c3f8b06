"""Purchase orders: numbered and totalled, placed, received through the warehouse's purchase
receipts (partly, then in full; never beyond what was ordered), a cancelled receipt gives the
quantity back; the pages in Chinese."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from qinglan.core import testing
from qinglan.customers.models import Customer
from qinglan.customers.tests.factories import make_customer
from qinglan.inventory import services as inventory
from qinglan.inventory.models import StockBalance, Warehouse
from qinglan.inventory.tests.factories import make_product, make_warehouse, stock_clerk
from qinglan.products.models import Product
from qinglan.purchasing import services
from qinglan.purchasing.choices import PurchaseStatus
from qinglan.purchasing.models import PurchaseOrder

from .factories import make_purchase_order


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def placed(db):
    clerk = stock_clerk()
    warehouse = make_warehouse("PWH", "原料倉")
    product = make_product("PP-1", "鋁板")
    order = make_purchase_order(clerk, warehouse=warehouse, lines=[(product, 100, "12.5")])
    assert order.code.startswith("PO-") and order.total == Decimal("1250.00")
    services.place_order(record=order, user=clerk)
    order.refresh_from_db()
    return clerk, warehouse, product, order


def incoming(product, warehouse):
    balance = StockBalance.objects.filter(product=product, warehouse=warehouse, batch__isnull=True).first()
    return balance.incoming if balance else Decimal(0)


def test_a_placed_order_is_received_in_part_then_in_full(placed):
    clerk, warehouse, product, order = placed
    assert incoming(product, warehouse) == 100
    receipt = services.receipt_for_order(record=order, user=clerk)
    line = receipt.lines.get()
    assert (line.quantity, line.unit_cost, receipt.partner_id, receipt.reference) == (Decimal(100), Decimal("12.5"), order.supplier_id, order.code)
    line.quantity = Decimal(60)
    line.save()
    inventory.post_document(record=receipt, user=clerk)
    order.refresh_from_db()
    assert order.status == PurchaseStatus.PARTLY_RECEIVED and order.lines.get().received_quantity == 60
    assert incoming(product, warehouse) == 40
    rest = services.receipt_for_order(record=order, user=clerk)
    assert rest.lines.get().quantity == 40
    inventory.post_document(record=rest, user=clerk)
    order.refresh_from_db()
    assert order.status == PurchaseStatus.RECEIVED
    assert StockBalance.objects.get(product=product, warehouse=warehouse).on_hand == 100
    with pytest.raises(ValidationError):
        services.receipt_for_order(record=order, user=clerk)
    assert incoming(product, warehouse) == 0
    inventory.cancel_document(record=rest, user=clerk)
    order.refresh_from_db()
    assert order.status == PurchaseStatus.PARTLY_RECEIVED and order.lines.get().received_quantity == 60
    assert incoming(product, warehouse) == 40
    from qinglan.inventory.stock import recompute_balances

    assert recompute_balances(apply=False) == []


def test_receiving_beyond_the_order_is_refused_and_nothing_is_written(placed):
    clerk, warehouse, product, order = placed
    receipt = services.receipt_for_order(record=order, user=clerk)
    receipt.lines.update(quantity=Decimal(120), base_quantity=Decimal(120))
    with pytest.raises(ValidationError, match="120 would be received but 100 is ordered"):
        inventory.post_document(record=receipt, user=clerk)
    assert not StockBalance.objects.filter(product=product, on_hand__gt=0).exists()
    assert order.lines.get().received_quantity == 0


def test_only_a_draft_is_placed_and_a_received_order_is_not_cancelled(placed):
    clerk, warehouse, product, order = placed
    with pytest.raises(ValidationError):
        services.place_order(record=order, user=clerk)
    inventory.post_document(record=services.receipt_for_order(record=order, user=clerk), user=clerk)
    with pytest.raises(ValidationError):
        services.cancel_order(record=order, user=clerk)


def test_a_draft_order_is_not_received(db):
    clerk = stock_clerk()
    order = make_purchase_order(clerk, lines=[(make_product("PP-2", "螺帽"), 5, 1)])
    with pytest.raises(ValidationError):
        services.receipt_for_order(record=order, user=clerk)


class PurchaseOrderTests(testing.ResourceTestCase):
    model = PurchaseOrder
    bulk_edit_data = {"notes": "月底交貨"}

    def setUp(self):
        super().setUp()
        for model in (Customer, Warehouse, Product):
            testing.grant(self.member, model, ["view"])
        self.supplier = make_customer(self.member, "板材供應商", is_supplier=True)
        self.warehouse = make_warehouse("POW", "收貨倉")
        self.form_data = {"supplier": str(self.supplier.pk), "warehouse": str(self.warehouse.pk), "order_date": "2026-11-27", "expected_date": "2026-12-10"}
        self.update_data = {**self.form_data, "notes": "分兩批交貨"}
        self.csv_data = f"supplier,warehouse,order_date\n{self.supplier.code},POW,2026-11-27\n{self.supplier.code},POW,2026-11-28\n"

    def test_a_customer_who_is_not_a_supplier_is_refused(self):
        self.grant("view", "add")
        buyer = make_customer(self.member, "只是客戶")
        response = self.post_form(self.resource.url("add"), {**self.form_data, "supplier": str(buyer.pk)})
        self.assertEqual(response.status_code, 400)
        self.assertFalse(PurchaseOrder.objects.exists())


def test_a_cancelled_order_is_no_longer_incoming(placed):
    clerk, warehouse, product, order = placed
    services.cancel_order(record=order, user=clerk)
    assert incoming(product, warehouse) == 0
