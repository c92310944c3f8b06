from django.db import models
from django.utils.translation import pgettext_lazy


class StageKind(models.TextChoices):
    """Where a stage leaves an opportunity: still open, won or lost."""

    OPEN = "open", pgettext_lazy("opportunity status", "open")
    WON = "won", pgettext_lazy("opportunity status", "won")
    LOST = "lost", pgettext_lazy("opportunity status", "lost")


class OrderStatus(models.TextChoices):
    """A sales order's way: draft → submitted (waiting for approval, when it needs one) →
    approved → in fulfilment → completed; closed (the rest will not be delivered) or
    cancelled on the way. sales.services.ORDER_FLOW says which step follows which."""

    DRAFT = "draft", pgettext_lazy("order status", "draft")
    SUBMITTED = "submitted", pgettext_lazy("order status", "waiting for approval")
    APPROVED = "approved", pgettext_lazy("order status", "approved")
    FULFILLING = "fulfilling", pgettext_lazy("order status", "in fulfilment")
    COMPLETED = "completed", pgettext_lazy("order status", "completed")
    CLOSED = "closed", pgettext_lazy("order status", "closed")
    CANCELLED = "cancelled", pgettext_lazy("order status", "cancelled")
