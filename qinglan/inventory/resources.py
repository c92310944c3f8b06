from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from qinglan.core.detail import add_panel
from qinglan.core.menu import register_menu_group, register_menu_page
from qinglan.core.registry import register
from qinglan.core.resources import Action, Child, Panel, RecordLink, Resource

from . import inspections, services, stocktaking
from .forms import PartyCodeLineForm
from .choices import DocumentStatus, InspectionStatus, StocktakeStatus
from .models import (
    Batch,
    Inspection,
    Location,
    PartyItemCode,
    PurchaseReceipt,
    PurchaseReturn,
    ReorderRule,
    SalesDelivery,
    SalesReturn,
    StockAdjustment,
    StockBalance,
    StockDocumentLine,
    StockEntry,
    Stocktake,
    StockScrap,
    StockTransfer,
    Warehouse,
)

register_menu_group("inventory", _("Warehouse"), "bi-box-seam")


@register(Warehouse)
class WarehouseResource(Resource):
    columns = ("code", "name", "kind", "department", "owner", "allow_negative", "frozen", "active")
    filters = ("kind", "department", "owner", "allow_negative", "active")
    search = {"code": 100, "name": 100, "address": 300}
    fieldsets = (
        (_("Warehouse"), ("code", "name", "kind", "owner", "department", "managers")),
        (_("Rules"), ("allow_negative", "active", "address", "notes")),
    )
    children = {"locations": Child(Location, fields=("code", "name", "active"), label=_("bin locations"), extra=0)}
    panels = (
        Panel(_("Warehouse"), ("code", "name", "kind", "owner", "department", "managers", "address", "notes")),
        Panel(_("Rules"), ("allow_negative", "active", "frozen", "partly_frozen"), side=True),
        Panel(_("Stock"), template="inventory/warehouse_stock_panel.html"),
    )
    import_lookups = {"owner": "username", "department": "code"}
    department_field = "department"
    menu_group = "inventory"
    menu_order = 80
    icon = "bi-building"

    def own_q(self, user, action="view"):
        """A warehouse is the member's own when they are in charge of it or one of its managers."""
        return super().own_q(user, action) | Q(pk__in=Warehouse.managers.through.objects.filter(user_id=user.pk).values("warehouse_id"))


@register(Batch)
class BatchResource(Resource):
    columns = ("code", "product", "production_date", "expiry_date", "notes")
    filters = ("product", "expiry_date", "production_date")
    search = {"code": 100, "product__name": 300}
    fieldsets = ((_("Batch"), ("product", "code", "production_date", "expiry_date", "notes")),)
    import_lookups = {"product": "code"}
    # Row by row: the chunked import's unique check cannot yet compare a unique pair that
    # includes a reference (product, code) in one query.
    bulk_creatable = False
    menu_group = "inventory"
    menu_order = 70
    icon = "bi-upc"


class LedgerResource(Resource):
    """Balances and movements: read-only, seen through the warehouse's data scope."""

    read_only = True
    scope_through = "warehouse"


@register(StockBalance)
class StockBalanceResource(LedgerResource):
    columns = ("product", "warehouse", "batch", "on_hand", "reserved", "incoming", "value")
    filters = ("product", "warehouse", "batch", "on_hand")
    search = {}
    select_related = ("product", "warehouse", "batch")
    menu_group = "inventory"
    menu_order = 10
    menu_label = _("Stock balances")
    icon = "bi-boxes"


@register(StockEntry)
class StockEntryResource(LedgerResource):
    columns = ("posted_at", "kind", "product", "warehouse", "batch", "quantity", "unit_cost", "value", "document", "posted_by")
    filters = ("kind", "product", "warehouse", "batch", "posted_at")  # a document lists its own movements
    search = {}
    ordering = ("-id",)
    select_related = ("product", "warehouse", "batch", "document", "posted_by")
    panels = (
        Panel(_("Stock movement"), ("posted_at", "kind", "product", "variant", "warehouse", "location", "batch", "document", "reversal_of", "posted_by")),
        Panel(_("Quantity and value"), ("quantity", "unit_cost", "value"), side=True),
    )
    menu_group = "inventory"
    menu_order = 15
    menu_label = _("Stock movements")
    icon = "bi-arrow-left-right"


# ---- documents ---------------------------------------------------------------------------------


def _when(*statuses):
    return lambda record, user: record.status in statuses


LINE_COLUMNS = ("product", "quantity", "unit", "base_quantity", "batch", "location", "notes")
CANCEL = Action(
    services.cancel_document, _("Cancel"), style="outline-danger",
    available=_when(DocumentStatus.DRAFT, DocumentStatus.POSTED, DocumentStatus.IN_TRANSIT),
    confirm=_("Cancel this document? What it posted is reversed by new movements."),
)
POST = Action(
    services.post_document, _("Post"), style="success", available=_when(DocumentStatus.DRAFT),
    confirm=_("Post this document to the stock ledger?"),
)


def limit_line_choices(document, name, queryset):
    """A line picks an order line of its document's order (before the order is chosen: of an
    order being delivered) and a bin of its document's warehouse."""
    if name == "order_line":
        if document.sales_order_id:
            return queryset.filter(order_id=document.sales_order_id)
        return queryset.filter(order__status__in=("approved", "fulfilling"))
    if name == "location" and document.warehouse_id:
        return queryset.filter(warehouse_id=document.warehouse_id)
    return queryset


class DocumentResource(Resource):
    columns = ("code", "document_date", "warehouse", "status", "owner")
    filters = ("status", "warehouse", "owner", "document_date")
    search = {"code": 100, "reference": 100, "notes": 1000}
    header = ("warehouse", "document_date", "owner")
    more = ("reference", "notes")
    line_fields = ("product", "quantity", "unit", "batch", "location", "notes")
    line_columns = LINE_COLUMNS
    line_form = None
    actions = {"post": POST, "cancel": CANCEL}
    scope_through = "warehouse"
    import_lookups = {"warehouse": "code", "owner": "username", "partner": "code"}
    menu_group = "inventory"

    def __init__(self, model):
        super().__init__(model)
        self.fieldsets = ((model._meta.verbose_name, self.header), (_("Notes"), self.more))
        self.children = {
            "lines": Child(
                StockDocumentLine, fields=self.line_fields, label=_("lines"), extra=1, columns=self.line_columns, limit=limit_line_choices,
                form=self.line_form,
            ),
        }
        self.panels = (
            Panel(model._meta.verbose_name, ("code", "status", *self.header)),
            Panel(_("Notes"), self.more),
            Panel(_("Posting"), ("posted_at", "posted_by", "received_at", "cancelled_at"), side=True),
            Panel(_("Stock movements"), template="inventory/document_entries_panel.html"),
        )

    def edit_lock(self, record, action):
        return services.document_lock(record, action)

    def shown_in_menu(self, user):
        return services.kind_granted(user, self.model.document_kind)

    def before_save(self, record, *, user, created):
        services.prepare_document(document=record, created=created)

    def after_save(self, record, *, user, created):
        if created:
            services.check_kind_grant(document=record, user=user, model=self.model)
        services.document_saved(document=record)


@register(PurchaseReceipt)
class PurchaseReceiptResource(DocumentResource):
    columns = ("code", "document_date", "partner", "warehouse", "status", "owner")
    filters = ("status", "warehouse", "partner", "owner", "document_date")
    header = ("partner", "warehouse", "to_warehouse", "document_date", "owner")
    line_fields = ("party_code", "product", "quantity", "unit", "unit_cost", "batch_code", "production_date", "expiry_date", "location", "notes")
    line_columns = ("party_code", "product", "quantity", "unit", "unit_cost", "batch", "batch_code", "expiry_date", "location", "purchase_line")
    line_form = PartyCodeLineForm
    menu_order = 20
    icon = "bi-box-arrow-in-down"


@register(PurchaseReturn)
class PurchaseReturnResource(DocumentResource):
    columns = ("code", "document_date", "partner", "warehouse", "status", "owner")
    filters = ("status", "warehouse", "partner", "owner", "document_date")
    header = ("partner", "warehouse", "document_date", "owner")
    line_fields = ("party_code", "product", "quantity", "unit", "batch", "location", "notes")
    line_columns = ("party_code", *LINE_COLUMNS)
    line_form = PartyCodeLineForm
    menu_order = 25
    icon = "bi-box-arrow-up-left"


@register(SalesDelivery)
class SalesDeliveryResource(DocumentResource):
    columns = ("code", "document_date", "partner", "sales_order", "warehouse", "status", "owner")
    filters = ("status", "warehouse", "partner", "sales_order", "owner", "document_date")
    header = ("sales_order", "partner", "warehouse", "document_date", "owner")
    line_fields = ("order_line", "party_code", "product", "quantity", "unit", "batch", "location", "notes")
    line_columns = ("order_line", "party_code", *LINE_COLUMNS)
    line_form = PartyCodeLineForm
    import_lookups = {**DocumentResource.import_lookups, "sales_order": "code"}
    menu_order = 30
    icon = "bi-truck"


@register(SalesReturn)
class SalesReturnResource(DocumentResource):
    columns = ("code", "document_date", "partner", "sales_order", "warehouse", "status", "owner")
    filters = ("status", "warehouse", "partner", "sales_order", "owner", "document_date")
    header = ("sales_order", "partner", "warehouse", "document_date", "owner")
    line_fields = ("order_line", "party_code", "product", "quantity", "unit", "batch", "batch_code", "location", "notes")
    line_columns = ("order_line", "party_code", *LINE_COLUMNS)
    line_form = PartyCodeLineForm
    import_lookups = {**DocumentResource.import_lookups, "sales_order": "code"}
    menu_order = 35
    icon = "bi-arrow-return-left"


@register(StockTransfer)
class StockTransferResource(DocumentResource):
    columns = ("code", "document_date", "warehouse", "to_warehouse", "status", "owner")
    filters = ("status", "warehouse", "to_warehouse", "owner", "document_date")
    header = ("warehouse", "to_warehouse", "transit_warehouse", "document_date", "owner")
    line_fields = ("product", "quantity", "unit", "batch", "notes")
    line_columns = ("product", "quantity", "unit", "base_quantity", "batch", "notes")
    import_lookups = {**DocumentResource.import_lookups, "to_warehouse": "code", "transit_warehouse": "code"}
    actions = {
        "dispatch": Action(
            services.dispatch_transfer, _("Dispatch"), style="primary", available=_when(DocumentStatus.DRAFT),
            confirm=_("Send the goods on their way? They leave the warehouse for the in-transit warehouse."),
        ),
        "receive": Action(services.receive_transfer, _("Receive"), style="success", available=_when(DocumentStatus.IN_TRANSIT)),
        "cancel": CANCEL,
    }
    menu_order = 40
    icon = "bi-arrow-left-right"


@register(StockAdjustment)
class StockAdjustmentResource(DocumentResource):
    header = ("warehouse", "reason", "document_date", "owner")
    line_fields = ("product", "quantity", "unit", "unit_cost", "batch", "location", "notes")
    menu_order = 45
    icon = "bi-sliders"


@register(StockScrap)
class StockScrapResource(DocumentResource):
    header = ("warehouse", "reason", "document_date", "owner")
    menu_order = 50
    icon = "bi-trash3"


@register(Inspection)
class InspectionResource(Resource):
    columns = ("code", "product", "batch", "quantity", "warehouse", "target_warehouse", "status", "owner")
    filters = ("status", "warehouse", "target_warehouse", "product", "owner")
    search = {"code": 100, "product__name": 200, "result": 1000}
    fieldsets = (
        (_("Quality inspection"), ("warehouse", "target_warehouse", "product", "batch", "quantity", "owner")),
        (_("Result"), ("sample_size", "passed_quantity", "failed_quantity", "failed_goods", "result")),
    )
    panels = (
        Panel(_("Quality inspection"), ("code", "receipt", "warehouse", "target_warehouse", "product", "batch", "quantity", "status", "owner")),
        Panel(_("Result"), ("sample_size", "passed_quantity", "failed_quantity", "failed_goods", "result", "posted_at")),
    )
    actions = {
        "post": Action(
            inspections.post_inspection, _("Post result"), style="success", available=_when(InspectionStatus.OPEN),
            confirm=_("Post the result? Passed goods move to their warehouse, failed ones go back or to scrap."),
        ),
        "cancel": Action(inspections.cancel_inspection, _("Cancel"), style="outline-danger", available=_when(InspectionStatus.OPEN)),
    }
    import_lookups = {"warehouse": "code", "target_warehouse": "code", "product": "code", "owner": "username"}
    scope_through = "warehouse"
    menu_group = "inventory"
    menu_order = 55
    icon = "bi-clipboard2-check"

    def edit_lock(self, record, action):
        return inspections.inspection_lock(record, action)

    def before_save(self, record, *, user, created):
        inspections.prepare_inspection(inspection=record, created=created)


@register(PartyItemCode)
class PartyItemCodeResource(Resource):
    columns = ("party", "code", "name", "product", "variant", "unit")
    filters = ("party", "product")
    search = {"code": 100, "name": 200, "product__name": 300, "product__code": 100}
    fieldsets = ((_("Material mapping"), ("party", "code", "name", "product", "variant", "unit", "notes")),)
    import_lookups = {"party": "code", "product": "code", "variant": "code", "unit": "code"}
    bulk_creatable = False  # as batches: the unique pair (party, code) is checked row by row
    scope_through = "party"  # a member's data scope on mappings is that on the partner (customer or supplier)
    menu_group = "inventory"
    menu_order = 72
    icon = "bi-arrow-left-right"


@register(ReorderRule)
class ReorderRuleResource(Resource):
    columns = ("product", "warehouse", "minimum", "reorder_quantity")
    filters = ("product", "warehouse")
    search = {"product__name": 200, "product__code": 100}
    fieldsets = ((_("Reorder point"), ("product", "warehouse", "minimum", "reorder_quantity")),)
    import_lookups = {"product": "code", "warehouse": "code"}
    bulk_creatable = False  # as batches: the unique pair (product, warehouse) is checked row by row
    scope_through = "warehouse"
    menu_group = "inventory"
    menu_order = 75
    icon = "bi-bell"


@register(Stocktake)
class StocktakeResource(Resource):
    columns = ("code", "warehouse", "category", "blind", "status", "owner", "created")
    filters = ("status", "warehouse", "owner", "blind")
    search = {"code": 100, "notes": 1000}
    fieldsets = ((_("Stocktake"), ("warehouse", "category", "blind", "owner", "notes")),)
    panels = (
        Panel(_("Stocktake"), ("code", "warehouse", "category", "blind", "status", "owner", "posted_at", "notes")),
        Panel(_("Count sheet"), template="inventory/stocktake_sheet_panel.html"),
    )
    actions = {
        "post": Action(
            stocktaking.post_stocktake, _("Post variances"), style="success", available=_when(StocktakeStatus.COUNTING),
            confirm=_("Post the counted quantities? The variances become stock movements and the warehouse is unfrozen."),
        ),
        "cancel": Action(
            stocktaking.cancel_stocktake, _("Cancel"), style="outline-danger", available=_when(StocktakeStatus.COUNTING),
            confirm=_("Cancel this stocktake and unfreeze the warehouse?"),
        ),
    }
    record_links = {"sheet": RecordLink("inventory:stocktake_sheet", _("Count sheet"), icon="bi-clipboard-check")}
    import_lookups = {"warehouse": "code", "owner": "username"}
    scope_through = "warehouse"
    menu_group = "inventory"
    menu_order = 60
    icon = "bi-clipboard-data"

    def edit_lock(self, record, action):
        return stocktaking.stocktake_lock(record, action)

    def before_save(self, record, *, user, created):
        stocktaking.prepare_stocktake(stocktake=record, created=created)

    def after_save(self, record, *, user, created):
        if created:
            stocktaking.start_stocktake(stocktake=record, user=user)


for page in (
    ("inventory.stock", _("Stock report"), "inventory:stock", "bi-clipboard2-data", 5),
    ("inventory.value", _("Stock value"), "inventory:value", "bi-cash-stack", 6),
    ("inventory.alerts", _("Low stock and expiry"), "inventory:alerts", "bi-exclamation-triangle", 7),
    ("inventory.slow", _("Slow movers"), "inventory:slow", "bi-hourglass-bottom", 8),
):
    key, label, url_name, icon, order = page
    register_menu_page(group="inventory", key=key, label=label, url_name=url_name, icon=icon, order=order, model=StockBalance)


def _panels():
    from qinglan.products.models import Product
    from qinglan.sales.models import SalesOrder

    add_panel(Product, Panel(_("Stock"), template="inventory/product_stock_panel.html", side=True))
    add_panel(SalesOrder, Panel(_("Deliveries and returns"), template="inventory/order_stock_panel.html", side=True))


_panels()
