"""Demo stock for `qinglan demo`: five warehouses (two physical ones with bins, in transit, QC
hold, scrap), purchase receipts of the demo products (two of them in batches, one expiring
soon), a transfer on its way and one received, deliveries of the running sales orders, a
scrap record, reorder points (some below), and the warehouse keeper's and the sales team's
permissions."""

import datetime
import random
from decimal import Decimal

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from qinglan.core.permissions import ACTIONS, Scope, forget_grants

from . import services
from .choices import DocumentKind, WarehouseKind
from .models import (
    Batch,
    Inspection,
    Location,
    ReorderRule,
    StockBalance,
    StockDocument,
    StockEntry,
    Stocktake,
    Warehouse,
)

WAREHOUSES = [  # code, name, kind, address
    ("TPE", "台北總倉", WarehouseKind.PHYSICAL, "新北市五股區五權路 12 號"),
    ("TXG", "台中分倉", WarehouseKind.PHYSICAL, "台中市西屯區工業區一路 88 號"),
    ("TRANSIT", "在途倉", WarehouseKind.TRANSIT, ""),
    ("QC", "進貨待檢區", WarehouseKind.QC, "新北市五股區五權路 12 號"),
    ("SCRAP", "報廢倉", WarehouseKind.SCRAP, ""),
]


def load_demo():
    with translation.override(settings.LANGUAGE_CODE):
        _load_demo()


def _role(name, description, grants):
    from qinglan.org.models import Role, RolePermission

    role, _created = Role.objects.get_or_create(name=name, defaults={"description": description})
    for model, actions, scope in grants:
        RolePermission.objects.update_or_create(
            role=role, content_type=ContentType.objects.get_for_model(model), defaults={"actions": actions, "scope": scope},
        )
    return role


def _load_demo():
    from qinglan.org.models import User
    from qinglan.products.models import Product

    keeper = User.objects.filter(username="warehouse").first() or User.objects.filter(is_superuser=True).order_by("pk").first()
    if keeper is None:
        return
    everything = list(ACTIONS)
    ledger = [Warehouse, Batch, StockDocument, ReorderRule, Stocktake, Inspection, StockBalance, StockEntry]
    role = _role("倉管", "倉庫、庫存單據與盤點", [(model, everything, Scope.ALL) for model in ledger])
    role.members.add(keeper)
    forget_grants(keeper)
    viewing = [(model, ["view", "export"], Scope.ALL) for model in (Warehouse, Batch, StockBalance, StockEntry)]
    _role("業務主管", "", [*viewing, (StockDocument, ["view", "add", "change", "export"], Scope.ALL)])
    _role("業務員", "", [(model, ["view"], Scope.ALL) for model in (Warehouse, Batch, StockBalance)])
    for user in User.objects.filter(username__in=["manager", "sales", "sales2"]):
        forget_grants(user)

    warehouses = {}
    for code, name, kind, address in WAREHOUSES:
        warehouses[code] = Warehouse.objects.create(
            code=code, name=name, kind=kind, address=address, owner=keeper, department=keeper.department,
        )
    for row in "AB":
        for shelf in range(1, 4):
            Location.objects.create(warehouse=warehouses["TPE"], code=f"{row}-0{shelf}", name=f"{row} 區第 {shelf} 層")

    products = list(Product.objects.filter(status="active").select_related("base_unit").order_by("pk")[:14])
    if not products:
        return
    rng = random.Random(2028)
    today = timezone.localdate()
    suppliers = _suppliers()

    def cost_of(product):
        if product.cost:
            return product.cost
        return ((product.list_price or Decimal(100)) * Decimal("0.6")).quantize(Decimal(1))

    def post(kind, warehouse, lines, **header):
        document = services.create_document(kind=kind, warehouse=warehouse, lines=lines, user=keeper, **header)
        try:
            return services.post_document(record=document, user=keeper)
        except ValidationError:
            return document  # stays a draft (e.g. not enough stock for a delivery)

    for index in range(3):  # three receipts at the main warehouse, a few products each
        chosen = products[index::3]
        received = post(
            DocumentKind.RECEIPT, warehouses["TPE"], partner=suppliers[index % len(suppliers)] if suppliers else None,
            reference=f"DN{today:%y%m}{index + 1:03d}", document_date=today - datetime.timedelta(days=(120, 75, 30)[index]),
            lines=[{"product": product, "quantity": Decimal(rng.choice([40, 60, 120, 200])), "unit_cost": cost_of(product),
                    "location": Location.objects.get(warehouse=warehouses["TPE"], code=f"{'AB'[i % 2]}-0{i % 3 + 1}")}
                   for i, product in enumerate(chosen)],
        )
        # History for the reports (slow movers, stock on a past date): these came in on their document's date.
        StockEntry.objects.filter(document=received).update(posted_at=timezone.make_aware(datetime.datetime.combine(received.document_date, datetime.time(10))))
    batched = products[:2]
    for serial, (product, days) in enumerate(zip(batched, (20, 200)), start=1):
        for lot in range(2):
            post(
                DocumentKind.RECEIPT, warehouses["TPE"], partner=suppliers[0] if suppliers else None,
                lines=[{"product": product, "quantity": Decimal(30), "unit_cost": cost_of(product),
                        "batch_code": f"L{today:%y%m}-{serial}{lot}", "production_date": today - datetime.timedelta(days=60),
                        "expiry_date": today + datetime.timedelta(days=days + lot * 90)}],
            )
    post(DocumentKind.RECEIPT, warehouses["TXG"], partner=suppliers[-1] if suppliers else None,
         lines=[{"product": product, "quantity": Decimal(25), "unit_cost": cost_of(product)} for product in products[3:7]])

    # Goods waiting in the QC hold: their inspection is open, passed goods will go to the main warehouse.
    post(DocumentKind.RECEIPT, warehouses["QC"], to_warehouse=warehouses["TPE"], partner=suppliers[0] if suppliers else None,
         reference="來料待檢", lines=[{"product": products[6], "quantity": Decimal(50), "unit_cost": cost_of(products[6])}])

    received = services.create_document(kind=DocumentKind.TRANSFER, warehouse=warehouses["TPE"], to_warehouse=warehouses["TXG"], user=keeper,
                                        lines=[{"product": products[2], "quantity": Decimal(10)}])
    services.dispatch_transfer(record=received, user=keeper)
    services.receive_transfer(record=received, user=keeper)
    on_the_road = services.create_document(kind=DocumentKind.TRANSFER, warehouse=warehouses["TPE"], to_warehouse=warehouses["TXG"], user=keeper,
                                           reference="黑貓宅急便 9051-2231", lines=[{"product": products[4], "quantity": Decimal(12)}])
    services.dispatch_transfer(record=on_the_road, user=keeper)

    _deliver_orders(warehouses["TPE"], keeper)
    post(DocumentKind.SCRAP, warehouses["TPE"], reason="搬運時外箱破損", lines=[{"product": products[5], "quantity": Decimal(2)}])
    services.create_document(kind=DocumentKind.ADJUSTMENT, warehouse=warehouses["TXG"], user=keeper, reason="初盤差異待確認",
                             lines=[{"product": products[3], "quantity": Decimal(-1)}])
    for product in products[:6]:
        balance = sum(StockBalance.objects.filter(product=product, warehouse=warehouses["TPE"]).values_list("on_hand", flat=True), Decimal(0))
        minimum = (balance * Decimal("1.2")).quantize(Decimal(1)) if product in products[4:6] else (balance / 3).quantize(Decimal(1))
        ReorderRule.objects.create(product=product, warehouse=warehouses["TPE"], minimum=minimum, reorder_quantity=Decimal(50))


def _suppliers():
    from qinglan.customers.models import Customer

    suppliers = list(Customer.objects.filter(is_supplier=True).order_by("pk")[:3])
    if suppliers:
        return suppliers
    picked = list(Customer.objects.order_by("pk")[:2])
    Customer.objects.filter(pk__in=[customer.pk for customer in picked]).update(is_supplier=True)
    return list(Customer.objects.filter(pk__in=[customer.pk for customer in picked]))


def _deliver_orders(warehouse, keeper):
    """Deliver the running and approved demo orders from the main warehouse (in full, or what
    the stock allows)."""
    from qinglan.sales.models import SalesOrder

    for order in SalesOrder.objects.filter(status__in=("approved", "fulfilling")).order_by("pk")[:5]:
        try:
            delivery = services.delivery_for_order(order=order, warehouse=warehouse, user=keeper)
        except ValidationError:
            continue
        try:
            services.post_document(record=delivery, user=keeper)
        except ValidationError:
            pass  # stays a draft: the clerk sees why when posting
