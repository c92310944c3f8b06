"""Warehouse records made as the services make them, and the sample records of every
inventory resource for the permission matrix (see testing.sample_factory). Documents,
balances and movements are seen through their warehouse: a sample belongs to the member
who is in charge of its warehouse."""

from decimal import Decimal

from qinglan.core.testing import sample_factory
from qinglan.inventory import services, stocktaking
from qinglan.inventory.choices import DocumentKind
from qinglan.inventory.models import (
    Batch,
    Inspection,
    PartyItemCode,
    PurchaseReceipt,
    PurchaseReturn,
    ReorderRule,
    SalesDelivery,
    SalesReturn,
    StockAdjustment,
    StockBalance,
    StockEntry,
    Stocktake,
    StockScrap,
    StockTransfer,
    Warehouse,
)
from qinglan.products.tests import factories as products


def make_product(code, name, *, cost=None, category=None, unit=None, **extra):
    from qinglan.org.models import Currency

    category = category or products.make_category(f"{name}類別")
    if cost is not None and "cost_currency" not in extra:
        extra["cost_currency"] = Currency.objects.get_or_create(code="TWD", defaults={"name": "新臺幣", "decimal_places": 0})[0]
    return products.make_product(code, name, category, cost=cost, unit=unit, **extra)


def make_warehouse(code, name=None, *, owner=None, **extra):
    department = owner.department if owner is not None else None
    return Warehouse.objects.create(code=code, name=name or code, owner=owner, department=department, **extra)


def stock_clerk():
    """A member who may post anything (the documents' services check who posts)."""
    from qinglan.core.testing import make_member
    from qinglan.org.models import User

    return User.objects.filter(username="stock-clerk").first() or make_member("stock-clerk", superuser=True)


def receive(warehouse, product, quantity, *, user=None, unit_cost=Decimal(10), **line):
    """Post a purchase receipt of one line; returns the document."""
    user = user or stock_clerk()
    document = services.create_document(
        kind=DocumentKind.RECEIPT, warehouse=warehouse, user=user,
        lines=[{"product": product, "quantity": Decimal(quantity), "unit_cost": unit_cost, **line}],
    )
    return services.post_document(record=document, user=user)


def _sample_warehouse(owner, serial, prefix):
    return make_warehouse(f"{prefix}{serial}", f"矩陣倉庫{serial} matrix", owner=owner)


def _document(model, owner, serial, **header):
    warehouse = _sample_warehouse(owner, serial, f"MW{model.document_kind[:3].upper()}")
    product = make_product(f"MXI-{model.document_kind}-{serial}", f"矩陣庫存品{serial}")
    if model.document_kind == DocumentKind.TRANSFER:
        header["to_warehouse"] = make_warehouse(f"MT{serial}", owner=owner)
    document = services.create_document(
        kind=model.document_kind, warehouse=warehouse, owner=owner, notes=f"矩陣單據{serial} matrix",
        lines=[{"product": product, "quantity": Decimal(1)}], **header,
    )
    return model.objects.get(pk=document.pk), owner, owner.department


for _model in (PurchaseReceipt, PurchaseReturn, SalesDelivery, SalesReturn, StockTransfer, StockAdjustment, StockScrap):
    sample_factory(_model)(lambda owner, serial, model=_model: _document(model, owner, serial))


@sample_factory(Warehouse)
def warehouse(owner, serial):
    return _sample_warehouse(owner, serial, "MX"), owner, owner.department


@sample_factory(Batch)
def batch(owner, serial):
    product = make_product(f"MXB-{serial}", f"批號商品{serial}")
    return Batch.objects.create(product=product, code=f"LOT{serial} matrix"), None, None


@sample_factory(StockBalance)
def balance(owner, serial):
    warehouse = _sample_warehouse(owner, serial, "MB")
    product = make_product(f"MXS-{serial}", f"庫存商品{serial} matrix")
    receive(warehouse, product, 5)
    return StockBalance.objects.get(warehouse=warehouse), owner, owner.department


@sample_factory(StockEntry)
def entry(owner, serial):
    warehouse = _sample_warehouse(owner, serial, "ME")
    product = make_product(f"MXE-{serial}", f"異動商品{serial} matrix")
    receive(warehouse, product, 5)
    return StockEntry.objects.get(warehouse=warehouse), owner, owner.department


@sample_factory(PartyItemCode)
def party_item_code(owner, serial):
    from qinglan.customers.tests.factories import make_customer

    party = make_customer(owner, f"對照供應商{serial}", is_supplier=True)
    mapping = PartyItemCode.objects.create(party=party, code=f"THEIR-{serial}", name=f"對照品名{serial} matrix", product=make_product(f"MXM-{serial}", f"對照商品{serial}"))
    return mapping, owner, owner.department


@sample_factory(ReorderRule)
def reorder_rule(owner, serial):
    warehouse = _sample_warehouse(owner, serial, "MR")
    product = make_product(f"MXR-{serial}", f"補貨商品{serial} matrix")
    return ReorderRule.objects.create(product=product, warehouse=warehouse, minimum=Decimal(10)), owner, owner.department


@sample_factory(Stocktake)
def stocktake(owner, serial):
    warehouse = _sample_warehouse(owner, serial, "MS")
    record = Stocktake(warehouse=warehouse, owner=owner, notes=f"矩陣盤點{serial} matrix")
    stocktaking.prepare_stocktake(stocktake=record, created=True)
    record.save()
    stocktaking.start_stocktake(stocktake=record, user=None)
    return record, owner, owner.department


@sample_factory(Inspection)
def inspection(owner, serial):
    from qinglan.inventory.choices import WarehouseKind

    hold = make_warehouse(f"MQ{serial}", f"矩陣待檢倉{serial}", owner=owner, kind=WarehouseKind.QC)
    product = make_product(f"MXQ-{serial}", f"待檢商品{serial}")
    record = Inspection.objects.create(warehouse=hold, product=product, quantity=Decimal(5), owner=owner, code=f"QC-M{serial}", result=f"矩陣檢驗{serial} matrix")
    return record, owner, owner.department
