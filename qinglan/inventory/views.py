"""Stock reports (real-time balance, balance on a past date, stock value, low stock and expiry
alerts), the count sheet of a stocktake and the delivery of a sales order. Every page shows
only the stock of the warehouses the member may view."""

import datetime
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, Sum
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views import View

from qinglan.core.permissions import has_permission, may

from . import services, snapshots, stocktaking
from .choices import StocktakeStatus
from .models import ReorderRule, StockBalance, Stocktake, Warehouse

REPORT_ROWS = 500


def _error_text(error):
    return " ".join(getattr(error, "messages", None) or [str(error)])


class StockPage(View):
    def dispatch(self, request, *args, **kwargs):
        if not has_permission(request.user, StockBalance, "view"):
            raise PermissionDenied(_("You have no permission to do this."))
        return super().dispatch(request, *args, **kwargs)

    def warehouses(self, request):
        return Warehouse.objects.restrict(request.user, "view").order_by("code")


class StockReportView(StockPage):
    """Stock by product and warehouse (or batch): on hand, reserved, available, incoming and
    value now, from the balances; or on hand and value at the end of a past day, from the
    latest month-end snapshot and the movements since."""

    template_name = "inventory/stock.html"

    def get(self, request):
        warehouses = list(self.warehouses(request))
        chosen = request.GET.get("warehouse", "")
        text = request.GET.get("q", "").strip()
        by_batch = request.GET.get("by") == "batch"
        as_of = parse_date(request.GET.get("as_of", "") or "")
        keys = ["product_id", "product__code", "product__name", "warehouse_id", "warehouse__code", "warehouse__name"]
        if by_batch:
            keys += ["batch_id", "batch__code", "batch__expiry_date"]
        if as_of:
            # From the latest month-end snapshot plus the movements since (snapshots.py); only the
            # warehouses whose balances the member may view (both follow the warehouse's scope).
            balances = StockBalance.objects.restrict(request.user, "view")
            visible = list(balances.order_by().values_list("warehouse_id", flat=True).distinct()) if balances.query.where else None
            if chosen.isdigit():
                visible = [int(chosen)] if visible is None or int(chosen) in visible else []
            table, totals = snapshots.stock_on(_day_after(as_of), warehouse_ids=visible, text=text, by_batch=by_batch, limit=REPORT_ROWS)
        else:
            rows = StockBalance.objects.restrict(request.user, "view")
            sums = {"on_hand": Sum("on_hand"), "reserved": Sum("reserved"), "incoming": Sum("incoming"), "value": Sum("value")}
            if chosen.isdigit():
                rows = rows.filter(warehouse_id=int(chosen))
            if text:
                rows = rows.filter(Q(product__code__istartswith=text) | Q(product__name__icontains=text))
            table = list(rows.order_by().values(*keys).annotate(**sums).exclude(on_hand=0).order_by("product__code", "warehouse__code")[:REPORT_ROWS + 1])
            totals = rows.aggregate(**sums)
        for row in table:
            row["available"] = row["on_hand"] - (row.get("reserved") or 0)
        return render(request, self.template_name, {
            "rows": table[:REPORT_ROWS], "more": len(table) > REPORT_ROWS, "limit": REPORT_ROWS, "warehouses": warehouses,
            "chosen": chosen, "q": text, "by_batch": by_batch, "as_of": as_of, "totals": totals,
        })


def _day_after(day):
    return timezone.make_aware(datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time()))


class StockValueView(StockPage):
    """Stock value (moving average) by warehouse and by product category."""

    template_name = "inventory/value.html"

    def get(self, request):
        balances = StockBalance.objects.restrict(request.user, "view")
        by_warehouse = list(
            balances.order_by().values("warehouse_id", "warehouse__code", "warehouse__name", "warehouse__kind")
            .annotate(value=Sum("value"), on_hand=Sum("on_hand")).order_by("warehouse__code")
        )
        by_category = list(
            balances.order_by().values("product__category_id", "product__category__name")
            .annotate(value=Sum("value"), on_hand=Sum("on_hand")).order_by("-value")[:100]
        )
        total = balances.aggregate(value=Sum("value"))["value"] or Decimal(0)
        return render(request, self.template_name, {"by_warehouse": by_warehouse, "by_category": by_category, "total": total})


class AlertsView(StockPage):
    """Products below their reorder point (available plus incoming) and batches in stock that
    expire within the chosen number of days or have expired."""

    template_name = "inventory/alerts.html"

    def get(self, request):
        try:
            days = max(0, min(int(request.GET.get("days", "30")), 3650))
        except ValueError:
            days = 30
        low = services.low_stock(ReorderRule.objects.restrict(request.user, "view"))
        expiring = list(services.expiring_batches(warehouses=self.warehouses(request), within_days=days)[:REPORT_ROWS])
        today = timezone.localdate()
        return render(request, self.template_name, {"low": low, "expiring": expiring, "days": days, "today": today})


class SlowMoversView(StockPage):
    """Stock with no outgoing movement for N days (90 by default), with its value, per
    warehouse and category, the most valuable first; narrowed by warehouse and category."""

    template_name = "inventory/slow.html"

    def get(self, request):
        from qinglan.products.models import Category, Product

        from .alerts import SLOW_ROWS, slow_movers, summarise

        try:
            days = max(1, min(int(request.GET.get("days", "90")), 3650))
        except ValueError:
            days = 90
        warehouses = list(self.warehouses(request))
        chosen = request.GET.get("warehouse", "")
        chosen_category = request.GET.get("category", "")
        category = Category.objects.filter(pk=int(chosen_category)).first() if chosen_category.isdigit() else None
        table, cutoff = slow_movers(
            StockBalance.objects.restrict(request.user, "view"), days=days, warehouse_id=int(chosen) if chosen.isdigit() else None, category=category,
        )
        more = len(table) > SLOW_ROWS
        table = table[:SLOW_ROWS]
        products = Product.objects.select_related("category", "base_unit").in_bulk({row["product_id"] for row in table})
        # The balances follow their warehouse's scope: a member sees these warehouses' names here
        # even without a grant on the warehouses list.
        by_id = Warehouse.objects.in_bulk({row["warehouse_id"] for row in table})
        rows = [{**row, "product": products[row["product_id"]], "warehouse": by_id[row["warehouse_id"]]} for row in table]
        by_category, by_warehouse = summarise(rows)
        return render(request, self.template_name, {
            "rows": rows, "more": more, "limit": SLOW_ROWS, "days": days, "cutoff": cutoff, "warehouses": warehouses, "chosen": chosen,
            "categories": Category.objects.order_by("path")[:500], "chosen_category": chosen_category,
            "by_category": by_category, "by_warehouse": by_warehouse,
        })


class CountSheetView(View):
    """The count sheet of a stocktake: printable, and a form to enter counts on a phone. In a
    blind count the book quantities are hidden from the counters."""

    template_name = "inventory/count_sheet.html"

    def dispatch(self, request, *args, **kwargs):
        if not has_permission(request.user, Stocktake, "view"):
            raise PermissionDenied(_("You have no permission to do this."))
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, pk, error=None):
        stocktake = get_object_or_404(Stocktake.objects.restrict(request.user, "view"), pk=pk)
        may_count = stocktake.status == StocktakeStatus.COUNTING and may(request.user, "change", stocktake)
        return render(request, self.template_name, {
            "stocktake": stocktake, "lines": stocktake.lines.select_related("product", "product__base_unit", "batch", "variant"),
            "show_book": show_book(stocktake, request.user), "may_count": may_count, "error": error,
        }, status=400 if error else 200)

    def post(self, request, pk):
        stocktake = get_object_or_404(Stocktake.objects.restrict(request.user, "change"), pk=pk)
        counts = {}
        for line_id in stocktake.lines.values_list("pk", flat=True):
            raw = request.POST.get(f"count-{line_id}", "").strip().replace(",", "")
            if raw == "":
                counts[line_id] = None
                continue
            try:
                counts[line_id] = Decimal(raw)
            except InvalidOperation:
                return self.get(request, pk, error=_("“%(value)s” is not a quantity.") % {"value": raw})
        try:
            stocktaking.record_counts(stocktake=stocktake, counts=counts, user=request.user)
        except (ValidationError, PermissionDenied) as error:
            return self.get(request, pk, error=_error_text(error))
        messages.success(request, _("Counts saved."))
        return redirect("inventory:stocktake_sheet", pk=pk)


def show_book(stocktake, user):
    """Book quantities are shown when the count is not blind, once it is posted, or to those
    who review it (the approve grant on stocktakes)."""
    return not stocktake.blind or stocktake.status != StocktakeStatus.COUNTING or has_permission(user, Stocktake, "approve")


class OrderDeliveryView(View):
    """Create the draft delivery of a sales order from the chosen warehouse."""

    def post(self, request, pk):
        from qinglan.sales.models import SalesOrder

        order = get_object_or_404(SalesOrder.objects.restrict(request.user, "view"), pk=pk)
        warehouse = Warehouse.objects.restrict(request.user, "view").filter(pk=request.POST.get("warehouse") or 0).first()
        if warehouse is None:
            messages.error(request, _("Choose a warehouse."))
            return redirect(order.get_absolute_url())
        try:
            delivery = services.delivery_for_order(order=order, warehouse=warehouse, user=request.user)
        except (ValidationError, PermissionDenied) as error:
            messages.error(request, _error_text(error))
            return redirect(order.get_absolute_url())
        messages.success(request, _("Delivery %(code)s drafted: check the batches and quantities, then post it.") % {"code": delivery.code})
        return redirect(delivery.get_absolute_url())
