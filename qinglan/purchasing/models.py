"""Purchasing (採購): purchase orders to suppliers, with lines of products, prices and expected
dates, received into a warehouse through the warehouse's purchase receipts."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from qinglan.core.models import ChildModel, OwnedModel

from .choices import PaymentMethod, PurchaseStatus, RequestStatus, SupplierInvoiceStatus

QUANTITY = {"max_digits": 18, "decimal_places": 4}
MONEY = {"max_digits": 18, "decimal_places": 2}


class PurchaseOrder(OwnedModel):
    code = models.CharField(_("code"), max_length=30, unique=True, blank=True, help_text=_("Leave empty to number automatically."))
    supplier = models.ForeignKey("customers.Customer", verbose_name=_("supplier"), on_delete=models.PROTECT, related_name="purchase_orders")
    warehouse = models.ForeignKey("inventory.Warehouse", verbose_name=_("receive into"), on_delete=models.PROTECT, related_name="purchase_orders")
    order_date = models.DateField(_("order date"), default=timezone.localdate)
    expected_date = models.DateField(_("expected date"), null=True, blank=True)
    currency = models.ForeignKey(
        "org.Currency", verbose_name=_("currency"), on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text=_("Left empty: the company's base currency."),
    )
    notes = models.TextField(_("notes"), blank=True)
    # Kept by the services.
    status = models.CharField(_("status"), max_length=10, choices=PurchaseStatus.choices, default=PurchaseStatus.DRAFT, editable=False)
    total = models.DecimalField(_("total"), default=Decimal(0), editable=False, **MONEY)
    invoiced_amount = models.DecimalField(_("invoiced"), default=Decimal(0), editable=False, **MONEY)
    paid_amount = models.DecimalField(pgettext_lazy("payable", "paid"), default=Decimal(0), editable=False, **MONEY)
    department = models.ForeignKey(
        "org.Department", verbose_name=_("department"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False,
    )
    request = models.ForeignKey(
        "PurchaseRequest", verbose_name=_("purchase request"), on_delete=models.SET_NULL, null=True, blank=True, related_name="orders", editable=False,
    )

    class Meta:
        ordering = ("-id",)
        verbose_name = _("purchase order")
        verbose_name_plural = _("purchase orders")
        indexes = [
            models.Index(fields=("supplier", "status"), name="purchase_supplier_status"),
            models.Index(fields=("department", "id"), name="purchase_department_id"),
            models.Index(fields=("owner", "id"), name="purchase_owner_id"),
        ]

    def __str__(self):
        return self.code or gettext("new purchase order")

    def clean(self):
        if self.supplier_id and not self.supplier.is_supplier:
            raise ValidationError({"supplier": _("%(partner)s is not a supplier.") % {"partner": self.supplier}})
        if self.expected_date and self.order_date and self.expected_date < self.order_date:
            raise ValidationError({"expected_date": _("Goods cannot be expected before the order date.")})


class PurchaseOrderLine(ChildModel):
    order = models.ForeignKey(PurchaseOrder, verbose_name=_("purchase order"), on_delete=models.CASCADE, related_name="lines")
    supplier_code = models.CharField(
        _("supplier's item code"), max_length=60, blank=True, help_text=_("The supplier's code for the item; fills in the product from the material mapping."),
    )
    product = models.ForeignKey("products.Product", verbose_name=_("product"), on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(_("quantity"), validators=[MinValueValidator(Decimal("0.0001"))], **QUANTITY)
    unit = models.ForeignKey("products.Unit", verbose_name=_("unit"), on_delete=models.PROTECT, null=True, blank=True, related_name="+", help_text=_("Left empty: the product's base unit."))
    unit_price = models.DecimalField(_("unit price"), validators=[MinValueValidator(0)], **MONEY)
    expected_date = models.DateField(_("expected date"), null=True, blank=True)
    received_quantity = models.DecimalField(_("received"), default=Decimal(0), editable=False, **QUANTITY)
    invoiced_quantity = models.DecimalField(_("invoiced"), default=Decimal(0), editable=False, **QUANTITY)
    # Kept by the services: the purchase request line this one orders (conversion).
    request_line = models.ForeignKey(
        "PurchaseRequestLine", verbose_name=_("purchase request line"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="order_lines", editable=False,
    )

    class Meta:
        ordering = ("id",)
        verbose_name = _("purchase order line")
        verbose_name_plural = _("purchase order lines")

    def __str__(self):
        return str(self.product) if self.product_id else ""

    @property
    def open_quantity(self):
        return max(self.quantity - self.received_quantity, Decimal(0))


class PurchaseRequest(OwnedModel):
    """A purchase request (請購單): a member (its owner, the requester) asks for products,
    quantities and dates with a reason; the requester's manager approves it in the workflow,
    then purchasing converts it into purchase orders, one per chosen supplier."""

    code = models.CharField(_("code"), max_length=30, unique=True, blank=True, help_text=_("Leave empty to number automatically."))
    warehouse = models.ForeignKey("inventory.Warehouse", verbose_name=_("deliver to"), on_delete=models.PROTECT, related_name="purchase_requests")
    needed_by = models.DateField(_("needed by"), null=True, blank=True)
    reason = models.TextField(_("reason"))
    notes = models.TextField(_("notes"), blank=True)
    # Kept by the services.
    status = models.CharField(_("status"), max_length=10, choices=RequestStatus.choices, default=RequestStatus.DRAFT, editable=False)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True, editable=False)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True, editable=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("decided by"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False,
    )
    decision_note = models.CharField(_("approver's note"), max_length=500, blank=True, editable=False)
    department = models.ForeignKey(
        "org.Department", verbose_name=_("department"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False,
    )

    class Meta:
        ordering = ("-id",)
        verbose_name = _("purchase request")
        verbose_name_plural = _("purchase requests")
        indexes = [
            models.Index(fields=("status", "id"), name="purchase_request_status"),
            models.Index(fields=("department", "id"), name="purchase_request_department"),
            models.Index(fields=("owner", "id"), name="purchase_request_owner"),
        ]

    def __str__(self):
        return self.code or gettext("new purchase request")


class PurchaseRequestLine(ChildModel):
    request = models.ForeignKey(PurchaseRequest, verbose_name=_("purchase request"), on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("products.Product", verbose_name=_("product"), on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(_("quantity"), validators=[MinValueValidator(Decimal("0.0001"))], **QUANTITY)
    unit = models.ForeignKey("products.Unit", verbose_name=_("unit"), on_delete=models.PROTECT, null=True, blank=True, related_name="+", help_text=_("Left empty: the product's base unit."))
    needed_by = models.DateField(_("needed by"), null=True, blank=True)
    supplier = models.ForeignKey(
        "customers.Customer", verbose_name=_("suggested supplier"), on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        limit_choices_to={"is_supplier": True},
    )
    notes = models.CharField(_("notes"), max_length=200, blank=True)
    # Kept by the services: what purchase orders (not cancelled) order of it, in its unit.
    ordered_quantity = models.DecimalField(_("ordered"), default=Decimal(0), editable=False, **QUANTITY)

    class Meta:
        ordering = ("id",)
        verbose_name = _("purchase request line")
        verbose_name_plural = _("purchase request lines")

    def __str__(self):
        return str(self.product) if self.product_id else ""

    @property
    def open_quantity(self):
        return max(self.quantity - self.ordered_quantity, Decimal(0))


class SupplierInvoice(OwnedModel):
    """A supplier's invoice (進項發票) for what a purchase order brought in: never more than
    was received and not invoiced yet (received vs ordered vs invoiced). Issued, it is owed
    (accounts payable) until payments to the supplier are applied to it."""

    code = models.CharField(_("code"), max_length=30, unique=True, blank=True, help_text=_("Leave empty to number automatically."))
    order = models.ForeignKey(PurchaseOrder, verbose_name=_("purchase order"), on_delete=models.PROTECT, related_name="invoices")
    supplier_reference = models.CharField(_("supplier's invoice number"), max_length=60, blank=True)
    invoice_date = models.DateField(_("invoice date"), default=timezone.localdate)
    due_date = models.DateField(_("due date"), null=True, blank=True, help_text=_("Left empty: 30 days after the invoice date."))
    notes = models.TextField(_("notes"), blank=True)
    # Kept by the services.
    supplier = models.ForeignKey("customers.Customer", verbose_name=_("supplier"), on_delete=models.PROTECT, related_name="supplier_invoices", editable=False)
    currency = models.ForeignKey("org.Currency", verbose_name=_("currency"), on_delete=models.PROTECT, null=True, blank=True, related_name="+", editable=False)
    status = models.CharField(_("status"), max_length=10, choices=SupplierInvoiceStatus.choices, default=SupplierInvoiceStatus.DRAFT, editable=False)
    total = models.DecimalField(_("total"), default=Decimal(0), editable=False, **MONEY)
    total_base = models.DecimalField(_("total in base currency"), null=True, blank=True, editable=False, **MONEY)
    paid_amount = models.DecimalField(pgettext_lazy("payable", "paid"), default=Decimal(0), editable=False, **MONEY)
    balance_base = models.DecimalField(_("open balance in base currency"), default=Decimal(0), editable=False, **MONEY)
    department = models.ForeignKey(
        "org.Department", verbose_name=_("department"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False,
    )

    class Meta:
        ordering = ("-id",)
        verbose_name = _("supplier invoice")
        verbose_name_plural = _("supplier invoices")
        indexes = [
            models.Index(fields=("supplier", "status"), name="supplier_invoice_supplier"),
            models.Index(fields=("status", "due_date"), name="supplier_invoice_due"),
            models.Index(fields=("department", "id"), name="supplier_invoice_department"),
            models.Index(fields=("owner", "id"), name="supplier_invoice_owner"),
        ]

    def __str__(self):
        return self.code or gettext("new supplier invoice")

    def clean(self):
        if self.order_id and self.order.status in (PurchaseStatus.DRAFT, PurchaseStatus.CANCELLED):
            raise ValidationError({"order": _("Purchase order %(order)s is %(status)s; only a placed order is invoiced.") % {"order": self.order, "status": self.order.get_status_display()}})

    @property
    def open_amount(self):
        return self.total - self.paid_amount


class SupplierInvoiceLine(ChildModel):
    invoice = models.ForeignKey(SupplierInvoice, verbose_name=_("supplier invoice"), on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(PurchaseOrderLine, verbose_name=_("purchase order line"), on_delete=models.PROTECT, related_name="invoice_lines")
    quantity = models.DecimalField(_("quantity"), validators=[MinValueValidator(Decimal("0.0001"))], **QUANTITY)
    unit_price = models.DecimalField(_("unit price"), null=True, blank=True, validators=[MinValueValidator(0)], help_text=_("Left empty: the order's price."), **MONEY)
    amount = models.DecimalField(_("amount"), default=Decimal(0), editable=False, **MONEY)

    class Meta:
        ordering = ("id",)
        verbose_name = _("supplier invoice line")
        verbose_name_plural = _("supplier invoice lines")

    def __str__(self):
        return str(self.order_line) if self.order_line_id else ""


class SupplierPayment(OwnedModel):
    """Money paid to a supplier (付款), applied to its issued invoices; what is not applied is
    kept as an advance to the supplier (預付款) for later invoices."""

    code = models.CharField(_("code"), max_length=30, unique=True, blank=True, help_text=_("Leave empty to number automatically."))
    supplier = models.ForeignKey("customers.Customer", verbose_name=_("supplier"), on_delete=models.PROTECT, related_name="supplier_payments")
    paid_on = models.DateField(_("paid on"), default=timezone.localdate)
    method = models.CharField(_("method"), max_length=10, choices=PaymentMethod.choices, default=PaymentMethod.BANK)
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
        verbose_name = _("supplier payment")
        verbose_name_plural = _("supplier payments")
        indexes = [
            models.Index(fields=("supplier", "paid_on"), name="supplier_payment_supplier"),
            models.Index(fields=("department", "id"), name="supplier_payment_department"),
            models.Index(fields=("owner", "id"), name="supplier_payment_owner"),
        ]

    def __str__(self):
        return self.code or gettext("new supplier payment")

    @property
    def advance(self):
        return self.amount - self.applied_amount


class SupplierPaymentAllocation(ChildModel):
    payment = models.ForeignKey(SupplierPayment, verbose_name=_("supplier payment"), on_delete=models.CASCADE, related_name="allocations")
    invoice = models.ForeignKey(SupplierInvoice, verbose_name=_("supplier invoice"), on_delete=models.PROTECT, related_name="allocations")
    amount = models.DecimalField(_("amount"), validators=[MinValueValidator(Decimal("0.01"))], **MONEY)

    class Meta:
        ordering = ("id",)
        verbose_name = _("applied to supplier invoice")
        verbose_name_plural = _("applied to supplier invoices")
