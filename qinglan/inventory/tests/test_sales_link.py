"""Deliveries and returns of sales orders: drafted from the order's undelivered lines with FEFO
batches, posting moves the order's fulfilment, over-delivery is refused with nothing written,
a return takes stock back and drafts the credit note of what was invoiced, a cancelled
delivery gives the quantities back to the order."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from qinglan.core.testing import make_member
from qinglan.customers.tests.factories import make_customer
from qinglan.inventory import services, stock
from qinglan.inventory.choices import DocumentKind, DocumentStatus
from qinglan.inventory.models import SalesDelivery, StockBalance, StockEntry
from qinglan.sales import services as sales
from qinglan.sales.choices import InvoiceKind, OrderStatus
from qinglan.sales.models import Invoice, SalesOrder, SalesOrderLine

from .factories import make_product, make_warehouse, receive

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def setting():
    clerk = make_member("出貨員", superuser=True)
    warehouse = make_warehouse("WHS", "出貨倉")
    product = make_product("SP1", "藍牙耳機")
    receive(warehouse, product, 20, unit_cost=Decimal(300), user=clerk)
    customer = make_customer(clerk, "耳機買家", is_customer=True)
    order = SalesOrder(owner=clerk, customer=customer)
    sales.prepare_order(order=order, created=True)
    order.save()
    SalesOrderLine.objects.create(order=order, product=product, unit=product.base_unit, quantity=Decimal(8), unit_price=Decimal(990))
    sales.order_saved(order=order, user=clerk)
    sales.submit_order(record=order, user=clerk)
    order.refresh_from_db()
    assert order.status == OrderStatus.APPROVED
    return clerk, warehouse, product, order


def test_delivery_from_an_order_fulfils_it(setting):
    clerk, warehouse, product, order = setting
    delivery = services.delivery_for_order(order=order, warehouse=warehouse, user=clerk)
    line = delivery.lines.get()
    assert (line.quantity, line.order_line.order_id, delivery.partner_id) == (Decimal(8), order.pk, order.customer_id)
    line.quantity = Decimal(5)  # a partial delivery
    line.save()
    services.post_document(record=delivery, user=clerk)
    order.refresh_from_db()
    order_line = order.lines.get()
    assert order.status == OrderStatus.FULFILLING and order_line.delivered_quantity == 5
    assert StockBalance.objects.get(product=product, warehouse=warehouse).on_hand == 15
    rest = services.delivery_for_order(order=order, warehouse=warehouse, user=clerk)
    assert rest.lines.get().quantity == 3


def test_over_delivery_is_refused_and_nothing_is_written(setting):
    clerk, warehouse, product, order = setting
    order_line = order.lines.get()
    delivery = services.create_document(
        kind=DocumentKind.DELIVERY, warehouse=warehouse, user=clerk, sales_order=order, partner=order.customer,
        lines=[{"product": product, "quantity": Decimal(9), "order_line": order_line}],
    )
    entries = StockEntry.objects.count()
    with pytest.raises(ValidationError, match="8"):
        services.post_document(record=delivery, user=clerk)
    assert StockEntry.objects.count() == entries
    order_line.refresh_from_db()
    assert order_line.delivered_quantity == 0
    assert SalesDelivery.objects.get(pk=delivery.pk).status == DocumentStatus.DRAFT


def test_delivery_releases_the_orders_reservation(setting):
    clerk, warehouse, product, order = setting
    order_line = order.lines.get()
    stock.reserve(product_id=product.pk, warehouse_id=warehouse.pk, quantity=Decimal(8), order_line=order_line, user=clerk)
    assert StockBalance.objects.get(product=product, warehouse=warehouse).reserved == 8
    delivery = services.delivery_for_order(order=order, warehouse=warehouse, user=clerk)
    services.post_document(record=delivery, user=clerk)
    balance = StockBalance.objects.get(product=product, warehouse=warehouse)
    assert (balance.on_hand, balance.reserved) == (Decimal(12), Decimal(0))


def test_return_takes_stock_back_and_drafts_a_credit_note(setting):
    clerk, warehouse, product, order = setting
    delivery = services.delivery_for_order(order=order, warehouse=warehouse, user=clerk)
    services.post_document(record=delivery, user=clerk)
    invoice = sales.invoice_from_order(record=order, user=clerk)
    sales.issue_invoice(record=invoice, user=clerk)
    order_line = order.lines.get()
    back = services.create_document(
        kind=DocumentKind.SALES_RETURN, warehouse=warehouse, user=clerk, sales_order=order, partner=order.customer,
        lines=[{"product": product, "quantity": Decimal(2), "order_line": order_line}],
    )
    services.post_document(record=back, user=clerk)
    order_line.refresh_from_db()
    assert order_line.returned_quantity == 2
    assert StockBalance.objects.get(product=product, warehouse=warehouse).on_hand == 14
    note = Invoice.objects.get(kind=InvoiceKind.CREDIT_NOTE)
    assert note.lines.get().quantity == 2
    back.refresh_from_db()
    assert note.code in back.notes
    too_many = services.create_document(
        kind=DocumentKind.SALES_RETURN, warehouse=warehouse, user=clerk, sales_order=order, partner=order.customer,
        lines=[{"product": product, "quantity": Decimal(7), "order_line": order_line}],
    )
    with pytest.raises(ValidationError):
        services.post_document(record=too_many, user=clerk)
    assert StockBalance.objects.get(product=product, warehouse=warehouse).on_hand == 14


def test_cancelled_delivery_gives_the_quantity_back_to_the_order(setting):
    clerk, warehouse, product, order = setting
    delivery = services.delivery_for_order(order=order, warehouse=warehouse, user=clerk)
    services.post_document(record=delivery, user=clerk)
    services.cancel_document(record=delivery, user=clerk)
    assert order.lines.get().delivered_quantity == 0
    assert StockBalance.objects.get(product=product, warehouse=warehouse).on_hand == 20


def test_a_line_of_another_order_is_refused(setting):
    clerk, warehouse, product, order = setting
    other = SalesOrder(owner=clerk, customer=order.customer)
    sales.prepare_order(order=other, created=True)
    other.save()
    foreign = SalesOrderLine.objects.create(order=other, product=product, quantity=Decimal(1), unit_price=Decimal(1))
    with pytest.raises(ValidationError) as refused:
        services.create_document(kind=DocumentKind.DELIVERY, warehouse=warehouse, user=clerk, sales_order=order,
                                 lines=[{"product": product, "quantity": Decimal(1), "order_line": foreign}])
    assert "order_line" in refused.value.message_dict
