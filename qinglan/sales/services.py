"""Sales services. An opportunity's status, probability, weighted and base-currency amounts,
department and code are kept here (the generic save paths call `prepare_opportunity` and
`opportunity_saved` through the resource's hooks); `move_stage` is the pipeline's drag and
drop; the customer's potential value follows its open opportunities."""

from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from qinglan.core.changelog import log_change, snapshot
from qinglan.core.events import event_name, queue_event
from qinglan.core.models import ObjectChange
from qinglan.org.services import base_currency, next_numbers, to_base

from .choices import OrderStatus, StageKind
from .defaults import SEQUENCE, create_defaults
from .models import Opportunity, SalesOrder, SalesOrderLine, SalesOrderVersion, StageChange, TaxRate

OPPORTUNITY_SEQUENCE = SEQUENCE["code"]
CENT = Decimal("0.01")


def ensure_defaults():
    """The opportunity number sequence, and the default stages, loss reasons, tax rates and
    payment terms when there are none (migrations make them; made again here if a database
    flush removed them)."""
    from django.apps import apps
    from django.conf import settings

    create_defaults(apps.get_model, settings.LANGUAGE_CODE)


def opportunity_number():
    try:
        return next_numbers(code=OPPORTUNITY_SEQUENCE, count=1)[0]
    except ValidationError:  # the sequence was deleted: recreate it rather than refuse the save
        ensure_defaults()
        return next_numbers(code=OPPORTUNITY_SEQUENCE, count=1)[0]


def prepare_opportunity(*, opportunity, created, base=None):
    """Number a new opportunity and derive what follows from its values: the department of
    its owner, its status from the stage, the probability (a won or lost stage decides it:
    100 % or 0 %), the closing date, the weighted amount and both amounts in the base
    currency."""
    if created and not opportunity.code:
        opportunity.code = opportunity_number()
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

ORDER_SEQUENCE = "so"
# Which status may follow which: the one place the order's way is decided.
ORDER_FLOW = {
    OrderStatus.DRAFT: {OrderStatus.SUBMITTED, OrderStatus.APPROVED, OrderStatus.CANCELLED},
    OrderStatus.SUBMITTED: {OrderStatus.APPROVED, OrderStatus.DRAFT, OrderStatus.CANCELLED},
    # A change order beyond the credit limit goes back to approval.
    OrderStatus.APPROVED: {OrderStatus.FULFILLING, OrderStatus.CLOSED, OrderStatus.CANCELLED, OrderStatus.SUBMITTED},
    OrderStatus.FULFILLING: {OrderStatus.COMPLETED, OrderStatus.CLOSED, OrderStatus.SUBMITTED},
    OrderStatus.COMPLETED: set(),
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


def order_number():
    try:
        return next_numbers(code=ORDER_SEQUENCE, count=1)[0]
    except ValidationError:  # the sequence was deleted: recreate it rather than refuse the save
        from qinglan.org.models import NumberSequence

        NumberSequence.objects.get_or_create(code=ORDER_SEQUENCE, defaults={"name": "銷售訂單 Sales orders", "prefix": "SO-{year}-"})
        return next_numbers(code=ORDER_SEQUENCE, count=1)[0]


def prepare_order(*, order, created, base=None):
    """Number a new order, keep its department with its owner, default its currency."""
    if created and not order.code:
        order.code = order_number()
    order.department_id = order.owner.department_id if order.owner_id else None
    base = base_currency() if base is None else base
    if order.currency_id is None and base is not None:
        order.currency = base


def line_amounts(line):
    """(net, tax, total) of an order line: quantity × price less the discount; an inclusive
    rate's tax is taken out of that, an exclusive one's added to it; rounded to cents."""
    gross = line.quantity * line.unit_price * (1 - (line.discount or Decimal(0)) / 100)
    rate = (line.tax_rate.rate / 100) if line.tax_rate_id else Decimal(0)
    if line.tax_rate_id and line.tax_rate.inclusive:
        total = gross.quantize(CENT, ROUND_HALF_UP)
        net = (total / (1 + rate)).quantize(CENT, ROUND_HALF_UP)
        return net, total - net, total
    net = gross.quantize(CENT, ROUND_HALF_UP)
    tax = (net * rate).quantize(CENT, ROUND_HALF_UP)
    return net, tax, net + tax


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
                "id": line.pk, "item": line.description or str(line.product or ""), "quantity": str(line.quantity.normalize()),
                "unit_price": str(line.unit_price), "discount": str(line.discount.normalize()),
                "tax_rate": str(line.tax_rate or ""), "total": str(line.line_total),
            }
            for line in order.lines.select_related("product", "tax_rate")
        ],
    }


def order_saved(*, order, user, previous=None):
    """After a save through the form, API or import: the lines' amounts and the order's
    totals; a change to an approved order keeps the previous version and checks the credit
    again (beyond the limit it is refused or goes back to approval)."""
    lines = list(order.lines.select_related("tax_rate"))
    default_rate = TaxRate.objects.filter(is_default=True, active=True).order_by("pk").first()
    for line in lines:
        if line.tax_rate_id is None and default_rate is not None:
            line.tax_rate = default_rate  # a line left without a rate is taxed at the default one
        line.net_amount, line.tax_amount, line.line_total = line_amounts(line)
    SalesOrderLine.objects.bulk_update(lines, ["tax_rate", "net_amount", "tax_amount", "line_total"])
    order.subtotal = sum((line.net_amount for line in lines), Decimal(0))
    order.tax_total = sum((line.tax_amount for line in lines), Decimal(0))
    order.total = order.subtotal + order.tax_total
    order.total_base = to_base(order.total, order.currency)
    fields = ["subtotal", "tax_total", "total", "total_base"]
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


def _locked_order(order, user, action):
    current = SalesOrder.objects.restrict(user, action).select_for_update().filter(pk=order.pk).first()
    if current is None:
        raise PermissionDenied(_("You may not do this with this order."))
    return current


def _log(order, before, user):
    log_change(record=order, action=ObjectChange.Action.UPDATE, user=user, before=before, after=snapshot(order))


@transaction.atomic
def submit_order(*, record, user):
    """Submit a draft: with lines and a total, within the customer's credit limit it is
    approved at once; beyond it the order is refused or waits for approval (company profile)."""
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
    _log(order, before, user)
    _order_event(order, "submitted" if order.status == OrderStatus.SUBMITTED else "approved", user)
    return order


@transaction.atomic
def approve_order(*, record, user):
    order = _locked_order(record, user, "approve")
    if order.status != OrderStatus.SUBMITTED:
        raise ValidationError(_("Only an order waiting for approval can be approved."))
    before = snapshot(order)
    _move(order, OrderStatus.APPROVED)
    order.approved_by, order.approved_at = _member(user), timezone.now()
    order.save(update_fields=["status", "approved_by", "approved_at", "last_updated"])
    _log(order, before, user)
    _order_event(order, "approved", user)
    return order


@transaction.atomic
def reject_order(*, record, user):
    """Send an order waiting for approval back to its owner as a draft."""
    order = _locked_order(record, user, "approve")
    if order.status != OrderStatus.SUBMITTED:
        raise ValidationError(_("Only an order waiting for approval can be rejected."))
    before = snapshot(order)
    _move(order, OrderStatus.DRAFT)
    order.save(update_fields=["status", "last_updated"])
    _log(order, before, user)
    _order_event(order, "rejected", user)
    return order


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
cancel_order = _simple_step(
    OrderStatus.CANCELLED, "cancelled", {OrderStatus.DRAFT, OrderStatus.SUBMITTED, OrderStatus.APPROVED},
    gettext_lazy("An order in fulfilment or finished cannot be cancelled; close it instead."),
)


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
