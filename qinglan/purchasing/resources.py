from django.utils.translation import gettext_lazy as _

from qinglan.core.menu import register_menu_group
from qinglan.core.registry import register
from qinglan.core.resources import Action, Child, Panel, Resource

from . import requisitions, services
from .choices import PurchaseStatus, RequestStatus
from .models import PurchaseOrder, PurchaseOrderLine, PurchaseRequest, PurchaseRequestLine

register_menu_group("purchasing", _("Purchasing"), "bi-cart3")


def _when(*statuses):
    return lambda record, user: record.status in statuses


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
            PurchaseOrderLine, fields=("product", "quantity", "unit", "unit_price", "expected_date"), label=_("purchase order lines"), extra=1,
            columns=("product", "quantity", "unit", "unit_price", "expected_date", "received_quantity"),
        ),
    }
    panels = (
        Panel(_("Purchase order"), ("code", "supplier", "warehouse", "order_date", "expected_date", "status", "owner", "department", "request")),
        Panel(_("Terms"), ("currency", "total", "notes"), side=True),
    )
    actions = {
        "place": Action(services.place_order, _("Place order"), style="success", available=_when(PurchaseStatus.DRAFT),
                        confirm=_("Place this order with the supplier? It cannot be changed afterwards.")),
        "receive": Action(services.receipt_for_order, _("Receive"), permission="view", style="primary",
                          available=_when(PurchaseStatus.ORDERED, PurchaseStatus.PARTLY_RECEIVED)),
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
