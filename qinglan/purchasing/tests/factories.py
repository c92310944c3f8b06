"""Purchase orders made as the services make them, and the sample records for the permission
matrix (see testing.sample_factory)."""

from decimal import Decimal

from qinglan.core.testing import sample_factory
from qinglan.customers.tests.factories import make_customer
from qinglan.inventory.tests.factories import make_product, make_warehouse
from qinglan.purchasing import services
from qinglan.purchasing.models import PurchaseOrder, PurchaseOrderLine


def make_purchase_order(owner, *, supplier=None, warehouse=None, lines=(), **extra):
    """A draft order; `lines`: (product, quantity, unit price)."""
    order = PurchaseOrder(
        owner=owner, supplier=supplier or make_customer(owner, "採購供應商", is_supplier=True),
        warehouse=warehouse or make_warehouse(f"PW{PurchaseOrder.objects.count()}", "採購倉"), **extra,
    )
    services.prepare_order(order=order, created=True)
    order.save()
    for product, quantity, price in lines:
        PurchaseOrderLine.objects.create(order=order, product=product, quantity=Decimal(quantity), unit_price=Decimal(price))
    services.order_saved(order=order)
    return order


@sample_factory(PurchaseOrder)
def purchase_order(owner, serial):
    order = make_purchase_order(
        owner, supplier=make_customer(owner, f"矩陣供應商{serial}", is_supplier=True), warehouse=make_warehouse(f"MPW{serial}"),
        notes=f"矩陣採購{serial} matrix", lines=[(make_product(f"MXP-{serial}", f"採購品{serial}"), 1, 10)],
    )
    return order, owner, owner.department
