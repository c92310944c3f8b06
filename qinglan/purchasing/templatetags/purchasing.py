from django import template

register = template.Library()


@register.simple_tag
def request_orders(request_record, user):
    """The purchase orders made from a purchase request that the member may view, and whether
    they may convert it (approved, not fully ordered, and the add grant on purchase orders)."""
    from qinglan.core.permissions import has_permission

    from ..models import PurchaseOrder
    from ..requisitions import CONVERTIBLE

    orders = list(PurchaseOrder.objects.restrict(user, "view").filter(request=request_record).select_related("supplier").order_by("pk"))
    return {"orders": orders, "may_convert": request_record.status in CONVERTIBLE and has_permission(user, PurchaseOrder, "add")}


@register.simple_tag
def order_invoices(order, user):
    """The supplier invoices of a purchase order that the member may view."""
    from ..models import SupplierInvoice

    return list(SupplierInvoice.objects.restrict(user, "view").filter(order=order).order_by("pk"))
