"""Accounts payable (應付帳款): supplier invoices against what a purchase order brought in —
a three-way check of ordered, received and invoiced quantities, never invoicing beyond what
was received and not invoiced yet — issued (owed) or cancelled; payments to suppliers applied
to their issued invoices (in part; what is not applied stays an advance to the supplier); the
purchase order's invoiced and paid amounts; the payables aging."""

import datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from qinglan.core.changelog import log_change, snapshot
from qinglan.core.detail import decimal_text
from qinglan.core.events import event_name, queue_event
from qinglan.core.models import ObjectChange
from qinglan.core.permissions import has_permission
from qinglan.org.services import base_currency, to_base

from .choices import PurchaseStatus, SupplierInvoiceStatus
from .models import PurchaseOrder, PurchaseOrderLine, SupplierInvoice, SupplierInvoiceLine, SupplierPayment, SupplierPaymentAllocation

INVOICE_SEQUENCE = {"code": "supplier_invoice", "name": "進項發票 Supplier invoices", "prefix": "SI-{year}-"}
PAYMENT_SEQUENCE = {"code": "supplier_payment", "name": "付款單 Supplier payments", "prefix": "PAY-{year}-"}
COUNTED = {SupplierInvoiceStatus.ISSUED, SupplierInvoiceStatus.PAID}
INVOICEABLE_ORDERS = {PurchaseStatus.PARTLY_RECEIVED, PurchaseStatus.RECEIVED}
DUE_DAYS = 30
CENT = Decimal("0.01")


def _member(user):
    return user if user is not None and user.is_authenticated else None


def _number(sequence):
    from qinglan.inventory.services import number

    return number(sequence)


def _log(record, before, user, verb, fields):
    record.save(update_fields=[*fields, "last_updated"])
    log_change(record=record, action=ObjectChange.Action.UPDATE, user=user, before=before, after=snapshot(record))
    queue_event(event_name(record, verb), record=record, user=user)
    return record


# ---- supplier invoices -------------------------------------------------------------------------


def invoice_lock(invoice, action):
    if invoice.status == SupplierInvoiceStatus.DRAFT:
        return None
    if action == "delete":
        return _("Only a draft supplier invoice is deleted; cancel this one instead.")
    return _("A %(status)s supplier invoice cannot be changed.") % {"status": invoice.get_status_display()}


def prepare_invoice(*, invoice, created):
    """Number a new invoice; its supplier and currency are its purchase order's."""
    if created and not invoice.code:
        invoice.code = _number(INVOICE_SEQUENCE)
    order = invoice.order
    if order.status in (PurchaseStatus.DRAFT, PurchaseStatus.CANCELLED):
        raise ValidationError({"order": _("Purchase order %(order)s is %(status)s; only a placed order is invoiced.") % {"order": order, "status": order.get_status_display()}})
    invoice.supplier_id, invoice.currency_id = order.supplier_id, order.currency_id
    invoice.department_id = invoice.owner.department_id if invoice.owner_id else None
    if invoice.due_date is None and invoice.invoice_date:
        invoice.due_date = invoice.invoice_date + datetime.timedelta(days=DUE_DAYS)
    if invoice.due_date and invoice.invoice_date and invoice.due_date < invoice.invoice_date:
        raise ValidationError({"due_date": _("An invoice cannot fall due before its date.")})


def invoice_saved(*, invoice):
    """Each line's price (the order's when left empty) and amount, the invoice's total; a line
    must be of the invoice's purchase order."""
    lines = list(invoice.lines.select_related("order_line"))
    for line in lines:
        if line.order_line.order_id != invoice.order_id:
            raise ValidationError(_("“%(item)s” is a line of another purchase order.") % {"item": line})
        if line.unit_price is None:
            line.unit_price = line.order_line.unit_price
        line.amount = (line.quantity * line.unit_price).quantize(CENT)
    SupplierInvoiceLine.objects.bulk_update(lines, ["unit_price", "amount"])
    invoice.total = sum((line.amount for line in lines), Decimal(0))
    SupplierInvoice.objects.filter(pk=invoice.pk).update(total=invoice.total)


def invoiced_quantities(order_line_ids, *, excluding=None):
    rows = SupplierInvoiceLine.objects.filter(order_line_id__in=list(order_line_ids), invoice__status__in=COUNTED)
    if excluding is not None:
        rows = rows.exclude(invoice_id=excluding)
    return {row["order_line_id"]: row["total"] for row in rows.values("order_line_id").annotate(total=Sum("quantity"))}


def _locked_order(order_id):
    return PurchaseOrder.objects.select_for_update().get(pk=order_id)


def _locked(model, record, user, action, refusal):
    found = model.objects.restrict(user, action).select_for_update().filter(pk=record.pk).first()
    if found is None:
        raise PermissionDenied(refusal)
    return found


@transaction.atomic
def invoice_for_order(*, record, user):
    """A draft supplier invoice of what a purchase order brought in and is not invoiced yet,
    at the order's prices; the clerk checks it against the supplier's paper and issues it."""
    order = _locked(PurchaseOrder, record, user, "view", _("You may not do this with this purchase order."))
    if not has_permission(user, SupplierInvoice, "add"):
        raise PermissionDenied(_("You may not add supplier invoices."))
    lines = list(order.lines.order_by("pk"))
    invoiced = invoiced_quantities([line.pk for line in lines])
    open_lines = [(line, line.received_quantity - invoiced.get(line.pk, Decimal(0))) for line in lines]
    open_lines = [(line, quantity) for line, quantity in open_lines if quantity > 0]
    if not open_lines:
        raise ValidationError(_("Nothing received on this purchase order is left to invoice."))
    invoice = SupplierInvoice(order=order, owner=_member(user) or order.owner)
    prepare_invoice(invoice=invoice, created=True)
    invoice.save()
    SupplierInvoiceLine.objects.bulk_create([SupplierInvoiceLine(invoice=invoice, order_line=line, quantity=quantity) for line, quantity in open_lines])
    invoice_saved(invoice=invoice)
    log_change(record=invoice, action=ObjectChange.Action.CREATE, user=user, after=snapshot(invoice))
    queue_event(event_name(invoice, "created"), record=invoice, user=user)
    return invoice


def three_way_check(invoice, lines):
    """Received vs ordered vs invoiced for each line: what is invoiced (with the other issued
    invoices) may not go beyond what was received. The purchase order is locked by the caller."""
    quantities = {}
    for line in lines:
        quantities[line.order_line_id] = quantities.get(line.order_line_id, Decimal(0)) + line.quantity
    earlier = invoiced_quantities(quantities, excluding=invoice.pk)
    order_lines = {line.pk: line for line in PurchaseOrderLine.objects.select_related("product").filter(pk__in=list(quantities))}
    for order_line_id, quantity in quantities.items():
        order_line = order_lines[order_line_id]
        done = earlier.get(order_line_id, Decimal(0))
        if done + quantity > order_line.received_quantity:
            raise ValidationError(
                _("“%(item)s” of purchase order %(order)s: %(quantity)s would be invoiced, but of the %(ordered)s ordered %(received)s is received "
                  "and %(invoiced)s invoiced already, so at most %(open)s can be invoiced.")
                % {"item": order_line, "order": invoice.order, "quantity": decimal_text(quantity, 4), "ordered": decimal_text(order_line.quantity, 4),
                   "received": decimal_text(order_line.received_quantity, 4), "invoiced": decimal_text(done, 4),
                   "open": decimal_text(max(order_line.received_quantity - done, Decimal(0)), 4)}
            )
    return {order_line_id: earlier.get(order_line_id, Decimal(0)) + quantity for order_line_id, quantity in quantities.items()}


@transaction.atomic
def issue_invoice(*, record, user):
    """Issue a draft: it is then owed to the supplier. Refused with nothing changed when a line
    would invoice beyond what was received and not invoiced yet."""
    invoice = _locked(SupplierInvoice, record, user, "change", _("You may not do this with this supplier invoice."))
    if invoice.status != SupplierInvoiceStatus.DRAFT:
        raise ValidationError(_("Only a draft supplier invoice is issued."))
    _locked_order(invoice.order_id)
    lines = list(invoice.lines.all())
    if not lines:
        raise ValidationError(_("Add at least one line before issuing the invoice."))
    invoiced = three_way_check(invoice, lines)
    before = snapshot(invoice)
    invoice.status = SupplierInvoiceStatus.ISSUED
    invoice.total_base = to_base(invoice.total, invoice.currency, on=invoice.invoice_date)
    invoice.balance_base = invoice.total_base if invoice.total_base is not None else invoice.total
    _log(invoice, before, user, "issued", ["status", "total_base", "balance_base"])
    for order_line_id, quantity in invoiced.items():
        PurchaseOrderLine.objects.filter(pk=order_line_id).update(invoiced_quantity=quantity)
    refresh_order_amounts(invoice.order_id)
    return invoice


@transaction.atomic
def cancel_invoice(*, record, user):
    """Cancel a draft, or an issued invoice nothing is paid on; its quantities may be invoiced again."""
    invoice = _locked(SupplierInvoice, record, user, "change", _("You may not do this with this supplier invoice."))
    if invoice.status == SupplierInvoiceStatus.CANCELLED:
        raise ValidationError(_("The supplier invoice is cancelled already."))
    if invoice.allocations.exists():
        raise ValidationError(_("Payments are applied to this invoice; take them off the payments first."))
    _locked_order(invoice.order_id)
    was = invoice.status
    before = snapshot(invoice)
    invoice.status = SupplierInvoiceStatus.CANCELLED
    invoice.balance_base = Decimal(0)
    _log(invoice, before, user, "cancelled", ["status", "balance_base"])
    if was in COUNTED:
        line_ids = list(invoice.lines.values_list("order_line_id", flat=True))
        totals = invoiced_quantities(line_ids)
        for order_line_id in line_ids:
            PurchaseOrderLine.objects.filter(pk=order_line_id).update(invoiced_quantity=totals.get(order_line_id, Decimal(0)))
        refresh_order_amounts(invoice.order_id)
    return invoice


def refresh_order_amounts(order_id):
    """A purchase order's invoiced and paid amounts from its issued supplier invoices."""
    sums = SupplierInvoice.objects.filter(order_id=order_id, status__in=COUNTED).aggregate(invoiced=Sum("total"), paid=Sum("paid_amount"))
    PurchaseOrder.objects.filter(pk=order_id).update(invoiced_amount=sums["invoiced"] or Decimal(0), paid_amount=sums["paid"] or Decimal(0))


def refresh_invoice_payments(invoice_ids):
    """Paid amount, open balance and issued/paid status of supplier invoices from the payments
    applied to them; their purchase orders' amounts follow."""
    invoices = list(SupplierInvoice.objects.select_for_update().filter(pk__in=set(invoice_ids), status__in=COUNTED).order_by("pk"))
    paid = {
        row["invoice_id"]: row["total"]
        for row in SupplierPaymentAllocation.objects.filter(invoice_id__in=[i.pk for i in invoices]).values("invoice_id").annotate(total=Sum("amount"))
    }
    for invoice in invoices:
        invoice.paid_amount = paid.get(invoice.pk, Decimal(0))
        invoice.status = SupplierInvoiceStatus.PAID if invoice.paid_amount >= invoice.total else SupplierInvoiceStatus.ISSUED
        total_base = invoice.total_base if invoice.total_base is not None else invoice.total
        invoice.balance_base = (total_base * (invoice.total - invoice.paid_amount) / invoice.total).quantize(CENT) if invoice.total else Decimal(0)
        invoice.save(update_fields=["paid_amount", "status", "balance_base", "last_updated"])
    for order_id in sorted({invoice.order_id for invoice in invoices}):
        refresh_order_amounts(order_id)


# ---- payments to suppliers ---------------------------------------------------------------------


def prepare_payment(*, payment, created):
    if created and not payment.code:
        payment.code = _number(PAYMENT_SEQUENCE)
    if payment.supplier_id and not payment.supplier.is_supplier:
        raise ValidationError({"supplier": _("%(partner)s is not a supplier.") % {"partner": payment.supplier}})
    payment.department_id = payment.owner.department_id if payment.owner_id else None
    if payment.currency_id is None:
        payment.currency = base_currency()


def payment_saved(*, payment, invoices_before=()):
    """After a payment and its allocations are saved: each goes to an issued invoice of the same
    supplier and currency, no more than paid is applied, no invoice is paid beyond its total;
    the invoices' balances follow. The rest is an advance to the supplier."""
    allocations = list(payment.allocations.select_related("invoice"))
    for allocation in allocations:
        invoice = allocation.invoice
        if invoice.supplier_id != payment.supplier_id:
            raise ValidationError(_("Supplier invoice %(invoice)s is another supplier's.") % {"invoice": invoice})
        if invoice.status not in COUNTED:
            raise ValidationError(_("Supplier invoice %(invoice)s is not issued.") % {"invoice": invoice})
        if invoice.currency_id != payment.currency_id:
            raise ValidationError(_("Supplier invoice %(invoice)s is in another currency.") % {"invoice": invoice})
    applied = sum((allocation.amount for allocation in allocations), Decimal(0))
    if applied > payment.amount:
        raise ValidationError(
            _("%(applied)s is applied to invoices but only %(amount)s was paid.") % {"applied": decimal_text(applied, 2), "amount": decimal_text(payment.amount, 2)}
        )
    touched = {allocation.invoice_id for allocation in allocations} | set(invoices_before)
    totals = {
        row["invoice_id"]: row["total"]
        for row in SupplierPaymentAllocation.objects.filter(invoice_id__in=touched).values("invoice_id").annotate(total=Sum("amount"))
    }
    for invoice in SupplierInvoice.objects.filter(pk__in=touched):
        if totals.get(invoice.pk, Decimal(0)) > invoice.total:
            raise ValidationError(
                _("More than the %(total)s of supplier invoice %(invoice)s would be paid.") % {"total": decimal_text(invoice.total, 2), "invoice": invoice}
            )
    payment.applied_amount = applied
    SupplierPayment.objects.filter(pk=payment.pk).update(applied_amount=applied)
    refresh_invoice_payments(touched)


def payment_deleted(*, payment):
    """A deleted payment's amounts come off its supplier's invoices (its allocations went with it)."""
    refresh_invoice_payments(SupplierInvoice.objects.filter(supplier_id=payment.supplier_id, status__in=COUNTED).values_list("pk", flat=True))


def supplier_advance(supplier_id):
    """What was paid to a supplier and not applied to any invoice (advances), by currency."""
    rows = SupplierPayment.objects.filter(supplier_id=supplier_id).values("currency__code").annotate(paid=Sum("amount"), applied=Sum("applied_amount"))
    return {row["currency__code"]: row["paid"] - row["applied"] for row in rows if row["paid"] != row["applied"]}
