from django.db import models
from django.utils.translation import pgettext_lazy


class PurchaseStatus(models.TextChoices):
    """A purchase order's way: draft → ordered (sent to the supplier) → partly received →
    received; cancelled while nothing is received."""

    DRAFT = "draft", pgettext_lazy("purchase order", "draft")
    ORDERED = "ordered", pgettext_lazy("purchase order", "ordered")
    PARTLY_RECEIVED = "partly", pgettext_lazy("purchase order", "partly received")
    RECEIVED = "received", pgettext_lazy("purchase order", "received")
    CANCELLED = "cancelled", pgettext_lazy("purchase order", "cancelled")


class RequestStatus(models.TextChoices):
    """A purchase request's way: draft → submitted (the requester's manager approves in the
    workflow) → approved → partly ordered → ordered (converted into purchase orders), or
    rejected / cancelled."""

    DRAFT = "draft", pgettext_lazy("purchase request", "draft")
    SUBMITTED = "submitted", pgettext_lazy("purchase request", "waiting for approval")
    APPROVED = "approved", pgettext_lazy("purchase request", "approved")
    PARTLY_ORDERED = "partly", pgettext_lazy("purchase request", "partly ordered")
    ORDERED = "ordered", pgettext_lazy("purchase request", "ordered")
    REJECTED = "rejected", pgettext_lazy("purchase request", "rejected")
    CANCELLED = "cancelled", pgettext_lazy("purchase request", "cancelled")


class SupplierInvoiceStatus(models.TextChoices):
    """A supplier invoice: draft → issued (owed: accounts payable) → paid; cancelled while
    nothing is paid on it."""

    DRAFT = "draft", pgettext_lazy("supplier invoice", "draft")
    ISSUED = "issued", pgettext_lazy("supplier invoice", "issued")
    PAID = "paid", pgettext_lazy("supplier invoice", "paid")
    CANCELLED = "cancelled", pgettext_lazy("supplier invoice", "cancelled")


class PaymentMethod(models.TextChoices):
    BANK = "bank", pgettext_lazy("payment method", "bank transfer")
    CASH = "cash", pgettext_lazy("payment method", "cash")
    CHECK = "check", pgettext_lazy("payment method", "check")
    OTHER = "other", pgettext_lazy("payment method", "other")
