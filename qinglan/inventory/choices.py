from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class WarehouseKind(models.TextChoices):
    """A physical warehouse holds goods on shelves; the virtual kinds hold what is on the road
    between two warehouses, at a customer on consignment, waiting for inspection or scrapped."""

    PHYSICAL = "physical", _("physical warehouse")
    TRANSIT = "transit", _("in transit")
    CONSIGNMENT = "consignment", _("consignment")
    QC = "qc", _("quality inspection hold")
    SCRAP = "scrap", pgettext_lazy("warehouse kind", "scrap")



class DocumentKind(models.TextChoices):
    RECEIPT = "receipt", _("purchase receipt")
    PURCHASE_RETURN = "purchase_return", _("purchase return")
    DELIVERY = "delivery", _("sales delivery")
    SALES_RETURN = "sales_return", _("sales return")
    TRANSFER = "transfer", _("stock transfer")
    ADJUSTMENT = "adjustment", _("stock adjustment")
    SCRAP = "scrap", _("scrap")


class EntryKind(models.TextChoices):
    """Why a ledger entry was posted: a document's kind, or a step of one (a transfer leaves
    its warehouse, then arrives), or a stocktake or an inspection."""

    RECEIPT = "receipt", _("purchase receipt")
    PURCHASE_RETURN = "purchase_return", _("purchase return")
    DELIVERY = "delivery", _("sales delivery")
    SALES_RETURN = "sales_return", _("sales return")
    TRANSFER_OUT = "transfer_out", _("transfer dispatched")
    TRANSFER_IN = "transfer_in", _("transfer received")
    ADJUSTMENT = "adjustment", _("stock adjustment")
    SCRAP = "scrap", _("scrap")
    STOCKTAKE = "stocktake", _("stocktaking")
    INSPECTION = "inspection", _("quality inspection")


class DocumentStatus(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("stock document", "draft")
    IN_TRANSIT = "in_transit", pgettext_lazy("stock document", "in transit")
    POSTED = "posted", pgettext_lazy("stock document", "posted")
    CANCELLED = "cancelled", pgettext_lazy("stock document", "cancelled")


class CommitmentKind(models.TextChoices):
    RESERVED = "reserved", pgettext_lazy("stock", "reserved")
    INCOMING = "incoming", pgettext_lazy("stock", "incoming")


class StocktakeStatus(models.TextChoices):
    COUNTING = "counting", _("counting")
    POSTED = "posted", pgettext_lazy("stock document", "posted")
    CANCELLED = "cancelled", pgettext_lazy("stock document", "cancelled")


class InspectionStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("inspection", "waiting for inspection")
    POSTED = "posted", pgettext_lazy("inspection", "inspected")
    CANCELLED = "cancelled", pgettext_lazy("stock document", "cancelled")


class FailedGoods(models.TextChoices):
    """Where goods that fail inspection go."""

    RETURN = "return", _("back to the supplier")
    SCRAP = "scrap", _("to scrap")
