"""Product catalogue (產品目錄): a category tree with typed attributes that sub-categories
inherit, brands, units and their conversions, products with variants and images.

Attribute values live on the product (or variant) as JSON keyed by the attribute's code,
checked by type against the category's attributes; `AttributeValue` rows index them for the
faceted search and are rewritten from the JSON by the services whenever it is saved."""

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from qinglan.core.models import BaseModel, OrganizationalModel, OwnedModel, PrimaryModel, TreeModel

from .choices import AttributeType, ProductStatus
from .validators import validate_barcode

MONEY = {"max_digits": 18, "decimal_places": 2}
COST = {"max_digits": 18, "decimal_places": 4}  # a unit cost may be a fraction of a cent (a screw bought by the thousand)
code_validator = RegexValidator(r"^[a-z][a-z0-9_]*$", _("Use lower-case letters, digits and underscores, starting with a letter."))


class AttributeData(dict):
    """Attribute values as read from the database: written out as JSON wherever a value is
    turned into text (CSV and XLSX exports), so an exported file imports again as it is."""

    def __str__(self):
        import json

        return json.dumps(self, ensure_ascii=False)


class AttributesField(models.JSONField):
    """{attribute code: value} of a product or variant (see attributes.py for the types)."""

    def from_db_value(self, value, expression, connection):
        data = super().from_db_value(value, expression, connection)
        return AttributeData(data) if isinstance(data, dict) else data

    def formfield(self, **kwargs):
        from .forms import AttributeValuesField

        return super().formfield(**{"form_class": AttributeValuesField, **kwargs})


class OptionList(list):
    """A choice list's options as read from the database: one per line wherever it is turned
    into text (exports), which is how the attribute form and imports read them."""

    def __str__(self):
        return "\n".join(str(option) for option in self)


class OptionsJSONField(models.JSONField):
    def from_db_value(self, value, expression, connection):
        data = super().from_db_value(value, expression, connection)
        return OptionList(data) if isinstance(data, list) else data


class Category(TreeModel, PrimaryModel):
    """A product category: an unlimited tree (e.g. 電子產品 / 手機 / 智慧型手機)."""

    choices_for_everyone = True
    name = models.CharField(_("name"), max_length=100)
    code = models.CharField(_("code"), max_length=30, unique=True, null=True, blank=True)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        verbose_name = _("product category")
        verbose_name_plural = _("product categories")

    def __str__(self):
        return self.name


class Attribute(BaseModel):
    """A typed property of the products of a category and of all its sub-categories."""

    category = models.ForeignKey(Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="attributes")
    code = models.CharField(
        _("code"), max_length=50, validators=[code_validator],
        help_text=_("Internal name used in imports, exports and the API, e.g. screen_size."),
    )
    name = models.CharField(_("name"), max_length=100)
    type = models.CharField(_("type"), max_length=10, choices=AttributeType.choices, default=AttributeType.TEXT)
    unit = models.CharField(_("unit"), max_length=20, blank=True, help_text=_("For numbers, e.g. inch, mAh, g."))
    options = OptionsJSONField(_("options"), default=list, blank=True, help_text=_("For choice lists: one option per line."))
    required = models.BooleanField(_("required"), default=False)
    filterable = models.BooleanField(_("offered as a filter"), default=True)
    for_variants = models.BooleanField(
        _("varies by variant"), default=False, help_text=_("Set on each variant (colour, size) instead of on the product."),
    )
    order = models.PositiveSmallIntegerField(_("order"), default=100, blank=True)  # left empty: 100 (see clean())

    class Meta:
        ordering = ("order", "name", "id")
        verbose_name = _("product attribute")
        verbose_name_plural = _("product attributes")
        constraints = [models.UniqueConstraint(fields=("category", "code"), name="product_attribute_code")]

    def __str__(self):
        return f"{self.name} ({self.unit})" if self.unit else self.name

    def clean(self):
        super().clean()
        if self.order is None:
            self.order = 100


class Brand(OrganizationalModel):
    choices_for_everyone = True
    name_latin = models.CharField(_("Latin name"), max_length=100, blank=True)

    class Meta(OrganizationalModel.Meta):
        verbose_name = _("brand")
        verbose_name_plural = _("brands")


class Unit(BaseModel):
    """A unit products are counted, sold or stored in (個, 箱, 公斤)."""

    choices_for_everyone = True
    code = models.CharField(_("code"), max_length=20, unique=True, help_text=_("e.g. pcs, box, kg"))
    name = models.CharField(_("name"), max_length=50)
    description = models.CharField(_("description"), max_length=200, blank=True)

    class Meta:
        ordering = ("code",)
        verbose_name = _("unit")
        verbose_name_plural = _("units")

    def __str__(self):
        return self.name


class Product(OwnedModel):
    """A product or service we sell; its owner is the product manager who keeps it."""

    code = models.CharField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_latin = models.CharField(_("Latin name"), max_length=200, blank=True)
    category = models.ForeignKey(Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="products")
    brand = models.ForeignKey(Brand, verbose_name=_("brand"), on_delete=models.PROTECT, null=True, blank=True, related_name="products")
    # Optional in forms, the API and import files: left empty it is "active" (see clean()).
    status = models.CharField(_("status"), max_length=12, choices=ProductStatus.choices, default=ProductStatus.ACTIVE, blank=True)
    description = models.TextField(_("description"), blank=True)
    barcode = models.CharField(
        _("barcode"), max_length=40, unique=True, null=True, blank=True, validators=[validate_barcode],
        help_text=_("EAN-13, UPC-A or another code; EAN and UPC check digits are verified."),
    )
    base_unit = models.ForeignKey(Unit, verbose_name=_("base unit"), on_delete=models.PROTECT, related_name="+")
    cost = models.DecimalField(_("cost"), null=True, blank=True, validators=[MinValueValidator(0)], **COST)
    cost_currency = models.ForeignKey(
        "org.Currency", verbose_name=_("cost currency"), on_delete=models.PROTECT, null=True, blank=True, related_name="+",
    )
    list_price = models.DecimalField(_("list price"), null=True, blank=True, validators=[MinValueValidator(0)], **MONEY)
    price_currency = models.ForeignKey(
        "org.Currency", verbose_name=_("price currency"), on_delete=models.PROTECT, null=True, blank=True, related_name="+",
    )
    weight = models.DecimalField(_("weight (kg)"), max_digits=12, decimal_places=3, null=True, blank=True, validators=[MinValueValidator(0)])
    attributes = AttributesField(_("attributes"), default=dict, blank=True)
    # Folded keys for the prefix search (services.prepare_product keeps them).
    name_key = models.CharField(max_length=200, blank=True, editable=False, db_index=True)
    latin_key = models.CharField(max_length=200, blank=True, editable=False, db_index=True)
    code_key = models.CharField(max_length=60, blank=True, editable=False, db_index=True)

    class Meta:
        ordering = ("code",)
        verbose_name = _("product")
        verbose_name_plural = _("products")
        indexes = [
            models.Index(fields=("category", "id"), name="product_category_id"),
            models.Index(fields=("status", "id"), name="product_status_id"),
            models.Index(fields=("owner", "id"), name="product_owner_id"),
        ]

    def __str__(self):
        return f"{self.code} {self.name}"

    def clean(self):
        from . import services

        super().clean()
        if not self.status:
            self.status = ProductStatus.ACTIVE
        services.check_product(product=self)


class ProductVariant(PrimaryModel):
    """A sellable version of a product (a colour and size): its own code, barcode and
    attribute values, and its own cost or price when they differ from the product's."""

    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.CASCADE, related_name="variants")
    code = models.CharField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200, blank=True, help_text=_("Leave empty to name it by its attribute values."))
    barcode = models.CharField(_("barcode"), max_length=40, unique=True, null=True, blank=True, validators=[validate_barcode])
    active = models.BooleanField(pgettext_lazy("product", "active"), default=True)
    attributes = AttributesField(_("attributes"), default=dict, blank=True)
    cost = models.DecimalField(
        _("cost"), null=True, blank=True, validators=[MinValueValidator(0)], help_text=_("Empty: the product's cost."), **COST,
    )
    list_price = models.DecimalField(
        _("list price"), null=True, blank=True, validators=[MinValueValidator(0)], help_text=_("Empty: the product's list price."), **MONEY,
    )
    code_key = models.CharField(max_length=60, blank=True, editable=False, db_index=True)

    class Meta:
        ordering = ("product", "code")
        verbose_name = _("product variant")
        verbose_name_plural = _("product variants")

    def __str__(self):
        return f"{self.code} {self.name}".strip()

    def clean(self):
        from . import services

        super().clean()
        services.check_variant(variant=self)

    @property
    def effective_cost(self):
        return self.product.cost if self.cost is None else self.cost

    @property
    def effective_list_price(self):
        return self.product.list_price if self.list_price is None else self.list_price


class UnitConversion(BaseModel):
    """1 `from_unit` = `factor` `to_unit`, for every product or, when `product` is set, for
    that product alone (overriding a conversion of every product between the same units)."""

    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.CASCADE, null=True, blank=True, related_name="unit_conversions",
        help_text=_("Empty: for every product."),
    )
    from_unit = models.ForeignKey(Unit, verbose_name=_("from unit"), on_delete=models.PROTECT, related_name="+")
    factor = models.DecimalField(_("factor"), max_digits=20, decimal_places=8, help_text=_("How many of the second unit make one of the first."))
    to_unit = models.ForeignKey(Unit, verbose_name=_("to unit"), on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ("product", "from_unit", "to_unit")
        verbose_name = _("unit conversion")
        verbose_name_plural = _("unit conversions")

    def __str__(self):
        return f"1 {self.from_unit} = {self.factor.normalize():f} {self.to_unit}" if self.factor is not None else ""

    def clean(self):
        from . import services

        super().clean()
        services.check_conversion(conversion=self)


def new_token():
    import secrets

    return secrets.token_hex(12)


def product_image_path(instance, filename):
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "img"
    return f"products/{instance.product_id}/{instance.token}.{extension}"


class ProductImage(models.Model):
    """A picture of a product, checked to be a real image of an allowed type and size; it is
    served only to members who may view the product."""

    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(_("image"), upload_to=product_image_path, max_length=300, width_field="width", height_field="height")
    token = models.CharField(max_length=32, default=new_token, editable=False)  # an unguessable file name
    caption = models.CharField(_("caption"), max_length=200, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=100)
    width = models.PositiveIntegerField(default=0, editable=False)
    height = models.PositiveIntegerField(default=0, editable=False)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", editable=False)
    created = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        ordering = ("order", "id")
        verbose_name = _("product image")
        verbose_name_plural = _("product images")

    def __str__(self):
        return self.caption or self.image.name.rsplit("/", 1)[-1]


class AttributeValue(models.Model):
    """One attribute value of a product or variant, indexed for the faceted search. Written
    by services.index_attributes from the record's JSON; never edited by itself."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="attribute_index")
    variant = models.ForeignKey(ProductVariant, on_delete=models.CASCADE, null=True, related_name="attribute_index")
    attribute = models.ForeignKey(Attribute, on_delete=models.PROTECT, related_name="values")
    key = models.CharField(max_length=200)  # the value as compared: option, folded text, number, date, 1/0
    number = models.DecimalField(max_digits=24, decimal_places=8, null=True)

    class Meta:
        indexes = [
            models.Index(fields=("attribute", "key", "product"), name="product_attr_key"),
            models.Index(fields=("attribute", "number"), name="product_attr_number"),
            # A product's values of one attribute: the facet counts look up a sample of products.
            models.Index(fields=("product", "attribute", "key"), name="product_attr_product"),
        ]
