from django.db import models
from django.utils.translation import gettext_lazy as _
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


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("invoice status", "draft")
    ISSUED = "issued", pgettext_lazy("invoice status", "issued")
    PAID = "paid", pgettext_lazy("invoice status", "paid")
    CANCELLED = "cancelled", pgettext_lazy("invoice status", "cancelled")


class InvoiceKind(models.TextChoices):
    """An invoice bills the customer; a credit note (折讓單 / 銷貨退回) gives money back, for
    returned goods or a price reduction, against the invoice it credits."""

    INVOICE = "invoice", pgettext_lazy("invoice kind", "invoice")
    CREDIT_NOTE = "credit", pgettext_lazy("invoice kind", "credit note")


class ReceiptMethod(models.TextChoices):
    BANK = "bank", _("bank transfer")
    CASH = "cash", _("cash")
    CHECK = "check", _("check")
    CARD = "card", _("card")


class PriceMethod(models.TextChoices):
    """How a price-list rule makes a unit price."""

    FIXED = "fixed", _("fixed price")
    DISCOUNT = "discount", _("list price less a discount (%)")
    MARKUP = "markup", _("cost plus a markup (%)")


class PromotionKind(models.TextChoices):
    PERCENT = "percent", _("percent off")
    AMOUNT = "amount", _("amount off each unit")
    GIFT = "gift", _("buy X, get Y free")


class QuoteStatus(models.TextChoices):
    """A quote's way: draft → (waiting for approval when its discount is beyond the company's
    limit) → approved → sent → accepted (and ordered) or declined; revising an approved, sent
    or declined quote keeps the old one as a version and makes it a draft again."""

    DRAFT = "draft", pgettext_lazy("quote status", "draft")
    SUBMITTED = "submitted", pgettext_lazy("quote status", "waiting for approval")
    APPROVED = "approved", pgettext_lazy("quote status", "approved")
    SENT = "sent", pgettext_lazy("quote status", "sent")
    ACCEPTED = "accepted", pgettext_lazy("quote status", "ordered")
    DECLINED = "declined", pgettext_lazy("quote status", "declined")


class TargetPeriod(models.TextChoices):
    MONTH = "month", _("month")
    QUARTER = "quarter", _("quarter")
    YEAR = "year", _("year")


PERIOD_NUMBERS = {TargetPeriod.MONTH: 12, TargetPeriod.QUARTER: 4, TargetPeriod.YEAR: 1}  # how a period of a year is numbered


class TargetMeasure(models.TextChoices):
    """What achieves a target: issued invoices (net of tax, less credit notes) or money received."""

    INVOICED = "invoiced", _("invoiced (net, less credit notes)")
    RECEIVED = "received", _("money received")


class CommissionStatus(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("commission status", "draft")
    CONFIRMED = "confirmed", pgettext_lazy("commission status", "confirmed")


class StatementStatus(models.TextChoices):
    """An account statement (對帳單) is drafted, sent to the customer, then agreed (the customer
    confirms our balance) or disputed (their balance differs)."""

    DRAFT = "draft", pgettext_lazy("statement status", "draft")
    SENT = "sent", pgettext_lazy("statement status", "sent")
    AGREED = "agreed", pgettext_lazy("statement status", "agreed")
    DISPUTED = "disputed", pgettext_lazy("statement status", "disputed")


class PrintKind(models.TextChoices):
    QUOTE = "quote", _("quote")
    ACCOUNT_STATEMENT = "statement", _("account statement")
