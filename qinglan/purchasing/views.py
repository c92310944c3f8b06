"""Purchasing pages beyond the generated ones: converting an approved purchase request into
purchase orders (a supplier, quantity and price per line), and the payables aging."""

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views import View

from qinglan.core.permissions import has_permission

from . import requisitions
from .models import PurchaseOrder, PurchaseRequest


def _error_text(error):
    return " ".join(getattr(error, "messages", None) or [str(error)])


def _decimal(raw):
    raw = (raw or "").strip().replace(",", "")
    if raw == "":
        return None
    try:
        return Decimal(raw)
    except InvalidOperation:
        raise ValidationError(_("“%(value)s” is not a number.") % {"value": raw}) from None


def plain(value):
    """A decimal as an input's value: 12.5000 → "12.5"."""
    return "" if value is None else f"{Decimal(value).normalize():f}"


def suppliers_for(user):
    from qinglan.customers.models import Customer

    return Customer.objects.restrict(user, "view").filter(is_supplier=True).order_by("name")


class ConvertRequestView(View):
    """An approved purchase request's open lines, each with a supplier, quantity and price to
    order; posting makes one draft purchase order per supplier."""

    template_name = "purchasing/convert_request.html"

    def dispatch(self, request, *args, **kwargs):
        if not has_permission(request.user, PurchaseOrder, "add"):
            raise PermissionDenied(_("You may not add purchase orders."))
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, pk, error=None, posted=None):
        record = get_object_or_404(PurchaseRequest.objects.restrict(request.user, "view"), pk=pk)
        rows = requisitions.conversion_rows(record, request.user)
        for row in rows:
            line_id = row["line"].pk
            if posted is None:
                row["quantity_text"], row["price_text"] = plain(row["quantity"]), plain(row["unit_price"])
            else:  # what the member typed, to correct it
                chosen = posted.get(f"supplier-{line_id}") or ""
                row["supplier_id"] = int(chosen) if chosen.isdigit() else None
                row["quantity_text"], row["price_text"] = posted.get(f"quantity-{line_id}", ""), posted.get(f"price-{line_id}", "")
        return render(request, self.template_name, {
            "record": record, "rows": rows, "suppliers": list(suppliers_for(request.user)), "error": error,
            "convertible": record.status in requisitions.CONVERTIBLE,
        }, status=400 if error else 200)

    def post(self, request, pk):
        record = get_object_or_404(PurchaseRequest.objects.restrict(request.user, "view"), pk=pk)
        suppliers = {supplier.pk: supplier for supplier in suppliers_for(request.user)}
        choices = []
        try:
            for line_id in record.lines.values_list("pk", flat=True):
                quantity = _decimal(request.POST.get(f"quantity-{line_id}"))
                if not quantity:
                    continue
                raw_supplier = request.POST.get(f"supplier-{line_id}") or ""
                supplier = suppliers.get(int(raw_supplier)) if raw_supplier.isdigit() else None
                choices.append({"line": line_id, "supplier": supplier, "quantity": quantity, "unit_price": _decimal(request.POST.get(f"price-{line_id}"))})
            orders = requisitions.convert_request(record=record, user=request.user, choices=choices)
        except (ValidationError, PermissionDenied) as error:
            return self.get(request, pk, error=_error_text(error), posted=request.POST)
        messages.success(request, _("Purchase orders drafted: %(codes)s. Check them, then place them with the suppliers.") % {"codes": ", ".join(order.code for order in orders)})
        return redirect(orders[0].get_absolute_url() if len(orders) == 1 else record.get_absolute_url())
