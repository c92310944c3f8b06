from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class PartyKind(models.TextChoices):
    COMPANY = "company", _("company")
    PERSON = "person", _("person")


class CustomerStatus(models.TextChoices):
    PROSPECT = "prospect", _("prospect")
    ACTIVE = "active", pgettext_lazy("customer status", "active")
    DORMANT = "dormant", _("dormant")
    LOST = "lost", _("lost")


class AddressKind(models.TextChoices):
    OFFICE = "office", _("office")
    BILLING = "billing", _("billing")
    SHIPPING = "shipping", _("shipping")
    OTHER = "other", _("other")


class DecisionRole(models.TextChoices):
    DECISION_MAKER = "decision_maker", _("decision maker")
    INFLUENCER = "influencer", _("influencer")
    USER = "user", _("user")
    GATEKEEPER = "gatekeeper", _("gatekeeper")
    OTHER = "other", _("other")


class ActivityKind(models.TextChoices):
    CALL = "call", _("call")
    VISIT = "visit", _("visit")
    MEETING = "meeting", _("meeting")
    EMAIL = "email", _("e-mail")
    NOTE = "note", _("note")


class TransferKind(models.TextChoices):
    CLAIM = "claim", _("claimed from the pool")
    RELEASE = "release", _("released to the pool")
    RETURN = "return", _("returned to the pool (no follow-up)")
    REASSIGN = "reassign", _("reassigned")
    MERGE = "merge", _("merged")


class ValueGrade(models.TextChoices):
    A = "A", "A"
    B = "B", "B"
    C = "C", "C"
    D = "D", "D"
