"""Sales services. An opportunity's status, probability, weighted and base-currency amounts,
department and code are kept here (the generic save paths call `prepare_opportunity` and
`opportunity_saved` through the resource's hooks); `move_stage` is the pipeline's drag and
drop; the customer's potential value follows its open opportunities."""

import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, DecimalField, F, Max, Min, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from qinglan.core.changelog import log_change, snapshot
from qinglan.core.detail import decimal_text
from qinglan.core.events import event_name, queue_event
from qinglan.core.models import ObjectChange
from qinglan.org.services import base_currency, next_numbers, to_base

from .choices import InvoiceKind, InvoiceStatus, OrderStatus, StageKind
from .defaults import SEQUENCE, create_defaults
from .models import (
    Invoice,
    InvoiceLine,
    Opportunity,
    Receipt,
    ReceiptAllocation,
    SalesOrder,
    SalesOrderLine,
    SalesOrderVersion,
    StageChange,
    TaxRate,
)

CENT = Decimal("0.01")


def ensure_defaults():
    """The opportunity number sequence, and the default stages, loss reasons, tax rates and
    payment terms when there are none (migrations make them; made again here if a database
    flush removed them)."""
    from django.apps import apps
    from django.conf import settings

    create_defaults(apps.get_model, settings.LANGUAGE_CODE)


def _number(sequence):
    try:
        return next_numbers(code=sequence["code"], count=1)[0]
    except ValidationError:  # no such sequence yet (or it was deleted): make it
        from qinglan.org.models import NumberSequence

        NumberSequence.objects.get_or_create(code=sequence["code"], defaults=sequence)
        return next_numbers(code=sequence["code"], count=1)[0]


def prepare_opportunity(*, opportunity, created, base=None):
    """Number a new opportunity and derive what follows from its values: the department of
    its owner, its status from the stage, the probability (a won or lost stage decides it:
    100 % or 0 %), the closing date, the weighted amount and both amounts in the base
    currency."""
    if created and not opportunity.code:
        opportunity.code = _number(SEQUENCE)
    opportunity.department_id = opportunity.owner.department_id if opportunity.owner_id else None
    stage = opportunity.stage
    was_open = opportunity.status == StageKind.OPEN
    opportunity.status = stage.kind
    if stage.kind != StageKind.OPEN:
        opportunity.probability = None
        if was_open or opportunity.closed_on is None:
            opportunity.closed_on = timezone.localdate()
    else:
        opportunity.closed_on = None
    if stage.kind != StageKind.LOST:
        opportunity.loss_reason = None
    base = base_currency() if base is None else base
    if opportunity.currency_id is None and base is not None:
        opportunity.currency = base
    opportunity.weighted_amount = (opportunity.amount * opportunity.effective_probability / 100).quantize(CENT)
    opportunity.amount_base = to_base(opportunity.amount, opportunity.currency, base=base)
    opportunity.weighted_base = None if opportunity.amount_base is None else (
        opportunity.amount_base * opportunity.effective_probability / 100
    ).quantize(CENT)


def opportunity_saved(*, opportunity, user, stage_before, status_before, customer_before):
    """After a save (form, API, import, pipeline): the total of the product lines becomes the
    expected amount, a stage move is recorded, winning or losing is announced
    (`sales.opportunity.won` / `.lost`), the customers' potential value follows."""
    lines = list(opportunity.lines.all())
    if lines:
        total = sum((line.total for line in lines), Decimal(0))
        if total != opportunity.amount:
            opportunity.amount = total
            prepare_opportunity(opportunity=opportunity, created=False)
            Opportunity.objects.filter(pk=opportunity.pk).update(
                amount=opportunity.amount, weighted_amount=opportunity.weighted_amount,
                amount_base=opportunity.amount_base, weighted_base=opportunity.weighted_base,
            )
    if stage_before != opportunity.stage_id:
        StageChange.objects.create(
            opportunity=opportunity, from_stage_id=stage_before, to_stage_id=opportunity.stage_id,
            changed_by=user if user is not None and user.is_authenticated else None,
            amount=opportunity.amount, probability=opportunity.effective_probability,
        )
    if opportunity.status != status_before and opportunity.status != StageKind.OPEN:
        queue_event(event_name(opportunity, opportunity.status), record=opportunity, user=user)
    refresh_customers({opportunity.customer_id, customer_before} - {None})


def refresh_customers(customer_ids):
    if customer_ids:
        from qinglan.customers.value import refresh_potential

        refresh_potential(customer_ids=customer_ids)


def weighted_open(customer_ids):
    """The customers' open opportunities weighted by probability, in the base currency: the
    sales part of their potential value (registered with the customers app)."""
    rows = (
        Opportunity.objects.filter(customer_id__in=list(customer_ids), status=StageKind.OPEN)
        .values("customer_id").annotate(total=Sum("weighted_base")).values_list("customer_id", "total")
    )
    return {customer_id: total or Decimal(0) for customer_id, total in rows}


@transaction.atomic
def move_stage(*, opportunity, stage, user, loss_reason=None, note=""):
    """Move an opportunity to another stage (the pipeline's drag and drop): the member must
    be allowed to change it; a lost stage needs a reason. Logged like any change."""
    current = Opportunity.objects.restrict(user, "change").select_for_update().filter(pk=opportunity.pk).first()
    if current is None:
        raise PermissionDenied(_("You may not change this opportunity."))
    if not stage.active:
        raise ValidationError(_("The stage “%(stage)s” is no longer in use.") % {"stage": stage})
    if current.stage_id == stage.pk:
        return current
    before = snapshot(current)
    stage_before, status_before = current.stage_id, current.status
    current.stage = stage
    current.probability = None  # the new stage's probability
    if stage.kind == StageKind.LOST:
        current.loss_reason = loss_reason
    if note:
        current.close_note = f"{current.close_note}\n{note}".strip()
    current.clean()
    prepare_opportunity(opportunity=current, created=False)
    current.save()
    log_change(record=current, action=ObjectChange.Action.UPDATE, user=user, before=before, after=snapshot(current))
    queue_event(event_name(current, "updated"), record=current, user=user)
    opportunity_saved(opportunity=current, user=user, stage_before=stage_before, status_before=status_before, customer_before=current.customer_id)
    return current


# ---- sales orders ----------------------------------------------------------------------------

ORDER_SEQUENCE = {"code": "so", "name": "銷售訂單 Sales orders", "prefix": "SO-{year}-"}
# Which status may follow which: the one place the order's way is decided.
ORDER_FLOW = {
    OrderStatus.DRAFT: {OrderStatus.SUBMITTED, OrderStatus.APPROVED, OrderStatus.CANCELLED},
    OrderStatus.SUBMITTED: {OrderStatus.APPROVED, OrderStatus.DRAFT, OrderStatus.CANCELLED},
    # A change order beyond the credit limit goes back to approval.
    OrderStatus.APPROVED: {OrderStatus.FULFILLING, OrderStatus.CLOSED, OrderStatus.CANCELLED, OrderStatus.SUBMITTED},
    OrderStatus.FULFILLING: {OrderStatus.COMPLETED, OrderStatus.CLOSED, OrderStatus.SUBMITTED},
    # A reversed delivery or a return reopens a completed order.
    OrderStatus.COMPLETED: {OrderStatus.FULFILLING},
    OrderStatus.CLOSED: set(),
    OrderStatus.CANCELLED: set(),
}
CHANGEABLE = {OrderStatus.DRAFT, OrderStatus.APPROVED, OrderStatus.FULFILLING}  # later changes make versions
VERSIONED = {OrderStatus.APPROVED, OrderStatus.FULFILLING}
OPEN_ORDERS = {OrderStatus.SUBMITTED, OrderStatus.APPROVED, OrderStatus.FULFILLING}
_exposure_sources = []


def order_lock(order, action):
    """Resource.edit_lock of a sales order (see SalesOrderResource)."""
    if order.status == OrderStatus.SUBMITTED:
        return _("The order is waiting for approval and cannot be changed until it is approved or rejected.")
    if order.status not in CHANGEABLE:
        return _("A %(status)s order cannot be changed.") % {"status": order.get_status_display()}
    if action == "delete" and order.status != OrderStatus.DRAFT:
        return _("Only a draft order can be deleted; cancel or close this one instead.")
    return None


def _move(order, status):
    if status not in ORDER_FLOW[order.status]:
        raise ValidationError(
            _("A %(current)s order cannot become %(next)s.") % {"current": order.get_status_display(), "next": OrderStatus(status).label}
        )
    order.status = status


def prepare_order(*, order, created, base=None):
    """Number a new order, keep its department with its owner, default its currency."""
    if created and not order.code:
        order.code = _number(ORDER_SEQUENCE)
    order.department_id = order.owner.department_id if order.owner_id else None
    base = base_currency() if base is None else base
    if order.currency_id is None and base is not None:
        order.currency = base


def line_amounts(line, places=2):
    """(net, tax, total) of a line: quantity × price less the discount; an inclusive rate's
    tax is taken out of that, an exclusive one's added to it; each rounded half up to the
    currency's places (cents; whole dollars for TWD), line by line."""
    unit = Decimal(1).scaleb(-places)
    gross = line.quantity * (line.unit_price or Decimal(0)) * (1 - (line.discount or Decimal(0)) / 100)
    rate = (line.tax_rate.rate / 100) if line.tax_rate_id else Decimal(0)
    if line.tax_rate_id and line.tax_rate.inclusive:
        total = gross.quantize(unit, ROUND_HALF_UP)
        net = (total / (1 + rate)).quantize(unit, ROUND_HALF_UP)
        tax = total - net
    else:
        net = gross.quantize(unit, ROUND_HALF_UP)
        tax = (net * rate).quantize(unit, ROUND_HALF_UP)
        total = net + tax
    return net.quantize(CENT), tax.quantize(CENT), total.quantize(CENT)  # stored with cents whatever the currency


def order_snapshot(order_id):
    """The order as stored (header and lines), as a version keeps it and the diff reads it."""
    order = SalesOrder.objects.select_related("currency", "payment_term", "contact").get(pk=order_id)
    return {
        "version": order.version,
        "status": order.status,
        "header": {
            "contact": str(order.contact or ""), "order_date": str(order.order_date), "delivery_date": str(order.delivery_date or ""),
            "currency": order.currency.code if order.currency_id else "", "payment_term": str(order.payment_term or ""),
            "notes": order.notes, "subtotal": str(order.subtotal), "tax_total": str(order.tax_total), "total": str(order.total),
        },
        "lines": [
            {
                "id": line.pk, "item": line.description or str(line.product or ""), "quantity": decimal_text(line.quantity, 4),
                "unit_price": str(line.unit_price), "discount": decimal_text(line.discount, 4),
                "tax_rate": str(line.tax_rate or ""), "total": str(line.line_total),
            }
            for line in order.lines.select_related("product", "tax_rate")
        ],
    }


def _priced_lines(document, line_model, parent_field, *, reprice=False):
    """The document's lines priced by the engine where no price is given (every line with
    `reprice`), taxed at the default rate where none is chosen, their amounts computed in the
    document currency's places."""
    from .pricing import price_document_lines

    lines = list(getattr(document, "lines").select_related("tax_rate", "product__category"))
    lines = price_document_lines(document=document, lines=lines, line_model=line_model, parent_field=parent_field, reprice=reprice)
    default_rate = TaxRate.objects.filter(is_default=True, active=True).order_by("pk").first()
    for line in lines:
        if line.tax_rate_id is None and default_rate is not None:
            line.tax_rate = default_rate  # a line left without a rate is taxed at the default one
        line.net_amount, line.tax_amount, line.line_total = line_amounts(line, places=document.money_places)
    return lines


def total_up(document, lines, *, on=None):
    """A document's net amount, tax, total and total in the base currency (at the rate of `on`,
    today by default) from its lines' amounts; returns the names of the fields set."""
    document.subtotal = sum((line.net_amount for line in lines), Decimal(0))
    document.tax_total = sum((line.tax_amount for line in lines), Decimal(0))
    document.total = document.subtotal + document.tax_total
    document.total_base = to_base(document.total, document.currency, on=on)
    return ["subtotal", "tax_total", "total", "total_base"]


def order_saved(*, order, user, previous=None, reprice=False):
    """After a save through the form, API or import: the lines' amounts and the order's
    totals; a change to an approved order keeps the previous version and checks the credit
    again (beyond the limit it is refused or goes back to approval)."""
    lines = _priced_lines(order, SalesOrderLine, "order", reprice=reprice)
    SalesOrderLine.objects.bulk_update(lines, ["tax_rate", "net_amount", "tax_amount", "line_total"])
    fields = total_up(order, lines)
    if previous is not None and previous["status"] in VERSIONED:
        current = order_snapshot(order.pk)
        current["header"].update(subtotal=str(order.subtotal), tax_total=str(order.tax_total), total=str(order.total))
        if (current["header"], _line_content(current)) != (previous["header"], _line_content(previous)):
            SalesOrderVersion.objects.create(order=order, version=previous["version"], data=previous, changed_by=_member(user))
            order.version = previous["version"] + 1
            fields.append("version")
            if order.total > Decimal(previous["header"]["total"]):
                reason = credit_problem(order)
                if reason:
                    _over_limit(order, reason)
                    fields += ["status", "approval_reason"]
    SalesOrder.objects.filter(pk=order.pk).update(**{name: getattr(order, name) for name in fields})
    if "status" in fields:
        _request_credit_approval(order, user)


@transaction.atomic
def reprice_order(*, record, user):
    """Price every line again by the price lists and promotions of the order's date (重新計價),
    hand-entered prices included; gift lines are made again. A change to an approved order
    is kept as a version like any other."""
    order = _locked_order(record, user, "change")
    reason = order_lock(order, "change")
    if reason:
        raise ValidationError(reason)
    before = snapshot(order)
    order_saved(order=order, user=user, previous=order_snapshot(order.pk), reprice=True)
    order.refresh_from_db()
    _log(order, before, user)
    return order


def _line_content(snapshot):
    return [{key: value for key, value in line.items() if key != "id"} for line in snapshot["lines"]]


def _member(user):
    return user if user is not None and user.is_authenticated else None


def register_exposure_source(source):
    """source(customer_id) -> Decimal: what else the customer owes, in the base currency (the
    invoices' unpaid receivables, once invoicing exists); added to its open orders when its
    credit is checked."""
    _exposure_sources.append(source)


def credit_exposure(customer_id, *, excluding=None):
    """The customer's open orders (submitted, approved, in fulfilment) in the base currency,
    plus what the registered sources say it owes."""
    orders = SalesOrder.objects.filter(customer_id=customer_id, status__in=OPEN_ORDERS)
    if excluding is not None:
        orders = orders.exclude(pk=excluding)
    total = orders.aggregate(total=Sum("total_base"))["total"] or Decimal(0)
    return total + sum((Decimal(source(customer_id)) for source in _exposure_sources), Decimal(0))


def credit_problem(order):
    """Why the order goes beyond its customer's credit limit (a sentence), or None."""
    limit = order.customer.credit_limit
    if limit is None:
        return None
    this = order.total_base if order.total_base is not None else order.total
    exposure = credit_exposure(order.customer_id, excluding=order.pk)
    if exposure + this <= limit:
        return None
    return _(
        "Beyond the credit limit of %(customer)s: open orders and receivables %(exposure)s + this order %(order)s = "
        "%(sum)s, limit %(limit)s."
    ) % {
        "customer": order.customer, "exposure": f"{exposure:,.2f}", "order": f"{this:,.2f}", "sum": f"{exposure + this:,.2f}",
        "limit": f"{limit:,.2f}",
    }


def _over_limit(order, reason):
    from qinglan.org.models import CompanyProfile

    policy = CompanyProfile.objects.values_list("credit_control", flat=True).first() or "block"
    if policy == "block":
        raise ValidationError(reason)
    _move(order, OrderStatus.SUBMITTED)
    order.approval_reason = reason


def _order_event(order, verb, user):
    queue_event(event_name(order, verb), record=order, user=user)


def locked(record, user, action, refusal):
    """The record read again under a row lock, if `user` may `action` it; else PermissionDenied(refusal)."""
    current = type(record).objects.restrict(user, action).select_for_update().filter(pk=record.pk).first()
    if current is None:
        raise PermissionDenied(refusal)
    return current


def _locked_order(order, user, action):
    return locked(order, user, action, _("You may not do this with this order."))


def _log(order, before, user):
    log_change(record=order, action=ObjectChange.Action.UPDATE, user=user, before=before, after=snapshot(order))


@transaction.atomic
def submit_order(*, record, user):
    """Submit a draft: with lines and a total, within the customer's credit limit it is
    approved at once; beyond it the order is refused or waits for approval in the order
    credit process (company profile)."""
    order = _locked_order(record, user, "change")
    if order.status != OrderStatus.DRAFT:
        raise ValidationError(_("Only a draft order can be submitted."))
    if not order.lines.exists():
        raise ValidationError(_("Add at least one line before submitting the order."))
    before = snapshot(order)
    reason = credit_problem(order)
    if reason:
        _over_limit(order, reason)
    else:
        _move(order, OrderStatus.APPROVED)
        order.approval_reason = ""
    order.save(update_fields=["status", "approval_reason", "last_updated"])
    if order.status == OrderStatus.SUBMITTED:
        _request_credit_approval(order, user)
    _log(order, before, user)
    _order_event(order, "submitted" if order.status == OrderStatus.SUBMITTED else "approved", user)
    return order


CREDIT_PROCESS = "sales_order_credit"
CREDIT_PROCESS_FILE = Path(__file__).parent / "processes" / "order_credit.bpmn"


def _request_credit_approval(order, user):
    from qinglan.workflow import services as workflow

    workflow.submit_for_approval(record=order, user=user, action="credit")


def credit_approved(order, user):
    """The order credit process approved the order (called by the workflow in its transaction)."""
    order = SalesOrder.objects.select_for_update().get(pk=order.pk)
    if order.status != OrderStatus.SUBMITTED:
        return
    before = snapshot(order)
    _move(order, OrderStatus.APPROVED)
    order.approved_by, order.approved_at = _member(user), timezone.now()
    order.save(update_fields=["status", "approved_by", "approved_at", "last_updated"])
    _log(order, before, user)
    _order_event(order, "approved", user)


def credit_refused(order, user, reason=""):
    """The order credit process rejected the order, or its approval was withdrawn: back to
    its owner as a draft, with the approver's reason."""
    order = SalesOrder.objects.select_for_update().get(pk=order.pk)
    if order.status != OrderStatus.SUBMITTED:
        return
    before = snapshot(order)
    _move(order, OrderStatus.DRAFT)
    if reason:
        order.approval_reason = _("Rejected: %(reason)s") % {"reason": reason}
    order.save(update_fields=["status", "approval_reason", "last_updated"])
    _log(order, before, user)
    _order_event(order, "rejected", user)


def bind_credit_approval():
    """Called from SalesConfig.ready(): an order beyond its customer's credit limit waits in
    the order credit process (shipped here); the outcome moves the order."""
    from django.utils.translation import gettext_lazy

    from qinglan.workflow import binding
    from qinglan.workflow.services import register_fixed_process

    register_fixed_process(CREDIT_PROCESS, CREDIT_PROCESS_FILE, names={"Order credit approval": gettext_lazy("Order credit approval")})
    binding.bind(
        "sales.SalesOrder", action="credit", process_key=CREDIT_PROCESS,
        data=lambda order: {"amount": order.total_base if order.total_base is not None else order.total, "customer": str(order.customer), "reason": order.approval_reason},
        on_approved=credit_approved,
        on_rejected=credit_refused,
        on_withdrawn=lambda order, user, reason: credit_refused(order, user),
    )


def _simple_step(status, verb, allowed_from, message):
    @transaction.atomic
    def step(*, record, user):
        order = _locked_order(record, user, "change")
        if order.status not in allowed_from:
            raise ValidationError(message)
        before = snapshot(order)
        _move(order, status)
        order.save(update_fields=["status", "last_updated"])
        _log(order, before, user)
        _order_event(order, verb, user)
        return order

    return step


start_fulfilment = _simple_step(
    OrderStatus.FULFILLING, "fulfilling", {OrderStatus.APPROVED}, gettext_lazy("Only an approved order can go into fulfilment."),
)
complete_order = _simple_step(
    OrderStatus.COMPLETED, "completed", {OrderStatus.FULFILLING}, gettext_lazy("Only an order in fulfilment can be completed."),
)
close_order = _simple_step(
    OrderStatus.CLOSED, "closed", {OrderStatus.APPROVED, OrderStatus.FULFILLING},
    gettext_lazy("Only an approved order or one in fulfilment can be closed."),
)
_cancel_step = _simple_step(
    OrderStatus.CANCELLED, "cancelled", {OrderStatus.DRAFT, OrderStatus.APPROVED},
    gettext_lazy("An order in fulfilment or finished cannot be cancelled; close it instead."),
)


@transaction.atomic
def cancel_order(*, record, user):
    """Cancel an order; one waiting for approval has its approval withdrawn first."""
    from qinglan.workflow import services as workflow

    order = _locked_order(record, user, "change")
    if order.status == OrderStatus.SUBMITTED:
        workflow.withdraw_approval(record=order, user=user, comment=_("The order is cancelled."))
        order.refresh_from_db()
    return _cancel_step(record=order, user=user)


@transaction.atomic
def add_supplementary_order(*, record, user):
    """A new draft order adding to an approved, running or completed one (same customer,
    currency and terms), linked to it."""
    order = _locked_order(record, user, "view")
    if order.status not in {OrderStatus.APPROVED, OrderStatus.FULFILLING, OrderStatus.COMPLETED}:
        raise ValidationError(_("A supplementary order is added to an approved, running or completed order."))
    if not _may_add(user):
        raise PermissionDenied(_("You may not add sales orders."))
    supplement = SalesOrder(
        customer=order.customer, contact=order.contact, opportunity=order.opportunity, original=order, currency=order.currency,
        payment_term=order.payment_term, owner=user if _member(user) else order.owner,
    )
    prepare_order(order=supplement, created=True)
    supplement.save()
    order_saved(order=supplement, user=user)
    log_change(record=supplement, action=ObjectChange.Action.CREATE, user=user, after=snapshot(supplement))
    _order_event(supplement, "created", user)
    return supplement


def _may_add(user):
    from qinglan.core.permissions import has_permission

    return has_permission(user, SalesOrder, "add")


@transaction.atomic
def order_from_opportunity(*, record, user):
    """A draft sales order for an opportunity's customer with its product lines (prices and
    discounts as agreed there), linked to it; the order's page opens next."""
    opportunity = Opportunity.objects.restrict(user, "view").select_for_update().filter(pk=record.pk).first()
    if opportunity is None:
        raise PermissionDenied(_("You may not do this with this opportunity."))
    if opportunity.status == StageKind.LOST:
        raise ValidationError(_("A lost opportunity gets no order."))
    if not _may_add(user):
        raise PermissionDenied(_("You may not add sales orders."))
    order = SalesOrder(
        customer=opportunity.customer, contact=opportunity.contact, opportunity=opportunity, currency=opportunity.currency,
        owner=user if _member(user) else opportunity.owner,
    )
    prepare_order(order=order, created=True)
    order.save()
    for line in opportunity.lines.select_related("product"):
        SalesOrderLine.objects.create(
            order=order, product=line.product, description=line.description, quantity=line.quantity,
            unit=line.product.base_unit if line.product_id else None, unit_price=line.unit_price, discount=line.discount,
        )
    order_saved(order=order, user=user)
    log_change(record=order, action=ObjectChange.Action.CREATE, user=user, after=snapshot(order, ["lines"]))
    _order_event(order, "created", user)
    return order


# ---- invoices and receipts -----------------------------------------------------------------

INVOICE_SEQUENCE = {"code": "invoice", "name": "發票 Invoices", "prefix": "INV-{year}-"}
CREDIT_NOTE_SEQUENCE = {"code": "credit_note", "name": "折讓單 Credit notes", "prefix": "CN-{year}-"}
RECEIPT_SEQUENCE = {"code": "receipt", "name": "收款單 Receipts", "prefix": "RC-{year}-"}
INVOICEABLE_ORDERS = {OrderStatus.APPROVED, OrderStatus.FULFILLING, OrderStatus.COMPLETED}
COUNTED_INVOICES = {InvoiceStatus.ISSUED, InvoiceStatus.PAID}


def invoice_lock(invoice, action):
    if invoice.status == InvoiceStatus.DRAFT:
        return None
    if invoice.status == InvoiceStatus.CANCELLED:
        return _("A cancelled invoice cannot be changed.")
    return _("An issued invoice cannot be changed or deleted; cancel it while nothing is paid on it.")


def prepare_invoice(*, invoice, created):
    if created and not invoice.code:
        invoice.code = _number(CREDIT_NOTE_SEQUENCE if invoice.kind == InvoiceKind.CREDIT_NOTE else INVOICE_SEQUENCE)
    invoice.department_id = invoice.owner.department_id if invoice.owner_id else None
    if invoice.currency_id is None:
        invoice.currency = invoice.order.currency if invoice.order_id and invoice.order.currency_id else base_currency()
    if invoice.due_date is None:
        days = invoice.order.payment_term.days if invoice.order_id and invoice.order.payment_term_id else 0
        invoice.due_date = invoice.invoice_date + datetime.timedelta(days=days)


def invoice_saved(*, invoice, user):
    """The lines' amounts (a line copied from an order line takes its product, price, discount
    and tax where left empty) and the invoice's totals."""
    lines = list(invoice.lines.select_related("order_line"))
    rates = {rate.pk: rate for rate in TaxRate.objects.all()}
    default_rate = next((rate for rate in sorted(rates.values(), key=lambda r: r.pk) if rate.is_default and rate.active), None)
    for line in lines:
        source = line.order_line
        if source is not None:
            line.product_id = line.product_id or source.product_id
            line.description = line.description or source.description
            line.tax_rate_id = line.tax_rate_id or source.tax_rate_id
        line.tax_rate = rates.get(line.tax_rate_id) or default_rate
        line.net_amount, line.tax_amount, line.line_total = line_amounts(line, places=invoice.money_places)
    InvoiceLine.objects.bulk_update(lines, ["product", "description", "tax_rate", "net_amount", "tax_amount", "line_total"])
    fields = total_up(invoice, lines, on=invoice.invoice_date)
    Invoice.objects.filter(pk=invoice.pk).update(**{name: getattr(invoice, name) for name in fields})


def invoiced_quantities(order_line_ids, *, excluding=None):
    """{order line id: quantity on invoices that are not cancelled}."""
    return _billed_quantities(order_line_ids, InvoiceKind.INVOICE, excluding=excluding)


def credited_quantities(order_line_ids, *, excluding=None):
    """{order line id: quantity on credit notes that are not cancelled}."""
    return _billed_quantities(order_line_ids, InvoiceKind.CREDIT_NOTE, excluding=excluding)


def _billed_quantities(order_line_ids, kind, *, excluding=None):
    lines = InvoiceLine.objects.filter(order_line_id__in=list(order_line_ids), invoice__kind=kind).exclude(invoice__status=InvoiceStatus.CANCELLED)
    if excluding is not None:
        lines = lines.exclude(invoice_id=excluding)
    return {row["order_line_id"]: row["quantity"] for row in lines.values("order_line_id").annotate(quantity=Sum("quantity"))}


@transaction.atomic
def invoice_from_order(*, record, user, delivered=False):
    """A draft invoice for what of an approved order is not invoiced yet: the ordered
    quantities, or with `delivered` only what was delivered (less returns)."""
    order = _locked_order(record, user, "view")
    if order.status not in INVOICEABLE_ORDERS:
        raise ValidationError(_("Only an approved, running or completed order is invoiced."))
    from qinglan.core.permissions import has_permission

    if not has_permission(user, Invoice, "add"):
        raise PermissionDenied(_("You may not add invoices."))
    lines = list(order.lines.all())
    done = invoiced_quantities([line.pk for line in lines])
    basis = (lambda line: line.delivered_quantity - line.returned_quantity) if delivered else (lambda line: line.quantity)
    remaining = [(line, basis(line) - done.get(line.pk, Decimal(0))) for line in lines]
    remaining = [(line, quantity) for line, quantity in remaining if quantity > 0]
    if not remaining:
        if delivered:
            raise ValidationError(_("Everything delivered on this order is invoiced already."))
        raise ValidationError(_("Everything on this order is invoiced already."))
    invoice = Invoice(customer=order.customer, order=order, currency=order.currency, owner=user if _member(user) else order.owner)
    prepare_invoice(invoice=invoice, created=True)
    invoice.save()
    _add_lines(invoice, [_line_from(line, quantity) for line, quantity in remaining], user)
    return invoice


def invoice_delivered(*, record, user):
    return invoice_from_order(record=record, user=user, delivered=True)


def _line_from(source, quantity):
    """An unsaved invoice line billing (or crediting) `quantity` of an order line or another
    invoice's line at its price, discount and tax."""
    order_line_id = source.pk if isinstance(source, SalesOrderLine) else source.order_line_id
    return InvoiceLine(
        order_line_id=order_line_id, product_id=source.product_id, description=source.description, quantity=quantity,
        unit_price=source.unit_price, discount=source.discount, tax_rate_id=source.tax_rate_id,
    )


def _add_lines(invoice, lines, user):
    """Save a new invoice's or credit note's lines, compute its amounts, log its creation."""
    for line in lines:
        line.invoice = invoice
    InvoiceLine.objects.bulk_create(lines)
    invoice_saved(invoice=invoice, user=user)
    log_change(record=invoice, action=ObjectChange.Action.CREATE, user=user, after=snapshot(invoice, ["lines"]))
    queue_event(event_name(invoice, "created"), record=invoice, user=user)


def _locked_invoice(invoice, user, action):
    return locked(invoice, user, action, _("You may not do this with this invoice."))


@transaction.atomic
def issue_invoice(*, record, user):
    """Issue a draft: it then counts as owed (receivables, credit, the customer's value) and
    cannot be changed; no order line may be invoiced beyond what was ordered. A credit note
    credits no more of an order line than was invoiced, nor more than its invoice's total."""
    invoice = _locked_invoice(record, user, "change")
    if invoice.status != InvoiceStatus.DRAFT:
        raise ValidationError(_("Only a draft invoice can be issued."))
    lines = list(invoice.lines.select_related("order_line"))
    if not lines:
        raise ValidationError(_("Add at least one line before issuing the invoice."))
    if invoice.is_credit_note:
        _check_credit(invoice, lines)
    else:
        _check_invoiced(invoice, lines)
    before = snapshot(invoice)
    invoice.status = InvoiceStatus.ISSUED
    invoice.save(update_fields=["status", "last_updated"])
    refresh_invoice_payments([invoice.pk])
    log_change(record=invoice, action=ObjectChange.Action.UPDATE, user=user, before=before, after=snapshot(invoice))
    queue_event(event_name(invoice, "issued"), record=invoice, user=user)
    refresh_customer_value(invoice.customer_id)
    if invoice.order_id:
        _complete_when_done(invoice.order_id, user)
    return invoice


def _check_invoiced(invoice, lines):
    ordered = [line for line in lines if line.order_line_id]
    earlier = invoiced_quantities([line.order_line_id for line in ordered], excluding=invoice.pk)
    for line in ordered:
        if earlier.get(line.order_line_id, Decimal(0)) + line.quantity > line.order_line.quantity:
            raise ValidationError(
                _("“%(item)s” would be invoiced beyond the %(ordered)s ordered (%(earlier)s invoiced already).")
                % {"item": line, "ordered": decimal_text(line.order_line.quantity, 4), "earlier": decimal_text(earlier.get(line.order_line_id, Decimal(0)), 4)}
            )


def _check_credit(note, lines):
    ordered = [line for line in lines if line.order_line_id]
    ids = [line.order_line_id for line in ordered]
    invoiced = invoiced_quantities(ids)
    credited = credited_quantities(ids, excluding=note.pk)
    for line in ordered:
        room = invoiced.get(line.order_line_id, Decimal(0)) - credited.get(line.order_line_id, Decimal(0))
        if line.quantity > room:
            raise ValidationError(
                _("“%(item)s”: %(quantity)s would be credited but only %(room)s is invoiced and not credited yet.")
                % {"item": line, "quantity": decimal_text(line.quantity, 4), "room": decimal_text(max(room, Decimal(0)), 4)}
            )
    target = note.credited_invoice
    if target is not None:
        if target.status not in COUNTED_INVOICES:
            raise ValidationError(_("Invoice %(invoice)s is not issued; only an issued invoice is credited.") % {"invoice": target})
        others = Invoice.objects.filter(credited_invoice=target, status__in=COUNTED_INVOICES).exclude(pk=note.pk)
        earlier = others.aggregate(total=Sum("total"))["total"] or Decimal(0)
        if earlier + note.total > target.total:
            raise ValidationError(
                _("Credit notes would take more than the %(total)s of invoice %(invoice)s (%(earlier)s credited already).")
                % {"total": decimal_text(target.total, 2), "invoice": target, "earlier": decimal_text(earlier, 2)}
            )


@transaction.atomic
def cancel_invoice(*, record, user):
    """Cancel a draft, or an issued invoice nothing is paid or credited on (a credit note:
    its credit comes off again)."""
    invoice = _locked_invoice(record, user, "change")
    if invoice.status == InvoiceStatus.CANCELLED:
        raise ValidationError(_("The invoice is cancelled already."))
    if invoice.allocations.exists():
        raise ValidationError(_("Payments are applied to this invoice; take them off the receipts first."))
    if invoice.credit_notes.exclude(status=InvoiceStatus.CANCELLED).exists():
        raise ValidationError(_("Credit notes are made against this invoice; cancel or delete them first."))
    before = snapshot(invoice)
    invoice.status = InvoiceStatus.CANCELLED
    invoice.balance_base = Decimal(0)
    invoice.credited_amount = Decimal(0)
    invoice.save(update_fields=["status", "balance_base", "credited_amount", "last_updated"])
    if invoice.credited_invoice_id:
        refresh_invoice_payments([invoice.credited_invoice_id])
    log_change(record=invoice, action=ObjectChange.Action.UPDATE, user=user, before=before, after=snapshot(invoice))
    queue_event(event_name(invoice, "cancelled"), record=invoice, user=user)
    refresh_customer_value(invoice.customer_id)
    return invoice


def refresh_invoice_payments(invoice_ids):
    """Paid and credited amounts, open balance and paid/issued status of invoices from the
    receipts and credit notes applied to them. Receipts come first; a credit note takes off
    what is still open of its invoice (oldest note first), the rest of it stays the customer's
    credit (a negative open balance, which lowers receivables and the credit exposure)."""
    ids = set(invoice_ids)
    targets = set(Invoice.objects.filter(pk__in=ids, kind=InvoiceKind.CREDIT_NOTE).exclude(credited_invoice=None).values_list("credited_invoice_id", flat=True))
    invoices = Invoice.objects.select_for_update().filter(pk__in=ids | targets, kind=InvoiceKind.INVOICE, status__in=COUNTED_INVOICES)
    invoices = {invoice.pk: invoice for invoice in invoices.order_by("pk")}
    notes = Invoice.objects.select_for_update().filter(status__in=COUNTED_INVOICES, kind=InvoiceKind.CREDIT_NOTE).filter(
        Q(pk__in=ids) | Q(credited_invoice_id__in=list(invoices))
    ).order_by("pk")
    notes = {note.pk: note for note in notes}
    paid = {
        row["invoice_id"]: row["total"]
        for row in ReceiptAllocation.objects.filter(invoice_id__in=list(invoices)).values("invoice_id").annotate(total=Sum("amount"))
    }
    open_amounts = {}
    for invoice in invoices.values():
        invoice.paid_amount = paid.get(invoice.pk, Decimal(0))
        invoice.credited_amount = Decimal(0)
        open_amounts[invoice.pk] = max(invoice.total - invoice.paid_amount, Decimal(0))
    for note in notes.values():
        applied = Decimal(0)
        if note.credited_invoice_id in open_amounts:
            applied = min(note.total, open_amounts[note.credited_invoice_id])
            open_amounts[note.credited_invoice_id] -= applied
            invoices[note.credited_invoice_id].credited_amount += applied
        note.credited_amount = applied
        note.paid_amount = Decimal(0)
        note.status = InvoiceStatus.ISSUED
        note.balance_base = -_base_share(note, note.total - applied)
        note.save(update_fields=["paid_amount", "credited_amount", "status", "balance_base", "last_updated"])
    for invoice in invoices.values():
        settled = invoice.paid_amount + invoice.credited_amount
        invoice.status = InvoiceStatus.PAID if settled >= invoice.total else InvoiceStatus.ISSUED
        invoice.balance_base = _base_share(invoice, invoice.total - settled)
        invoice.save(update_fields=["paid_amount", "credited_amount", "status", "balance_base", "last_updated"])


def _base_share(invoice, amount):
    """`amount` of the invoice's currency in the base currency, at the invoice's own rate."""
    if not invoice.total:
        return Decimal(0)
    return ((invoice.total_base or Decimal(0)) * amount / invoice.total).quantize(CENT)


def unpaid_receivables(customer_id):
    """The customer's open invoice balances in the base currency (registered as a credit exposure)."""
    rows = Invoice.objects.filter(customer_id=customer_id, status=InvoiceStatus.ISSUED)
    return rows.aggregate(total=Sum("balance_base"))["total"] or Decimal(0)


register_exposure_source(unpaid_receivables)


def refresh_customer_value(customer_id):
    """The customer's established value from its issued invoices, orders and receipts: lifetime
    revenue (net, base currency), gross margin (net less the products' cost), number and dates
    of orders, total received."""
    from qinglan.customers.value import record_established_value

    invoices = Invoice.objects.filter(customer_id=customer_id, status__in=COUNTED_INVOICES)
    revenue = Decimal(0)
    cost = Decimal(0)
    for invoice in invoices.prefetch_related("lines__product"):
        sign = -1 if invoice.is_credit_note else 1  # a credit note takes its revenue and the returned goods' cost back
        rate = (invoice.total_base / invoice.total) if invoice.total and invoice.total_base is not None else Decimal(1)
        revenue += sign * (invoice.subtotal * rate).quantize(CENT)
        cost += sign * sum(((line.product.cost or 0) * line.quantity for line in invoice.lines.all() if line.product_id), Decimal(0))
    orders = SalesOrder.objects.filter(customer_id=customer_id, status__in=OPEN_ORDERS | {OrderStatus.COMPLETED, OrderStatus.CLOSED})
    dates = orders.aggregate(first=Min("order_date"), last=Max("order_date"), count=Count("id"))
    received = Receipt.objects.filter(customer_id=customer_id).aggregate(total=Sum("amount"))["total"] or Decimal(0)
    record_established_value(
        customer_id=customer_id, lifetime_revenue=revenue, gross_margin=(revenue - cost).quantize(CENT), order_count=dates["count"],
        first_order_date=dates["first"], last_order_date=dates["last"], paid_total=received,
    )


def prepare_receipt(*, receipt, created):
    if created and not receipt.code:
        receipt.code = _number(RECEIPT_SEQUENCE)
    receipt.department_id = receipt.owner.department_id if receipt.owner_id else None
    if receipt.currency_id is None:
        receipt.currency = base_currency()


def receipt_saved(*, receipt, user, invoices_before=()):
    """After a receipt and its allocations are saved: each goes to an issued invoice of the
    same customer and currency, no more than received is applied, no invoice is paid beyond its
    total; the invoices' balances follow. The rest is the customer's prepayment."""
    allocations = list(receipt.allocations.select_related("invoice"))
    for allocation in allocations:
        invoice = allocation.invoice
        if invoice.customer_id != receipt.customer_id:
            raise ValidationError(_("Invoice %(invoice)s is another customer's.") % {"invoice": invoice})
        if invoice.status not in COUNTED_INVOICES:
            raise ValidationError(_("Invoice %(invoice)s is not issued.") % {"invoice": invoice})
        if invoice.currency_id != receipt.currency_id:
            raise ValidationError(_("Invoice %(invoice)s is in another currency.") % {"invoice": invoice})
    applied = sum((allocation.amount for allocation in allocations), Decimal(0))
    if applied > receipt.amount:
        raise ValidationError(
            _("%(applied)s is applied to invoices but only %(amount)s was received.") % {"applied": f"{applied:,.2f}", "amount": f"{receipt.amount:,.2f}"}
        )
    touched = {allocation.invoice_id for allocation in allocations} | set(invoices_before)
    totals = {
        row["invoice_id"]: row["total"]
        for row in ReceiptAllocation.objects.filter(invoice_id__in=touched).values("invoice_id").annotate(total=Sum("amount"))
    }
    for invoice in Invoice.objects.filter(pk__in=touched):
        if totals.get(invoice.pk, Decimal(0)) > invoice.total:
            raise ValidationError(
                _("More than the %(total)s of invoice %(invoice)s would be paid.") % {"total": f"{invoice.total:,.2f}", "invoice": invoice}
            )
    receipt.applied_amount = applied
    Receipt.objects.filter(pk=receipt.pk).update(applied_amount=applied)
    refresh_invoice_payments(touched)
    refresh_customer_value(receipt.customer_id)


def receipt_deleted(*, receipt):
    """A deleted receipt's payments come off its customer's invoices (its allocations went with it)."""
    refresh_invoice_payments(Invoice.objects.filter(customer_id=receipt.customer_id, status__in=COUNTED_INVOICES).values_list("pk", flat=True))
    refresh_customer_value(receipt.customer_id)


@transaction.atomic
def cash_sale(*, record, user):
    """A draft order sold over the counter in one step (現金銷售): submitted (within the
    credit rules), invoiced in full, the invoice issued and paid in cash; the order completed."""
    from qinglan.core.permissions import has_permission

    if not (has_permission(user, Invoice, "add") and has_permission(user, Receipt, "add")):
        raise PermissionDenied(_("A cash sale needs the right to add invoices and receipts."))
    order = submit_order(record=record, user=user)
    if order.status != OrderStatus.APPROVED:
        raise ValidationError(_("The order needs approval first: %(reason)s") % {"reason": order.approval_reason})
    invoice = issue_invoice(record=invoice_from_order(record=order, user=user), user=user)
    receipt = Receipt(customer=order.customer, owner=invoice.owner, amount=invoice.total, currency=invoice.currency, method="cash")
    prepare_receipt(receipt=receipt, created=True)
    receipt.save()
    ReceiptAllocation.objects.create(receipt=receipt, invoice=invoice, amount=invoice.total)
    receipt_saved(receipt=receipt, user=user)
    log_change(record=receipt, action=ObjectChange.Action.CREATE, user=user, after=snapshot(receipt, ["allocations"]))
    start_fulfilment(record=order, user=user)
    return complete_order(record=order, user=user)


# ---- credit notes and fulfilment -----------------------------------------------------------


def _new_credit_note(*, customer, order, currency, owner, credited_invoice=None):
    note = Invoice(
        kind=InvoiceKind.CREDIT_NOTE, customer=customer, order=order, currency=currency, owner=owner, credited_invoice=credited_invoice,
    )
    prepare_invoice(invoice=note, created=True)
    note.due_date = note.invoice_date
    note.save()
    return note


@transaction.atomic
def credit_note_from_invoice(*, record, user):
    """A draft credit note (折讓單) for what of an issued invoice is not credited yet, line by
    line; the member lowers the quantities or prices to what is given back, then issues it."""
    invoice = _locked_invoice(record, user, "view")
    from qinglan.core.permissions import has_permission

    if not has_permission(user, Invoice, "add"):
        raise PermissionDenied(_("You may not add invoices."))
    if invoice.is_credit_note or invoice.status not in COUNTED_INVOICES:
        raise ValidationError(_("Only an issued invoice is credited."))
    lines = list(invoice.lines.select_related("order_line"))
    credited = credited_quantities([line.order_line_id for line in lines if line.order_line_id])
    note = _new_credit_note(
        customer=invoice.customer, order=invoice.order, currency=invoice.currency, owner=user if _member(user) else invoice.owner,
        credited_invoice=invoice,
    )
    copies = []
    for line in lines:
        quantity = line.quantity
        if line.order_line_id:
            quantity = min(quantity, credited_room(line.order_line_id, credited))
        if quantity > 0:
            copies.append(_line_from(line, quantity))
    if not copies:
        raise ValidationError(_("Everything on this invoice is credited already."))
    _add_lines(note, copies, user)
    return note


def credited_room(order_line_id, credited):
    """How much of an order line is invoiced and not credited yet (`credited` as from credited_quantities)."""
    invoiced = invoiced_quantities([order_line_id]).get(order_line_id, Decimal(0))
    return invoiced - credited.get(order_line_id, Decimal(0))


@transaction.atomic
def credit_note_for_return(*, quantities, user):
    """The draft credit note of returned goods: {order line id: returned quantity}, credited
    at the order's prices as far as the lines are invoiced and not credited yet. All lines
    belong to one order. Returns None when nothing of them was invoiced (nothing to credit)."""
    lines = list(SalesOrderLine.objects.select_related("order").filter(pk__in=list(quantities)))
    if len(lines) != len(quantities):
        raise ValidationError(_("An order line of this return does not exist."))
    orders = {line.order_id for line in lines}
    if len(orders) != 1:
        raise ValidationError(_("A return credits the lines of one order."))
    order = lines[0].order
    credited = credited_quantities([line.pk for line in lines])
    pairs = []
    for line in lines:
        quantity = quantities[line.pk]
        if quantity <= 0:
            raise ValidationError(_("A returned quantity must be more than zero."))
        quantity = min(quantity, credited_room(line.pk, credited))
        if quantity > 0:
            pairs.append((line, quantity))
    if not pairs:
        return None
    invoices = set(
        InvoiceLine.objects.filter(order_line_id__in=[line.pk for line, _quantity in pairs], invoice__kind=InvoiceKind.INVOICE)
        .filter(invoice__status__in=COUNTED_INVOICES).values_list("invoice_id", flat=True)
    )
    target = Invoice.objects.get(pk=invoices.pop()) if len(invoices) == 1 else None
    note = _new_credit_note(
        customer=order.customer, order=order, currency=order.currency, owner=user if _member(user) else order.owner, credited_invoice=target,
    )
    _add_lines(note, [_line_from(line, quantity) for line, quantity in pairs], user)
    return note


@transaction.atomic
def record_fulfilment(*, line_id, delivered=Decimal(0), returned=Decimal(0), user=None):
    """What the warehouse delivered or took back of an order line (a reversal posts negative
    quantities). Refuses delivering more than ordered, returning more than delivered and
    delivering on an order that is not approved or running; the order goes into fulfilment at
    its first delivery and is completed when everything is delivered and invoiced."""
    line = SalesOrderLine.objects.select_related("order").get(pk=line_id)
    order = SalesOrder.objects.select_for_update().get(pk=line.order_id)
    line = SalesOrderLine.objects.select_for_update().get(pk=line_id)
    if delivered > 0 and order.status not in {OrderStatus.APPROVED, OrderStatus.FULFILLING}:
        raise ValidationError(_("Order %(order)s is %(status)s; only an approved order or one in fulfilment is delivered.") % {"order": order, "status": order.get_status_display()})
    new_delivered = line.delivered_quantity + delivered
    new_returned = line.returned_quantity + returned
    if new_delivered > line.quantity:
        raise ValidationError(
            _("“%(item)s” of order %(order)s: %(quantity)s would be delivered but %(ordered)s is ordered (%(done)s delivered already).")
            % {"item": line, "order": order, "quantity": decimal_text(delivered, 4), "ordered": decimal_text(line.quantity, 4), "done": decimal_text(line.delivered_quantity, 4)}
        )
    if new_delivered < 0 or new_returned < 0:
        raise ValidationError(_("“%(item)s” of order %(order)s: more would be reversed than was posted.") % {"item": line, "order": order})
    if new_returned > new_delivered:
        raise ValidationError(
            _("“%(item)s” of order %(order)s: %(quantity)s would be returned but only %(delivered)s was delivered (%(done)s returned already).")
            % {"item": line, "order": order, "quantity": decimal_text(returned, 4), "delivered": decimal_text(new_delivered, 4), "done": decimal_text(line.returned_quantity, 4)}
        )
    SalesOrderLine.objects.filter(pk=line.pk).update(delivered_quantity=new_delivered, returned_quantity=new_returned)
    before = snapshot(order)
    if order.status == OrderStatus.APPROVED and new_delivered > 0:
        _move(order, OrderStatus.FULFILLING)
    elif order.status == OrderStatus.COMPLETED and (delivered < 0 or returned > 0):
        _move(order, OrderStatus.FULFILLING)
    if order.status != before["status"]:
        order.save(update_fields=["status", "last_updated"])
        _log(order, before, user)
        _order_event(order, order.status, user)
    _complete_when_done(order.pk, user)
    return line


def _complete_when_done(order_id, user):
    """An order in fulfilment whose every line is delivered (less returns) and invoiced in
    full is completed."""
    order = SalesOrder.objects.select_for_update().get(pk=order_id)
    if order.status != OrderStatus.FULFILLING:
        return
    lines = list(order.lines.all())
    invoiced = invoiced_quantities([line.pk for line in lines])
    if lines and all(
        line.delivered_quantity - line.returned_quantity >= line.quantity and invoiced.get(line.pk, Decimal(0)) >= line.quantity for line in lines
    ):
        before = snapshot(order)
        _move(order, OrderStatus.COMPLETED)
        order.save(update_fields=["status", "last_updated"])
        _log(order, before, user)
        _order_event(order, "completed", user)


def lines_with_variance():
    """Order lines whose delivered (less returned) quantity differs from the ordered one, or
    whose invoiced (less credited) quantity differs from the delivered one."""
    def billed(kind):
        rows = InvoiceLine.objects.filter(order_line=OuterRef("pk"), invoice__kind=kind).exclude(invoice__status=InvoiceStatus.CANCELLED)
        return Coalesce(Subquery(rows.values("order_line").annotate(total=Sum("quantity")).values("total")[:1]), Decimal(0), output_field=DecimalField())

    executed = F("delivered_quantity") - F("returned_quantity")
    return SalesOrderLine.objects.annotate(
        executed=executed, net_invoiced=billed(InvoiceKind.INVOICE) - billed(InvoiceKind.CREDIT_NOTE)
    ).filter(~Q(executed=F("quantity")) | ~Q(net_invoiced=F("executed")))


def fulfilment_rows(order_ids):
    """Per order line: ordered, delivered, returned, invoiced, credited and paid (the line's
    share of its invoices' payments) — what the variance report and the order page show."""
    lines = list(SalesOrderLine.objects.filter(order_id__in=list(order_ids)).select_related("order", "product").order_by("order_id", "id"))
    ids = [line.pk for line in lines]
    invoiced = invoiced_quantities(ids)
    credited = credited_quantities(ids)
    paid = {}
    billed = InvoiceLine.objects.filter(order_line_id__in=ids, invoice__kind=InvoiceKind.INVOICE, invoice__status__in=COUNTED_INVOICES)
    for row in billed.values("order_line_id", "line_total", "invoice__total", "invoice__paid_amount"):
        share = row["line_total"] * row["invoice__paid_amount"] / row["invoice__total"] if row["invoice__total"] else Decimal(0)
        paid[row["order_line_id"]] = paid.get(row["order_line_id"], Decimal(0)) + share.quantize(CENT)
    rows = []
    for line in lines:
        row = {
            "line": line, "ordered": line.quantity, "delivered": line.delivered_quantity, "returned": line.returned_quantity,
            "invoiced": invoiced.get(line.pk, Decimal(0)), "credited": credited.get(line.pk, Decimal(0)),
            "billed_amount": line.line_total, "paid": paid.get(line.pk, Decimal(0)),
        }
        row["executed"] = row["delivered"] - row["returned"]
        row["net_invoiced"] = row["invoiced"] - row["credited"]
        row["to_deliver"] = row["ordered"] - row["executed"]
        row["to_invoice"] = row["executed"] - row["net_invoiced"]
        row["variance"] = row["to_deliver"] != 0 or row["to_invoice"] != 0
        rows.append(row)
    return rows
