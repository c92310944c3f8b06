"""Sales targets and their achievement (目標達成): the period's dates, and what the member,
department (with sub-departments), region (with sub-regions) or company achieved in them —
issued invoices net of tax less credit notes, or receipts — in the base currency, read with
one aggregate query per target."""

import calendar
import datetime
from decimal import Decimal

from django.db.models import Q, Sum

from qinglan.org.services import to_base

from .choices import TargetMeasure, TargetPeriod
from .models import Invoice, Receipt
from .reports import signed_net_base
from .services import COUNTED_INVOICES

CENT = Decimal("0.01")


def period_dates(target):
    """(first day, last day) of the target's period."""
    if target.period == TargetPeriod.YEAR:
        return datetime.date(target.year, 1, 1), datetime.date(target.year, 12, 31)
    if target.period == TargetPeriod.QUARTER:
        first_month = (target.number - 1) * 3 + 1
        last_month = first_month + 2
        return datetime.date(target.year, first_month, 1), datetime.date(target.year, last_month, calendar.monthrange(target.year, last_month)[1])
    return datetime.date(target.year, target.number, 1), datetime.date(target.year, target.number, calendar.monthrange(target.year, target.number)[1])


def _scope(target):
    """Who the target counts: the record's owner, department (subtree) or customer's region (subtree)."""
    if target.member_id:
        return Q(owner_id=target.member_id)
    if target.department_id:
        return Q(department__path__startswith=target.department.path)
    if target.region_id:
        return Q(customer__region__path__startswith=target.region.path)
    return Q()


def achieved(target):
    """What achieved the target so far, in the base currency."""
    first, last = period_dates(target)
    if target.measure == TargetMeasure.RECEIVED:
        rows = Receipt.objects.filter(_scope(target), received_on__range=(first, last)).values("currency").annotate(total=Sum("amount"))
        from qinglan.org.models import Currency

        currencies = Currency.objects.in_bulk([row["currency"] for row in rows if row["currency"]])
        return sum((to_base(row["total"], currencies.get(row["currency"]), on=last) or Decimal(0) for row in rows), Decimal(0)).quantize(CENT)
    invoices = Invoice.objects.filter(_scope(target), status__in=COUNTED_INVOICES, invoice_date__range=(first, last)).exclude(total=0)
    total = invoices.exclude(total_base=None).aggregate(total=Sum(signed_net_base()))["total"] or Decimal(0)
    return Decimal(total).quantize(CENT)


def achievement_rows(targets):
    """[{target, achieved, share (percent), first, last}] for the targets."""
    rows = []
    for target in targets:
        amount = achieved(target)
        first, last = period_dates(target)
        share = (amount * 100 / target.amount).quantize(Decimal("0.1")) if target.amount else Decimal(0)
        rows.append({"target": target, "achieved": amount, "share": share, "bar": max(0, min(int(share), 100)), "first": first, "last": last})
    return rows
