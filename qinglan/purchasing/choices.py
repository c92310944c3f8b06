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
