"""Sales figures for the dashboard and the sales-by-month report, always over the records the
member may view (restrict), in the base currency: booked orders (approved onwards, net of
tax), issued invoices net of tax less credit notes, money received, the open pipeline by
stage, receivables by days past due, and the biggest owners, products and customers."""

import datetime
from decimal import Decimal

from django.db.models import Case, CharField, Count, DecimalField, ExpressionWrapper, F, Func, Q, Sum, When

from qinglan.org.models import Currency
from qinglan.org.services import to_base

from .choices import InvoiceKind, InvoiceStatus, OrderStatus, StageKind
from .models import Invoice, InvoiceLine, Opportunity, Receipt, SalesOrder
from .services import COUNTED_INVOICES

CENT = Decimal("0.01")
BOOKED = (OrderStatus.APPROVED, OrderStatus.FULFILLING, OrderStatus.COMPLETED, OrderStatus.CLOSED)
AGING_BUCKETS = ((None, 0), (1, 30), (31, 60), (61, 90), (91, None))  # days past due; (None, 0): not due yet
WIDE = DecimalField(max_digits=24, decimal_places=6)


def month_start(value):
    """TruncMonth gives a date (or, on some backends, a datetime) of the month's first day;
    MonthOf "2026-03"."""
    if isinstance(value, str):
        return datetime.date(int(value[:4]), int(value[5:7]), 1)
    return value.date() if isinstance(value, datetime.datetime) else value


class MonthOf(Func):
    """A date field's month as "YYYY-MM", worked out by the database itself (Django's TruncMonth
    calls back into Python for every row on SQLite: 7.4 s over a million orders)."""

    output_field = CharField()

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="substr(%(expressions)s, 1, 7)", **extra)

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="to_char(%(expressions)s, 'YYYY-MM')", **extra)


def add_months(day, count):
    month = day.month - 1 + count
    return day.replace(year=day.year + month // 12, month=month % 12 + 1, day=1)


def net_base(prefix=""):
    """A record's net amount (subtotal) in the base currency, at the record's own rate."""
    return ExpressionWrapper(F(f"{prefix}subtotal") * F(f"{prefix}total_base") / F(f"{prefix}total"), output_field=WIDE)


def signed_net_base():
    """An invoice's net amount in the base currency, a credit note's negative."""
    return Case(When(kind=InvoiceKind.CREDIT_NOTE, then=-net_base()), default=net_base(), output_field=WIDE)


def counted_invoices(user):
    return Invoice.objects.restrict(user, "view").filter(status__in=COUNTED_INVOICES).exclude(total=0).exclude(total_base=None)


def booked_orders(user):
    return SalesOrder.objects.restrict(user, "view").filter(status__in=BOOKED).exclude(total=0).exclude(total_base=None)


def _money(value):
    return Decimal(value or 0).quantize(CENT)


def received_by_month(user, first, end):
    """{month's first day: money received in the base currency} (each currency converted at the month's end)."""
    rows = (
        Receipt.objects.restrict(user, "view").filter(received_on__gte=first, received_on__lt=end)
        .annotate(month=MonthOf("received_on")).values("month", "currency").annotate(total=Sum("amount"))
    )
    currencies = Currency.objects.in_bulk({row["currency"] for row in rows if row["currency"]})
    months = {}
    for row in rows:
        start = month_start(row["month"])
        converted = to_base(row["total"], currencies.get(row["currency"]), on=add_months(start, 1) - datetime.timedelta(days=1))
        months[start] = months.get(start, Decimal(0)) + (converted or Decimal(0))
    return {month: _money(value) for month, value in months.items()}


def by_month(user, first, end, *, by=None):
    """The months from `first` up to (not including) `end`: [{month, orders, ordered, invoiced,
    received}] and, when `by` is "owner" or "department", the booked orders' net amounts of each
    owner or department per month: [(key, {month: amount})]."""
    months = []
    day = first
    while day < end:
        months.append(day)
        day = add_months(day, 1)
    orders = booked_orders(user).filter(order_date__gte=first, order_date__lt=end).annotate(month=MonthOf("order_date"))
    ordered = {month_start(row["month"]): row for row in orders.values("month").annotate(count=Count("id"), amount=Sum(net_base()))}
    invoiced = {
        month_start(row["month"]): row["amount"]
        for row in counted_invoices(user).filter(invoice_date__gte=first, invoice_date__lt=end)
        .annotate(month=MonthOf("invoice_date")).values("month").annotate(amount=Sum(signed_net_base()))
    }
    received = received_by_month(user, first, end)
    rows = [
        {
            "month": month, "orders": (ordered.get(month) or {}).get("count", 0), "ordered": _money((ordered.get(month) or {}).get("amount")),
            "invoiced": _money(invoiced.get(month)), "received": received.get(month, Decimal("0.00")),
        }
        for month in months
    ]
    matrix = []
    if by in ("owner", "department"):
        key = f"{by}_id"
        cells = {}
        for row in orders.values(key, "month").annotate(amount=Sum(net_base())):
            cells.setdefault(row[key], {})[month_start(row["month"])] = _money(row["amount"])
        matrix = sorted(cells.items(), key=lambda item: -sum(item[1].values()))
    return months, rows, matrix


def aging_sums(today):
    """Sum() of open balances per bucket of days past due, for aggregate()/annotate()."""
    sums = {}
    for index, (low, high) in enumerate(AGING_BUCKETS):
        condition = Q(due_date__gte=today) if low is None else Q(due_date__lte=today - datetime.timedelta(days=low))
        if low is not None and high is not None:
            condition &= Q(due_date__gte=today - datetime.timedelta(days=high))
        sums[f"bucket{index}"] = Sum("balance_base", filter=condition)
    return sums


def aging_totals(user, today):
    everything = Invoice.objects.restrict(user, "view").filter(status=InvoiceStatus.ISSUED).aggregate(**aging_sums(today))
    return [_money(everything[f"bucket{index}"]) for index in range(len(AGING_BUCKETS))]


def pipeline_by_stage(user):
    """Open opportunities per stage: [{stage, count, amount, weighted}] in the stages' order."""
    return list(
        Opportunity.objects.restrict(user, "view").filter(status=StageKind.OPEN)
        .values("stage__name", "stage__order").annotate(count=Count("id"), amount=Sum("amount_base"), weighted=Sum("weighted_base"))
        .order_by("stage__order", "stage__name")
    )


def top_invoiced(user, first, end, key, limit=10):
    """[(key value, net invoiced)] of the biggest `key` (owner_id, customer_id) between the days."""
    rows = (
        counted_invoices(user).filter(invoice_date__gte=first, invoice_date__lt=end)
        .values(key).annotate(amount=Sum(signed_net_base())).order_by("-amount")[:limit]
    )
    return [(row[key], _money(row["amount"])) for row in rows if row["amount"]]


def top_products(user, first, end, limit=10):
    """[(product id, net invoiced)] of the best-selling products between the days (credit notes deducted)."""
    invoices = counted_invoices(user).filter(invoice_date__gte=first, invoice_date__lt=end)
    line_base = ExpressionWrapper(F("net_amount") * F("invoice__total_base") / F("invoice__total"), output_field=WIDE)
    signed = Case(When(invoice__kind=InvoiceKind.CREDIT_NOTE, then=-line_base), default=line_base, output_field=WIDE)
    rows = (
        InvoiceLine.objects.filter(invoice__in=invoices, product__isnull=False)
        .values("product").annotate(amount=Sum(signed)).order_by("-amount")[:limit]
    )
    return [(row["product"], _money(row["amount"])) for row in rows if row["amount"]]
