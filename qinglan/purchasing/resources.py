from django.utils.translation import gettext_lazy as _

from qinglan.core.menu import register_menu_group
from qinglan.core.registry import register
from qinglan.core.resources import Action, Child, Panel, Resource

from . import services
from .choices import PurchaseStatus
from .models import PurchaseOrder, PurchaseOrderLine

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
        Panel(_("Purchase order"), ("code", "supplier", "warehouse", "order_date", "expected_date", "status", "owner", "department")),
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
