"""Warehouse (倉庫管理): warehouses (physical and virtual) with optional bin locations, batches,
the stock ledger of immutable entries, the balances kept from it under row locks, open
commitments (reserved and incoming quantities) and the documents that post to the ledger.

Quantities in the ledger and the balances are in the product's base unit; a document line
may be in another unit of the product and is converted when it is saved."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from qinglan.core.models import BaseModel, ChildModel, OwnedModel, RestrictedManager

from .choices import CommitmentKind, DocumentKind, DocumentStatus, EntryKind, FailedGoods, InspectionStatus, StocktakeStatus, WarehouseKind

QUANTITY = {"max_digits": 18, "decimal_places": 4}
COST = {"max_digits": 18, "decimal_places": 4}
VALUE = {"max_digits": 20, "decimal_places": 4}


class Warehouse(OwnedModel):
    """A place stock is kept in. Its owner is the warehouse manager in charge; `managers` may
    work in it too. Who sees a warehouse and its stock follows the data scopes on its owner
    and department."""

    code = models.CharField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=12, choices=WarehouseKind.choices, default=WarehouseKind.PHYSICAL)
    department = models.ForeignKey(
        "org.Department", verbose_name=_("department"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
    )
    managers = models.ManyToManyField(settings.AUTH_USER_MODEL, verbose_name=_("managers"), blank=True, related_name="managed_warehouses")
    allow_negative = models.BooleanField(
        _("allow negative stock"), default=False, help_text=_("Let deliveries go ahead of receipts; stock may then fall below zero."),
    )
    active = models.BooleanField(_("active"), default=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    # Kept by the stocktaking services: nothing posts to a frozen warehouse but its stocktake.
    frozen = models.BooleanField(_("frozen for stocktaking"), default=False, editable=False)
    # Kept by the stocktaking services: a stocktake of one category (and below) is counting here;
    # only the products of that subtree are frozen.
    partly_frozen = models.BooleanField(_("a category is being counted"), default=False, editable=False)

    class Meta:
        ordering = ("code",)
        verbose_name = _("warehouse")
        verbose_name_plural = _("warehouses")
        indexes = [
            models.Index(fields=("department", "id"), name="warehouse_department_id"),
            models.Index(fields=("owner", "id"), name="warehouse_owner_id"),
        ]

    def __str__(self):
        return f"{self.code} {self.name}"


class Location(ChildModel):
    """A bin or shelf of a warehouse (A-01-03), optional."""

    warehouse = models.ForeignKey(Warehouse, verbose_name=_("warehouse"), on_delete=models.CASCADE, related_name="locations")
    code = models.CharField(_("code"), max_length=30)
    name = models.CharField(_("name"), max_length=100, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ("warehouse", "code")
        verbose_name = _("bin location")
        verbose_name_plural = _("bin locations")
        constraints = [models.UniqueConstraint(fields=("warehouse", "code"), name="inventory_location_code")]

    def __str__(self):
        return f"{self.code} {self.name}".strip()


class Batch(BaseModel):
    """A lot of a product received together, with its production and expiry dates."""

    choices_for_everyone = True
    product = models.ForeignKey("products.Product", verbose_name=_("product"), on_delete=models.PROTECT, related_name="batches")
    code = models.CharField(_("batch number"), max_length=50)
    production_date = models.DateField(_("production date"), null=True, blank=True)
    expiry_date = models.DateField(_("expiry date"), null=True, blank=True)
    notes = models.CharField(_("notes"), max_length=200, blank=True)

    class Meta:
        ordering = ("product", "expiry_date", "code")
        verbose_name = _("batch")
        verbose_name_plural = _("batches")
        constraints = [models.UniqueConstraint(fields=("product", "code"), name="inventory_batch_code")]
        indexes = [models.Index(fields=("expiry_date", "id"), name="inventory_batch_expiry")]

    def __str__(self):
        return f"{self.code} ({self.expiry_date:%Y-%m-%d})" if self.expiry_date else self.code

    def clean(self):
        if self.production_date and self.expiry_date and self.expiry_date < self.production_date:
            raise ValidationError({"expiry_date": _("A batch cannot expire before it is produced.")})

    def expired(self, on=None):
        return self.expiry_date is not None and self.expiry_date < (on or timezone.localdate())


class StockEntry(models.Model):
    """One movement of the ledger: a quantity (positive in, negative out, in the product's base
    unit) at a unit cost. Entries are never changed or deleted; a posted document is cancelled
    by reversing entries."""

    product = models.ForeignKey("products.Product", verbose_name=_("product"), on_delete=models.PROTECT, related_name="+")
    variant = models.ForeignKey("products.ProductVariant", verbose_name=_("variant"), on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    warehouse = models.ForeignKey(Warehouse, verbose_name=_("warehouse"), on_delete=models.PROTECT, related_name="entries")
    location = models.ForeignKey(Location, verbose_name=_("bin location"), on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    batch = models.ForeignKey(Batch, verbose_name=_("batch"), on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    quantity = models.DecimalField(_("quantity"), **QUANTITY)
    unit_cost = models.DecimalField(_("unit cost"), **COST)
    value = models.DecimalField(_("amount"), **VALUE)
    kind = models.CharField(_("movement"), max_length=16, choices=EntryKind.choices)
    document = models.ForeignKey(
        "StockDocument", verbose_name=_("document"), on_delete=models.PROTECT, null=True, blank=True, related_name="entries",
    )
    document_line = models.ForeignKey("StockDocumentLine", on_delete=models.PROTECT, null=True, blank=True, related_name="entries")
    # Any other source (a stocktake, an inspection): its type and id.
    source_type = models.ForeignKey("contenttypes.ContentType", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    source_id = models.PositiveBigIntegerField(null=True, blank=True)
    reversal_of = models.ForeignKey(
        "self", verbose_name=_("reverses"), on_delete=models.PROTECT, null=True, blank=True, related_name="reversals",
    )
    posted_at = models.DateTimeField(_("posted at"), default=timezone.now)
    posted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("posted by"), on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    objects = RestrictedManager()

    class Meta:
        ordering = ("-posted_at", "-id")
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        indexes = [
            models.Index(fields=("product", "posted_at", "id"), name="stock_entry_product_time"),
            models.Index(fields=("warehouse", "posted_at", "id"), name="stock_entry_warehouse_time"),
            models.Index(fields=("document", "id"), name="stock_entry_document"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.quantity.normalize():f}"

    def get_absolute_url(self):
        from qinglan.core.registry import registry

        return registry.get(StockEntry).url("detail", self)

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValidationError(gettext("A stock movement is never changed; post a reversing movement instead."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(gettext("A stock movement is never deleted; post a reversing movement instead."))


class StockBalance(models.Model):
    """What the ledger adds up to per product, variant, warehouse and batch, kept by the
    posting service under a row lock: on hand (Σ entries), its value (moving average: the
    value of what came in less what went out at the average cost then), reserved and
    incoming (open commitments). `recompute_balances()` rebuilds it from the ledger."""

    product = models.ForeignKey("products.Product", verbose_name=_("product"), on_delete=models.PROTECT, related_name="+")
    variant = models.ForeignKey("products.ProductVariant", verbose_name=_("variant"), on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    warehouse = models.ForeignKey(Warehouse, verbose_name=_("warehouse"), on_delete=models.PROTECT, related_name="balances")
    batch = models.ForeignKey(Batch, verbose_name=_("batch"), on_delete=models.PROTECT, null=True, blank=True, related_name="balances")
    on_hand = models.DecimalField(_("on hand"), default=Decimal(0), **QUANTITY)
    reserved = models.DecimalField(_("reserved"), default=Decimal(0), **QUANTITY)
    incoming = models.DecimalField(_("incoming"), default=Decimal(0), **QUANTITY)
    value = models.DecimalField(_("stock value"), default=Decimal(0), **VALUE)

    objects = RestrictedManager()

    class Meta:
        ordering = ("warehouse", "product", "id")
        verbose_name = _("stock balance")
        verbose_name_plural = _("stock balances")
        constraints = [
            models.UniqueConstraint(
                "product", Coalesce("variant", Value(0)), "warehouse", Coalesce("batch", Value(0)), name="inventory_balance_key",
            ),
        ]
        indexes = [models.Index(fields=("warehouse", "product"), name="stock_balance_warehouse")]

    def __str__(self):
        return f"{self.product} @ {self.warehouse.code}"

    def get_absolute_url(self):
        from qinglan.core.registry import registry

        return registry.get(StockBalance).url("detail", self)

    @property
    def available(self):
        return self.on_hand - self.reserved

    @property
    def unit_cost(self):
        return (self.value / self.on_hand).quantize(Decimal("0.0001")) if self.on_hand > 0 else None


class StockCommitment(models.Model):
    """An open promise on stock: a quantity reserved for an order (or anyone who reserves it),
    or incoming (on its way by a transfer, ordered from a supplier). `quantity` is what is
    still open; the balances' reserved and incoming are the sums of these."""

    kind = models.CharField(_("kind"), max_length=10, choices=CommitmentKind.choices)
    product = models.ForeignKey("products.Product", verbose_name=_("product"), on_delete=models.PROTECT, related_name="+")
    variant = models.ForeignKey("products.ProductVariant", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    warehouse = models.ForeignKey(Warehouse, verbose_name=_("warehouse"), on_delete=models.PROTECT, related_name="commitments")
    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    quantity = models.DecimalField(_("open quantity"), **QUANTITY)
    original_quantity = models.DecimalField(_("quantity"), **QUANTITY)
    document = models.ForeignKey("StockDocument", on_delete=models.PROTECT, null=True, blank=True, related_name="commitments")
    order_line = models.ForeignKey("sales.SalesOrderLine", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    purchase_line = models.ForeignKey("purchasing.PurchaseOrderLine", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    note = models.CharField(_("note"), max_length=200, blank=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ("-id",)
        verbose_name = _("stock commitment")
        verbose_name_plural = _("stock commitments")
        indexes = [models.Index(fields=("product", "warehouse", "kind"), name="stock_commitment_key")]


class StockDocument(OwnedModel):
    """A document that moves stock: draft → posted (a transfer: draft → in transit →
    received) → cancelled by reversing entries. The kinds are shown as their own lists
    (proxy models below); they share this table and its lines."""

    kind = models.CharField(_("kind"), max_length=16, choices=DocumentKind.choices, editable=False)
    code = models.CharField(_("code"), max_length=30, unique=True, blank=True, help_text=_("Leave empty to number automatically."))
    status = models.CharField(_("status"), max_length=12, choices=DocumentStatus.choices, default=DocumentStatus.DRAFT, editable=False)
    warehouse = models.ForeignKey(Warehouse, verbose_name=_("warehouse"), on_delete=models.PROTECT, related_name="documents")
    to_warehouse = models.ForeignKey(
        Warehouse, verbose_name=_("to warehouse"), on_delete=models.PROTECT, null=True, blank=True, related_name="incoming_documents",
    )
    transit_warehouse = models.ForeignKey(
        Warehouse, verbose_name=_("in-transit warehouse"), on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text=_("Left empty: the first active in-transit warehouse."),
    )
    partner = models.ForeignKey(
        "customers.Customer", verbose_name=_("partner"), on_delete=models.PROTECT, null=True, blank=True, related_name="stock_documents",
    )
    sales_order = models.ForeignKey(
        "sales.SalesOrder", verbose_name=_("sales order"), on_delete=models.PROTECT, null=True, blank=True, related_name="stock_documents",
    )
    document_date = models.DateField(_("date"), default=timezone.localdate)
    reference = models.CharField(_("reference"), max_length=100, blank=True, help_text=_("The supplier's delivery note, the carrier's waybill…"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    # Kept by the services.
    posted_at = models.DateTimeField(_("posted at"), null=True, blank=True, editable=False)
    posted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("posted by"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False)
    received_at = models.DateTimeField(_("received at"), null=True, blank=True, editable=False)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True, editable=False)
    department = models.ForeignKey(
        "org.Department", verbose_name=_("department"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False,
    )

    class Meta:
        ordering = ("-id",)
        verbose_name = _("stock document")
        verbose_name_plural = _("stock documents")
        indexes = [
            models.Index(fields=("kind", "status", "id"), name="stock_document_kind"),
            models.Index(fields=("warehouse", "id"), name="stock_document_warehouse"),
        ]

    def __str__(self):
        return self.code or gettext("new %(kind)s") % {"kind": self.get_kind_display()}

    def get_absolute_url(self):
        from qinglan.core.registry import registry

        return registry.get(DOCUMENT_MODELS[self.kind]).url("detail", self)

    def save(self, *args, **kwargs):
        if not self.kind and getattr(self, "document_kind", None):
            self.kind = self.document_kind
        super().save(*args, **kwargs)

    def clean(self):
        from . import services

        services.check_document(document=self)


class StockDocumentLine(ChildModel):
    document = models.ForeignKey(StockDocument, verbose_name=_("document"), on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(
        "sales.SalesOrderLine", verbose_name=_("order line"), on_delete=models.PROTECT, null=True, blank=True, related_name="stock_lines",
    )
    product = models.ForeignKey("products.Product", verbose_name=_("product"), on_delete=models.PROTECT, related_name="+")
    variant = models.ForeignKey("products.ProductVariant", verbose_name=_("variant"), on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    quantity = models.DecimalField(_("quantity"), **QUANTITY)
    unit = models.ForeignKey("products.Unit", verbose_name=_("unit"), on_delete=models.PROTECT, null=True, blank=True, related_name="+", help_text=_("Left empty: the product's base unit."))
    unit_cost = models.DecimalField(_("unit cost"), null=True, blank=True, validators=[MinValueValidator(0)], **COST)
    batch = models.ForeignKey(Batch, verbose_name=_("batch"), on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    batch_code = models.CharField(_("new batch number"), max_length=50, blank=True)
    production_date = models.DateField(_("production date"), null=True, blank=True)
    expiry_date = models.DateField(_("expiry date"), null=True, blank=True)
    location = models.ForeignKey(Location, verbose_name=_("bin location"), on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    purchase_line = models.ForeignKey(
        "purchasing.PurchaseOrderLine", verbose_name=_("purchase order line"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="receipt_lines",
    )
    party_code = models.CharField(_("partner's item code"), max_length=60, blank=True, help_text=_("The supplier's or customer's code for the item; fills in the product from the material mapping."))
    notes = models.CharField(_("notes"), max_length=200, blank=True)
    # Kept by the services: the quantity in the product's base unit.
    base_quantity = models.DecimalField(_("quantity in base unit"), null=True, blank=True, editable=False, **QUANTITY)

    class Meta:
        ordering = ("id",)
        verbose_name = _("document line")
        verbose_name_plural = _("document lines")

    def __str__(self):
        return str(self.product) if self.product_id else ""

    def clean(self):
        from . import services

        services.check_line(line=self)


class DocumentManager(RestrictedManager):
    def __init__(self, kind):
        super().__init__()
        self.kind = kind

    def get_queryset(self):
        return super().get_queryset().filter(kind=self.kind)


def _document_proxy(name, kind, verbose, plural):
    meta = type("Meta", (), {"proxy": True, "verbose_name": verbose, "verbose_name_plural": plural, "ordering": ("-id",)})
    return type(name, (StockDocument,), {
        "__module__": __name__, "Meta": meta, "document_kind": kind, "objects": DocumentManager(kind),
    })


PurchaseReceipt = _document_proxy("PurchaseReceipt", DocumentKind.RECEIPT, _("purchase receipt"), _("purchase receipts"))
PurchaseReturn = _document_proxy("PurchaseReturn", DocumentKind.PURCHASE_RETURN, _("purchase return"), _("purchase returns"))
SalesDelivery = _document_proxy("SalesDelivery", DocumentKind.DELIVERY, _("sales delivery"), _("sales deliveries"))
SalesReturn = _document_proxy("SalesReturn", DocumentKind.SALES_RETURN, _("sales return"), _("sales returns"))
StockTransfer = _document_proxy("StockTransfer", DocumentKind.TRANSFER, _("stock transfer"), _("stock transfers"))
StockAdjustment = _document_proxy("StockAdjustment", DocumentKind.ADJUSTMENT, _("stock adjustment"), _("stock adjustments"))
StockScrap = _document_proxy("StockScrap", DocumentKind.SCRAP, _("scrap"), _("scrap records"))
DOCUMENT_MODELS = {model.document_kind: model for model in (
    PurchaseReceipt, PurchaseReturn, SalesDelivery, SalesReturn, StockTransfer, StockAdjustment, StockScrap,
)}


class ReorderRule(BaseModel):
    """Keep at least `minimum` of a product in a warehouse: below it (available plus incoming)
    the product is on the low-stock list with `reorder_quantity` suggested."""

    product = models.ForeignKey("products.Product", verbose_name=_("product"), on_delete=models.CASCADE, related_name="+")
    warehouse = models.ForeignKey(Warehouse, verbose_name=_("warehouse"), on_delete=models.CASCADE, related_name="reorder_rules")
    minimum = models.DecimalField(_("reorder point"), validators=[MinValueValidator(0)], **QUANTITY)
    reorder_quantity = models.DecimalField(_("reorder quantity"), validators=[MinValueValidator(0)], default=Decimal(0), **QUANTITY)

    class Meta:
        ordering = ("warehouse", "product")
        verbose_name = _("reorder point")
        verbose_name_plural = _("reorder points")
        constraints = [models.UniqueConstraint(fields=("product", "warehouse"), name="inventory_reorder_rule")]

    def __str__(self):
        return f"{self.product} @ {self.warehouse}"


class Stocktake(OwnedModel):
    """A count of a warehouse (or one category of it): starting it freezes the warehouse and
    snapshots the book quantities; the counted quantities are entered on its lines (blind: the
    counter does not see the book); posting writes the variances as entries and unfreezes."""

    code = models.CharField(_("code"), max_length=30, unique=True, blank=True, help_text=_("Leave empty to number automatically."))
    warehouse = models.ForeignKey(Warehouse, verbose_name=_("warehouse"), on_delete=models.PROTECT, related_name="stocktakes")
    category = models.ForeignKey(
        "products.Category", verbose_name=_("category"), on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text=_("Left empty: every product in the warehouse."),
    )
    blind = models.BooleanField(_("blind count"), default=True, help_text=_("Counters do not see the book quantities."))
    notes = models.TextField(_("notes"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=StocktakeStatus.choices, default=StocktakeStatus.COUNTING, editable=False)
    posted_at = models.DateTimeField(_("posted at"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ("-id",)
        verbose_name = _("stocktake")
        verbose_name_plural = _("stocktakes")

    def __str__(self):
        return self.code or gettext("new stocktake")


class StocktakeLine(ChildModel):
    stocktake = models.ForeignKey(Stocktake, verbose_name=_("stocktake"), on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("products.Product", verbose_name=_("product"), on_delete=models.PROTECT, related_name="+")
    variant = models.ForeignKey("products.ProductVariant", verbose_name=_("variant"), on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    batch = models.ForeignKey(Batch, verbose_name=_("batch"), on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    book_quantity = models.DecimalField(_("book quantity"), editable=False, **QUANTITY)
    counted_quantity = models.DecimalField(_("counted quantity"), null=True, blank=True, validators=[MinValueValidator(0)], **QUANTITY)

    class Meta:
        ordering = ("id",)
        verbose_name = _("count line")
        verbose_name_plural = _("count sheet")

    def __str__(self):
        return str(self.product) if self.product_id else ""

    @property
    def variance(self):
        return None if self.counted_quantity is None else self.counted_quantity - self.book_quantity


class Inspection(OwnedModel):
    """Quality inspection (品質檢驗) of goods held in a QC warehouse: a sample is checked, the
    passed quantity moves on to the target warehouse, the failed one goes back to the
    supplier or to scrap. Made for each line of a receipt into a QC warehouse, or by hand."""

    code = models.CharField(_("code"), max_length=30, unique=True, blank=True, help_text=_("Leave empty to number automatically."))
    receipt = models.ForeignKey(
        StockDocument, verbose_name=_("purchase receipt"), on_delete=models.PROTECT, null=True, blank=True, related_name="inspections", editable=False,
    )
    warehouse = models.ForeignKey(Warehouse, verbose_name=_("QC warehouse"), on_delete=models.PROTECT, related_name="inspections")
    target_warehouse = models.ForeignKey(
        Warehouse, verbose_name=_("passed goods go to"), on_delete=models.PROTECT, null=True, blank=True, related_name="+",
    )
    product = models.ForeignKey("products.Product", verbose_name=_("product"), on_delete=models.PROTECT, related_name="+")
    batch = models.ForeignKey(Batch, verbose_name=_("batch"), on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    quantity = models.DecimalField(_("quantity to inspect"), validators=[MinValueValidator(Decimal("0.0001"))], **QUANTITY)
    sample_size = models.DecimalField(_("sample size"), null=True, blank=True, validators=[MinValueValidator(0)], **QUANTITY)
    passed_quantity = models.DecimalField(_("passed"), null=True, blank=True, validators=[MinValueValidator(0)], **QUANTITY)
    failed_quantity = models.DecimalField(pgettext_lazy("inspection", "failed"), null=True, blank=True, validators=[MinValueValidator(0)], **QUANTITY)
    failed_goods = models.CharField(_("failed goods go"), max_length=10, choices=FailedGoods.choices, default=FailedGoods.RETURN)
    result = models.TextField(_("findings"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=InspectionStatus.choices, default=InspectionStatus.OPEN, editable=False)
    posted_at = models.DateTimeField(_("inspected at"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ("-id",)
        verbose_name = _("quality inspection")
        verbose_name_plural = _("quality inspections")

    def __str__(self):
        return self.code or gettext("new inspection")

    def clean(self):
        from . import inspections

        inspections.check_inspection(inspection=self)


class PartyItemCode(BaseModel):
    """Material mapping (物料對照): a customer's or supplier's own code and name for one of our
    products (and variant, in their unit). Lines of purchase orders and stock documents may be
    entered by the partner's code; imports of their orders look codes up here."""

    party = models.ForeignKey("customers.Customer", verbose_name=_("partner"), on_delete=models.CASCADE, related_name="item_codes")
    code = models.CharField(_("their code"), max_length=60)
    name = models.CharField(_("their name"), max_length=200, blank=True)
    product = models.ForeignKey("products.Product", verbose_name=_("product"), on_delete=models.CASCADE, related_name="party_codes")
    variant = models.ForeignKey("products.ProductVariant", verbose_name=_("variant"), on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    unit = models.ForeignKey(
        "products.Unit", verbose_name=_("their unit"), on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text=_("The unit their quantities are in; left empty: the product's base unit."),
    )
    notes = models.CharField(_("notes"), max_length=200, blank=True)

    class Meta:
        ordering = ("party", "code")
        verbose_name = _("material mapping")
        verbose_name_plural = _("material mappings")
        constraints = [models.UniqueConstraint(fields=("party", "code"), name="inventory_party_item_code")]
        indexes = [models.Index(fields=("party", "product"), name="inventory_party_item_product")]

    def __str__(self):
        return f"{self.code} → {self.product}" if self.product_id else self.code

    def clean(self):
        from . import services

        services.check_item_code(mapping=self)


class ExpiryAlert(models.Model):
    """That the managers of a warehouse were told a batch there reached an expiry threshold
    (days before expiry; 0: expired), so the daily job tells them once."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="+")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE, related_name="+")
    threshold = models.PositiveSmallIntegerField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=("batch", "warehouse", "threshold"), name="inventory_expiry_alert_once")]


class StockSnapshot(models.Model):
    """Stock at a moment (the start of a month): the sums of the entries posted before
    `taken_at`, as far as the ledger's entry `last_entry_id`. The past-date stock report starts
    from the latest one (see snapshots.py)."""

    taken_at = models.DateTimeField(_("moment"), unique=True)
    last_entry_id = models.BigIntegerField(_("last movement"))
    line_count = models.PositiveIntegerField(_("lines"), default=0)
    created = models.DateTimeField(_("taken at"), auto_now_add=True)

    class Meta:
        ordering = ("-taken_at",)
        verbose_name = _("stock snapshot")
        verbose_name_plural = _("stock snapshots")

    def __str__(self):
        return f"{timezone.localtime(self.taken_at):%Y-%m-%d %H:%M}"


class StockSnapshotLine(models.Model):
    snapshot = models.ForeignKey(StockSnapshot, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("products.Product", on_delete=models.PROTECT, related_name="+")
    variant = models.ForeignKey("products.ProductVariant", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    quantity = models.DecimalField(**QUANTITY)
    value = models.DecimalField(**VALUE)

    class Meta:
        indexes = [models.Index(fields=("snapshot", "warehouse"), name="stock_snapshot_warehouse")]
