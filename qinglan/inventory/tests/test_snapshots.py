"""Month-end stock snapshots: the past-date stock report from the latest snapshot plus the
movements since equals the sum of the whole ledger — also when a movement is back-dated
before a snapshot after it was taken — through the report page, the monthly job and the
command; a snapshot of a moment that has not settled is refused."""

import datetime
import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db.models import Sum
from django.test import Client
from django.utils import timezone, translation

from qinglan.inventory import snapshots, stock, tasks
from qinglan.inventory.choices import EntryKind
from qinglan.inventory.models import StockEntry, StockSnapshot

from .factories import make_product, make_warehouse, stock_clerk

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def moment(year, month, day, hour=12):
    return timezone.make_aware(datetime.datetime(year, month, day, hour))


def post(product, warehouse, quantity, when, cost=Decimal(10)):
    stock.post([stock.Move(product_id=product.pk, warehouse_id=warehouse.pk, quantity=Decimal(quantity), unit_cost=cost, kind=EntryKind.ADJUSTMENT)],
               posted_at=when)


def ledger_on(day, warehouse=None):
    """{(product code, warehouse code): (on hand, value)} summed from the whole ledger."""
    rows = StockEntry.objects.filter(posted_at__lt=_end_of(day))
    if warehouse is not None:
        rows = rows.filter(warehouse=warehouse)
    return {
        (row["product__code"], row["warehouse__code"]): (row["q"], row["v"])
        for row in rows.values("product__code", "warehouse__code").annotate(q=Sum("quantity"), v=Sum("value")) if row["q"]
    }


def _end_of(day):
    return timezone.make_aware(datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time()))


def report(day, **extra):
    rows, totals = snapshots.stock_on(_end_of(day), **extra)
    return {(row["product__code"], row["warehouse__code"]): (row["on_hand"], row["value"]) for row in rows}, totals


@pytest.fixture
def history():
    north, south = make_warehouse("SNN", "北倉"), make_warehouse("SNS", "南倉")
    pen, ink = make_product("SN-PEN", "筆"), make_product("SN-INK", "墨水")
    post(pen, north, 10, moment(2026, 1, 5))
    post(ink, north, 4, moment(2026, 1, 20), cost=Decimal("2.5"))
    post(pen, south, 7, moment(2026, 2, 3))
    post(pen, north, -3, moment(2026, 2, 10))
    post(ink, north, 6, moment(2026, 3, 2), cost=Decimal(3))
    post(pen, south, -7, moment(2026, 3, 15))
    return north, south, pen, ink


def test_the_report_from_snapshots_equals_the_whole_ledger(history):
    north, _south, _pen, _ink = history
    call_command("inventory_snapshot", "--all", stdout=io.StringIO())
    assert StockSnapshot.objects.filter(taken_at=snapshots.month_start(datetime.date(2026, 2, 1))).exists()
    for day in (datetime.date(2025, 12, 31), datetime.date(2026, 1, 31), datetime.date(2026, 2, 9), datetime.date(2026, 2, 28), datetime.date(2026, 3, 20)):
        rows, totals = report(day)
        assert rows == ledger_on(day), day
        assert totals["on_hand"] == (sum((q for q, _v in rows.values()), Decimal(0)) if rows else None)
        assert report(day, warehouse_ids=[north.pk])[0] == ledger_on(day, north)
    assert report(datetime.date(2026, 2, 28), text="sn-i")[0] == {("SN-INK", "SNN"): (Decimal(4), Decimal(10))}


def test_a_movement_back_dated_before_a_snapshot_is_counted(history):
    north, _south, pen, _ink = history
    snapshots.take_snapshot(at=snapshots.month_start(datetime.date(2026, 2, 1)))
    snapshots.take_snapshot(at=snapshots.month_start(datetime.date(2026, 3, 1)))
    # Written now, posted in January: before both snapshots.
    post(pen, north, 100, moment(2026, 1, 25))
    day = datetime.date(2026, 3, 20)
    assert report(day)[0][("SN-PEN", "SNN")] == (Decimal(107), Decimal(1070)) == ledger_on(day)[("SN-PEN", "SNN")]
    assert report(datetime.date(2026, 2, 15))[0] == ledger_on(datetime.date(2026, 2, 15))
    # The next snapshot taken from the previous one includes it.
    later = snapshots.take_snapshot(at=snapshots.month_start(datetime.date(2026, 4, 1)))
    assert later.lines.get(product=pen, warehouse=north).quantity == Decimal(107)


def test_the_report_page_and_the_monthly_job(history):
    north, _south, _pen, _ink = history
    assert tasks.take_month_end_snapshot.call_local() is not None  # this month's start had none
    assert tasks.take_month_end_snapshot.call_local() is None  # once
    snapshots.take_snapshot(at=snapshots.month_start(datetime.date(2026, 2, 1)))
    client = Client()
    client.force_login(stock_clerk())
    response = client.get(f"/inventory/stock/?as_of=2026-02-28&warehouse={north.pk}")
    assert response.status_code == 200
    assert {(row["product__code"], row["on_hand"]) for row in response.context["rows"]} == {("SN-PEN", Decimal(7)), ("SN-INK", Decimal(4))}
    by_batch = client.get("/inventory/stock/?as_of=2026-03-20&by=batch")
    assert by_batch.status_code == 200 and {row["product__code"] for row in by_batch.context["rows"]} == {"SN-PEN", "SN-INK"}


def test_a_moment_that_has_not_settled_is_refused(db):
    with pytest.raises(ValidationError, match="at least an hour ago"):
        snapshots.take_snapshot(at=timezone.now() - datetime.timedelta(minutes=5))
    assert not StockSnapshot.objects.exists()
    with pytest.raises(Exception, match="YYYY-MM"):
        call_command("inventory_snapshot", "--month", "2026/02", stdout=io.StringIO())
