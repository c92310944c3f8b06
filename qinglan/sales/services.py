"""Sales services. An opportunity's status, probability, weighted and base-currency amounts,
department and code are kept here (the generic save paths call `prepare_opportunity` and
`opportunity_saved` through the resource's hooks); `move_stage` is the pipeline's drag and
drop; the customer's potential value follows its open opportunities."""

from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from qinglan.core.changelog import log_change, snapshot
from qinglan.core.events import event_name, queue_event
from qinglan.core.models import ObjectChange
from qinglan.org.services import base_currency, next_numbers, to_base

from .choices import StageKind
from .defaults import SEQUENCE, create_defaults
from .models import Opportunity, StageChange

OPPORTUNITY_SEQUENCE = SEQUENCE["code"]
CENT = Decimal("0.01")


def ensure_defaults():
    """The opportunity number sequence, and the default stages and loss reasons when there are
    none (a migration makes them; made again here if a database flush removed them)."""
    from django.conf import settings

    from qinglan.org.models import NumberSequence

    from .models import LossReason, OpportunityStage

    create_defaults(NumberSequence, OpportunityStage, LossReason, settings.LANGUAGE_CODE)


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
