"""Purchase requests (請購): a member asks for products, quantities and dates with a reason;
submitting starts the shipped workflow process `purchasing_request_approval` (the
requester's manager approves, bound in apps.py); an approved request is converted into
purchase orders, one per chosen supplier, whose lines keep the link to the request lines and
never order more than was requested."""

from decimal import Decimal
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from qinglan.core.changelog import log_change, snapshot
from qinglan.core.detail import decimal_text
from qinglan.core.events import event_name, queue_event
from qinglan.core.models import ObjectChange
from qinglan.core.permissions import has_permission

from .choices import PurchaseStatus, RequestStatus
from .models import PurchaseOrder, PurchaseOrderLine, PurchaseRequest, PurchaseRequestLine

SEQUENCE = {"code": "purchase_request", "name": "請購單 Purchase requests", "prefix": "PR-{year}-"}
APPROVAL_PROCESS = "purchasing_request_approval"
APPROVAL_FILE = Path(__file__).parent / "processes" / "request_approval.bpmn"
CONVERTIBLE = {RequestStatus.APPROVED, RequestStatus.PARTLY_ORDERED}
CANCELLABLE = {RequestStatus.DRAFT, RequestStatus.SUBMITTED, RequestStatus.APPROVED}


def _member(user):
    return user if user is not None and user.is_authenticated else None


def request_lock(request, action):
    """Resource.edit_lock of a purchase request: only a draft is changed or deleted."""
    if request.status == RequestStatus.DRAFT:
        return None
    if action == "delete":
        return _("Only a draft purchase request is deleted; cancel this one instead.")
    return _("A purchase request that is %(status)s cannot be changed.") % {"status": request.get_status_display()}


def prepare_request(*, request, created):
    from qinglan.inventory.services import number

    if created and not request.code:
        request.code = number(SEQUENCE)
    request.department_id = request.owner.department_id if request.owner_id else None


def request_saved(*, request):
    """Each line's unit (the product's base unit when left empty, else one it converts to),
    and its date (the request's when left empty)."""
    from qinglan.products.services import convert_quantity

    lines = list(request.lines.select_related("product"))
    for line in lines:
        if not line.unit_id:
            line.unit_id = line.product.base_unit_id
        elif line.unit_id != line.product.base_unit_id:
            convert_quantity(product=line.product, quantity=line.quantity, from_unit=line.unit_id, to_unit=line.product.base_unit_id)
        if line.supplier_id and not line.supplier.is_supplier:
            raise ValidationError(_("%(partner)s is not a supplier.") % {"partner": line.supplier})
        line.needed_by = line.needed_by or request.needed_by
    PurchaseRequestLine.objects.bulk_update(lines, ["unit", "needed_by"])


def _locked(record, user, action="change"):
    request = PurchaseRequest.objects.restrict(user, action).select_for_update().filter(pk=record.pk).first()
    if request is None:
        raise PermissionDenied(_("You may not do this with this purchase request."))
    return request


def _step(request, before, user, verb, fields):
    request.save(update_fields=[*fields, "last_updated"])
    log_change(record=request, action=ObjectChange.Action.UPDATE, user=user, before=before, after=snapshot(request))
    queue_event(event_name(request, verb), record=request, user=user)
    return request


@transaction.atomic
def submit_request(*, record, user):
    """Submit a draft for approval: it waits for the requester's manager in the workflow."""
    from qinglan.workflow import services as workflow

    request = _locked(record, user)
    if request.status != RequestStatus.DRAFT:
        raise ValidationError(_("Only a draft purchase request is submitted."))
    if not request.lines.exists():
        raise ValidationError(_("Add at least one line before submitting the request."))
    if not request.reason.strip():
        raise ValidationError(_("Say why the goods are needed."))
    before = snapshot(request)
    request.status = RequestStatus.SUBMITTED
    request.submitted_at = timezone.now()
    request.decision_note = ""
    _step(request, before, user, "submitted", ["status", "submitted_at", "decision_note"])
    if workflow.submit_for_approval(record=request, user=user, action="approve") is None:
        _decide(request, user, RequestStatus.APPROVED, "")  # no bound process applies: approved at once
    return request


def _decide(request, user, status, note):
    before = snapshot(request)
    request.status = status
    request.decided_at, request.decided_by = timezone.now(), _member(user)
    request.decision_note = (note or "")[:500]
    verb = {RequestStatus.APPROVED: "approved", RequestStatus.REJECTED: "rejected"}.get(status, status)
    _step(request, before, user, verb, ["status", "decided_at", "decided_by", "decision_note"])


def request_approved(request, user):
    """The approval process approved the request (called by the workflow in its transaction)."""
    request = PurchaseRequest.objects.select_for_update().get(pk=request.pk)
    if request.status == RequestStatus.SUBMITTED:
        _decide(request, user, RequestStatus.APPROVED, "")


def request_rejected(request, user, reason=""):
    request = PurchaseRequest.objects.select_for_update().get(pk=request.pk)
    if request.status == RequestStatus.SUBMITTED:
        _decide(request, user, RequestStatus.REJECTED, reason)


def request_withdrawn(request, user, reason=""):
    """The approval was withdrawn: back to its requester as a draft."""
    request = PurchaseRequest.objects.select_for_update().get(pk=request.pk)
    if request.status == RequestStatus.SUBMITTED:
        before = snapshot(request)
        request.status = RequestStatus.DRAFT
        _step(request, before, user, "withdrawn", ["status"])


def bind_approval():
    """Called from PurchasingConfig.ready(): every submitted request waits in the shipped
    approval process; its outcome moves the request."""
    from django.utils.translation import gettext_lazy

    from qinglan.workflow import binding
    from qinglan.workflow.services import register_fixed_process

    register_fixed_process(APPROVAL_PROCESS, APPROVAL_FILE, names={"Purchase request approval": gettext_lazy("Purchase request approval")})
    binding.bind(
        "purchasing.PurchaseRequest", action="approve", process_key=APPROVAL_PROCESS,
        data=lambda request: {
            "requester": request.owner.username if request.owner_id else "",
            "requester_manager": request.owner.manager.username if request.owner_id and request.owner.manager_id else "",
            "reason": request.reason, "warehouse": str(request.warehouse),
        },
        on_approved=request_approved,
        on_rejected=request_rejected,
        on_withdrawn=request_withdrawn,
    )


@transaction.atomic
def cancel_request(*, record, user):
    """Cancel a request before anything of it is ordered; one waiting for approval has its
    approval withdrawn first."""
    from qinglan.workflow import services as workflow

    request = _locked(record, user)
    if request.status not in CANCELLABLE:
        raise ValidationError(_("A purchase request that is %(status)s is not cancelled.") % {"status": request.get_status_display()})
    if request.status == RequestStatus.SUBMITTED:
        workflow.withdraw_approval(record=request, user=user, comment=_("The purchase request is cancelled."))
        request.refresh_from_db()
    before = snapshot(request)
    request.status = RequestStatus.CANCELLED
    return _step(request, before, user, "cancelled", ["status"])


@transaction.atomic
def reopen_request(*, record, user):
    """A rejected request back to its requester as a draft, to change and submit again."""
    request = _locked(record, user)
    if request.status != RequestStatus.REJECTED:
        raise ValidationError(_("Only a rejected purchase request is reopened."))
    before = snapshot(request)
    request.status = RequestStatus.DRAFT
    return _step(request, before, user, "reopened", ["status"])


# ---- conversion into purchase orders -----------------------------------------------------------


def last_price(*, supplier_id, product_id):
    """The unit price of the supplier's latest purchase order line of the product, else the
    product's cost, else 0."""
    from qinglan.products.models import Product

    price = (
        PurchaseOrderLine.objects.filter(order__supplier_id=supplier_id, product_id=product_id).exclude(order__status=PurchaseStatus.CANCELLED)
        .order_by("-order_id", "-id").values_list("unit_price", flat=True).first()
    )
    if price is None:
        price = Product.objects.filter(pk=product_id).values_list("cost", flat=True).first()
    return price if price is not None else Decimal(0)


@transaction.atomic
def convert_request(*, record, user, choices):
    """Purchase orders (drafts) for an approved request: `choices` is a list of
    {"line": request line id, "supplier": Customer, "quantity": Decimal, "unit_price": Decimal};
    one order per supplier, its lines linked to the request lines. Refused with nothing
    written: a line of another request, a partner that is not a supplier, a quantity beyond
    what is still to order. Returns the orders."""
    request = _locked(record, user, "view")
    if request.status not in CONVERTIBLE:
        raise ValidationError(_("Only an approved purchase request is converted into purchase orders."))
    if not has_permission(user, PurchaseOrder, "add"):
        raise PermissionDenied(_("You may not add purchase orders."))
    lines = {line.pk: line for line in PurchaseRequestLine.objects.select_for_update().select_related("product").filter(request=request).order_by("pk")}
    groups = {}
    for choice in choices:
        line = lines.get(choice["line"])
        if line is None:
            raise ValidationError(_("This line is of another purchase request."))
        quantity, supplier, price = choice.get("quantity"), choice.get("supplier"), choice.get("unit_price")
        if quantity is None or quantity <= 0:
            continue
        if supplier is None:
            raise ValidationError(_("“%(item)s”: choose the supplier to order it from.") % {"item": line})
        if not supplier.is_supplier:
            raise ValidationError(_("%(partner)s is not a supplier.") % {"partner": supplier})
        if price is not None and price < 0:
            raise ValidationError(_("“%(item)s”: the unit price cannot be negative.") % {"item": line})
        groups.setdefault(supplier.pk, (supplier, []))[1].append((line, quantity, price))
    if not groups:
        raise ValidationError(_("Choose a supplier and a quantity for at least one line."))
    today = timezone.localdate()
    owner = _member(user) or request.owner
    orders = []
    from . import services

    for supplier_id in sorted(groups):
        supplier, items = groups[supplier_id]
        dates = [line.needed_by for line, _q, _p in items if line.needed_by]
        order = PurchaseOrder(
            supplier=supplier, warehouse=request.warehouse, owner=owner, request=request, order_date=today,
            expected_date=max(min(dates), today) if dates else None,
            notes=_("From purchase request %(code)s: %(reason)s") % {"code": request.code, "reason": request.reason},
        )
        services.prepare_order(order=order, created=True)
        order.save()
        for line, quantity, price in items:
            PurchaseOrderLine.objects.create(
                order=order, product=line.product, quantity=quantity, unit_id=line.unit_id, request_line=line,
                unit_price=price if price is not None else last_price(supplier_id=supplier.pk, product_id=line.product_id),
                expected_date=max(line.needed_by, today) if line.needed_by else None,
            )
        services.order_saved(order=order)
        log_change(record=order, action=ObjectChange.Action.CREATE, user=user, after=snapshot(order, ["lines"]))
        queue_event(event_name(order, "created"), record=order, user=user)
        orders.append(order)
    before = snapshot(request)
    refresh_request(request.pk, user=user, before=before)
    return orders


def refresh_request(request_id, *, user=None, before=None):
    """What the purchase orders (not cancelled) order of each line of a request, and its
    status: approved → partly ordered → ordered, or back. Refuses (ValidationError) a line
    ordered beyond its requested quantity."""
    from . import services

    if request_id is None:
        return
    request = PurchaseRequest.objects.select_for_update().filter(pk=request_id).first()
    if request is None:
        return
    lines = list(PurchaseRequestLine.objects.select_for_update().select_related("product").filter(request_id=request_id).order_by("pk"))
    ordered = {}
    for order_line in PurchaseOrderLine.objects.filter(request_line__request_id=request_id).exclude(order__status=PurchaseStatus.CANCELLED).select_related("product"):
        ordered[order_line.request_line_id] = ordered.get(order_line.request_line_id, Decimal(0)) + services.base_quantity(order_line, order_line.quantity)
    for line in lines:
        wanted = services.base_quantity(line, line.quantity)
        done = ordered.get(line.pk, Decimal(0))
        if done > wanted:
            raise ValidationError(
                _("“%(item)s” of purchase request %(request)s: %(ordered)s would be ordered but %(requested)s is requested.")
                % {"item": line, "request": request, "ordered": decimal_text(_in_unit(line, done), 4), "requested": decimal_text(line.quantity, 4)}
            )
        line.ordered_quantity = _in_unit(line, done)
        line.fully_ordered = done >= wanted
    PurchaseRequestLine.objects.bulk_update(lines, ["ordered_quantity"])
    if request.status in CONVERTIBLE | {RequestStatus.ORDERED}:
        if lines and all(line.fully_ordered for line in lines):
            status = RequestStatus.ORDERED
        elif any(line.ordered_quantity > 0 for line in lines):
            status = RequestStatus.PARTLY_ORDERED
        else:
            status = RequestStatus.APPROVED
        if status != request.status:
            before = before or snapshot(request)
            request.status = status
            _step(request, before, user, "ordered" if status == RequestStatus.ORDERED else "changed", ["status"])


def _in_unit(line, base):
    """A base-unit quantity in the request line's unit."""
    from qinglan.products.services import convert_quantity

    if not line.unit_id or line.unit_id == line.product.base_unit_id:
        return base
    return convert_quantity(product=line.product, quantity=base, from_unit=line.product.base_unit_id, to_unit=line.unit_id, places=4)


def conversion_rows(request, user):
    """The lines still to order, with the suggested supplier (the line's, else the latest one
    that supplied the product) and price, for the conversion page."""
    rows = []
    for line in request.lines.select_related("product", "unit", "supplier"):
        if line.open_quantity <= 0:
            continue
        supplier_id = line.supplier_id or (
            PurchaseOrderLine.objects.filter(product_id=line.product_id).exclude(order__status=PurchaseStatus.CANCELLED)
            .order_by("-order_id").values_list("order__supplier_id", flat=True).first()
        )
        rows.append({
            "line": line, "supplier_id": supplier_id, "quantity": line.open_quantity,
            "unit_price": last_price(supplier_id=supplier_id, product_id=line.product_id) if supplier_id else last_price(supplier_id=0, product_id=line.product_id),
        })
    return rows

