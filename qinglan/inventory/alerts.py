"""Stock alerts and the slow-movers report: batches in stock nearing expiry are notified to the
managers of their warehouse (a daily job, once per batch, warehouse and threshold); products
with stock but no outgoing movement for N days, with their value, per warehouse and category."""

import datetime
from decimal import Decimal

from django.db.models import F, OuterRef, Q, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from .models import ExpiryAlert, StockBalance, StockEntry, Warehouse

THRESHOLDS = (30, 7, 0)  # days before expiry; 0: expired
SLOW_ROWS = 500


def threshold_for(days_left):
    """The alert threshold a batch with `days_left` until expiry has reached, or None."""
    reached = [threshold for threshold in THRESHOLDS if days_left <= threshold]
    return min(reached) if reached else None


def warehouse_managers(warehouse):
    """Who hears about a warehouse: the member in charge and its managers, active ones."""
    members = {member.pk: member for member in warehouse.managers.filter(is_active=True)}
    if warehouse.owner_id and warehouse.owner.is_active:
        members.setdefault(warehouse.owner_id, warehouse.owner)
    return list(members.values())


def send_expiry_alerts(*, on=None):
    """Notify the managers of each warehouse of the batches in stock there that expire within a
    threshold (30 days, 7 days, expired), once per batch, warehouse and threshold. Returns the
    number of notifications sent."""
    from qinglan.extras.services import notify

    on = on or timezone.localdate()
    horizon = on + datetime.timedelta(days=max(THRESHOLDS))
    balances = (
        StockBalance.objects.filter(on_hand__gt=0, batch__expiry_date__lte=horizon, warehouse__active=True)
        .values("warehouse_id", "batch_id", "batch__expiry_date").annotate(on_hand=Sum("on_hand")).order_by("batch__expiry_date", "batch_id")
    )
    sent = 0
    warehouses = {}
    for row in balances:
        threshold = threshold_for((row["batch__expiry_date"] - on).days)
        alert, created = ExpiryAlert.objects.get_or_create(batch_id=row["batch_id"], warehouse_id=row["warehouse_id"], threshold=threshold)
        if not created:
            continue
        warehouse = warehouses.get(row["warehouse_id"]) or warehouses.setdefault(
            row["warehouse_id"], Warehouse.objects.select_related("owner").get(pk=row["warehouse_id"]),
        )
        batch = alert.batch
        for member in warehouse_managers(warehouse):
            with override(getattr(member, "language", None) or None):
                values = {"batch": batch.code, "product": batch.product, "warehouse": warehouse, "date": f"{batch.expiry_date:%Y-%m-%d}"}
                title = (_("Batch %(batch)s of %(product)s in %(warehouse)s has expired (%(date)s)") if threshold == 0
                         else _("Batch %(batch)s of %(product)s in %(warehouse)s expires on %(date)s")) % values
                body = _("%(quantity)s in stock.") % {"quantity": f"{row['on_hand'].normalize():f}"}
            notify(user=member, title=title, body=body, url=f"/inventory/alerts/?days={max(THRESHOLDS)}", event="inventory.batch.expiring")
            sent += 1
    return sent


def slow_movers(balances, *, days=90, on=None, warehouse_id=None, category=None):
    """Product stock per warehouse with on hand that had no outgoing movement for `days` (and,
    never having gone out, came in before that): [{product_id, warehouse_id, on_hand, value,
    last_out, first_in}], the most valuable first (SLOW_ROWS + 1 at most), and the cut-off."""
    from qinglan.products.services import subtree_q

    on = on or timezone.localdate()
    cutoff = timezone.make_aware(datetime.datetime.combine(on - datetime.timedelta(days=days), datetime.time()))
    rows = balances.filter(on_hand__gt=0)
    if warehouse_id:
        rows = rows.filter(warehouse_id=warehouse_id)
    if category is not None:
        rows = rows.filter(subtree_q([category], field="product__category"))
    entries = StockEntry.objects.filter(product_id=OuterRef("product_id"), warehouse_id=OuterRef("warehouse_id"))
    rows = (
        rows.order_by().values("product_id", "warehouse_id").annotate(on_hand=Sum("on_hand"), value=Sum("value"))
        .annotate(
            last_out=Subquery(entries.filter(quantity__lt=0).order_by("-posted_at").values("posted_at")[:1]),
            first_in=Subquery(entries.filter(quantity__gt=0).order_by("posted_at").values("posted_at")[:1]),
        )
        .filter(Q(last_out__lt=cutoff) | Q(last_out__isnull=True, first_in__lt=cutoff))
        .order_by(F("value").desc(nulls_last=True), "product_id", "warehouse_id")
    )
    table = list(rows[: SLOW_ROWS + 1])
    return table, cutoff


def summarise(rows):
    """Totals of the slow-moving stock value of `rows` (with their product and warehouse) by
    category and by warehouse, the largest first."""
    by_category, by_warehouse = {}, {}
    for row in rows:
        category = row["product"].category
        for totals, key, name in ((by_category, category.pk if category else None, str(category) if category else "—"),
                                  (by_warehouse, row["warehouse"].pk, str(row["warehouse"]))):
            slot = totals.setdefault(key, {"name": name, "value": Decimal(0), "count": 0})
            slot["value"] += row["value"] or 0
            slot["count"] += 1
    return (sorted(by_category.values(), key=lambda item: -item["value"]), sorted(by_warehouse.values(), key=lambda item: -item["value"]))
