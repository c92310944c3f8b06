"""Purchasing pages beyond the generated ones: converting an approved purchase request into
purchase orders (a supplier, quantity and price per line), and the payables aging."""

import datetime
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q, Sum
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from qinglan.core.permissions import has_permission

from qinglan.org.services import base_currency

from . import requisitions
from .choices import SupplierInvoiceStatus
from .models import PurchaseOrder, PurchaseRequest, SupplierInvoice


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


AGING_BUCKETS = ((None, 0), (1, 30), (31, 60), (61, 90), (91, None))  # days past due; (None, 0): not due yet
AGING_ROWS = 200


def aging_sums(today):
    sums = {}
    for index, (low, high) in enumerate(AGING_BUCKETS):
        condition = Q(due_date__gte=today) if low is None else Q(due_date__lte=today - datetime.timedelta(days=low))
        if low is not None and high is not None:
            condition &= Q(due_date__gte=today - datetime.timedelta(days=high))
        sums[f"bucket{index}"] = Sum("balance_base", filter=condition)
    return sums


class PayablesView(View):
    """Open balances of issued supplier invoices by supplier, in days past due: not due, 1–30,
    31–60, 61–90, more than 90; the biggest first, at most 200 rows."""

    template_name = "purchasing/payables.html"

    def dispatch(self, request, *args, **kwargs):
        if not has_permission(request.user, SupplierInvoice, "view"):
            raise PermissionDenied(_("You have no permission to do this."))
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        from qinglan.customers.models import Customer

        today = timezone.localdate()
        open_invoices = SupplierInvoice.objects.restrict(request.user, "view").filter(status=SupplierInvoiceStatus.ISSUED)
        sums = aging_sums(today)
        rows = list(open_invoices.order_by().values("supplier_id").annotate(total=Sum("balance_base"), count=Count("id"), **sums).order_by("-total")[:AGING_ROWS])
        ids = [row["supplier_id"] for row in rows]
        names = {supplier.pk: supplier for supplier in Customer.objects.filter(pk__in=ids)}
        linked = set(Customer.objects.restrict(request.user, "view").filter(pk__in=ids).values_list("pk", flat=True))
        table = [
            {"name": names.get(row["supplier_id"]), "pk": row["supplier_id"], "count": row["count"], "total": row["total"] or Decimal(0),
             "url": names[row["supplier_id"]].get_absolute_url() if row["supplier_id"] in linked else None,
             "buckets": [row[f"bucket{index}"] or Decimal(0) for index in range(len(AGING_BUCKETS))]}
            for row in rows
        ]
        everything = open_invoices.aggregate(**sums)
        totals = [everything[f"bucket{index}"] or Decimal(0) for index in range(len(AGING_BUCKETS))]
        base = base_currency()
        return render(request, self.template_name, {
            "rows": table, "totals": totals, "total": sum(totals, Decimal(0)), "limit": AGING_ROWS, "base": base, "today": today,
        })
