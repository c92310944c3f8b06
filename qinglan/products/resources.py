"""Registrations of the catalogue: products, variants, categories, attributes, brands, units
and conversions. Lists, pages, forms, API, import/export, permissions, change log, custom
fields and tags all come from the resource layer; the product module adds the typed attribute
inputs, the category filter that takes in sub-categories, the attribute filter, images and
the find page."""

import django_filters
from django import forms
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from qinglan.core import menu
from qinglan.core.filtersets import resource_filterset_factory
from qinglan.core.registry import register
from qinglan.core.resources import Panel, Resource

from . import facets, normalize, services
from .models import Attribute, Brand, Category, Product, ProductVariant, Unit, UnitConversion

menu.register_menu_group("products", _("Products"), "bi-box-seam")


class CategorySubtreeFilter(django_filters.ModelMultipleChoiceFilter):
    """Records of the chosen categories and of every category below them."""

    def filter(self, qs, value):
        chosen = list(value or ())
        if not chosen:
            return qs
        return qs.filter(services.subtree_q(chosen, self.field_name, fresh=True))  # just read by the form


class SelectionInput(forms.TextInput):
    """``code=value`` pairs in one box, separated by semicolons; read from repeated ``attr``
    parameters too (the find page's links)."""

    def value_from_datadict(self, data, files, name):
        if hasattr(data, "getlist"):
            return data.getlist(name)
        value = data.get(name)
        return value if isinstance(value, list) else ([value] if value else [])

    def format_value(self, value):
        if isinstance(value, (list, tuple)):
            return "; ".join(str(item) for item in value if item)
        return super().format_value(value)


class SelectionField(forms.Field):
    widget = SelectionInput

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("placeholder", _("code=value; code=value"))

    def to_python(self, value):
        if value in (None, ""):
            return []
        items = value if isinstance(value, (list, tuple)) else [value]
        pairs = [part.strip() for item in items for part in str(item).replace("；", ";").split(";")]
        return [pair[:200] for pair in pairs if pair][:50]


@extend_schema_field(OpenApiTypes.STR)  # code=value pairs, as the API documents it
class AttributeSelectionFilter(django_filters.Filter):
    field_class = SelectionField

    def filter(self, qs, value):
        return facets.filter_products(qs, facets.parse_selection(value))


def _category_filter(label):
    return CategorySubtreeFilter(field_name="category", queryset=Category.objects.all(), label=label)


@register(Product)
class ProductResource(Resource):
    columns = ("code", "name", "category", "brand", "status", "list_price", "price_currency", "base_unit")
    filters = ("category", "brand", "status", "base_unit", "owner", "list_price")
    search = {
        "code": 100, "name": 100, "barcode": 100, "name_latin": 200, "brand__name": 300, "category__name": 300, "description": 1000,
    }
    # Known products are found by the prefix of their code, name, Latin name or barcode (or of a
    # variant's code or barcode), through indexed keys folded like the typed text.
    search_prefix = {
        "code_key": normalize.code_key, "name_key": normalize.name_key, "latin_key": normalize.name_key,
        "barcode": normalize.barcode_text, "variants__code_key": normalize.code_key, "variants__barcode": normalize.barcode_text,
    }
    fieldsets = (
        (_("Product"), ("code", "name", "name_latin", "category", "brand", "status", "barcode", "base_unit", "owner")),
        (_("Attributes"), ("attributes",)),
        (_("Cost and price"), ("cost", "cost_currency", "list_price", "price_currency", "weight")),
        (_("Description"), ("description",)),
    )
    panels = (
        Panel(_("Product"), ("code", "name", "name_latin", "category", "brand", "status", "barcode", "base_unit", "owner")),
        Panel(_("Attributes"), template="products/attributes_panel.html"),
        Panel(_("Variants"), template="products/variants_panel.html"),
        Panel(_("Description"), ("description",)),
        Panel(_("Images"), template="products/images_panel.html", side=True),
        Panel(_("Cost and price"), template="products/prices_panel.html", side=True),
        Panel(_("Units"), template="products/units_panel.html", side=True),
    )
    bulk_edit_fields = ("status", "category", "brand", "base_unit", "owner", "price_currency", "cost_currency")
    import_lookups = {
        "category": "code", "brand": "name", "base_unit": "code", "cost_currency": "code", "price_currency": "code", "owner": "username",
    }
    menu_group = "products"
    menu_order = 10
    icon = "bi-box-seam"

    def before_save(self, record, *, user, created):
        services.prepare_product(product=record)

    def after_save(self, record, *, user, created):
        services.index_attributes(products=[record])

    def after_create_many(self, records, *, user):
        services.index_attributes(products=records)

    def after_delete(self, record, *, user):
        services.forget_image_files(product_id=record.pk)

    @cached_property
    def form_class(self):
        from .forms import product_form

        return product_form(self)  # the generated form with typed attribute inputs

    @cached_property
    def filterset_class(self):
        base = resource_filterset_factory(self)
        return type(
            "ProductFilterSet", (base,),
            {"category": _category_filter(_("category")), "attr": AttributeSelectionFilter(label=_("attribute values"))},
        )

    @cached_property
    def serializer_class(self):
        from .api import product_serializer

        return product_serializer(self)  # the generated serializer plus the images


menu.register_menu_page(
    group="products", key="products.find", label=_("Find products"), url_name="products:find", icon="bi-funnel", order=15, model=Product,
)


@register(ProductVariant)
class ProductVariantResource(Resource):
    columns = ("code", "name", "product", "barcode", "active", "list_price")
    filters = ("product", "active")
    search = {"code": 100, "name": 150, "barcode": 100, "product__name": 300}
    search_prefix = {"code_key": normalize.code_key, "barcode": normalize.barcode_text, "product__name_key": normalize.name_key}
    fieldsets = (
        (_("Product variant"), ("product", "code", "name", "barcode", "active")),
        (_("Attributes"), ("attributes",)),
        (_("Cost and price"), ("cost", "list_price")),
    )
    panels = (
        Panel(_("Product variant"), ("product", "code", "name", "barcode", "active")),
        Panel(_("Attributes"), template="products/variant_panel.html"),
    )
    import_lookups = {"product": "code"}
    scope_through = "product"
    select_related = ("product",)
    bulk_edit_fields = ("active",)
    menu_group = "products"
    menu_order = 20
    icon = "bi-grid-3x3-gap"

    def before_save(self, record, *, user, created):
        services.prepare_variant(variant=record)

    def after_save(self, record, *, user, created):
        services.index_attributes(variants=[record])

    def after_create_many(self, records, *, user):
        services.index_attributes(variants=records)

    @cached_property
    def form_class(self):
        from .forms import variant_form

        return variant_form(self)


@register(Category)
class CategoryResource(Resource):
    columns = ("name", "code", "description")
    search = {"name": 100, "code": 100, "description": 1000}
    fieldsets = ((_("Product category"), ("name", "code", "description")),)
    panels = (
        Panel(_("Product category"), ("name", "code", "description")),
        Panel(_("Attributes"), template="products/category_attributes_panel.html"),
        Panel(_("Products"), template="products/category_products_panel.html", side=True),
    )
    ordering = ("path",)
    menu_group = "products"
    menu_order = 30
    icon = "bi-diagram-3"

    def before_save(self, record, *, user, created):
        services.check_category_move(category=record, new_parent=getattr(record, "new_parent", "unchanged"))

    def after_delete(self, record, *, user):
        services.check_category_deleted(category=record)  # still in the deleting transaction


@register(Attribute)
class AttributeResource(Resource):
    columns = ("name", "code", "category", "type", "unit", "required", "filterable", "for_variants", "order")
    filters = ("category", "type", "required", "filterable", "for_variants")
    search = {"name": 100, "code": 100}
    fieldsets = (
        (_("Product attribute"), ("category", "code", "name", "type", "unit", "options")),
        (_("Use"), ("required", "filterable", "for_variants", "order")),
    )
    import_lookups = {"category": "code"}
    bulk_edit_fields = ("required", "filterable", "order")
    menu_group = "products"
    menu_order = 40
    icon = "bi-list-check"

    @cached_property
    def form_class(self):
        from .forms import attribute_form

        return attribute_form(self)  # options one per line

    @property
    def bulk_creatable(self):
        return False  # each row's code is checked against the rows above it (services.check_attribute)

    def before_save(self, record, *, user, created):
        services.check_attribute(attribute=record)


@register(Brand)
class BrandResource(Resource):
    columns = ("name", "name_latin", "description")
    search = {"name": 100, "name_latin": 100}
    fieldsets = ((_("Brand"), ("name", "name_latin", "description")),)
    menu_group = "products"
    menu_order = 50
    icon = "bi-award"


@register(Unit)
class UnitResource(Resource):
    columns = ("code", "name", "description")
    search = {"code": 100, "name": 100}
    fieldsets = ((_("Unit"), ("code", "name", "description")),)
    menu_group = "products"
    menu_order = 60
    icon = "bi-rulers"


@register(UnitConversion)
class UnitConversionResource(Resource):
    columns = ("from_unit", "factor", "to_unit", "product")
    filters = ("product", "from_unit", "to_unit")
    search = {"product__name": 100, "product__code": 100, "from_unit__name": 200, "to_unit__name": 200}
    fieldsets = ((_("Unit conversion"), ("from_unit", "factor", "to_unit", "product")),)
    import_lookups = {"product": "code", "from_unit": "code", "to_unit": "code"}
    bulk_edit_fields = ()
    menu_group = "products"
    menu_order = 70
    icon = "bi-arrow-left-right"

    @property
    def bulk_creatable(self):
        return False  # each row is checked for a cycle with the rows above it

    def before_save(self, record, *, user, created):
        services.lock_conversions(conversion=record)
        services.check_conversion(conversion=record)  # again, now that concurrent writers wait
