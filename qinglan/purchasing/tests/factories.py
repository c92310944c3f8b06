"""Purchase orders made as the services make them, and the sample records for the permission
matrix (see testing.sample_factory)."""

from decimal import Decimal

from qinglan.core.testing import sample_factory
from qinglan.customers.tests.factories import make_customer
from qinglan.inventory.tests.factories import make_product, make_warehouse, stock_clerk
from qinglan.purchasing import payables, requisitions, services
from qinglan.purchasing.models import PurchaseOrder, PurchaseOrderLine, PurchaseRequest, PurchaseRequestLine, SupplierInvoice, SupplierPayment


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


def make_request(owner, *, warehouse=None, lines=(), reason="產線補料", **extra):
    """A draft purchase request; `lines`: (product, quantity) or (product, quantity, suggested supplier)."""
    request = PurchaseRequest(owner=owner, warehouse=warehouse or make_warehouse(f"RW{PurchaseRequest.objects.count()}", "請購倉"), reason=reason, **extra)
    requisitions.prepare_request(request=request, created=True)
    request.save()
    for product, quantity, *rest in lines:
        PurchaseRequestLine.objects.create(request=request, product=product, quantity=Decimal(quantity), supplier=rest[0] if rest else None)
    requisitions.request_saved(request=request)
    return request


@sample_factory(PurchaseRequest)
def purchase_request(owner, serial):
    request = make_request(
        owner, warehouse=make_warehouse(f"MRW{serial}"), reason=f"矩陣請購{serial} matrix", lines=[(make_product(f"MRP-{serial}", f"請購品{serial}"), 2)],
    )
    return request, owner, owner.department


def received_order(owner, *, supplier=None, warehouse=None, lines=(), receive=None):
    """A placed purchase order of `owner` received (by the stock clerk) in full, or
    `receive`: the quantities per line."""
    from qinglan.inventory import services as inventory

    clerk = stock_clerk()
    order = make_purchase_order(owner, supplier=supplier, warehouse=warehouse, lines=lines)
    services.place_order(record=order, user=clerk)
    receipt = services.receipt_for_order(record=order, user=clerk)
    if receive is not None:
        for line, quantity in zip(receipt.lines.order_by("pk"), receive):
            line.quantity = Decimal(quantity)
            line.save(update_fields=["quantity"])
        inventory.document_saved(document=receipt)
    inventory.post_document(record=receipt, user=clerk)
    order.refresh_from_db()
    return order


@sample_factory(SupplierInvoice)
def supplier_invoice(owner, serial):
    order = received_order(
        owner, supplier=make_customer(owner, f"矩陣發票供應商{serial}", is_supplier=True), warehouse=make_warehouse(f"MSI{serial}"),
        lines=[(make_product(f"MSI-{serial}", f"發票品{serial}"), 1, 10)],
    )
    invoice = payables.invoice_for_order(record=order, user=stock_clerk())
    SupplierInvoice.objects.filter(pk=invoice.pk).update(notes=f"矩陣發票{serial} matrix", owner=owner, department=owner.department)
    invoice.refresh_from_db()
    return invoice, owner, owner.department


@sample_factory(SupplierPayment)
def supplier_payment(owner, serial):
    payment = SupplierPayment(supplier=make_customer(owner, f"矩陣付款供應商{serial}", is_supplier=True), amount=Decimal(100), owner=owner,
                              reference=f"矩陣付款{serial}")
    payables.prepare_payment(payment=payment, created=True)
    payment.save()
    return payment, owner, owner.department
