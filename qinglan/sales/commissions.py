"""Commissions (佣金): a member's statement for a month, quarter or year is calculated from
the invoices paid in it — each invoice line's net amount, in the base currency, in the share
paid with money (a part settled by a credit note earns nothing), at the plan's rate for the
product's category (the nearest category up the tree with a rate, else the plan's default),
multiplied by the tier the member's target achievement of the same period reaches. A credit
note whose money goes back to the customer (the part not taken off its open invoice) counts
negative in the period it is issued. Every line keeps its invoice; a confirmed statement is
final and its invoice lines are never paid again by another statement."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import DateField, F, OuterRef, Subquery
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from qinglan.core.changelog import log_change, snapshot
from qinglan.core.models import ObjectChange
from qinglan.products.services import lineage_paths

from . import services, targets
from .choices import CommissionStatus, InvoiceKind, InvoiceStatus
from .models import CommissionLine, CommissionStatement, Invoice, InvoiceLine, ReceiptAllocation, SalesTarget

CENT = Decimal("0.01")
SEQUENCE = {"code": "commission", "name": "佣金結算單 Commission statements", "prefix": "CM-{year}-"}


def statement_lock(statement, action):
    """Resource.edit_lock of a statement: a confirmed one is final."""
    if statement.status == CommissionStatus.CONFIRMED:
        return _("A confirmed commission statement cannot be changed; reopen it first.")
    return None


def prepare_statement(*, statement, created):
    if created and not statement.code:
        statement.code = services._number(SEQUENCE)
    statement.owner_id = statement.member_id
    statement.department_id = statement.member.department_id if statement.member_id else None


def check_statement(statement):
    """The member must be one the plan covers, and a new statement needs an active plan."""
    plan = statement.plan
    if not plan.active and statement.status == CommissionStatus.DRAFT:
        raise ValidationError({"plan": _("Commission plan “%(plan)s” is not active.") % {"plan": plan}})
    if not plan.members.filter(pk=statement.member_id).exists():
        raise ValidationError({"member": _("%(member)s is not a member of commission plan “%(plan)s”.") % {"member": statement.member, "plan": plan}})


def _settled_invoices(member_id, first, last):
    """The member's invoices paid in full between the two days, with the day the last receipt
    or credit note taking something off them settled them."""
    last_receipt = ReceiptAllocation.objects.filter(invoice=OuterRef("pk")).order_by("-receipt__received_on").values("receipt__received_on")[:1]
    last_note = Invoice.objects.filter(
        credited_invoice=OuterRef("pk"), kind=InvoiceKind.CREDIT_NOTE, status__in=services.COUNTED_INVOICES, credited_amount__gt=0,
    ).order_by("-invoice_date").values("invoice_date")[:1]
    receipt_day = Subquery(last_receipt, output_field=DateField())
    note_day = Subquery(last_note, output_field=DateField())
    return (
        Invoice.objects.filter(owner_id=member_id, kind=InvoiceKind.INVOICE, status=InvoiceStatus.PAID, paid_amount__gt=0)
        .exclude(total=0).exclude(total_base=None)
        .annotate(settled_on=Greatest(receipt_day, Coalesce(note_day, receipt_day)))
        .filter(settled_on__range=(first, last))
    )


def _refunded_notes(member_id, first, last):
    """The member's credit notes of the period with a part not taken off an open invoice."""
    return (
        Invoice.objects.filter(owner_id=member_id, kind=InvoiceKind.CREDIT_NOTE, status__in=services.COUNTED_INVOICES, invoice_date__range=(first, last))
        .exclude(total=0).exclude(total_base=None).filter(total__gt=F("credited_amount"))
        .annotate(settled_on=F("invoice_date"))
    )


def _rate_for(category_path, rates, default):
    if category_path:
        for path in reversed(lineage_paths(category_path)):
            if path in rates:
                return rates[path]
    return default


def achievement_of(statement):
    """(target amount, achieved, achievement %, multiplier %) of the statement's member and
    period: the first target of the member for exactly that period; no target → rates as they are."""
    target = SalesTarget.objects.filter(member_id=statement.member_id, period=statement.period, year=statement.year, number=statement.number).order_by("id").first()
    if target is None:
        return None, None, None, Decimal(100)
    done = targets.achieved(target)
    share = (done * 100 / target.amount).quantize(Decimal("0.1"))
    multiplier = Decimal(100)
    for tier in statement.plan.tiers.order_by("from_achievement"):
        if share >= tier.from_achievement:
            multiplier = tier.multiplier
    return target.amount, done, share, multiplier


def calculate(statement):
    """Replace the draft statement's lines and figures by what the period's paid invoices earn."""
    first, last = targets.period_dates(statement)
    plan = statement.plan
    rates = {path: rate for path, rate in plan.rates.values_list("category__path", "rate")}
    target_amount, done, share, multiplier = achievement_of(statement)
    paid_elsewhere = set(
        CommissionLine.objects.filter(statement__member_id=statement.member_id, statement__status=CommissionStatus.CONFIRMED)
        .exclude(statement=statement).values_list("invoice_line_id", flat=True)
    )
    documents = {}
    for invoice in _settled_invoices(statement.member_id, first, last):
        documents[invoice.pk] = (invoice, min(invoice.paid_amount / invoice.total, Decimal(1)))
    for note in _refunded_notes(statement.member_id, first, last):
        documents[note.pk] = (note, -(note.total - note.credited_amount) / note.total)
    lines = []
    rows = InvoiceLine.objects.filter(invoice_id__in=list(documents)).select_related("product__category").order_by("invoice_id", "id")
    for row in rows:
        if row.pk in paid_elsewhere:
            continue
        invoice, part = documents[row.invoice_id]
        amount = (row.net_amount * part * invoice.total_base / invoice.total).quantize(CENT)
        category = row.product.category if row.product_id and row.product.category_id else None
        rate = _rate_for(category.path if category else None, rates, plan.default_rate)
        commission = (amount * rate * multiplier / Decimal(10000)).quantize(CENT)
        lines.append(CommissionLine(
            statement=statement, invoice=invoice, invoice_line=row, settled_on=invoice.settled_on, category=category,
            amount=amount, rate=rate, commission=commission,
        ))
    CommissionLine.objects.filter(statement=statement).delete()
    CommissionLine.objects.bulk_create(lines)
    statement.paid_sales = sum((line.amount for line in lines), Decimal(0))
    statement.commission = sum((line.commission for line in lines), Decimal(0))
    statement.target_amount, statement.achieved, statement.achievement, statement.multiplier = target_amount, done, share, multiplier
    statement.calculated_at = timezone.now()
    CommissionStatement.objects.filter(pk=statement.pk).update(
        paid_sales=statement.paid_sales, commission=statement.commission, target_amount=target_amount, achieved=done,
        achievement=share, multiplier=multiplier, calculated_at=statement.calculated_at,
    )
    return statement


def statement_saved(*, statement):
    check_statement(statement)
    if statement.status == CommissionStatus.DRAFT:
        calculate(statement)


def _locked(statement, user, action):
    return services.locked(statement, user, action, _("You may not do this with this commission statement."))


@transaction.atomic
def recalculate(*, record, user):
    statement = _locked(record, user, "change")
    if statement.status != CommissionStatus.DRAFT:
        raise ValidationError(_("Only a draft commission statement is recalculated."))
    before = snapshot(statement)
    calculate(statement)
    statement.refresh_from_db()
    log_change(record=statement, action=ObjectChange.Action.UPDATE, user=user, before=before, after=snapshot(statement))
    return statement


@transaction.atomic
def confirm(*, record, user):
    """Make the draft final (recalculated first, so it confirms what is true now)."""
    statement = _locked(record, user, "approve")
    if statement.status != CommissionStatus.DRAFT:
        raise ValidationError(_("Only a draft commission statement is confirmed."))
    check_statement(statement)
    before = snapshot(statement)
    calculate(statement)
    statement.status = CommissionStatus.CONFIRMED
    statement.confirmed_by = user
    statement.confirmed_at = timezone.now()
    statement.save(update_fields=["status", "confirmed_by", "confirmed_at", "last_updated"])
    statement.refresh_from_db()
    log_change(record=statement, action=ObjectChange.Action.UPDATE, user=user, before=before, after=snapshot(statement))
    return statement


@transaction.atomic
def reopen(*, record, user):
    statement = _locked(record, user, "approve")
    if statement.status != CommissionStatus.CONFIRMED:
        raise ValidationError(_("Only a confirmed commission statement is reopened."))
    before = snapshot(statement)
    statement.status = CommissionStatus.DRAFT
    statement.confirmed_by = None
    statement.confirmed_at = None
    statement.save(update_fields=["status", "confirmed_by", "confirmed_at", "last_updated"])
    log_change(record=statement, action=ObjectChange.Action.UPDATE, user=user, before=before, after=snapshot(statement))
    return statement


@transaction.atomic
def run_plan(*, plan, period, year, number, user):
    """Statements of every member of the plan for the period: missing ones made, drafts
    recalculated, confirmed ones left as they are. Returns (made, recalculated, confirmed) lists."""
    made, recalculated, kept = [], [], []
    for member in plan.members.filter(is_active=True).order_by("username"):
        statement = CommissionStatement.objects.select_for_update().filter(member=member, period=period, year=year, number=number).first()
        if statement is None:
            statement = CommissionStatement(member=member, plan=plan, period=period, year=year, number=number)
            statement.full_clean(exclude=["code"])
            prepare_statement(statement=statement, created=True)
            statement.save()
            log_change(record=statement, action=ObjectChange.Action.CREATE, user=user, before=None, after=snapshot(statement))
            statement_saved(statement=statement)
            made.append(statement)
        elif statement.status == CommissionStatus.DRAFT:
            calculate(statement)
            recalculated.append(statement)
        else:
            kept.append(statement)
    return made, recalculated, kept
