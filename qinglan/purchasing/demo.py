"""Demo purchase orders for `qinglan demo`: one placed and received in part into the main
warehouse, one placed and waiting, one draft; the warehouse keeper's grant on them. Purchase
requests: the keeper's, approved and partly converted into a purchase order; a salesperson's,
waiting for their manager's approval."""

import datetime
from decimal import Decimal

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone, translation

from qinglan.core.permissions import ACTIONS, Scope, forget_grants

from . import payables, requisitions, services
from .models import PurchaseOrder, PurchaseOrderLine, PurchaseRequest, PurchaseRequestLine, SupplierInvoice, SupplierPayment, SupplierPaymentAllocation


def load_demo():
    with translation.override(settings.LANGUAGE_CODE):
        _load_demo()


def _load_demo():
    from qinglan.customers.models import Customer
    from qinglan.inventory import services as inventory
    from qinglan.inventory.models import Warehouse
    from qinglan.org.models import Role, RolePermission, User
    from qinglan.products.models import Product

    keeper = User.objects.filter(username="warehouse").first()
    warehouse = Warehouse.objects.filter(code="TPE").first()
    suppliers = list(Customer.objects.filter(is_supplier=True).order_by("pk")[:2])
    products = list(Product.objects.filter(status="active").order_by("pk")[6:12])
    if keeper is None or warehouse is None or not suppliers or not products:
        return
    role = Role.objects.filter(name="倉管").first()
    if role is not None:
        for model in (PurchaseOrder, PurchaseRequest, SupplierInvoice, SupplierPayment):
            RolePermission.objects.update_or_create(
                role=role, content_type=ContentType.objects.get_for_model(model), defaults={"actions": list(ACTIONS), "scope": Scope.ALL},
            )
        forget_grants(keeper)
    seller_role = Role.objects.filter(name="業務員").first()
    if seller_role is not None:  # salespeople ask for samples and stock through purchase requests
        RolePermission.objects.update_or_create(
            role=seller_role, content_type=ContentType.objects.get_for_model(PurchaseRequest),
            defaults={"actions": ["view", "add", "change", "delete"], "scope": Scope.OWN},
        )
    from qinglan.inventory.models import PartyItemCode

    for number, product in enumerate(products[:4], 1):  # the first supplier's own item codes (material mapping)
        PartyItemCode.objects.get_or_create(party=suppliers[0], code=f"TPM-{number:04d}", defaults={"product": product, "name": f"{product.name}（供應商品名）"})
    today = timezone.localdate()
    for index, (chosen, placed, receive) in enumerate(((products[:3], True, True), (products[3:5], True, False), (products[5:], False, False))):
        order = PurchaseOrder(supplier=suppliers[index % len(suppliers)], warehouse=warehouse, owner=keeper,
                              order_date=today - datetime.timedelta(days=10 - index * 3), expected_date=today + datetime.timedelta(days=7 + index * 7))
        services.prepare_order(order=order, created=True)
        order.save()
        for position, product in enumerate(chosen):
            price = product.cost or ((product.list_price or Decimal(100)) * Decimal("0.6")).quantize(Decimal(1))
            PurchaseOrderLine.objects.create(order=order, product=product, quantity=Decimal(20 + 10 * position), unit_price=price)
        services.order_saved(order=order)
        if placed:
            services.place_order(record=order, user=keeper)
        if receive:
            receipt = services.receipt_for_order(record=order, user=keeper)
            first = receipt.lines.order_by("pk").first()
            first.quantity = first.quantity / 2  # half of the first line came; the rest is on its way
            first.save(update_fields=["quantity"])
            inventory.document_saved(document=receipt)
            inventory.post_document(record=receipt, user=keeper)
            _demo_payables(order, keeper)
    _demo_requests(keeper, warehouse, suppliers, products)


def _demo_requests(keeper, warehouse, suppliers, products):
    from qinglan.org.models import User
    from qinglan.workflow import services as workflow
    from qinglan.workflow.models import WorkTask

    today = timezone.localdate()
    admin = User.objects.filter(is_superuser=True).order_by("pk").first()
    seller = User.objects.filter(username="sales").first()

    def make(owner, reason, lines, days):
        request = PurchaseRequest(owner=owner, warehouse=warehouse, reason=reason, needed_by=today + datetime.timedelta(days=days))
        requisitions.prepare_request(request=request, created=True)
        request.save()
        for product, quantity, supplier in lines:
            PurchaseRequestLine.objects.create(request=request, product=product, quantity=Decimal(quantity), supplier=supplier)
        requisitions.request_saved(request=request)
        requisitions.submit_request(record=request, user=owner)
        return request

    stocked = make(keeper, "安全庫存不足，補貨下月出貨所需", [(products[0], 40, suppliers[0]), (products[1], 60, suppliers[-1])], 14)
    task = WorkTask.objects.filter(instance=workflow.pending_instance(stocked), status="open").first()
    if task is not None and admin is not None:  # the keeper has no manager: the administrators approve
        workflow.complete(task=task, user=admin, outcome="approve", comment="同意補貨")
        stocked.refresh_from_db()
        first = stocked.lines.order_by("pk").first()
        requisitions.convert_request(record=stocked, user=keeper, choices=[{"line": first.pk, "supplier": suppliers[0], "quantity": first.quantity}])
    if seller is not None:
        make(seller, "客戶試用樣品", [(products[2], 5, None)], 7)


def _demo_payables(order, keeper):
    """The supplier's invoice of what came, issued; a payment of part of it."""
    invoice = payables.invoice_for_order(record=order, user=keeper)
    SupplierInvoice.objects.filter(pk=invoice.pk).update(supplier_reference="AB-20261101")
    payables.issue_invoice(record=invoice, user=keeper)
    invoice.refresh_from_db()
    payment = SupplierPayment(supplier=order.supplier, amount=(invoice.total / 2).quantize(Decimal(1)), owner=keeper, reference="匯款 0001")
    payables.prepare_payment(payment=payment, created=True)
    payment.save()
    SupplierPaymentAllocation.objects.create(payment=payment, invoice=invoice, amount=payment.amount)
    payables.payment_saved(payment=payment)
