from django.utils.translation import gettext_lazy as _

from qinglan.core.menu import register_menu_group, register_menu_page
from qinglan.core.registry import register
from qinglan.core.resources import Action, Child, Panel, Resource

from qinglan.inventory.forms import PartyCodeLineForm

from . import payables, requisitions, services
from .choices import PurchaseStatus, RequestStatus, SupplierInvoiceStatus
from .models import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseRequest,
    PurchaseRequestLine,
    SupplierInvoice,
    SupplierInvoiceLine,
    SupplierPayment,
    SupplierPaymentAllocation,
)

register_menu_group("purchasing", _("Purchasing"), "bi-cart3")


def _when(*statuses):
    return lambda record, user: record.status in statuses


class OrderLineForm(PartyCodeLineForm):
    """A purchase order line may be entered by the supplier's item code."""

    party_field = "supplier"
    code_field = "supplier_code"
    parent_field = "order"


@register(PurchaseOrder)
class PurchaseOrderResource(Resource):
    columns = ("code", "supplier", "order_date", "expected_date", "warehouse", "status", "total", "owner")
    filters = ("status", "supplier", "warehouse", "owner", "order_date", "expected_date")
    search = {"code": 100, "supplier__name": 200, "notes": 1000}
    fieldsets = (
        (_("Purchase order"), ("supplier", "warehouse", "order_date", "expected_date", "owner")),
        (_("Terms"), ("currency", "notes")),
    )
    children = {
        "lines": Child(
            PurchaseOrderLine, fields=("supplier_code", "product", "quantity", "unit", "unit_price", "expected_date"), label=_("purchase order lines"), extra=1,
            columns=("supplier_code", "product", "quantity", "unit", "unit_price", "expected_date", "received_quantity", "invoiced_quantity"),
            form=OrderLineForm,
        ),
    }
    panels = (
        Panel(_("Purchase order"), ("code", "supplier", "warehouse", "order_date", "expected_date", "status", "owner", "department", "request")),
        Panel(_("Terms"), ("currency", "total", "invoiced_amount", "paid_amount", "notes"), side=True),
        Panel(_("Supplier invoices"), template="purchasing/order_invoices_panel.html", side=True),
    )
    actions = {
        "place": Action(services.place_order, _("Place order"), style="success", available=_when(PurchaseStatus.DRAFT),
                        confirm=_("Place this order with the supplier? It cannot be changed afterwards.")),
        "receive": Action(services.receipt_for_order, _("Receive"), permission="view", style="primary",
                          available=_when(PurchaseStatus.ORDERED, PurchaseStatus.PARTLY_RECEIVED)),
        "invoice": Action(payables.invoice_for_order, _("Enter supplier invoice"), permission="view", style="outline-primary",
                          available=_when(*payables.INVOICEABLE_ORDERS)),
        "cancel": Action(services.cancel_order, _("Cancel"), style="outline-danger", available=_when(PurchaseStatus.DRAFT, PurchaseStatus.ORDERED),
                         confirm=_("Cancel this purchase order?")),
    }
    import_lookups = {"supplier": "code", "warehouse": "code", "owner": "username", "currency": "code"}
    department_field = "department"
    menu_group = "purchasing"
    menu_order = 10
    icon = "bi-cart-check"

    def edit_lock(self, record, action):
        return services.order_lock(record, action)

    def before_save(self, record, *, user, created):
        services.prepare_order(order=record, created=created)

    def after_save(self, record, *, user, created):
        services.order_saved(order=record)

    def after_delete(self, record, *, user):
        if record.request_id:
            requisitions.refresh_request(record.request_id, user=user)  # what it ordered is to order again


@register(PurchaseRequest)
class PurchaseRequestResource(Resource):
    columns = ("code", "owner", "warehouse", "needed_by", "status", "department", "created")
    filters = ("status", "owner", "department", "warehouse", "needed_by")
    search = {"code": 100, "reason": 300, "notes": 1000}
    fieldsets = (
        (_("Purchase request"), ("owner", "warehouse", "needed_by", "reason")),
        (_("Notes"), ("notes",)),
    )
    children = {
        "lines": Child(
            PurchaseRequestLine, fields=("product", "quantity", "unit", "needed_by", "supplier", "notes"), label=_("purchase request lines"),
            extra=1, columns=("product", "quantity", "unit", "needed_by", "supplier", "ordered_quantity", "notes"),
        ),
    }
    panels = (
        Panel(_("Purchase request"), ("code", "owner", "department", "warehouse", "needed_by", "status", "reason", "notes")),
        Panel(_("Approval"), ("submitted_at", "decided_at", "decided_by", "decision_note"), side=True),
        Panel(_("Purchase orders"), template="purchasing/request_orders_panel.html", side=True),
    )
    actions = {
        "submit": Action(requisitions.submit_request, _("Submit for approval"), style="success", available=_when(RequestStatus.DRAFT)),
        "reopen": Action(requisitions.reopen_request, _("Back to draft"), style="outline-secondary", available=_when(RequestStatus.REJECTED)),
        "cancel": Action(requisitions.cancel_request, _("Cancel"), style="outline-danger", available=_when(*requisitions.CANCELLABLE),
                         confirm=_("Cancel this purchase request?")),
    }
    import_lookups = {"owner": "username", "warehouse": "code"}
    department_field = "department"
    menu_group = "purchasing"
    menu_order = 5
    icon = "bi-clipboard-plus"

    def edit_lock(self, record, action):
        return requisitions.request_lock(record, action)

    def before_save(self, record, *, user, created):
        requisitions.prepare_request(request=record, created=created)

    def after_save(self, record, *, user, created):
        requisitions.request_saved(request=record)


def limit_invoice_lines(invoice, name, queryset):
    """An invoice line picks a line of the invoice's purchase order (before the order is
    chosen: of an order that received goods)."""
    if name == "order_line":
        if invoice.order_id:
            return queryset.filter(order_id=invoice.order_id)
        return queryset.filter(order__status__in=payables.INVOICEABLE_ORDERS)
    return queryset


@register(SupplierInvoice)
class SupplierInvoiceResource(Resource):
    columns = ("code", "supplier", "order", "supplier_reference", "invoice_date", "due_date", "status", "total", "paid_amount")
    filters = ("status", "supplier", "order", "owner", "invoice_date", "due_date")
    search = {"code": 100, "supplier_reference": 100, "supplier__name": 200, "notes": 1000}
    fieldsets = ((_("Supplier invoice"), ("order", "supplier_reference", "invoice_date", "due_date", "owner", "notes")),)
    children = {
        "lines": Child(
            SupplierInvoiceLine, fields=("order_line", "quantity", "unit_price"), label=_("supplier invoice lines"), extra=1,
            columns=("order_line", "quantity", "unit_price", "amount"), limit=limit_invoice_lines,
        ),
    }
    panels = (
        Panel(_("Supplier invoice"), ("code", "supplier", "order", "supplier_reference", "invoice_date", "due_date", "status", "owner", "department", "notes")),
        Panel(_("Amounts"), ("currency", "total", "paid_amount", "balance_base"), side=True),
    )
    actions = {
        "issue": Action(payables.issue_invoice, _("Issue"), style="success", available=_when(SupplierInvoiceStatus.DRAFT),
                        confirm=_("Issue this supplier invoice? It is then owed and cannot be changed.")),
        "cancel": Action(payables.cancel_invoice, _("Cancel"), style="outline-danger", available=_when(SupplierInvoiceStatus.DRAFT, SupplierInvoiceStatus.ISSUED),
                         confirm=_("Cancel this supplier invoice?")),
    }
    import_lookups = {"order": "code", "owner": "username"}
    department_field = "department"
    menu_group = "purchasing"
    menu_order = 30
    icon = "bi-receipt"

    def edit_lock(self, record, action):
        return payables.invoice_lock(record, action)

    def before_save(self, record, *, user, created):
        payables.prepare_invoice(invoice=record, created=created)

    def after_save(self, record, *, user, created):
        payables.invoice_saved(invoice=record)


@register(SupplierPayment)
class SupplierPaymentResource(Resource):
    columns = ("code", "supplier", "paid_on", "method", "amount", "applied_amount", "owner")
    filters = ("method", "supplier", "owner", "paid_on", "currency")
    search = {"code": 100, "supplier__name": 200, "reference": 100}
    fieldsets = ((_("Supplier payment"), ("supplier", "paid_on", "method", "amount", "currency", "reference", "owner", "notes")),)
    children = {"allocations": Child(SupplierPaymentAllocation, fields=("invoice", "amount"), label=_("applied to supplier invoices"), extra=1)}
    panels = (
        Panel(_("Supplier payment"), ("code", "supplier", "paid_on", "method", "reference", "owner", "department", "notes")),
        Panel(_("Amounts"), ("amount", "currency", "applied_amount"), side=True),
    )
    import_lookups = {"supplier": "code", "owner": "username", "currency": "code"}
    department_field = "department"
    menu_group = "purchasing"
    menu_order = 40
    icon = "bi-cash-stack"

    def before_save(self, record, *, user, created):
        record._invoices_before = [] if created else list(SupplierPaymentAllocation.objects.filter(payment_id=record.pk).values_list("invoice_id", flat=True))
        payables.prepare_payment(payment=record, created=created)

    def after_save(self, record, *, user, created):
        payables.payment_saved(payment=record, invoices_before=getattr(record, "_invoices_before", ()))

    def after_delete(self, record, *, user):
        payables.payment_deleted(payment=record)


register_menu_page(
    group="purchasing", key="purchasing.payables", label=_("Payables aging"), url_name="purchasing:payables", icon="bi-hourglass-split", order=50,
    model=SupplierInvoice,
)
