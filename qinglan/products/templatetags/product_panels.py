"""What the product and category pages' panels show, each restricted to what the member may
see (the panels are rendered with the record and the member, see core.detail)."""

from decimal import Decimal

from django import template
from django.conf import settings
from django.urls import reverse

from qinglan.core.permissions import has_permission, may
from qinglan.core.registry import registry

from .. import attributes as values
from .. import facets, services
from ..models import Attribute, Product, ProductImage, ProductVariant, UnitConversion

register = template.Library()
VARIANT_ROWS = 100


def _may_change(user, record):
    return may(user, "change", record)


@register.simple_tag
def product_attributes(record):
    """[(attribute, shown value)] of the product's own values, then the names of the
    attributes that vary by variant."""
    return {
        "rows": services.attribute_rows(record),
        "per_variant": [attribute for attribute in services.attributes_for(record.category, for_variants=True)],
    }


def _amount(value):
    """A Decimal as people write it: thousands grouped, no trailing zeros (36,900; 0.0325)."""
    if value is None:
        return None
    text = format(value.normalize(), "f")
    whole, dot, fraction = text.partition(".")
    return f"{int(whole):,}" + (f".{fraction}" if fraction else "") if whole.lstrip("-").isdigit() else text


@register.simple_tag
def product_prices(record):
    """List price, cost and, when both are in the same currency, the gross margin on the price."""
    margin = None
    if record.list_price and record.cost is not None and record.price_currency_id == record.cost_currency_id:
        margin = ((record.list_price - record.cost) / record.list_price * 100).quantize(Decimal("0.1"))
    return {"price": _amount(record.list_price), "cost": _amount(record.cost), "margin": margin, "weight": _amount(record.weight)}


@register.simple_tag
def variant_details(record):
    """A variant's attribute values and its price and cost (its own, or the product's)."""
    return {
        "rows": services.attribute_rows(record),
        "price": _amount(record.effective_list_price),
        "own_price": record.list_price is not None,
        "cost": _amount(record.effective_cost),
        "own_cost": record.cost is not None,
    }


@register.simple_tag
def product_variants(record, user):
    if not has_permission(user, ProductVariant, "view"):
        return {"visible": False}
    rows = list(ProductVariant.objects.restrict(user, "view").filter(product=record).order_by("code")[: VARIANT_ROWS + 1])
    shown = services.attributes_for(record.category, for_variants=True)
    lines = [
        {
            "variant": variant,
            "values": [values.display(a, (variant.attributes or {}).get(a.code)) for a in shown],
            "price": variant.list_price if variant.list_price is not None else record.list_price,
            "own_price": variant.list_price is not None,
        }
        for variant in rows[:VARIANT_ROWS]
    ]
    resource = registry.get(ProductVariant)
    return {
        "visible": True,
        "attributes": shown,
        "lines": lines,
        "more": len(rows) > VARIANT_ROWS,
        "list_url": f"{resource.list_url}?product={record.pk}",
        "add_url": f"{resource.url('add')}?product={record.pk}" if has_permission(user, ProductVariant, "add") and _may_change(user, record) else None,
    }


@register.simple_tag
def product_images(record, user):
    return {
        "images": list(ProductImage.objects.filter(product=record)),
        "may_change": has_permission(user, Product, "change") and _may_change(user, record),
        "limit": getattr(settings, "QINGLAN_MAX_IMAGE_MB", 5),
    }


@register.simple_tag
def product_units(record, user):
    rows = services.effective_conversions(record) if has_permission(user, UnitConversion, "view") else None
    resource = registry.get(UnitConversion)
    return {
        "rows": rows,
        "add_url": f"{resource.url('add')}?product={record.pk}&from_unit={record.base_unit_id}" if has_permission(user, UnitConversion, "add") else None,
    }


@register.simple_tag
def category_attributes(record, user):
    rows = services.attributes_for(record)
    resource = registry.get(Attribute)
    return {
        "rows": rows,
        "may_view": has_permission(user, Attribute, "view"),
        "add_url": f"{resource.url('add')}?category={record.pk}" if has_permission(user, Attribute, "add") else None,
        "below": list(Attribute.objects.filter(category__path__startswith=record.path).exclude(category=record).order_by("name").values_list("name", flat=True).distinct()[:20]),
    }


@register.simple_tag
def category_products(record, user):
    if not has_permission(user, Product, "view"):
        return {"visible": False}
    products = Product.objects.restrict(user, "view").filter(services.subtree_q([record]))
    count, exact = facets.bounded(products)
    resource = registry.get(Product)
    return {
        "visible": True,
        "count": count,
        "exact": exact,
        "list_url": f"{resource.list_url}?category={record.pk}",
        "find_url": f"{reverse('products:find')}?category={record.pk}",
        "add_url": f"{resource.url('add')}?category={record.pk}" if has_permission(user, Product, "add") else None,
        "children": list(record.children()[:30]),
    }
