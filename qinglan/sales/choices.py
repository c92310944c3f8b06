from django.db import models
from django.utils.translation import pgettext_lazy


class StageKind(models.TextChoices):
    """Where a stage leaves an opportunity: still open, won or lost."""

    OPEN = "open", pgettext_lazy("opportunity status", "open")
    WON = "won", pgettext_lazy("opportunity status", "won")
    LOST = "lost", pgettext_lazy("opportunity status", "lost")
