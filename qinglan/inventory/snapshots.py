"""Month-end stock snapshots, so that the stock on a past date is not summed over the whole
ledger: a snapshot keeps, for a moment (the start of a month), the quantity and value of
every product, variant, warehouse and batch from the entries posted before it, and the id of
the ledger's last entry when it was taken. The stock at the end of a day D is then

    the latest snapshot at or before the end of D
    + the entries posted from the snapshot's moment to the end of D
    + the entries written after the snapshot was taken but posted before its moment
      (late, back-dated entries: id above the snapshot's last entry id)

— one statement over the snapshot lines and two index ranges of the ledger. Snapshots are
written by the monthly job (tasks.take_month_end_snapshot) or on demand
(`qinglan inventory_snapshot`)."""

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Max, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import StockEntry, StockSnapshot, StockSnapshotLine

# A snapshot is taken of a moment at least this long ago, so that no posting still in flight
# (its posted_at computed, its transaction not yet committed) is left out.
SETTLED = datetime.timedelta(hours=1)
PLACES = Decimal("0.0001")


def month_start(day):
    """The start of `day`'s month in the server's time zone, as an aware moment."""
    return timezone.make_aware(datetime.datetime.combine(day.replace(day=1), datetime.time()))


@transaction.atomic
def take_snapshot(*, at):
    """The snapshot of the moment `at` (made again when one exists): the sums of the entries
    posted before it, from the previous snapshot when there is one (its lines, the entries
    posted since its moment and the late ones written after it). Refused for a moment in the
    last hour or in the future."""
    if at > timezone.now() - SETTLED:
        raise ValidationError(_("A stock snapshot is taken of a moment at least an hour ago."))
    last_id = StockEntry.objects.aggregate(last=Max("id"))["last"] or 0
    StockSnapshot.objects.filter(taken_at=at).delete()
    previous = StockSnapshot.objects.filter(taken_at__lt=at).order_by("-taken_at").first()
    snapshot = StockSnapshot.objects.create(taken_at=at, last_entry_id=last_id)
    totals = {}
    for key, quantity, value in _sums(previous, at, last_id):
        slot = totals.setdefault(key, [Decimal(0), Decimal(0)])
        slot[0] += quantity
        slot[1] += value
    lines = [
        StockSnapshotLine(snapshot=snapshot, product_id=p, variant_id=v, warehouse_id=w, batch_id=b, quantity=q, value=val)
        for (p, v, w, b), (q, val) in totals.items() if q or val
    ]
    StockSnapshotLine.objects.bulk_create(lines, batch_size=5000)
    snapshot.line_count = len(lines)
    StockSnapshot.objects.filter(pk=snapshot.pk).update(line_count=len(lines))
    return snapshot


def _sums(previous, at, last_id):
    keys = ("product_id", "variant_id", "warehouse_id", "batch_id")

    def rows(queryset, quantity="quantity", value="value"):
        for row in queryset.order_by().values(*keys).annotate(q=Sum(quantity), v=Sum(value)):
            yield (row["product_id"], row["variant_id"], row["warehouse_id"], row["batch_id"]), row["q"] or Decimal(0), row["v"] or Decimal(0)

    entries = StockEntry.objects.filter(posted_at__lt=at, id__lte=last_id)
    if previous is None:
        yield from rows(entries)
        return
    yield from rows(StockSnapshotLine.objects.filter(snapshot=previous))
    yield from rows(entries.filter(posted_at__gte=previous.taken_at))
    yield from rows(entries.filter(posted_at__lt=previous.taken_at, id__gt=previous.last_entry_id))


def latest_before(moment):
    return StockSnapshot.objects.filter(taken_at__lte=moment).order_by("-taken_at").first()


def stock_on(moment, *, warehouse_ids=None, text="", by_batch=False, limit=500):
    """(rows, totals): on hand and value per product and warehouse (or batch) from the entries
    posted before `moment`, through the latest snapshot at or before it; rows ordered by
    product and warehouse code, at most `limit` + 1; totals over every row."""
    snapshot = latest_before(moment)
    parts, params = [], []
    if warehouse_ids is None and snapshot is not None:
        # Every warehouse, named: the movements since the snapshot are read through the ledger's
        # (warehouse, posted at) index instead of scanning the table for a time range. (Without a
        # snapshot the whole ledger is summed, which a plain scan does best.)
        from .models import Warehouse

        warehouse_ids = list(Warehouse.objects.order_by("pk").values_list("pk", flat=True))
    moment_value = connection.ops.adapt_datetimefield_value(moment)
    taken_value = connection.ops.adapt_datetimefield_value(snapshot.taken_at) if snapshot else None

    def where(extra, values):
        clauses, bound = [extra], list(values)
        if warehouse_ids is not None:
            clauses.append(f"warehouse_id IN ({', '.join(['%s'] * len(warehouse_ids))})" if warehouse_ids else "1 = 0")
            bound += list(warehouse_ids)
        return " AND ".join(clauses), bound

    columns = "product_id, warehouse_id, batch_id, quantity, value"
    if snapshot is None:
        clause, bound = where("posted_at < %s", [moment_value])
        parts.append(f"SELECT {columns} FROM inventory_stockentry WHERE {clause}")
        params += bound
    else:
        clause, bound = where("snapshot_id = %s", [snapshot.pk])
        parts.append(f"SELECT {columns} FROM inventory_stocksnapshotline WHERE {clause}")
        params += bound
        clause, bound = where("posted_at >= %s AND posted_at < %s", [taken_value, moment_value])
        parts.append(f"SELECT {columns} FROM inventory_stockentry WHERE {clause}")
        params += bound
        clause, bound = where("id > %s AND posted_at < %s", [snapshot.last_entry_id, taken_value])
        parts.append(f"SELECT {columns} FROM inventory_stockentry WHERE {clause}")
        params += bound
    union = " UNION ALL ".join(parts)
    filters, filter_params = [], []
    if text:
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        filters.append("(UPPER(p.code) LIKE UPPER(%s) ESCAPE '\\' OR UPPER(p.name) LIKE UPPER(%s) ESCAPE '\\')")
        filter_params += [f"{escaped}%", f"%{escaped}%"]
    # Summed by ids first (a hash aggregate over the movements), then joined to the products and
    # warehouses for their codes and names: grouping the movements by the text columns sorted
    # every movement (1.6 s for a month of 10 M movements; see bench/README.md).
    ids = "product_id, warehouse_id" + (", batch_id" if by_batch else "")
    batch_columns = ", g.batch_id, bt.code, bt.expiry_date" if by_batch else ""
    batch_join = " LEFT JOIN inventory_batch bt ON bt.id = g.batch_id" if by_batch else ""
    sql = (
        f"SELECT g.product_id, p.code, p.name, g.warehouse_id, w.code, w.name{batch_columns}, g.quantity, g.value "
        f"FROM (SELECT {ids}, SUM(quantity) AS quantity, SUM(value) AS value FROM ({union}) k GROUP BY {ids} HAVING SUM(quantity) <> 0) g "
        f"JOIN products_product p ON p.id = g.product_id JOIN inventory_warehouse w ON w.id = g.warehouse_id{batch_join} "
        f"{'WHERE ' + ' AND '.join(filters) if filters else ''} ORDER BY p.code, w.code{', g.batch_id' if by_batch else ''} LIMIT %s"
    )
    total_sql = (
        f"SELECT SUM(k.quantity), SUM(k.value) FROM ({union}) k JOIN products_product p ON p.id = k.product_id"
        f"{' WHERE ' + ' AND '.join(filters) if filters else ''}"
    )
    names = ["product_id", "product__code", "product__name", "warehouse_id", "warehouse__code", "warehouse__name"]
    if by_batch:
        names += ["batch_id", "batch__code", "batch__expiry_date"]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *filter_params, limit + 1])
        rows = [dict(zip([*names, "on_hand", "value"], record)) for record in cursor.fetchall()]
        cursor.execute(total_sql, [*params, *filter_params])
        quantity, value = cursor.fetchone()
    for row in rows:
        row["on_hand"], row["value"] = _decimal(row["on_hand"]), _decimal(row["value"])
        if by_batch and isinstance(row["batch__expiry_date"], str):
            row["batch__expiry_date"] = datetime.date.fromisoformat(row["batch__expiry_date"])
    return rows, {"on_hand": _decimal(quantity), "value": _decimal(value)}


def _decimal(value):
    """A sum as the database returns it (SQLite: a float) as a Decimal of the ledger's places."""
    if value is None:
        return None
    return (value if isinstance(value, Decimal) else Decimal(repr(value))).quantize(PLACES)
