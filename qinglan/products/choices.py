from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class ProductStatus(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("product", "draft")
    ACTIVE = "active", pgettext_lazy("product", "active")
    DISCONTINUED = "discontinued", _("discontinued")


class AttributeType(models.TextChoices):
    TEXT = "text", _("text")
    NUMBER = "number", _("number")
    CHOICE = "choice", _("choice")
    BOOLEAN = "boolean", _("yes/no")
    DATE = "date", _("date")
