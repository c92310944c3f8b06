from decimal import Decimal

from django import template
from django.db.models import Sum

from qinglan.core.detail import decimal_text

register = template.Library()


@register.filter
def qty(value):
    """4.5000 → "4.5", 12000 → "12,000"."""
    if value in (None, ""):
        return ""
    return decimal_text(Decimal(value), 4)


@register.filter
def amount(value):
    if value in (None, ""):
        return ""
    return decimal_text(Decimal(value), 2)


@register.simple_tag
def product_stock(product, user):
    """The product's stock per warehouse the member may view: (rows, totals)."""
    from ..models import StockBalance

    balances = StockBalance.objects.restrict(user, "view").filter(product=product)
    rows = list(
        balances.order_by().values("warehouse_id", "warehouse__code", "warehouse__name")
        .annotate(on_hand=Sum("on_hand"), reserved=Sum("reserved"), incoming=Sum("incoming"), value=Sum("value"))
        .order_by("warehouse__code")
    )
    rows = [row for row in rows if row["on_hand"] or row["reserved"] or row["incoming"]]
    for row in rows:
        row["available"] = row["on_hand"] - row["reserved"]
    return rows


@register.simple_tag
def warehouse_stock(warehouse, user, limit=50):
    from ..models import StockBalance

    return list(
        StockBalance.objects.restrict(user, "view").filter(warehouse=warehouse).exclude(on_hand=0, reserved=0, incoming=0)
        .select_related("product", "batch").order_by("product__code", "batch_id")[:limit]
    )


@register.simple_tag
def document_entries(document, user):
    from ..models import StockEntry

    return list(
        StockEntry.objects.restrict(user, "view").filter(document=document)
        .select_related("product", "warehouse", "batch").order_by("pk")
    )


@register.simple_tag
def order_stock(order, user):
    """The stock documents of a sales order the member may view, and the warehouses they may
    deliver it from."""
    from ..models import StockDocument, Warehouse

    documents = list(StockDocument.objects.restrict(user, "view").filter(sales_order=order).select_related("warehouse").order_by("-pk")[:20])
    warehouses = list(Warehouse.objects.restrict(user, "view").filter(active=True, kind="physical").order_by("code"))
    return {"documents": documents, "warehouses": warehouses}


@register.simple_tag
def count_lines(stocktake, user):
    from ..views import show_book

    lines = list(stocktake.lines.select_related("product", "batch"))
    return {"lines": lines, "show_book": show_book(stocktake, user),
            "counted": sum(1 for line in lines if line.counted_quantity is not None)}
