"""Customer management (客戶管理): parties (customers, suppliers, partners), their contacts,
addresses and follow-up activities, regions and levels, and the log of pool transfers."""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from qinglan.core.models import BaseModel, ChildModel, OrganizationalModel, OwnedModel, PrimaryModel, TreeModel
from qinglan.core.permissions import RestrictedQuerySet
from qinglan.org.models import phone_validator

from .choices import ActivityKind, AddressKind, CustomerStatus, DecisionRole, PartyKind, TransferKind, ValueGrade

MONEY = {"max_digits": 18, "decimal_places": 2}


class Region(TreeModel, PrimaryModel):
    """Sales regions and territories as an unlimited tree (e.g. 台灣 / 北部 / 台北市)."""

    choices_for_everyone = True
    name = models.CharField(_("name"), max_length=100)
    code = models.CharField(_("code"), max_length=30, unique=True, null=True, blank=True)

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self):
        return self.name


class CustomerLevel(OrganizationalModel):
    """Customer levels (e.g. VIP, key account, normal) with their public-pool rule."""

    choices_for_everyone = True
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    pool_days = models.PositiveIntegerField(
        _("days without follow-up before returning to the pool"),
        null=True,
        blank=True,
        help_text=_("Empty: customers of this level never return to the pool by themselves."),
    )
    reclaim_days = models.PositiveSmallIntegerField(
        _("days before a former owner may claim again"),
        # Optional in forms, the API and import files (clients and files made before it existed
        # do not send it); left empty it is 0, see clean().
        default=0,
        blank=True,
        help_text=_(
            "A member from whom a customer of this level went to the public pool (released, or returned for lack of "
            "follow-up) may claim it back only after this many days; other members may claim it at once. 0: no waiting."
        ),
    )

    class Meta(OrganizationalModel.Meta):
        ordering = ("order", "name")
        verbose_name = _("customer level")
        verbose_name_plural = _("customer levels")

    def clean(self):
        super().clean()
        if self.reclaim_days is None:
            self.reclaim_days = 0  # left empty: no cool-down


class Customer(OwnedModel):
    """A party we deal with: a customer, a supplier, a partner, or several of these at once."""

    str_fields = ("name",)  # what __str__ reads: a page showing customers beside other records loads only these

    code = models.CharField(_("code"), max_length=30, unique=True, blank=True, help_text=_("Leave empty to number automatically."))
    kind = models.CharField(_("kind"), max_length=10, choices=PartyKind.choices, default=PartyKind.COMPANY)
    name = models.CharField(_("name"), max_length=200, db_index=True)
    name_latin = models.CharField(_("Latin name"), max_length=200, blank=True)
    short_name = models.CharField(_("short name"), max_length=60, blank=True)
    tax_id = models.CharField(_("tax ID"), max_length=30, blank=True, db_index=True)
    is_customer = models.BooleanField(_("customer"), default=True)
    is_supplier = models.BooleanField(_("supplier"), default=False)
    is_partner = models.BooleanField(_("partner"), default=False)
    status = models.CharField(_("status"), max_length=10, choices=CustomerStatus.choices, default=CustomerStatus.PROSPECT)
    industry = models.ForeignKey(
        "org.DictionaryItem", verbose_name=_("industry"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="+", limit_choices_to={"dictionary__code": "customer-industry", "active": True},
    )
    source = models.ForeignKey(
        "org.DictionaryItem", verbose_name=_("source"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="+", limit_choices_to={"dictionary__code": "customer-source", "active": True},
    )
    level = models.ForeignKey(CustomerLevel, verbose_name=pgettext_lazy("customer", "level"), on_delete=models.PROTECT, null=True, blank=True, related_name="customers")
    region = models.ForeignKey(Region, verbose_name=_("region"), on_delete=models.PROTECT, null=True, blank=True, related_name="customers")
    phone = models.CharField(_("phone"), max_length=30, blank=True, validators=[phone_validator])
    mobile = models.CharField(_("mobile"), max_length=30, blank=True, validators=[phone_validator])
    fax = models.CharField(_("fax"), max_length=30, blank=True, validators=[phone_validator])
    email = models.EmailField(_("e-mail"), blank=True)
    website = models.URLField(_("website"), blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    # Follows the owner, so a department scope is one indexed column (see services).
    department = models.ForeignKey(
        "org.Department", verbose_name=_("department"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", editable=False,
    )
    # Public pool (公海) and follow-up state
    in_pool = models.BooleanField(_("in the public pool"), default=False, editable=False)
    pooled_at = models.DateTimeField(_("in the pool since"), null=True, blank=True, editable=False)
    # When the current owner took the customer on (claim, reassignment): the idle clock of the
    # pool starts there, not at an old follow-up by someone else.
    owned_since = models.DateTimeField(_("owned since"), null=True, blank=True, editable=False)
    last_activity_at = models.DateTimeField(_("last follow-up"), null=True, blank=True, editable=False)
    next_follow_up = models.DateField(_("next follow-up"), null=True, blank=True, editable=False)
    # Value (computed from data by the services, never typed in)
    lifetime_revenue = models.DecimalField(_("lifetime revenue"), default=0, editable=False, **MONEY)
    gross_margin = models.DecimalField(_("gross margin"), default=0, editable=False, **MONEY)
    order_count = models.PositiveIntegerField(_("orders"), default=0, editable=False)
    first_order_date = models.DateField(_("first order"), null=True, blank=True, editable=False)
    last_order_date = models.DateField(_("last order"), null=True, blank=True, editable=False)
    paid_total = models.DecimalField(_("paid"), default=0, editable=False, **MONEY)
    potential_estimate = models.DecimalField(_("estimated potential"), null=True, blank=True, **MONEY)
    credit_limit = models.DecimalField(
        _("credit limit"), null=True, blank=True, validators=[MinValueValidator(0)],
        help_text=_("In the base currency; empty: no limit. Orders beyond it are blocked or need approval (see the company profile)."), **MONEY,
    )
    potential_value = models.DecimalField(_("potential value"), default=0, editable=False, **MONEY)
    model_value = models.DecimalField(_("predicted lifetime value"), null=True, blank=True, editable=False, **MONEY)
    value_grade = models.CharField(_("value grade"), max_length=1, choices=ValueGrade.choices, blank=True, editable=False)
    # Normalised forms for duplicate detection and prefix search
    name_key = models.CharField(max_length=200, blank=True, editable=False, db_index=True)
    phone_key = models.CharField(max_length=30, blank=True, editable=False, db_index=True)

    class Meta:
        ordering = ("-id",)
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [
            models.Index(fields=("department", "id"), name="customer_department_id"),
            models.Index(fields=("owner", "id"), name="customer_owner_id"),
            models.Index(fields=("in_pool", "id"), name="customer_pool_id"),
            models.Index(fields=("status", "id"), name="customer_status_id"),
            models.Index(fields=("next_follow_up",), name="customer_next_follow_up"),
            # The duplicate check looks customers up by e-mail (on every customer page too).
            models.Index(fields=("email",), name="customer_email"),
        ]

    def __str__(self):
        return self.name


class CustomerAddress(ChildModel):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="addresses")
    kind = models.CharField(_("kind"), max_length=10, choices=AddressKind.choices, default=AddressKind.OFFICE)
    country = models.CharField(_("country"), max_length=60, blank=True)
    city = models.CharField(_("city"), max_length=60, blank=True)
    line = models.CharField(_("address"), max_length=300)
    postcode = models.CharField(_("postcode"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("address")
        verbose_name_plural = _("addresses")

    def __str__(self):
        return " ".join(part for part in (self.postcode, self.country, self.city, self.line) if part)


class Contact(PrimaryModel):
    """A person at a customer. Who may see a contact follows its customer."""

    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(_("name"), max_length=100, db_index=True)
    name_latin = models.CharField(_("Latin name"), max_length=100, blank=True)
    title = models.CharField(_("job title"), max_length=100, blank=True)
    department_name = models.CharField(_("department"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True, validators=[phone_validator])
    mobile = models.CharField(_("mobile"), max_length=30, blank=True, validators=[phone_validator])
    email = models.EmailField(_("e-mail"), blank=True, db_index=True)
    im = models.CharField(_("instant messaging"), max_length=100, blank=True, help_text=_("WeChat, LINE, WhatsApp…"))
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    decision_role = models.CharField(_("decision role"), max_length=20, choices=DecisionRole.choices, blank=True)
    is_primary = models.BooleanField(_("primary contact"), default=False)
    address = models.CharField(_("address"), max_length=300, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    name_key = models.CharField(max_length=100, blank=True, editable=False, db_index=True)
    phone_key = models.CharField(max_length=30, blank=True, editable=False, db_index=True)

    class Meta:
        ordering = ("-id",)
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        indexes = [models.Index(fields=("customer", "id"), name="contact_customer_id")]

    def __str__(self):
        return self.name


class Activity(OwnedModel):
    """A follow-up: a call, visit, meeting, e-mail or note, with its outcome and the next date."""

    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="activities")
    contact = models.ForeignKey(Contact, verbose_name=_("contact"), on_delete=models.SET_NULL, null=True, blank=True, related_name="activities")
    kind = models.CharField(_("kind"), max_length=10, choices=ActivityKind.choices, default=ActivityKind.CALL)
    subject = models.CharField(_("subject"), max_length=200)
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    outcome = models.TextField(_("outcome"), blank=True)
    next_follow_up = models.DateField(_("next follow-up"), null=True, blank=True)
    reminder_sent = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ("-occurred_at", "-id")
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        indexes = [
            models.Index(fields=("customer", "-occurred_at"), name="activity_customer_time"),
            models.Index(fields=("next_follow_up", "reminder_sent"), name="activity_reminder"),
        ]

    def __str__(self):
        return self.subject


class PoolTransfer(models.Model):
    """One change of a customer's owner: claim, release, automatic return, reassignment."""

    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="transfers")
    kind = models.CharField(_("kind"), max_length=10, choices=TransferKind.choices)
    from_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("from"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    to_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("to"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)

    class Meta:
        ordering = ("-at", "-id")
        verbose_name = _("customer transfer")
        verbose_name_plural = _("customer transfers")
        indexes = [models.Index(fields=("customer", "-at"), name="transfer_customer_time")]

    def __str__(self):
        return f"{self.customer} · {self.get_kind_display()}"


class PoolCustomerManager(models.Manager.from_queryset(RestrictedQuerySet)):
    def get_queryset(self):
        return super().get_queryset().filter(in_pool=True)


class PoolCustomer(Customer):
    """The public pool (公海): customers nobody owns, which members may claim. Every member who
    may view customers sees the whole pool, whatever their data scope (see PoolCustomerResource)."""

    objects = PoolCustomerManager()

    class Meta:
        proxy = True
        verbose_name = _("public pool customer")
        verbose_name_plural = _("public pool")


class ClaimLimit(BaseModel):
    """How many customers a member may own at most; claims from the pool beyond it are refused.
    The row without a member is the default for everyone else."""

    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("member"), on_delete=models.CASCADE, null=True, blank=True, related_name="+",
        help_text=_("Empty: the default for every member without a limit of their own."),
    )
    limit = models.PositiveIntegerField(_("most customers owned"))

    class Meta:
        ordering = ("id",)
        verbose_name = _("claim limit")
        verbose_name_plural = _("claim limits")
        # One row per member and one default row (member empty): unique over COALESCE(member, 0).
        constraints = [
            models.UniqueConstraint(
                Coalesce("member", models.Value(0)),
                name="claim_limit_member",
                violation_error_message=_("There already is a claim limit for this member (or a default one); change that one instead."),
            )
        ]

    def __str__(self):
        return str(self.member) if self.member_id else str(_("every member (default)"))


class ValueGradeRule(BaseModel):
    """Where a value grade starts: a customer gets the best grade whose minimum its value
    (lifetime revenue + potential value) reaches; below every minimum it has no grade."""

    choices_for_everyone = True
    grade = models.CharField(_("value grade"), max_length=1, choices=ValueGrade.choices, unique=True)
    min_value = models.DecimalField(_("minimum value"), **MONEY)

    class Meta:
        ordering = ("grade",)
        verbose_name = _("value grade rule")
        verbose_name_plural = _("value grade rules")
        constraints = [models.CheckConstraint(condition=models.Q(min_value__gte=0), name="grade_minimum_not_negative")]

    def __str__(self):
        return f"{self.grade} ≥ {self.min_value:,.0f}"
