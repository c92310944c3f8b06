"""Demo purchase orders for `qinglan demo`: one placed and received in part into the main
warehouse, one placed and waiting, one draft; the warehouse keeper's grant on them."""

import datetime
from decimal import Decimal

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone, translation

from qinglan.core.permissions import ACTIONS, Scope, forget_grants

from . import services
from .models import PurchaseOrder, PurchaseOrderLine


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
        RolePermission.objects.update_or_create(
            role=role, content_type=ContentType.objects.get_for_model(PurchaseOrder), defaults={"actions": list(ACTIONS), "scope": Scope.ALL},
        )
        forget_grants(keeper)
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
