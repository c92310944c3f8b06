"""Purchasing services: purchase orders numbered, totalled, placed, received through the
warehouse's purchase receipts (never beyond what was ordered) and cancelled."""

from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from qinglan.core.changelog import log_change, snapshot
from qinglan.core.detail import decimal_text
from qinglan.core.events import event_name, queue_event
from qinglan.core.models import ObjectChange
from qinglan.org.services import base_currency

from .choices import PurchaseStatus
from .models import PurchaseOrder, PurchaseOrderLine

SEQUENCE = {"code": "purchase_order", "name": "採購單 Purchase orders", "prefix": "PO-{year}-"}
RECEIVABLE = {PurchaseStatus.ORDERED, PurchaseStatus.PARTLY_RECEIVED}


def _member(user):
    return user if user is not None and user.is_authenticated else None


def order_lock(order, action):
    if order.status == PurchaseStatus.DRAFT:
        return None
    if action == "delete":
        return _("Only a draft purchase order is deleted; cancel this one instead.")
    return _("A %(status)s purchase order cannot be changed.") % {"status": order.get_status_display()}


def prepare_order(*, order, created):
    from qinglan.inventory.services import number

    if created and not order.code:
        order.code = number(SEQUENCE)
    order.department_id = order.owner.department_id if order.owner_id else None
    if order.currency_id is None:
        order.currency = base_currency()


def order_saved(*, order):
    """Each line's unit (the product's base unit when left empty, else one it converts to),
    the supplier's code for its product (material mapping) when it has none, and the order's
    total."""
    from qinglan.products.services import convert_quantity

    from qinglan.inventory.services import party_codes

    lines = list(order.lines.select_related("product"))
    codes = party_codes(order.supplier_id, [line.product_id for line in lines if not line.supplier_code])
    for line in lines:
        if not line.unit_id:
            line.unit_id = line.product.base_unit_id
        elif line.unit_id != line.product.base_unit_id:
            convert_quantity(product=line.product, quantity=line.quantity, from_unit=line.unit_id, to_unit=line.product.base_unit_id)
        line.supplier_code = line.supplier_code or codes.get(line.product_id, "")
    PurchaseOrderLine.objects.bulk_update(lines, ["unit", "supplier_code"])
    order.total = sum(((line.quantity * line.unit_price).quantize(Decimal("0.01")) for line in lines), Decimal(0))
    PurchaseOrder.objects.filter(pk=order.pk).update(total=order.total)
    if order.request_id:
        from .requisitions import refresh_request

        refresh_request(order.request_id)  # never beyond what was requested


def _locked(record, user, action="change"):
    order = PurchaseOrder.objects.restrict(user, action).select_for_update().filter(pk=record.pk).first()
    if order is None:
        raise PermissionDenied(_("You may not do this with this purchase order."))
    return order


def _step(order, before, user, verb, fields):
    order.save(update_fields=[*fields, "last_updated"])
    log_change(record=order, action=ObjectChange.Action.UPDATE, user=user, before=before, after=snapshot(order))
    queue_event(event_name(order, verb), record=order, user=user)
    return order


@transaction.atomic
def place_order(*, record, user):
    """Send a draft to the supplier: from now on it is received, not changed."""
    order = _locked(record, user)
    if order.status != PurchaseStatus.DRAFT:
        raise ValidationError(_("Only a draft purchase order is placed."))
    if not order.lines.exists():
        raise ValidationError(_("Add at least one line before placing the order."))
    before = snapshot(order)
    order.status = PurchaseStatus.ORDERED
    _step(order, before, user, "ordered", ["status"])
    _expect(order, user)
    return order


def _expect(order, user):
    """What the order brings is incoming at its warehouse until it is received or cancelled."""
    from qinglan.inventory import stock

    items = []
    for line in order.lines.select_related("product"):
        items.append({"product_id": line.product_id, "warehouse_id": order.warehouse_id, "quantity": base_quantity(line, line.open_quantity),
                      "purchase_line": line})
    stock.expect_many(items, user=user)


def base_quantity(line, quantity):
    """`quantity` of the line's unit in its product's base unit."""
    from qinglan.products.services import convert_quantity

    if not line.unit_id or line.unit_id == line.product.base_unit_id:
        return Decimal(quantity)
    return convert_quantity(product=line.product, quantity=quantity, from_unit=line.unit_id, to_unit=line.product.base_unit_id, places=4)


def open_incoming(line_ids):
    """The open incoming commitments of purchase order lines, locked."""
    from qinglan.inventory import stock
    from qinglan.inventory.choices import CommitmentKind
    from qinglan.inventory.models import StockCommitment

    ids = StockCommitment.objects.filter(kind=CommitmentKind.INCOMING, purchase_line_id__in=list(line_ids), quantity__gt=0).values_list("pk", flat=True)
    return list(stock.lock_commitments(ids).values())


@transaction.atomic
def cancel_order(*, record, user):
    order = _locked(record, user)
    if order.status not in (PurchaseStatus.DRAFT, PurchaseStatus.ORDERED):
        raise ValidationError(_("A purchase order that is received, even in part, is not cancelled."))
    before = snapshot(order)
    was = order.status
    order.status = PurchaseStatus.CANCELLED
    _step(order, before, user, "cancelled", ["status"])
    if was == PurchaseStatus.ORDERED:
        from qinglan.inventory import stock

        stock.close_commitments(open_incoming(order.lines.values_list("pk", flat=True)))
    if order.request_id:
        from .requisitions import refresh_request

        refresh_request(order.request_id, user=user)  # what it ordered is to order again
    return order


@transaction.atomic
def receipt_for_order(*, record, user):
    """A draft purchase receipt of what is still open on a placed order, into its warehouse,
    at the order's prices; the clerk checks it (batches, quantities) and posts it."""
    from qinglan.core.permissions import has_permission
    from qinglan.inventory import services as inventory
    from qinglan.inventory.choices import DocumentKind
    from qinglan.inventory.models import PurchaseReceipt

    order = _locked(record, user, "view")
    if order.status not in RECEIVABLE:
        raise ValidationError(_("Only a placed purchase order is received."))
    if not has_permission(user, PurchaseReceipt, "add"):
        raise PermissionDenied(_("You may not add purchase receipts."))
    lines = [line for line in order.lines.select_related("product") if line.open_quantity > 0]
    if not lines:
        raise ValidationError(_("Everything on this purchase order is received already."))
    return inventory.create_document(
        kind=DocumentKind.RECEIPT, warehouse=order.warehouse, partner=order.supplier, reference=order.code, user=user,
        lines=[{"product": line.product, "quantity": line.open_quantity, "unit_id": line.unit_id, "unit_cost": line.unit_price, "purchase_line": line,
                "party_code": line.supplier_code} for line in lines],
    )


def record_receipt(*, line_id, quantity, user=None):
    """What a posted receipt brought in of a purchase order line (negative: a cancelled
    receipt), in the line's unit. Refuses receiving more than ordered or on an order that is
    not placed; the order's status follows."""
    line = PurchaseOrderLine.objects.only("order_id").get(pk=line_id)
    order = PurchaseOrder.objects.select_for_update().get(pk=line.order_id)
    line = PurchaseOrderLine.objects.select_for_update().select_related("product").get(pk=line_id)
    if quantity > 0 and order.status not in RECEIVABLE:
        raise ValidationError(_("Purchase order %(order)s is %(status)s; only a placed order is received.") % {"order": order, "status": order.get_status_display()})
    received = line.received_quantity + quantity
    if received > line.quantity:
        raise ValidationError(
            _("“%(item)s” of purchase order %(order)s: %(quantity)s would be received but %(ordered)s is ordered (%(done)s received already).")
            % {"item": line, "order": order, "quantity": decimal_text(quantity, 4), "ordered": decimal_text(line.quantity, 4), "done": decimal_text(line.received_quantity, 4)}
        )
    if received < 0:
        raise ValidationError(_("“%(item)s” of purchase order %(order)s: more would be taken back than was received.") % {"item": line, "order": order})
    if quantity < 0 and received < line.invoiced_quantity:
        raise ValidationError(
            _("“%(item)s” of purchase order %(order)s: %(invoiced)s of it is invoiced by the supplier; cancel the supplier invoice before taking the goods back.")
            % {"item": line, "order": order, "invoiced": decimal_text(line.invoiced_quantity, 4)}
        )
    PurchaseOrderLine.objects.filter(pk=line.pk).update(received_quantity=received)
    lines = list(order.lines.values_list("quantity", "received_quantity"))
    if all(done >= wanted for wanted, done in lines):
        status = PurchaseStatus.RECEIVED
    elif any(done > 0 for _wanted, done in lines):
        status = PurchaseStatus.PARTLY_RECEIVED
    else:
        status = PurchaseStatus.ORDERED
    if status != order.status:
        before = snapshot(order)
        order.status = status
        _step(order, before, user, status, ["status"])
