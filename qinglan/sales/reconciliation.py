"""Reconciliation with customers (對帳): an account statement takes the book figures of a
customer in one currency for a period — the balance at its start, issued invoices, credit
notes and money received in it, the balance at its end — while it is a draft; it is sent
(printed as PDF or DOCX) and keeps those figures; the balance the customer confirms is then
recorded against it: equal → agreed (final), different → disputed, with the difference and
the customer's explanation, until corrected and agreed."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from qinglan.core.changelog import log_change, snapshot
from qinglan.core.detail import decimal_text
from qinglan.core.models import ObjectChange
from qinglan.org.services import base_currency

from . import printing, services
from .choices import InvoiceKind, PrintKind, StatementStatus
from .models import AccountStatement, Invoice, Receipt

SEQUENCE = {"code": "account-statement", "name": "對帳單 Account statements", "prefix": "RC-{year}-"}
KEPT = ("customer_id", "currency_id", "period_start", "period_end")
TRANSACTION_ROWS = 500


def statement_lock(statement, action):
    if statement.status == StatementStatus.AGREED:
        return _("The customer agreed to this account statement; it cannot be changed.")
    if action == "delete" and statement.status != StatementStatus.DRAFT:
        return _("Only a draft account statement is deleted.")
    return None


def _documents(statement):
    invoices = Invoice.objects.filter(customer_id=statement.customer_id, currency_id=statement.currency_id, status__in=services.COUNTED_INVOICES)
    receipts = Receipt.objects.filter(customer_id=statement.customer_id, currency_id=statement.currency_id)
    return invoices, receipts


def book_figures(statement):
    """{opening, invoiced, credited, received, closing} of the customer in the statement's
    currency: what it owed before the period, and what the period added and took off."""
    invoices, receipts = _documents(statement)
    before, within = Q(invoice_date__lt=statement.period_start), Q(invoice_date__range=(statement.period_start, statement.period_end))
    sums = invoices.aggregate(
        invoiced_before=Sum("total", filter=before & Q(kind=InvoiceKind.INVOICE)),
        credited_before=Sum("total", filter=before & Q(kind=InvoiceKind.CREDIT_NOTE)),
        invoiced=Sum("total", filter=within & Q(kind=InvoiceKind.INVOICE)),
        credited=Sum("total", filter=within & Q(kind=InvoiceKind.CREDIT_NOTE)),
    )
    paid = receipts.aggregate(
        before=Sum("amount", filter=Q(received_on__lt=statement.period_start)),
        within=Sum("amount", filter=Q(received_on__range=(statement.period_start, statement.period_end))),
    )
    value = lambda name, source=sums: source[name] or Decimal(0)  # noqa: E731
    opening = value("invoiced_before") - value("credited_before") - value("before", paid)
    figures = {"opening": opening, "invoiced": value("invoiced"), "credited": value("credited"), "received": value("within", paid)}
    figures["closing"] = opening + figures["invoiced"] - figures["credited"] - figures["received"]
    return figures


def _take_figures(statement):
    figures = book_figures(statement)
    statement.opening_balance, statement.invoiced, statement.credited = figures["opening"], figures["invoiced"], figures["credited"]
    statement.received, statement.closing_balance = figures["received"], figures["closing"]


def prepare_statement(*, statement, created):
    """Before a save: number, currency and department; a draft takes the book figures again;
    a sent one keeps its customer, currency and period, and the customer's balance decides
    whether it is agreed or disputed."""
    if created and not statement.code:
        statement.code = services._number(SEQUENCE)
    if statement.currency_id is None:
        statement.currency = base_currency()
    statement.department_id = statement.owner.department_id if statement.owner_id else None
    if statement.status == StatementStatus.DRAFT:
        if statement.customer_balance is not None:
            raise ValidationError({"customer_balance": _("Send the statement before recording the customer's balance.")})
        _take_figures(statement)
        return
    saved = AccountStatement.objects.filter(pk=statement.pk).values(*KEPT).first()
    if saved and any(saved[name] != getattr(statement, name) for name in KEPT):
        raise ValidationError(_("A sent account statement keeps its customer, currency and period; make a new one for another period."))
    if statement.customer_balance is None:
        statement.status, statement.difference, statement.answered_on = StatementStatus.SENT, None, None
        return
    statement.difference = statement.customer_balance - statement.closing_balance
    statement.status = StatementStatus.AGREED if statement.difference == 0 else StatementStatus.DISPUTED
    statement.answered_on = timezone.localdate()
    if statement.status == StatementStatus.DISPUTED and not statement.answer.strip():
        raise ValidationError({"answer": _("The customer's balance differs by %(difference)s: note what they say differs.") % {
            "difference": decimal_text(statement.difference, statement.money_places),
        }})


def _locked(statement, user, action):
    return services.locked(statement, user, action, _("You may not do this with this account statement."))


def _log(statement, before, user):
    log_change(record=statement, action=ObjectChange.Action.UPDATE, user=user, before=before, after=snapshot(statement))


@transaction.atomic
def recalculate(*, record, user):
    statement = _locked(record, user, "change")
    if statement.status != StatementStatus.DRAFT:
        raise ValidationError(_("Only a draft account statement takes the book figures again."))
    before = snapshot(statement)
    _take_figures(statement)
    statement.save(update_fields=["opening_balance", "invoiced", "credited", "received", "closing_balance", "last_updated"])
    _log(statement, before, user)
    return statement


@transaction.atomic
def send(*, record, user):
    """Mark the draft sent (its figures taken again and kept from now on)."""
    statement = _locked(record, user, "change")
    if statement.status != StatementStatus.DRAFT:
        raise ValidationError(_("Only a draft account statement is sent."))
    before = snapshot(statement)
    _take_figures(statement)
    statement.status = StatementStatus.SENT
    statement.sent_on = timezone.localdate()
    statement.save(update_fields=["opening_balance", "invoiced", "credited", "received", "closing_balance", "status", "sent_on", "last_updated"])
    _log(statement, before, user)
    return statement


@transaction.atomic
def back_to_draft(*, record, user):
    """A sent or disputed statement back to a draft (to correct the books and send it again)."""
    statement = _locked(record, user, "change")
    if statement.status not in (StatementStatus.SENT, StatementStatus.DISPUTED):
        raise ValidationError(_("Only a sent or disputed account statement goes back to draft."))
    before = snapshot(statement)
    statement.status, statement.sent_on = StatementStatus.DRAFT, None
    statement.customer_balance = statement.difference = statement.answered_on = None
    _take_figures(statement)
    statement.save()
    _log(statement, before, user)
    return statement


def transactions(statement, limit=TRANSACTION_ROWS):
    """The period's documents oldest first with the running balance: [{date, document, url,
    kind, debit, credit, balance}] (at most `limit`, and whether there were more)."""
    invoices, receipts = _documents(statement)
    rows = []
    for invoice in invoices.filter(invoice_date__range=(statement.period_start, statement.period_end)).order_by("invoice_date", "id")[: limit + 1]:
        credit_note = invoice.kind == InvoiceKind.CREDIT_NOTE
        rows.append({
            "date": invoice.invoice_date, "order": (1 if credit_note else 0, invoice.pk), "document": invoice.code, "url": invoice.get_absolute_url(),
            "kind": _("credit note") if credit_note else _("invoice"),
            "debit": None if credit_note else invoice.total, "credit": invoice.total if credit_note else None,
        })
    for receipt in receipts.filter(received_on__range=(statement.period_start, statement.period_end)).order_by("received_on", "id")[: limit + 1]:
        rows.append({
            "date": receipt.received_on, "order": (2, receipt.pk), "document": receipt.code, "url": receipt.get_absolute_url(),
            "kind": receipt.get_method_display(), "debit": None, "credit": receipt.amount,
        })
    rows.sort(key=lambda row: (row["date"], row["order"]))
    more = len(rows) > limit
    balance = statement.opening_balance
    for row in rows[:limit]:
        balance += (row["debit"] or 0) - (row["credit"] or 0)
        row["balance"] = balance
    return rows[:limit], more


def statement_document(statement):
    """The statement as the structure the print writers (printing.to_pdf / to_docx) read."""
    from qinglan.org.models import CompanyProfile

    company = CompanyProfile.objects.first()
    places = statement.money_places
    money = lambda value: decimal_text(value, places) if value is not None else ""  # noqa: E731
    currency = statement.currency.code if statement.currency_id else ""
    rows, _more = transactions(statement)
    values = {
        "company": company.name if company else "", "customer": str(statement.customer), "code": statement.code,
        "period_start": statement.period_start.isoformat(), "period_end": statement.period_end.isoformat(),
        "closing_balance": money(statement.closing_balance), "currency": currency, "owner": str(statement.owner or ""),
    }
    return printing.apply_template(_document(statement, company, money, currency, rows), printing.template_for(PrintKind.ACCOUNT_STATEMENT), values)


def _document(statement, company, money, currency, rows):
    return {
        "logo": printing.company_logo(company),
        "title": _("Account statement"),
        "company": [text for text in (company.name, company.address, company.phone, company.email, company.tax_id) if text] if company else [],
        "facts": [
            (_("Statement number"), statement.code),
            (_("customer"), str(statement.customer)),
            (_("period"), f"{statement.period_start.isoformat()} – {statement.period_end.isoformat()}"),
            (_("currency"), currency),
            (_("opening balance"), money(statement.opening_balance)),
        ],
        "head": [_("date"), _("document"), _("kind"), _("debit"), _("credit"), _("balance")],
        "widths": [24, None, 26, 28, 28, 30],
        "rows": [[row["date"].isoformat(), row["document"], str(row["kind"]), money(row["debit"]), money(row["credit"]), money(row["balance"])] for row in rows],
        "totals": [
            (_("opening balance"), f"{currency} {money(statement.opening_balance)}"),
            (_("invoiced"), f"{currency} {money(statement.invoiced)}"),
            (_("credit notes"), f"{currency} {money(statement.credited)}"),
            (_("money received"), f"{currency} {money(statement.received)}"),
            (_("balance in our books"), f"{currency} {money(statement.closing_balance)}"),
        ],
        "terms": _("Please check the balance above and confirm it to us, or tell us which documents differ."),
        "terms_label": False,
    }
