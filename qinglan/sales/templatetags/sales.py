from decimal import Decimal

from django import template
from django.db.models import Case, Value, When
from django.utils.translation import gettext_lazy as _

from qinglan.core.detail import decimal_text
from qinglan.core.permissions import may

register = template.Library()


@register.filter
def money(value, places=2):
    """1234567.5 → "1,234,567.50" (`places` decimals; a currency's own number, e.g. 0 for TWD)."""
    if value in (None, ""):
        return ""
    try:
        places = int(places)
    except (TypeError, ValueError):  # no currency (e.g. no base currency set yet): cents
        places = 2
    return decimal_text(Decimal(value), places)


@register.filter
def quantity(value):
    """4.5000 → "4.5", 12000 → "12,000" (quantities keep up to four places, shown without trailing zeros)."""
    if value in (None, ""):
        return ""
    return decimal_text(Decimal(value), 4)


@register.simple_tag
def customer_opportunities(customer, user, limit=10):
    """The customer's opportunities the member may view: open ones first, then the latest
    closed; (opportunities, how many there are in all)."""
    from ..choices import StageKind
    from ..models import Opportunity

    visible = Opportunity.objects.restrict(user, "view").filter(customer=customer)
    rows = list(
        visible.select_related("stage", "currency", "owner")
        .order_by(Case(When(status=StageKind.OPEN, then=Value(0)), default=Value(1)), "-expected_close_date", "-id")[:limit]
    )
    return rows, visible.count()


@register.simple_tag
def stage_history(opportunity, limit=20):
    return list(opportunity.stage_changes.select_related("from_stage", "to_stage", "changed_by")[:limit])


@register.simple_tag
def order_versions(order):
    """Each earlier version of an order with what changed from it to the next one (or to the
    order as it is now): [(version, [(label, before, after)], added, removed, changed lines)]."""
    from ..services import order_snapshot

    return _versions(order, lambda: order_snapshot(order.pk))


@register.simple_tag
def quote_versions(quote):
    """Each earlier version of a quote with what changed from it to the next one (or to the quote now)."""
    from ..quotes import quote_snapshot

    return _versions(quote, lambda: quote_snapshot(quote))


def _versions(record, current):
    versions = list(record.versions.select_related("changed_by"))
    if not versions:
        return []
    later = current()
    result = []
    for version in versions:  # newest first
        result.append({"version": version, "changes": _diff(version.data, later)})
        later = version.data
    return result


HEADER_LABELS = {
    "contact": _("contact"), "order_date": _("order date"), "delivery_date": _("requested delivery date"), "currency": _("currency"),
    "payment_term": _("payment term"), "notes": _("notes"), "subtotal": _("net amount"), "tax_total": _("tax"), "total": _("total"),
    "quote_date": _("quote date"), "valid_until": _("valid until"), "terms": _("terms and conditions"),
}
LINE_LABELS = {"item": _("item"), "quantity": _("quantity"), "unit_price": _("unit price"), "discount": _("discount (%)"), "tax_rate": _("tax rate"), "total": _("total")}


AMOUNT_KEYS = {"subtotal", "tax_total", "total", "unit_price"}


def _shown(key, value):
    """An amount kept as text in a version ("1115035.00") as people read it ("1,115,035.00")."""
    if key in AMOUNT_KEYS and value not in (None, "", "None"):
        try:
            return decimal_text(Decimal(value), 2)
        except ArithmeticError:
            return value
    return value


def _diff(before, after):
    header = [
        (HEADER_LABELS.get(key, key), _shown(key, value), _shown(key, after["header"].get(key)))
        for key, value in before["header"].items() if after["header"].get(key) != value
    ]
    old = {line["id"]: line for line in before["lines"]}
    new = {line["id"]: line for line in after["lines"]}
    added = [line for pk, line in new.items() if pk not in old]
    removed = [line for pk, line in old.items() if pk not in new]
    changed = []
    for pk, line in new.items():
        if pk in old:
            fields = [
                (LINE_LABELS[key], _shown(key, old[pk].get(key)), _shown(key, value))
                for key, value in line.items() if key in LINE_LABELS and old[pk].get(key) != value
            ]
            if fields:
                changed.append({"item": line["item"], "fields": fields})
    return {"header": header, "added": added, "removed": removed, "changed": changed}


@register.simple_tag
def order_supplements(order, user):
    """The order's supplementary orders (and the one it supplements) the member may view."""
    from ..models import SalesOrder

    visible = SalesOrder.objects.restrict(user, "view")
    return {
        "original": visible.filter(pk=order.original_id).first() if order.original_id else None,
        "supplements": list(visible.filter(original=order).order_by("pk")[:50]),
    }


@register.simple_tag
def customer_orders(customer, user, limit=10):
    """The customer's latest sales orders the member may view; (orders, how many in all)."""
    from ..models import SalesOrder

    visible = SalesOrder.objects.restrict(user, "view").filter(customer=customer)
    return list(visible.select_related("currency", "owner").order_by("-order_date", "-id")[:limit]), visible.count()


@register.simple_tag
def customer_quotes(customer, user, limit=10):
    """The customer's latest quotes the member may view; (quotes, how many in all)."""
    from ..models import Quote

    visible = Quote.objects.restrict(user, "view").filter(customer=customer)
    return list(visible.select_related("currency", "owner").order_by("-quote_date", "-id")[:limit]), visible.count()


@register.simple_tag
def invoice_credit_notes(invoice, user):
    """A credit note: the invoice it credits; an invoice: its credit notes the member may view."""
    from ..models import Invoice

    visible = Invoice.objects.restrict(user, "view")
    return {
        "credited": visible.filter(pk=invoice.credited_invoice_id).first() if invoice.credited_invoice_id else None,
        "notes": list(visible.filter(credited_invoice=invoice).order_by("pk")[:50]),
    }


@register.simple_tag
def commission_lines(statement, user):
    """The statement's lines with their invoices, customers and products; which invoices the
    member may open (links only for those)."""
    from ..models import CommissionLine, Invoice

    lines = list(
        CommissionLine.objects.filter(statement=statement)
        .select_related("invoice__customer", "invoice_line__product", "category")
    )
    ids = {line.invoice_id for line in lines}
    viewable = set(Invoice.objects.restrict(user, "view").filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()
    return {"lines": lines, "viewable": viewable}


@register.simple_tag
def statement_transactions(statement, user):
    """The statement's documents with the running balance; links only to those the member may open."""
    from ..models import Invoice, Receipt
    from ..reconciliation import TRANSACTION_ROWS, transactions

    rows, more = transactions(statement)
    invoices = set(Invoice.objects.restrict(user, "view").filter(customer_id=statement.customer_id).values_list("code", flat=True)) if rows else set()
    receipts = set(Receipt.objects.restrict(user, "view").filter(customer_id=statement.customer_id).values_list("code", flat=True)) if rows else set()
    for row in rows:
        row["viewable"] = row["document"] in invoices or row["document"] in receipts
    return {"rows": rows, "more": more, "limit": TRANSACTION_ROWS}


@register.simple_tag
def customer_statements(customer, user, limit=5):
    from ..models import AccountStatement

    return list(AccountStatement.objects.restrict(user, "view").filter(customer=customer).select_related("currency").order_by("-period_end", "-id")[:limit])


@register.filter
def sendable_by(quote, user):
    """Whether `user` may send `quote` by e-mail now (approved or sent, and theirs to change)."""
    from qinglan.sales.choices import QuoteStatus

    return quote.status in {QuoteStatus.APPROVED, QuoteStatus.SENT} and may(user, "change", quote)
