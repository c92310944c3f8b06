"""Catalogue records made as the services make them, and the sample records of every product
resource for the permission matrix (see testing.sample_factory)."""

from decimal import Decimal

from qinglan.core.testing import sample_factory
from qinglan.products import services
from qinglan.products.models import Attribute, Brand, Category, Product, ProductVariant, Unit, UnitConversion


def make_category(name, parent=None, **extra):
    category = Category(name=name, **extra)
    category.new_parent = parent
    category.save()
    category.refresh_from_db()
    return category


def make_attribute(category, code, name, type="text", **extra):
    attribute = Attribute(category=category, code=code, name=name, type=type, **extra)
    attribute.full_clean()
    services.check_attribute(attribute=attribute)
    attribute.save()
    return attribute


def make_unit(code, name=None):
    return Unit.objects.get_or_create(code=code, defaults={"name": name or code})[0]


def make_conversion(from_unit, factor, to_unit, product=None):
    conversion = UnitConversion(from_unit=from_unit, factor=Decimal(factor), to_unit=to_unit, product=product)
    conversion.full_clean()
    conversion.save()
    return conversion


def make_product(code, name, category, *, owner=None, unit=None, attributes=None, **extra):
    """A product saved as the product form and the resource's hooks save one."""
    product = Product(
        code=code, name=name, category=category, base_unit=unit or make_unit("pcs", "個"), owner=owner, attributes=attributes or {}, **extra,
    )
    product.full_clean()
    services.prepare_product(product=product)
    product.save()
    services.index_attributes(products=[product])
    return product


def make_variant(product, code, attributes=None, **extra):
    variant = ProductVariant(product=product, code=code, attributes=attributes or {}, **extra)
    variant.full_clean()
    services.prepare_variant(variant=variant)
    variant.save()
    services.index_attributes(variants=[variant])
    return variant


@sample_factory(Product)
def product(owner, serial):
    category = make_category(f"矩陣類別{serial}")
    return make_product(f"MX-{serial}", f"矩陣產品{serial} matrix", category, owner=owner), owner, owner.department


@sample_factory(ProductVariant)
def variant(owner, serial):
    parent = make_product(f"MXV-{serial}", f"規格母產品{serial}", make_category(f"規格類別{serial}"), owner=owner)
    return make_variant(parent, f"MXV-{serial}-A", name=f"矩陣規格{serial} matrix"), owner, owner.department


@sample_factory(Category)
def category(owner, serial):
    return make_category(f"矩陣類別{serial} matrix", code=f"MC{serial}"), None, None


@sample_factory(Attribute)
def attribute(owner, serial):
    return make_attribute(make_category(f"屬性類別{serial}"), f"matrix_{serial}", f"矩陣屬性{serial} matrix"), None, None


@sample_factory(Brand)
def brand(owner, serial):
    return Brand.objects.create(name=f"矩陣品牌{serial} matrix"), None, None


@sample_factory(Unit)
def unit(owner, serial):
    return Unit.objects.create(code=f"mx{serial}", name=f"矩陣單位{serial} matrix"), None, None


@sample_factory(UnitConversion)
def conversion(owner, serial):
    return make_conversion(Unit.objects.create(code=f"mxa{serial}", name=f"矩陣{serial}"), "10", Unit.objects.create(code=f"mxb{serial}", name=f"矩陣b{serial}")), None, None
