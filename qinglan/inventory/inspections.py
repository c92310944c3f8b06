"""Quality inspection (品質檢驗): goods received into a QC warehouse wait there; an inspection
records the sample checked and how much passed and failed; posting it moves the passed goods
to the target warehouse and the failed ones back to the supplier or to scrap, at the value
they came in with."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from qinglan.core.changelog import log_change, snapshot
from qinglan.core.events import event_name, queue_event
from qinglan.core.models import ObjectChange

from . import stock
from .choices import EntryKind, FailedGoods, InspectionStatus, WarehouseKind
from .models import Inspection, Warehouse
from .services import SEQUENCES, number

SEQUENCE = {"code": "inspection", "name": "品質檢驗單 Quality inspections", "prefix": "QC-{year}-"}
SEQUENCES.setdefault("inspection", SEQUENCE)


def check_inspection(*, inspection):
    errors = {}
    if inspection.warehouse_id and inspection.warehouse.kind != WarehouseKind.QC:
        errors["warehouse"] = _("Goods are inspected in a quality inspection hold warehouse.")
    if inspection.target_warehouse_id and inspection.target_warehouse.kind in (WarehouseKind.QC, WarehouseKind.TRANSIT, WarehouseKind.SCRAP):
        errors["target_warehouse"] = _("Passed goods go to a warehouse where they can be used.")
    if inspection.batch_id and inspection.product_id and inspection.batch.product_id != inspection.product_id:
        errors["batch"] = _("This batch is of another product.")
    quantity = inspection.quantity
    if quantity is not None:
        if inspection.sample_size is not None and inspection.sample_size > quantity:
            errors["sample_size"] = _("The sample cannot be larger than the quantity inspected.")
        done = (inspection.passed_quantity or 0) + (inspection.failed_quantity or 0)
        if (inspection.passed_quantity is not None or inspection.failed_quantity is not None) and done > quantity:
            errors["failed_quantity"] = _("Passed and failed together cannot exceed the quantity inspected.")
    if errors:
        raise ValidationError(errors)


def inspection_lock(inspection, action):
    if action == "delete" and inspection.receipt_id:
        return _("An inspection of a receipt is not deleted; cancel it instead (the goods stay in the QC warehouse).")
    if inspection.status == InspectionStatus.OPEN:
        return None
    return _("A %(status)s inspection cannot be changed.") % {"status": inspection.get_status_display()}


def prepare_inspection(*, inspection, created):
    if created and not inspection.code:
        inspection.code = number(SEQUENCE)


def inspections_for_receipt(*, document, entries, user):
    """One open inspection per line of a receipt posted into a QC warehouse."""
    made = []
    for entry in entries:
        inspection = Inspection(
            receipt=document, warehouse_id=entry.warehouse_id, target_warehouse_id=document.to_warehouse_id, product_id=entry.product_id,
            batch_id=entry.batch_id, quantity=entry.quantity, owner=document.owner,
        )
        prepare_inspection(inspection=inspection, created=True)
        made.append(inspection)
    Inspection.objects.bulk_create(made)
    return made


@stock.retrying
def post_inspection(*, record, user):
    """Post the result: every unit inspected is passed or failed; the passed ones move to the
    target warehouse, the failed ones to scrap (the scrap warehouse when there is one) or out
    as returned to the supplier."""
    inspection = Inspection.objects.restrict(user, "change").select_for_update().filter(pk=record.pk).first()
    if inspection is None:
        raise PermissionDenied(_("You may not do this with this inspection."))
    if inspection.status != InspectionStatus.OPEN:
        raise ValidationError(_("Only an open inspection is posted."))
    check_inspection(inspection=inspection)
    passed, failed = inspection.passed_quantity or 0, inspection.failed_quantity or 0
    if passed + failed != inspection.quantity:
        raise ValidationError(_("Say how much of the %(quantity)s passed and how much failed.") % {"quantity": inspection.quantity.normalize()})
    if passed and not inspection.target_warehouse_id:
        raise ValidationError({"target_warehouse": _("Choose where the passed goods go.")})
    before = snapshot(inspection)
    inspection.status = InspectionStatus.POSTED
    inspection.posted_at = timezone.now()
    inspection.save(update_fields=["status", "posted_at", "last_updated"])
    log_change(record=inspection, action=ObjectChange.Action.UPDATE, user=user, before=before, after=snapshot(inspection))
    queue_event(event_name(inspection, "posted"), record=inspection, user=user)
    moves = []

    def leave(quantity, target_id):
        out = stock.Move(product_id=inspection.product_id, warehouse_id=inspection.warehouse_id, batch_id=inspection.batch_id,
                         quantity=-quantity, kind=EntryKind.INSPECTION, label=str(inspection.product))
        moves.append(out)
        if target_id:
            moves.append(stock.Move(product_id=inspection.product_id, warehouse_id=target_id, batch_id=inspection.batch_id,
                                    quantity=quantity, kind=EntryKind.INSPECTION, mirror_of=len(moves) - 1, label=str(inspection.product)))

    if passed:
        leave(passed, inspection.target_warehouse_id)
    if failed:
        scrap = None
        if inspection.failed_goods == FailedGoods.SCRAP:
            scrap = Warehouse.objects.filter(kind=WarehouseKind.SCRAP, active=True).order_by("pk").values_list("pk", flat=True).first()
        leave(failed, scrap)
    stock.post(moves, user=user, source=inspection)
    return inspection


def cancel_inspection(*, record, user):
    inspection = Inspection.objects.restrict(user, "change").select_for_update().filter(pk=record.pk).first()
    if inspection is None:
        raise PermissionDenied(_("You may not do this with this inspection."))
    if inspection.status != InspectionStatus.OPEN:
        raise ValidationError(_("Only an open inspection is cancelled; the goods stay in the QC warehouse."))
    before = snapshot(inspection)
    inspection.status = InspectionStatus.CANCELLED
    inspection.save(update_fields=["status", "last_updated"])
    log_change(record=inspection, action=ObjectChange.Action.UPDATE, user=user, before=before, after=snapshot(inspection))
    return inspection
