"""Opportunities (銷售機會) and their pipeline: stages with a probability, lines of products,
competitors, win/loss reasons and the history of stage moves the forecast and the pipeline
reports read."""

import re
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from qinglan.core.models import BaseModel, ChildModel, OrganizationalModel, OwnedModel

from .choices import (
    PERIOD_NUMBERS,
    PrintKind,
    StatementStatus,
    CommissionStatus,
    InvoiceKind,
    InvoiceStatus,
    OrderStatus,
    PriceMethod,
    PromotionKind,
    QuoteStatus,
    ReceiptMethod,
    StageKind,
    TargetMeasure,
    TargetPeriod,
)

MONEY = {"max_digits": 18, "decimal_places": 2}
PERCENT = {"max_digits": 5, "decimal_places": 2, "validators": [MinValueValidator(0), MaxValueValidator(100)]}


class OpportunityStage(BaseModel):
    """A step of the sales pipeline, in `order`; its probability is the default of the
    opportunities that reach it, its kind says whether they are still open, won or lost."""

    choices_for_everyone = True
    name = models.CharField(_("name"), max_length=50, unique=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    probability = models.DecimalField(_("probability (%)"), **PERCENT)
    kind = models.CharField(_("kind"), max_length=4, choices=StageKind.choices, default=StageKind.OPEN)
    active = models.BooleanField(_("active"), default=True)
    description = models.CharField(_("description"), max_length=300, blank=True)

    class Meta:
        ordering = ("order", "id")
        verbose_name = _("opportunity stage")
        verbose_name_plural = _("opportunity stages")

    def __str__(self):
        return self.name

    def clean(self):
        if self.kind == StageKind.WON and self.probability is not None and self.probability != 100:
            raise ValidationError({"probability": _("A won stage has a probability of 100 %.")})
        if self.kind == StageKind.LOST and self.probability is not None and self.probability != 0:
            raise ValidationError({"probability": _("A lost stage has a probability of 0 %.")})


class LossReason(OrganizationalModel):
    choices_for_everyone = True

    class Meta(OrganizationalModel.Meta):
        verbose_name = _("loss reason")
        verbose_name_plural = _("loss reasons")


class Competitor(OrganizationalModel):
    choices_for_everyone = True
    website = models.URLField(_("website"), blank=True)
    strengths = models.TextField(_("strengths"), blank=True)
    weaknesses = models.TextField(_("weaknesses"), blank=True)

    class Meta(OrganizationalModel.Meta):
        verbose_name = _("competitor")
        verbose_name_plural = _("competitors")


class Opportunity(OwnedModel):
    code = models.CharField(_("code"), max_length=30, unique=True, blank=True, help_text=_("Leave empty to number automatically."))
    name = models.CharField(_("name"), max_length=200)
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="opportunities"
    )
    contact = models.ForeignKey(
        "customers.Contact", verbose_name=_("contact"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    stage = models.ForeignKey(OpportunityStage, verbose_name=_("stage"), on_delete=models.PROTECT, related_name="opportunities")
    status = models.CharField(_("status"), max_length=4, choices=StageKind.choices, default=StageKind.OPEN, editable=False)
    probability = models.DecimalField(
        _("probability (%)"), null=True, blank=True, help_text=_("Left empty: the stage's probability."), **PERCENT
    )
    amount = models.DecimalField(
        _("expected amount"), default=Decimal(0), validators=[MinValueValidator(0)],
        help_text=_("With product lines, their total."), **MONEY,
    )
    currency = models.ForeignKey(
        "org.Currency", verbose_name=_("currency"), on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text=_("Left empty: the company's base currency."),
    )
    expected_close_date = models.DateField(_("expected close date"), null=True, blank=True)
    competitors = models.ManyToManyField(Competitor, verbose_name=_("competitors"), blank=True, related_name="opportunities")
    loss_reason = models.ForeignKey(
        LossReason, verbose_name=_("loss reason"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    close_note = models.TextField(_("win/loss notes"), blank=True)
    description = models.TextField(_("description"), blank=True)
    # Kept by the services: the forecast sums them in the base currency, the department scope
    # is one indexed column (as for customers).
    weighted_amount = models.DecimalField(_("weighted amount"), default=Decimal(0), editable=False, **MONEY)
    amount_base = models.DecimalField(_("amount in base currency"), null=True, blank=True, editable=False, **MONEY)
    weighted_base = models.DecimalField(_("weighted amount in base currency"), null=True, blank=True, editable=False, **MONEY)
    closed_on = models.DateField(_("closed on"), null=True, blank=True, editable=False)
    department = models.ForeignKey(
        "org.Department", verbose_name=_("department"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", editable=False,
    )

    class Meta:
        ordering = ("-id",)
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        indexes = [
            models.Index(fields=("status", "expected_close_date"), name="opportunity_status_close"),
            models.Index(fields=("stage", "id"), name="opportunity_stage_id"),
            models.Index(fields=("department", "id"), name="opportunity_department_id"),
            models.Index(fields=("owner", "id"), name="opportunity_owner_id"),
            models.Index(fields=("customer", "id"), name="opportunity_customer_id"),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        errors = {}
        if self.contact_id and self.customer_id and self.contact.customer_id != self.customer_id:
            errors["contact"] = _("This contact belongs to another customer.")
        stage = self.stage if self.stage_id else None
        if stage is not None and stage.kind == StageKind.LOST and not self.loss_reason_id:
            errors["loss_reason"] = _("Say why the opportunity was lost.")
        if errors:
            raise ValidationError(errors)

    @property
    def effective_probability(self):
        return self.probability if self.probability is not None else self.stage.probability

    @property
    def money_places(self):
        """Decimals its amounts are shown with: the currency's (0 for TWD), else cents."""
        return self.currency.decimal_places if self.currency_id else 2


class OpportunityLine(ChildModel):
    opportunity = models.ForeignKey(Opportunity, verbose_name=_("opportunity"), on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(
        "products.Product", verbose_name=_("product"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    description = models.CharField(_("description"), max_length=200, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=18, decimal_places=4, default=Decimal(1), validators=[MinValueValidator(Decimal("0.0001"))])
    unit_price = models.DecimalField(_("unit price"), validators=[MinValueValidator(0)], **MONEY)
    discount = models.DecimalField(_("discount (%)"), default=Decimal(0), **PERCENT)

    class Meta:
        ordering = ("id",)
        verbose_name = _("opportunity line")
        verbose_name_plural = _("product lines")

    def __str__(self):
        return self.description or str(self.product or "")

    def clean(self):
        if not self.product_id and not self.description:
            raise ValidationError(_("Name a product or describe the line."))

    @property
    def total(self):
        discount = (self.discount or Decimal(0)) / 100
        return ((self.quantity or 0) * (self.unit_price or 0) * (1 - discount)).quantize(Decimal("0.01"))


class StageChange(models.Model):
    """One move of an opportunity between stages: the pipeline's history."""

    opportunity = models.ForeignKey(Opportunity, verbose_name=_("opportunity"), on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.ForeignKey(
        OpportunityStage, verbose_name=_("from stage"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_stage = models.ForeignKey(OpportunityStage, verbose_name=_("to stage"), on_delete=models.PROTECT, related_name="+")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("changed by"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    changed_at = models.DateTimeField(_("changed at"), auto_now_add=True)
    amount = models.DecimalField(_("expected amount"), **MONEY)
    probability = models.DecimalField(_("probability (%)"), **PERCENT)

    class Meta:
        ordering = ("-changed_at", "-id")
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        indexes = [models.Index(fields=("opportunity", "-changed_at"), name="stage_change_opportunity")]


# ---- sales orders --------------------------------------------------------------------------


class TaxRate(BaseModel):
    """A tax rate lines are taxed at; `inclusive` prices already contain the tax (as shops in
    Taiwan quote), exclusive ones have it added."""

    choices_for_everyone = True
    name = models.CharField(_("name"), max_length=50, unique=True)
    rate = models.DecimalField(_("rate (%)"), max_digits=6, decimal_places=3, validators=[MinValueValidator(0), MaxValueValidator(100)])
    inclusive = models.BooleanField(_("prices include the tax"), default=False)
    is_default = models.BooleanField(_("default for new lines"), default=False)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ("name",)
        verbose_name = _("tax rate")
        verbose_name_plural = _("tax rates")

    def __str__(self):
        return self.name


class PaymentTerm(BaseModel):
    choices_for_everyone = True
    name = models.CharField(_("name"), max_length=50, unique=True)
    days = models.PositiveSmallIntegerField(_("days to pay"), default=30)
    description = models.CharField(_("description"), max_length=300, blank=True)

    class Meta:
        ordering = ("days", "name")
        verbose_name = _("payment term")
        verbose_name_plural = _("payment terms")

    def __str__(self):
        return self.name


# ---- pricing --------------------------------------------------------------------------------


class PriceList(BaseModel):
    """Prices for some customers (by customer, level or region, or everyone) in one currency,
    valid for a period. The engine (sales.pricing) picks for each line the most specific list
    that applies: a customer's own list before its level's, before its region's, before a
    general one; then the lower priority number."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    currency = models.ForeignKey(
        "org.Currency", verbose_name=_("currency"), on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text=_("Left empty: the company's base currency."),
    )
    priority = models.PositiveIntegerField(_("priority"), default=10, help_text=_("Among lists that apply equally, the lower number wins."))
    customers = models.ManyToManyField("customers.Customer", verbose_name=_("customers"), blank=True, related_name="+")
    levels = models.ManyToManyField("customers.CustomerLevel", verbose_name=_("customer levels"), blank=True, related_name="+")
    regions = models.ManyToManyField(
        "customers.Region", verbose_name=_("regions"), blank=True, related_name="+", help_text=_("A region includes its sub-regions."),
    )
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)
    notes = models.TextField(_("notes"), blank=True)

    choices_for_everyone = True

    class Meta:
        ordering = ("priority", "name")
        verbose_name = _("price list")
        verbose_name_plural = _("price lists")

    def __str__(self):
        return self.name

    def clean(self):
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValidationError({"valid_to": _("A price list cannot end before it starts.")})

    def is_open(self, day):
        return self.active and (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day <= self.valid_to)


class PriceRule(ChildModel):
    """A line of a price list: for a product, a category (with its sub-categories) or every
    product, from a quantity on (tiers), a fixed price, the list price less a discount or the
    cost plus a markup, optionally for some dates only."""

    price_list = models.ForeignKey(PriceList, verbose_name=_("price list"), on_delete=models.CASCADE, related_name="rules")
    product = models.ForeignKey("products.Product", verbose_name=_("product"), on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    category = models.ForeignKey(
        "products.Category", verbose_name=_("category"), on_delete=models.CASCADE, null=True, blank=True, related_name="+",
        help_text=_("Neither product nor category: every product."),
    )
    min_quantity = models.DecimalField(_("from quantity"), max_digits=18, decimal_places=4, default=Decimal(1), validators=[MinValueValidator(0)])
    method = models.CharField(_("method"), max_length=10, choices=PriceMethod.choices, default=PriceMethod.FIXED)
    value = models.DecimalField(
        _("price or %"), max_digits=18, decimal_places=4, validators=[MinValueValidator(0)],
        help_text=_("The price for a fixed price; the percentage for a discount or a markup."),
    )
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid to"), null=True, blank=True)

    class Meta:
        ordering = ("id",)
        verbose_name = _("price rule")
        verbose_name_plural = _("price rules")
        indexes = [models.Index(fields=("price_list", "product"), name="pricerule_list_product")]

    def __str__(self):
        return f"{self.product or self.category or gettext('every product')} ≥ {self.min_quantity:g}"

    def clean(self):
        if self.product_id and self.category_id:
            raise ValidationError(_("A rule is for a product or for a category, not both."))
        if self.method == PriceMethod.DISCOUNT and self.value is not None and self.value > 100:
            raise ValidationError({"value": _("A discount cannot be more than 100%.")})
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValidationError({"valid_to": _("A rule cannot end before it starts.")})


class Promotion(BaseModel):
    """A promotion for a period, on a product, a category or everything, for every customer or
    some levels: percent off, an amount off each unit, or buy X get Y free (a gift line)."""

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=10, choices=PromotionKind.choices, default=PromotionKind.PERCENT)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    product = models.ForeignKey("products.Product", verbose_name=_("product"), on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    category = models.ForeignKey(
        "products.Category", verbose_name=_("category"), on_delete=models.CASCADE, null=True, blank=True, related_name="+",
        help_text=_("Neither product nor category: every product."),
    )
    levels = models.ManyToManyField(
        "customers.CustomerLevel", verbose_name=_("customer levels"), blank=True, related_name="+", help_text=_("Left empty: every customer."),
    )
    min_quantity = models.DecimalField(_("from quantity"), max_digits=18, decimal_places=4, default=Decimal(1), validators=[MinValueValidator(0)])
    percent = models.DecimalField(_("percent off"), null=True, blank=True, **PERCENT)
    amount = models.DecimalField(_("amount off each unit"), null=True, blank=True, validators=[MinValueValidator(0)], **MONEY)
    buy_quantity = models.PositiveIntegerField(_("buy"), null=True, blank=True)
    free_quantity = models.PositiveIntegerField(_("get free"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ("-starts_on", "name")
        verbose_name = _("promotion")
        verbose_name_plural = _("promotions")

    def __str__(self):
        return self.name

    def clean(self):
        errors = {}
        if self.product_id and self.category_id:
            errors["category"] = _("A promotion is for a product or for a category, not both.")
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            errors["ends_on"] = _("A promotion cannot end before it starts.")
        if self.kind == PromotionKind.PERCENT and not self.percent:
            errors["percent"] = _("Give the percentage off.")
        if self.kind == PromotionKind.AMOUNT and not self.amount:
            errors["amount"] = _("Give the amount off each unit.")
        if self.kind == PromotionKind.GIFT and not (self.buy_quantity and self.free_quantity):
            errors["free_quantity"] = _("Give how many to buy and how many come free.")
        if errors:
            raise ValidationError(errors)


class SalesOrder(OwnedModel):
    code = models.CharField(_("code"), max_length=30, unique=True, blank=True, help_text=_("Leave empty to number automatically."))
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="sales_orders")
    contact = models.ForeignKey(
        "customers.Contact", verbose_name=_("contact"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    opportunity = models.ForeignKey(
        Opportunity, verbose_name=_("opportunity"), on_delete=models.SET_NULL, null=True, blank=True, related_name="orders"
    )
    original = models.ForeignKey(
        "self", verbose_name=_("supplements order"), on_delete=models.PROTECT, null=True, blank=True, related_name="supplements",
        help_text=_("For a supplementary order: the order it adds to."),
    )
    order_date = models.DateField(_("order date"), default=timezone.localdate)
    delivery_date = models.DateField(_("requested delivery date"), null=True, blank=True)
    currency = models.ForeignKey(
        "org.Currency", verbose_name=_("currency"), on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text=_("Left empty: the company's base currency."),
    )
    payment_term = models.ForeignKey(PaymentTerm, verbose_name=_("payment term"), on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    price_list = models.ForeignKey(
        PriceList, verbose_name=_("price list"), on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text=_("Left empty: the list that applies to the customer, line by line."),
    )
    notes = models.TextField(_("notes"), blank=True)
    # Kept by the services.
    status = models.CharField(_("status"), max_length=10, choices=OrderStatus.choices, default=OrderStatus.DRAFT, editable=False)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    subtotal = models.DecimalField(_("net amount"), default=Decimal(0), editable=False, **MONEY)
    tax_total = models.DecimalField(_("tax"), default=Decimal(0), editable=False, **MONEY)
    total = models.DecimalField(_("total"), default=Decimal(0), editable=False, **MONEY)
    total_base = models.DecimalField(_("total in base currency"), null=True, blank=True, editable=False, **MONEY)
    approval_reason = models.TextField(_("why it needs approval"), blank=True, editable=False)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("approved by"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True, editable=False)
    department = models.ForeignKey(
        "org.Department", verbose_name=_("department"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False,
    )

    class Meta:
        ordering = ("-id",)
        verbose_name = _("sales order")
        verbose_name_plural = _("sales orders")
        indexes = [
            models.Index(fields=("customer", "status"), name="order_customer_status"),
            models.Index(fields=("status", "id"), name="order_status_id"),
            models.Index(fields=("department", "id"), name="order_department_id"),
            models.Index(fields=("owner", "id"), name="order_owner_id"),
            # Sales by month reads booked orders of a date range from this index alone.
            models.Index(fields=("status", "order_date", "subtotal", "total", "total_base"), name="order_status_date_amounts"),
        ]

    def __str__(self):
        return self.code or gettext("new sales order")

    def clean(self):
        errors = {}
        if self.contact_id and self.customer_id and self.contact.customer_id != self.customer_id:
            errors["contact"] = _("This contact belongs to another customer.")
        if self.original_id and self.customer_id and self.original.customer_id != self.customer_id:
            errors["original"] = _("A supplementary order is for the customer of the order it adds to.")
        if self.original_id and self.pk and self.original_id == self.pk:
            errors["original"] = _("An order cannot supplement itself.")
        if self.delivery_date and self.order_date and self.delivery_date < self.order_date:
            errors["delivery_date"] = _("Delivery cannot be requested before the order date.")
        if errors:
            raise ValidationError(errors)

    @property
    def money_places(self):
        return self.currency.decimal_places if self.currency_id else 2


class PricedLine(ChildModel):
    """What an order line and an invoice line share: an item, its quantity and price, a
    discount and a tax rate, and the amounts the services compute from them."""

    product = models.ForeignKey("products.Product", verbose_name=_("product"), on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    description = models.CharField(_("description"), max_length=200, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=18, decimal_places=4, default=Decimal(1), validators=[MinValueValidator(Decimal("0.0001"))])
    unit_price = models.DecimalField(
        _("unit price"), null=True, blank=True, validators=[MinValueValidator(0)],
        help_text=_("Left empty: priced by the price lists and promotions."), **MONEY,
    )
    discount = models.DecimalField(_("discount (%)"), default=Decimal(0), **PERCENT)
    tax_rate = models.ForeignKey(TaxRate, verbose_name=_("tax rate"), on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    # Kept by the services.
    price_basis = models.CharField(_("price basis"), max_length=300, blank=True, editable=False)
    promotion = models.ForeignKey(
        "sales.Promotion", verbose_name=_("gift of promotion"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False,
    )
    net_amount = models.DecimalField(_("net amount"), default=Decimal(0), editable=False, **MONEY)
    tax_amount = models.DecimalField(_("tax"), default=Decimal(0), editable=False, **MONEY)
    line_total = models.DecimalField(_("total"), default=Decimal(0), editable=False, **MONEY)

    class Meta:
        abstract = True
        ordering = ("id",)

    def __str__(self):
        return self.description or str(self.product or "")

    def clean(self):
        if not self.product_id and not self.description:
            raise ValidationError(_("Name a product or describe the line."))


class SalesOrderLine(PricedLine):
    order = models.ForeignKey(SalesOrder, verbose_name=_("sales order"), on_delete=models.CASCADE, related_name="lines")
    unit = models.ForeignKey("products.Unit", verbose_name=_("unit"), on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    # Kept by the warehouse's postings through services.record_fulfilment.
    delivered_quantity = models.DecimalField(_("delivered"), max_digits=18, decimal_places=4, default=Decimal(0), editable=False)
    returned_quantity = models.DecimalField(_("returned"), max_digits=18, decimal_places=4, default=Decimal(0), editable=False)

    class Meta(PricedLine.Meta):
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")


class SalesOrderVersion(models.Model):
    """The order as it was before a change (變更單): header and lines, for the diff."""

    order = models.ForeignKey(SalesOrder, verbose_name=_("sales order"), on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField(_("version"))
    data = models.JSONField(_("content"))
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("changed by"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created = models.DateTimeField(_("saved at"), auto_now_add=True)

    class Meta:
        ordering = ("-version",)
        verbose_name = _("order version")
        verbose_name_plural = _("order versions")
        constraints = [models.UniqueConstraint(fields=("order", "version"), name="unique_order_version")]


# ---- quotes ---------------------------------------------------------------------------------


class Quote(OwnedModel):
    """A quote (報價單): lines priced by the engine, a discount beyond the company's limit
    approved through the workflow, versions, printed to PDF or DOCX, converted to an order."""

    code = models.CharField(_("code"), max_length=30, unique=True, blank=True, help_text=_("Leave empty to number automatically."))
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="quotes")
    contact = models.ForeignKey("customers.Contact", verbose_name=_("contact"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    opportunity = models.ForeignKey(Opportunity, verbose_name=_("opportunity"), on_delete=models.SET_NULL, null=True, blank=True, related_name="quotes")
    quote_date = models.DateField(_("quote date"), default=timezone.localdate)
    valid_until = models.DateField(_("valid until"), null=True, blank=True, help_text=_("Left empty: 30 days after the quote date."))
    currency = models.ForeignKey(
        "org.Currency", verbose_name=_("currency"), on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text=_("Left empty: the company's base currency."),
    )
    price_list = models.ForeignKey(
        PriceList, verbose_name=_("price list"), on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text=_("Left empty: the list that applies to the customer, line by line."),
    )
    payment_term = models.ForeignKey(PaymentTerm, verbose_name=_("payment term"), on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    terms = models.TextField(_("terms and conditions"), blank=True, help_text=_("Printed under the lines."))
    print_template = models.ForeignKey(
        "sales.PrintTemplate", verbose_name=_("print template"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        limit_choices_to={"kind": "quote"}, help_text=_("Left empty: the default quote template."),
    )
    notes = models.TextField(_("internal notes"), blank=True)
    # Kept by the services.
    status = models.CharField(_("status"), max_length=10, choices=QuoteStatus.choices, default=QuoteStatus.DRAFT, editable=False)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    subtotal = models.DecimalField(_("net amount"), default=Decimal(0), editable=False, **MONEY)
    tax_total = models.DecimalField(_("tax"), default=Decimal(0), editable=False, **MONEY)
    total = models.DecimalField(_("total"), default=Decimal(0), editable=False, **MONEY)
    total_base = models.DecimalField(_("total in base currency"), null=True, blank=True, editable=False, **MONEY)
    max_discount = models.DecimalField(_("largest discount below the price lists (%)"), default=Decimal(0), editable=False, max_digits=7, decimal_places=2)
    approval_reason = models.TextField(_("why it needs approval"), blank=True, editable=False)
    order = models.ForeignKey("sales.SalesOrder", verbose_name=_("sales order"), on_delete=models.SET_NULL, null=True, blank=True, related_name="quotes", editable=False)
    department = models.ForeignKey(
        "org.Department", verbose_name=_("department"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False,
    )

    class Meta:
        ordering = ("-id",)
        verbose_name = _("quote")
        verbose_name_plural = _("quotes")
        indexes = [
            models.Index(fields=("customer", "status"), name="quote_customer_status"),
            models.Index(fields=("department", "id"), name="quote_department_id"),
            models.Index(fields=("owner", "id"), name="quote_owner_id"),
        ]

    def __str__(self):
        return self.code or gettext("new quote")

    def clean(self):
        errors = {}
        if self.contact_id and self.customer_id and self.contact.customer_id != self.customer_id:
            errors["contact"] = _("This contact belongs to another customer.")
        if self.opportunity_id and self.customer_id and self.opportunity.customer_id != self.customer_id:
            errors["opportunity"] = _("The opportunity is another customer's.")
        if self.valid_until and self.quote_date and self.valid_until < self.quote_date:
            errors["valid_until"] = _("A quote cannot expire before its date.")
        if errors:
            raise ValidationError(errors)

    @property
    def money_places(self):
        return self.currency.decimal_places if self.currency_id else 2

    @property
    def expired(self):
        return self.valid_until is not None and self.valid_until < timezone.localdate() and self.status in {QuoteStatus.APPROVED, QuoteStatus.SENT}


class QuoteLine(PricedLine):
    quote = models.ForeignKey(Quote, verbose_name=_("quote"), on_delete=models.CASCADE, related_name="lines")
    unit = models.ForeignKey("products.Unit", verbose_name=_("unit"), on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta(PricedLine.Meta):
        verbose_name = _("quote line")
        verbose_name_plural = _("quote lines")


class QuoteVersion(models.Model):
    """The quote as it was sent or approved before a revision: header and lines."""

    quote = models.ForeignKey(Quote, verbose_name=_("quote"), on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField(_("version"))
    data = models.JSONField(_("content"))
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("changed by"), on_delete=models.SET_NULL, null=True, related_name="+")
    created = models.DateTimeField(_("saved at"), auto_now_add=True)

    class Meta:
        ordering = ("-version",)
        verbose_name = _("quote version")
        verbose_name_plural = _("quote versions")
        constraints = [models.UniqueConstraint(fields=("quote", "version"), name="unique_quote_version")]


# ---- invoices and receipts -----------------------------------------------------------------


class Invoice(OwnedModel):
    code = models.CharField(_("code"), max_length=30, unique=True, blank=True, help_text=_("Leave empty to number automatically."))
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="invoices")
    order = models.ForeignKey(SalesOrder, verbose_name=_("sales order"), on_delete=models.PROTECT, null=True, blank=True, related_name="invoices")
    invoice_date = models.DateField(_("invoice date"), default=timezone.localdate)
    due_date = models.DateField(_("due date"), null=True, blank=True, help_text=_("Left empty: from the order's payment term."))
    currency = models.ForeignKey(
        "org.Currency", verbose_name=_("currency"), on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text=_("Left empty: the company's base currency."),
    )
    notes = models.TextField(_("notes"), blank=True)
    # Kept by the services.
    kind = models.CharField(_("kind"), max_length=10, choices=InvoiceKind.choices, default=InvoiceKind.INVOICE, editable=False)
    credited_invoice = models.ForeignKey(
        "self", verbose_name=_("credits invoice"), on_delete=models.PROTECT, null=True, blank=True, related_name="credit_notes", editable=False,
    )
    status = models.CharField(_("status"), max_length=10, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT, editable=False)
    subtotal = models.DecimalField(_("net amount"), default=Decimal(0), editable=False, **MONEY)
    tax_total = models.DecimalField(_("tax"), default=Decimal(0), editable=False, **MONEY)
    total = models.DecimalField(_("total"), default=Decimal(0), editable=False, **MONEY)
    total_base = models.DecimalField(_("total in base currency"), null=True, blank=True, editable=False, **MONEY)
    paid_amount = models.DecimalField(_("paid"), default=Decimal(0), editable=False, **MONEY)
    # An invoice: what its credit notes took off it. A credit note: what of it went against its invoice.
    credited_amount = models.DecimalField(_("credited"), default=Decimal(0), editable=False, **MONEY)
    balance_base = models.DecimalField(_("open balance in base currency"), default=Decimal(0), editable=False, **MONEY)
    department = models.ForeignKey(
        "org.Department", verbose_name=_("department"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False,
    )

    class Meta:
        ordering = ("-id",)
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        indexes = [
            models.Index(fields=("customer", "status"), name="invoice_customer_status"),
            models.Index(fields=("status", "due_date"), name="invoice_status_due"),
            models.Index(fields=("department", "id"), name="invoice_department_id"),
            models.Index(fields=("owner", "id"), name="invoice_owner_id"),
        ]

    def __str__(self):
        return self.code or gettext("new invoice")

    def clean(self):
        if self.order_id and self.customer_id and self.order.customer_id != self.customer_id:
            raise ValidationError({"order": _("The order is another customer's.")})
        if self.due_date and self.invoice_date and self.due_date < self.invoice_date:
            raise ValidationError({"due_date": _("An invoice cannot fall due before its date.")})

    @property
    def balance(self):
        """An invoice: what is still owed. A credit note: what of it is not used yet."""
        if self.kind == InvoiceKind.CREDIT_NOTE:
            return self.total - self.credited_amount
        return self.total - self.paid_amount - self.credited_amount

    @property
    def is_credit_note(self):
        return self.kind == InvoiceKind.CREDIT_NOTE

    @property
    def money_places(self):
        return self.currency.decimal_places if self.currency_id else 2


class InvoiceLine(PricedLine):
    invoice = models.ForeignKey(Invoice, verbose_name=_("invoice"), on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(
        SalesOrderLine, verbose_name=_("order line"), on_delete=models.PROTECT, null=True, blank=True, related_name="invoice_lines"
    )

    class Meta(PricedLine.Meta):
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")

    def clean(self):
        if not self.order_line_id:
            super().clean()


class Receipt(OwnedModel):
    """Money received from a customer, applied to its invoices; what is not applied is kept
    as a prepayment (預收款) for later invoices."""

    code = models.CharField(_("code"), max_length=30, unique=True, blank=True, help_text=_("Leave empty to number automatically."))
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="receipts")
    received_on = models.DateField(_("received on"), default=timezone.localdate)
    method = models.CharField(_("method"), max_length=10, choices=ReceiptMethod.choices, default=ReceiptMethod.BANK)
    amount = models.DecimalField(_("amount"), validators=[MinValueValidator(Decimal("0.01"))], **MONEY)
    currency = models.ForeignKey(
        "org.Currency", verbose_name=_("currency"), on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text=_("Left empty: the company's base currency."),
    )
    reference = models.CharField(_("reference"), max_length=100, blank=True, help_text=_("Bank reference, check number…"))
    notes = models.TextField(_("notes"), blank=True)
    applied_amount = models.DecimalField(_("applied to invoices"), default=Decimal(0), editable=False, **MONEY)
    department = models.ForeignKey(
        "org.Department", verbose_name=_("department"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False,
    )

    class Meta:
        ordering = ("-id",)
        verbose_name = _("receipt")
        verbose_name_plural = _("receipts")
        indexes = [
            models.Index(fields=("customer", "received_on"), name="receipt_customer_date"),
            models.Index(fields=("department", "id"), name="receipt_department_id"),
            models.Index(fields=("owner", "id"), name="receipt_owner_id"),
        ]

    def __str__(self):
        return self.code or gettext("new receipt")

    @property
    def prepayment(self):
        return self.amount - self.applied_amount


class ReceiptAllocation(ChildModel):
    receipt = models.ForeignKey(Receipt, verbose_name=_("receipt"), on_delete=models.CASCADE, related_name="allocations")
    invoice = models.ForeignKey(Invoice, verbose_name=_("invoice"), on_delete=models.PROTECT, related_name="allocations")
    amount = models.DecimalField(_("amount"), validators=[MinValueValidator(Decimal("0.01"))], **MONEY)

    class Meta:
        ordering = ("id",)
        verbose_name = _("applied to invoice")
        verbose_name_plural = _("applied to invoices")


# ---- sales plans and targets ---------------------------------------------------------------


class SalesTarget(BaseModel):
    """A sales target (銷售目標) for a month, a quarter or a year: of a member, a department
    (with its sub-departments), a region (territory, with its sub-regions) or, naming none, the
    whole company; achieved by issued invoices or by money received, in the base currency."""

    period = models.CharField(_("period"), max_length=8, choices=TargetPeriod.choices, default=TargetPeriod.MONTH)
    year = models.PositiveSmallIntegerField(_("year"), validators=[MinValueValidator(2000), MaxValueValidator(2100)])
    number = models.PositiveSmallIntegerField(
        _("month or quarter"), default=1, validators=[MinValueValidator(1), MaxValueValidator(12)], help_text=_("1–12 for a month, 1–4 for a quarter; 1 for a year."),
    )
    member = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("member"), on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    department = models.ForeignKey("org.Department", verbose_name=_("department"), on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    region = models.ForeignKey("customers.Region", verbose_name=_("region"), on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    measure = models.CharField(_("achieved by"), max_length=10, choices=TargetMeasure.choices, default=TargetMeasure.INVOICED)
    amount = models.DecimalField(_("target (base currency)"), validators=[MinValueValidator(Decimal("0.01"))], **MONEY)
    notes = models.CharField(_("notes"), max_length=300, blank=True)

    class Meta:
        ordering = ("-year", "period", "number", "id")
        verbose_name = _("sales target")
        verbose_name_plural = _("sales targets")
        indexes = [models.Index(fields=("year", "period", "number"), name="target_period")]

    def __str__(self):
        return f"{self.period_label()} · {self.who()}"

    def who(self):
        return str(self.member or self.department or self.region or gettext("the whole company"))

    def period_label(self):
        if self.period == TargetPeriod.YEAR:
            return str(self.year)
        if self.period == TargetPeriod.QUARTER:
            return f"{self.year} Q{self.number}"
        return f"{self.year}-{self.number:02d}"

    def clean(self):
        errors = {}
        if sum(bool(value) for value in (self.member_id, self.department_id, self.region_id)) > 1:
            errors["member"] = _("A target is for one member, one department or one region (or, naming none, the company).")
        limit = PERIOD_NUMBERS.get(self.period, 12)
        if self.number and self.number > limit:
            errors["number"] = _("A %(period)s target is numbered 1 to %(limit)s.") % {"period": self.get_period_display(), "limit": limit}
        if errors:
            raise ValidationError(errors)


# ---- commissions ----------------------------------------------------------------------------


class CommissionPlan(BaseModel):
    """A commission plan (佣金方案): a rate per product category (the nearest category up the
    tree that has one, else the default rate) on what paid invoices earned, multiplied by the
    tier the member's target achievement reaches (e.g. below 80 % × 0.5, from 100 % × 1.2)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, verbose_name=_("members"), blank=True, related_name="+")
    default_rate = models.DecimalField(_("default rate (%)"), default=Decimal(0), help_text=_("For products whose category (and the categories above it) has no rate."), **PERCENT)
    active = models.BooleanField(_("active"), default=True)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        ordering = ("name",)
        verbose_name = _("commission plan")
        verbose_name_plural = _("commission plans")

    def __str__(self):
        return self.name


class CommissionRate(ChildModel):
    """The rate of a plan for a product category and its sub-categories."""

    plan = models.ForeignKey(CommissionPlan, verbose_name=_("commission plan"), on_delete=models.CASCADE, related_name="rates")
    category = models.ForeignKey("products.Category", verbose_name=_("product category"), on_delete=models.CASCADE, related_name="+")
    rate = models.DecimalField(_("rate (%)"), **PERCENT)

    class Meta:
        ordering = ("plan", "id")
        verbose_name = _("commission rate")
        verbose_name_plural = _("commission rates")
        constraints = [models.UniqueConstraint(fields=("plan", "category"), name="commission_rate_once")]

    def __str__(self):
        return f"{self.category} {self.rate}%"


class CommissionTier(ChildModel):
    """From this share of the member's target achieved, the commission is multiplied by `multiplier` %."""

    plan = models.ForeignKey(CommissionPlan, verbose_name=_("commission plan"), on_delete=models.CASCADE, related_name="tiers")
    from_achievement = models.DecimalField(_("from achievement (%)"), max_digits=7, decimal_places=2, validators=[MinValueValidator(0)])
    multiplier = models.DecimalField(_("multiplier (%)"), max_digits=7, decimal_places=2, validators=[MinValueValidator(0)], help_text=_("100 pays the rates as they are."))

    class Meta:
        ordering = ("plan", "from_achievement")
        verbose_name = _("achievement tier")
        verbose_name_plural = _("achievement tiers")
        constraints = [models.UniqueConstraint(fields=("plan", "from_achievement"), name="commission_tier_once")]

    def __str__(self):
        return f"≥ {self.from_achievement}% × {self.multiplier}%"


class CommissionStatement(OwnedModel):
    """A member's commission statement (佣金結算單) for a month, quarter or year: one line per
    invoice line paid in the period (credit notes given back as money or credit: negative
    lines), each traceable to its invoice. Draft statements are recalculated; a confirmed one
    is final and its invoice lines are not paid again by a later statement."""

    code = models.CharField(_("code"), max_length=30, unique=True, blank=True, help_text=_("Leave empty to number automatically."))
    member = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("member"), on_delete=models.PROTECT, related_name="+")
    plan = models.ForeignKey(CommissionPlan, verbose_name=_("commission plan"), on_delete=models.PROTECT, related_name="statements")
    period = models.CharField(_("period"), max_length=8, choices=TargetPeriod.choices, default=TargetPeriod.MONTH)
    year = models.PositiveSmallIntegerField(_("year"), validators=[MinValueValidator(2000), MaxValueValidator(2100)])
    number = models.PositiveSmallIntegerField(
        _("month or quarter"), default=1, validators=[MinValueValidator(1), MaxValueValidator(12)], help_text=_("1–12 for a month, 1–4 for a quarter; 1 for a year."),
    )
    status = models.CharField(_("status"), max_length=10, choices=CommissionStatus.choices, default=CommissionStatus.DRAFT, editable=False)
    paid_sales = models.DecimalField(_("paid sales (net)"), default=Decimal(0), editable=False, **MONEY)
    target_amount = models.DecimalField(_("target"), null=True, blank=True, editable=False, **MONEY)
    achieved = models.DecimalField(_("achieved"), null=True, blank=True, editable=False, **MONEY)
    achievement = models.DecimalField(_("achievement (%)"), null=True, blank=True, editable=False, max_digits=9, decimal_places=1)
    multiplier = models.DecimalField(_("multiplier (%)"), default=Decimal(100), editable=False, max_digits=7, decimal_places=2)
    commission = models.DecimalField(_("commission"), default=Decimal(0), editable=False, **MONEY)
    calculated_at = models.DateTimeField(_("calculated at"), null=True, blank=True, editable=False)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("confirmed by"), on_delete=models.SET_NULL, null=True, blank=True, editable=False, related_name="+",
    )
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True, editable=False)
    notes = models.TextField(_("notes"), blank=True)
    department = models.ForeignKey(
        "org.Department", verbose_name=_("department"), on_delete=models.SET_NULL, null=True, blank=True, editable=False, related_name="+",
    )

    class Meta:
        ordering = ("-year", "-number", "code")
        verbose_name = _("commission statement")
        verbose_name_plural = _("commission statements")
        constraints = [models.UniqueConstraint(fields=("member", "period", "year", "number"), name="commission_statement_once")]

    def __str__(self):
        return self.code or gettext("commission statement")

    def period_label(self):
        return SalesTarget.period_label(self)

    def clean(self):
        limit = PERIOD_NUMBERS.get(self.period, 12)
        if self.number and self.number > limit:
            raise ValidationError({"number": _("A %(period)s statement is numbered 1 to %(limit)s.") % {"period": self.get_period_display(), "limit": limit}})


class CommissionLine(models.Model):
    """One invoice (or credit note) line on a statement and how its commission was reached."""

    statement = models.ForeignKey(CommissionStatement, verbose_name=_("commission statement"), on_delete=models.CASCADE, related_name="lines")
    invoice = models.ForeignKey(Invoice, verbose_name=_("invoice"), on_delete=models.PROTECT, related_name="+")
    invoice_line = models.ForeignKey(InvoiceLine, verbose_name=_("invoice line"), on_delete=models.PROTECT, related_name="+")
    settled_on = models.DateField(_("paid on"))
    category = models.ForeignKey("products.Category", verbose_name=_("product category"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    amount = models.DecimalField(_("net amount paid (base currency)"), **MONEY)
    rate = models.DecimalField(_("rate (%)"), max_digits=5, decimal_places=2)
    commission = models.DecimalField(_("commission"), **MONEY)

    class Meta:
        ordering = ("settled_on", "invoice_id", "id")
        verbose_name = _("commission line")
        verbose_name_plural = _("commission lines")
        indexes = [models.Index(fields=("invoice_line",), name="commission_line_invoice_line")]


# ---- territories ----------------------------------------------------------------------------


class TerritoryRule(BaseModel):
    """A territory assignment rule (客戶分配規則): a new customer in one of the regions (or
    below), of one of the industries, sources or levels (each list left empty matches any) is
    given to a member, or in turn to the active members of a department. The first active rule
    that matches (lowest order) decides; the member who entered the customer keeps access."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    order = models.PositiveIntegerField(_("order"), default=10, help_text=_("Rules are tried from the lowest number up."))
    active = models.BooleanField(_("active"), default=True)
    regions = models.ManyToManyField("customers.Region", verbose_name=_("regions"), blank=True, related_name="+", help_text=_("With their sub-regions."))
    industries = models.ManyToManyField(
        "org.DictionaryItem", verbose_name=_("industries"), blank=True, related_name="+", limit_choices_to={"dictionary__code": "customer-industry"},
    )
    sources = models.ManyToManyField(
        "org.DictionaryItem", verbose_name=_("sources"), blank=True, related_name="+", limit_choices_to={"dictionary__code": "customer-source"},
    )
    levels = models.ManyToManyField("customers.CustomerLevel", verbose_name=_("customer levels"), blank=True, related_name="+")
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("give to member"), on_delete=models.PROTECT, null=True, blank=True, related_name="+",
    )
    team = models.ForeignKey(
        "org.Department", verbose_name=_("or in turn to the members of"), on_delete=models.PROTECT, null=True, blank=True, related_name="+",
    )
    last_given = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("last given to"), on_delete=models.SET_NULL, null=True, blank=True, editable=False, related_name="+",
    )
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        ordering = ("order", "name")
        verbose_name = _("territory rule")
        verbose_name_plural = _("territory rules")

    def __str__(self):
        return self.name

    def clean(self):
        if bool(self.member_id) == bool(self.team_id):
            raise ValidationError({"member": _("Give the customers to one member or to the members of one department.")})


# ---- reconciliation -------------------------------------------------------------------------


class AccountStatement(OwnedModel):
    """An account statement (對帳單) of a customer in one currency for a period: the book
    balance at its start, what was invoiced, credited and received in it, and the balance at
    its end — sent to the customer, whose own balance (the actual amount) is recorded against
    it: agreed when equal, disputed with the difference and their explanation otherwise. The
    figures are taken while it is a draft and kept as they were sent."""

    code = models.CharField(_("code"), max_length=30, unique=True, blank=True, help_text=_("Leave empty to number automatically."))
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="account_statements")
    currency = models.ForeignKey(
        "org.Currency", verbose_name=_("currency"), on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text=_("Left empty: the base currency."),
    )
    period_start = models.DateField(_("period from"))
    period_end = models.DateField(_("period to"))
    status = models.CharField(_("status"), max_length=10, choices=StatementStatus.choices, default=StatementStatus.DRAFT, editable=False)
    opening_balance = models.DecimalField(_("opening balance"), default=Decimal(0), editable=False, **MONEY)
    invoiced = models.DecimalField(_("invoiced"), default=Decimal(0), editable=False, **MONEY)
    credited = models.DecimalField(_("credit notes"), default=Decimal(0), editable=False, **MONEY)
    received = models.DecimalField(_("money received"), default=Decimal(0), editable=False, **MONEY)
    closing_balance = models.DecimalField(_("balance in our books"), default=Decimal(0), editable=False, **MONEY)
    sent_on = models.DateField(_("sent on"), null=True, blank=True, editable=False)
    customer_balance = models.DecimalField(
        _("balance the customer confirms"), null=True, blank=True, help_text=_("Entered when the customer answers; agreed when it equals our balance."), **MONEY,
    )
    difference = models.DecimalField(_("difference"), null=True, blank=True, editable=False, **MONEY)
    answer = models.TextField(_("customer's answer"), blank=True, help_text=_("What the customer says differs (a payment on the way, an invoice they miss…)."))
    answered_on = models.DateField(_("answered on"), null=True, blank=True, editable=False)
    notes = models.TextField(_("internal notes"), blank=True)
    department = models.ForeignKey(
        "org.Department", verbose_name=_("department"), on_delete=models.SET_NULL, null=True, blank=True, editable=False, related_name="+",
    )

    class Meta:
        ordering = ("-period_end", "-id")
        verbose_name = _("account statement")
        verbose_name_plural = _("account statements")
        indexes = [models.Index(fields=("customer", "period_end"), name="statement_customer_end")]

    def __str__(self):
        return self.code or gettext("account statement")

    @property
    def money_places(self):
        return self.currency.decimal_places if self.currency_id else 2

    def clean(self):
        if self.period_start and self.period_end and self.period_end < self.period_start:
            raise ValidationError({"period_end": _("The period ends before it starts.")})


# ---- print templates ------------------------------------------------------------------------

PLACEHOLDERS = {
    PrintKind.QUOTE: ("company", "customer", "contact", "code", "date", "valid_until", "total", "currency", "owner"),
    PrintKind.ACCOUNT_STATEMENT: ("company", "customer", "code", "period_start", "period_end", "closing_balance", "currency", "owner"),
}
PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


class PrintTemplate(BaseModel):
    """How a kind of document is printed (列印範本): its title, a text above the lines, a text
    below the totals, a footer on every page and the company logo. Texts may name the
    document's values as {{ customer }}, {{ code }}… — plain values put in place, nothing
    else is run, so a template cannot reach anything it is not given."""

    kind = models.CharField(_("document"), max_length=10, choices=PrintKind.choices, default=PrintKind.QUOTE)
    name = models.CharField(_("name"), max_length=100, unique=True)
    is_default = models.BooleanField(_("default for its document"), default=False)
    title = models.CharField(_("title"), max_length=100, blank=True, help_text=_("Left empty: the document's own name."))
    intro = models.TextField(
        _("text above the lines"), blank=True,
        help_text=_("Any text may name the document's values, e.g. {{ customer }}, {{ code }}, {{ total }}; an unknown name is refused with the list of names."),
    )
    closing = models.TextField(_("text below the totals"), blank=True)
    footer = models.CharField(_("footer on every page"), max_length=300, blank=True)
    show_logo = models.BooleanField(_("print the company logo"), default=True)

    class Meta:
        ordering = ("kind", "name")
        verbose_name = _("print template")
        verbose_name_plural = _("print templates")

    def __str__(self):
        return self.name

    def clean(self):
        allowed = PLACEHOLDERS.get(self.kind, ())
        errors = {}
        for name in ("title", "intro", "closing", "footer"):
            unknown = sorted({found for found in PLACEHOLDER.findall(getattr(self, name) or "") if found not in allowed})
            if unknown:
                errors[name] = _("Unknown placeholder %(names)s. Use: %(allowed)s.") % {
                    "names": ", ".join("{{ %s }}" % found for found in unknown), "allowed": ", ".join("{{ %s }}" % found for found in allowed),
                }
        if errors:
            raise ValidationError(errors)

    def fill(self, text, values):
        """`text` with each {{ name }} replaced by its value (clean() refused any other name)."""
        return PLACEHOLDER.sub(lambda match: str(values.get(match.group(1), "")), text or "")
