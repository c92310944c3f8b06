"""Organisation and system settings (系統設置): departments, positions, members, groups,
roles and their permissions, company profile, dictionaries, currencies, number sequences."""

from decimal import Decimal

from django.contrib.auth.models import AbstractUser, UserManager
from django.contrib.contenttypes.models import ContentType
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

from qinglan.core.models import BaseModel, CustomFieldsMixin, OrganizationalModel, PrimaryModel, TagsMixin, TreeModel
from qinglan.core.permissions import ACTION_LABELS, ACTIONS, RestrictedQuerySet, Scope
from qinglan.core.validators import MaxFileSize


class Department(TreeModel, PrimaryModel):
    name = models.CharField(_("name"), max_length=100)
    code = models.CharField(_("code"), max_length=30, unique=True, null=True, blank=True)
    head = models.ForeignKey(
        "org.User", verbose_name=_("head"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")

    def __str__(self):
        return self.name


class Position(OrganizationalModel, CustomFieldsMixin, TagsMixin):
    choices_for_everyone = True
    level = models.PositiveSmallIntegerField(_("level"), default=0)

    class Meta(OrganizationalModel.Meta):
        verbose_name = _("position")
        verbose_name_plural = _("positions")


class MemberManager(UserManager.from_queryset(RestrictedQuerySet)):
    pass


phone_validator = RegexValidator(r"^[0-9+()#\-\s]{3,30}$", _("Enter a phone number: digits, spaces and + ( ) - #."))


class User(AbstractUser, CustomFieldsMixin, TagsMixin):
    """A member of the company: a login plus their place in the organisation."""

    str_fields = ("display_name", "first_name", "last_name", "username")  # what __str__ reads (core.tables.page_fields)

    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    employee_number = models.CharField(_("employee number"), max_length=30, blank=True, db_index=True)
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, null=True, blank=True, related_name="members"
    )
    position = models.ForeignKey(
        Position, verbose_name=_("position"), on_delete=models.PROTECT, null=True, blank=True, related_name="members"
    )
    manager = models.ForeignKey(
        "self", verbose_name=_("manager"), on_delete=models.SET_NULL, null=True, blank=True, related_name="reports"
    )
    phone = models.CharField(_("phone"), max_length=30, blank=True, validators=[phone_validator])
    mobile = models.CharField(_("mobile"), max_length=30, blank=True, validators=[phone_validator])
    avatar = models.ImageField(_("avatar"), upload_to="avatars/", blank=True, validators=[MaxFileSize(2)])
    language = models.CharField(_("language"), max_length=10, blank=True)
    theme = models.CharField(
        _("theme"), max_length=10, default="light", choices=(("light", _("light")), ("dark", _("dark")), ("auto", _("automatic")))
    )
    accent_color = models.CharField(
        _("accent colour"), max_length=7, default="#1f5fa8", validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$")]
    )
    time_zone = models.CharField(_("time zone"), max_length=50, blank=True)
    last_updated = models.DateTimeField(_("last updated"), auto_now=True)

    objects = MemberManager()

    class Meta(AbstractUser.Meta):
        verbose_name = _("member")
        verbose_name_plural = _("members")
        swappable = "AUTH_USER_MODEL"
        indexes = [models.Index(fields=("department", "username"))]

    def __str__(self):
        return self.display_name or self.get_full_name() or self.username

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("org:user_detail", args=[self.pk])


class Group(OrganizationalModel, CustomFieldsMixin, TagsMixin):
    """A working group that roles and permissions can be given to as a whole."""

    members = models.ManyToManyField(User, verbose_name=_("members"), related_name="member_groups", blank=True)

    class Meta(OrganizationalModel.Meta):
        verbose_name = _("group")
        verbose_name_plural = _("groups")


class Role(OrganizationalModel):
    members = models.ManyToManyField(User, verbose_name=_("members"), related_name="roles", blank=True)
    groups = models.ManyToManyField(Group, verbose_name=_("groups"), related_name="roles", blank=True)
    hidden_menus = models.JSONField(_("hidden menu items"), default=list, blank=True)

    class Meta(OrganizationalModel.Meta):
        verbose_name = _("role")
        verbose_name_plural = _("roles")


class RolePermission(models.Model):
    """What a role may do on one resource, over which records."""

    role = models.ForeignKey(Role, verbose_name=_("role"), on_delete=models.CASCADE, related_name="permissions")
    content_type = models.ForeignKey(ContentType, verbose_name=_("resource"), on_delete=models.CASCADE, related_name="+")
    actions = models.JSONField(_("actions"), default=list)
    scope = models.CharField(_("data scope"), max_length=12, choices=Scope.choices, default=Scope.OWN)
    constraints = models.JSONField(
        _("constraints"), null=True, blank=True, help_text=_('Optional filter, e.g. {"status": "open"}; "$user" means the member.')
    )

    objects = models.Manager.from_queryset(RestrictedQuerySet)()

    class Meta:
        verbose_name = _("role permission")
        verbose_name_plural = _("role permissions")
        constraints = [models.UniqueConstraint(fields=("role", "content_type"), name="unique_role_resource")]

    def __str__(self):
        return f"{self.role} · {self.get_content_type_display()}"

    def get_content_type_display(self):
        """The resource as "<menu group> · <resource>", as the role form lists it."""
        from qinglan.core.menu import content_type_title

        return content_type_title(self.content_type)

    def get_actions_display(self):
        """The allowed actions in words, in the order of the role form ("view, export")."""
        order = {action: index for index, action in enumerate(ACTIONS)}
        actions = sorted(self.actions or (), key=lambda action: order.get(action, len(order)))
        return pgettext("list separator", ", ").join(str(ACTION_LABELS.get(action, action)) for action in actions)

    def clean(self):
        from django.core.exceptions import ValidationError

        from qinglan.core.permissions import validate_constraints

        unknown = set(self.actions or ()) - set(ACTIONS)
        if unknown:
            raise ValidationError({"actions": _("Unknown actions: %(names)s") % {"names": ", ".join(sorted(unknown))}})
        if self.content_type_id and self.content_type.model_class() is not None:
            validate_constraints(self.content_type.model_class(), self.constraints)


class CompanyProfile(BaseModel):
    """The company itself; one row."""

    name = models.CharField(_("company name"), max_length=200)
    short_name = models.CharField(_("short name"), max_length=50, blank=True)
    tax_id = models.CharField(_("tax ID"), max_length=30, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    website = models.URLField(_("website"), blank=True)
    base_currency = models.ForeignKey(
        "org.Currency", verbose_name=_("base currency"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    logo = models.ImageField(_("logo"), upload_to="company/", blank=True, validators=[MaxFileSize(2)])
    credit_control = models.CharField(
        _("orders beyond a customer's credit limit"), max_length=10, default="block",
        choices=[("block", _("are refused")), ("approval", _("need approval"))],
    )
    quote_discount_limit = models.DecimalField(
        _("quote discount needing approval (%)"), max_digits=5, decimal_places=2, default=10,
        help_text=_("A quote priced more than this below the price lists and promotions goes to approval."),
    )

    class Meta:
        verbose_name = _("company profile")
        verbose_name_plural = _("company profile")

    def __str__(self):
        return self.name


class Dictionary(BaseModel):
    """An administrator-editable option list (industries, sources, levels…)."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    description = models.CharField(_("description"), max_length=300, blank=True)

    class Meta:
        ordering = ("code",)
        verbose_name = _("dictionary")
        verbose_name_plural = _("dictionaries")

    def __str__(self):
        return self.name

    def choices(self):
        return [(item.value, item.label) for item in self.items.filter(active=True)]


class DictionaryItem(models.Model):
    choices_for_everyone = True
    dictionary = models.ForeignKey(Dictionary, on_delete=models.CASCADE, related_name="items")
    value = models.CharField(_("value"), max_length=50)
    label = models.CharField(_("label"), max_length=100)
    order = models.PositiveIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)

    objects = models.Manager.from_queryset(RestrictedQuerySet)()

    class Meta:
        ordering = ("order", "id")
        verbose_name = _("option")
        verbose_name_plural = _("options")
        constraints = [models.UniqueConstraint(fields=("dictionary", "value"), name="unique_dictionary_value")]

    def __str__(self):
        return self.label


class Currency(BaseModel):
    choices_for_everyone = True
    str_fields = ("code", "name")  # what __str__ reads (core.tables.page_fields)
    code = models.CharField(
        _("code"), max_length=3, unique=True, validators=[RegexValidator(r"^[A-Z]{3}$", _("Use the three-letter ISO code, e.g. TWD."))]
    )
    name = models.CharField(_("name"), max_length=50)
    symbol = models.CharField(_("symbol"), max_length=5, blank=True)
    decimal_places = models.PositiveSmallIntegerField(_("decimal places"), default=2)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ("code",)
        verbose_name = _("currency")
        verbose_name_plural = _("currencies")

    def __str__(self):
        return f"{self.code} {self.name}"


class ExchangeRate(models.Model):
    """Units of the base currency for one unit of `currency`, valid from `date`."""

    currency = models.ForeignKey(Currency, verbose_name=_("currency"), on_delete=models.CASCADE, related_name="rates")
    date = models.DateField(_("date"))
    rate = models.DecimalField(_("rate"), max_digits=18, decimal_places=8)

    objects = models.Manager.from_queryset(RestrictedQuerySet)()

    class Meta:
        ordering = ("-date",)
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")
        constraints = [
            models.UniqueConstraint(fields=("currency", "date"), name="unique_rate_per_day"),
            models.CheckConstraint(condition=models.Q(rate__gt=Decimal(0)), name="rate_positive"),
        ]

    def __str__(self):
        return f"{self.currency.code} {self.date} {self.rate}"


class NumberSequence(BaseModel):
    """Gap-free document numbers such as SO-2026-00001; see services.next_number."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(
        _("pattern"), max_length=50, default="{code}-{year}-", help_text=_("Placeholders: {code}, {year}, {month}.")
    )
    padding = models.PositiveSmallIntegerField(_("digits"), default=5)
    reset_yearly = models.BooleanField(_("restart every year"), default=True)
    period = models.CharField(max_length=10, blank=True, editable=False)
    next_value = models.PositiveBigIntegerField(_("next value"), default=1)

    class Meta:
        ordering = ("code",)
        verbose_name = _("number sequence")
        verbose_name_plural = _("number sequences")

    def __str__(self):
        return self.name
