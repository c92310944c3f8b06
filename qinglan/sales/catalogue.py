"""The static HTML catalogue (靜態產品型錄): a browsable offline site of the active products a
member may view — an index, a page per category (its sub-categories and products) and a page
per product (attributes, variants, its first picture, the price of a chosen price list) —
written as a folder (`qinglan catalogue --out DIR`) or a zip (the Catalogue page). Every page
is plain HTML with one stylesheet and relative links, so it opens from a disk, a USB stick or
any web server."""

import io
import zipfile
from decimal import Decimal
from pathlib import Path

from django.template.loader import render_to_string
from django.utils import timezone, translation

from qinglan.core.detail import decimal_text
from qinglan.org.services import base_currency

from .pricing import Price, price_lines

STYLE = """body{font-family:"Noto Sans CJK TC","PingFang TC","Microsoft JhengHei",sans-serif;margin:0;color:#1d2733;background:#f6f8fb}
header{background:#1f5fa6;color:#fff;padding:14px 24px}header a{color:#fff;text-decoration:none;font-weight:600}
main{max-width:1080px;margin:0 auto;padding:20px 24px}nav.crumbs{font-size:.9em;margin-bottom:12px}nav.crumbs a{color:#1f5fa6}
table{border-collapse:collapse;width:100%;background:#fff}th,td{border-bottom:1px solid #dde3ea;padding:7px 9px;text-align:left;vertical-align:top}
th{background:#e9eef5}td.num{text-align:right;white-space:nowrap}.cats{display:flex;flex-wrap:wrap;gap:10px;margin:0 0 18px;padding:0;list-style:none}
.cats li a{display:block;background:#fff;border:1px solid #cfd8e3;border-radius:6px;padding:8px 12px;color:#1f5fa6;text-decoration:none}
.product{display:flex;gap:24px;flex-wrap:wrap}.product img{max-width:320px;height:auto;border:1px solid #dde3ea;background:#fff}
.price{font-size:1.6em;font-weight:600;margin:8px 0}.muted{color:#667}footer{color:#667;font-size:.85em;padding:20px 24px;text-align:center}"""


def _product_page(product):
    return f"products/{product.pk}.html"


def _category_page(category):
    return f"categories/{category.pk}.html"


def build(*, user, price_list=None, currency=None, day=None):
    """{relative path: bytes} of the whole site, in the active language."""
    from qinglan.products.models import Category, Product, ProductImage, ProductStatus, ProductVariant
    from qinglan.products.services import attribute_rows, lineage_paths

    day = day or timezone.localdate()
    currency = currency or (price_list.currency if price_list is not None and price_list.currency_id else None) or base_currency()
    products = list(
        Product.objects.restrict(user, "view").filter(status=ProductStatus.ACTIVE)
        .select_related("category", "brand", "base_unit", "price_currency").order_by("code")
    )
    prices = _prices(products, currency=currency, day=day, price_list=price_list)
    categories = list(Category.objects.order_by("path"))
    by_path = {category.path: category for category in categories}
    step = Category.steplen
    children = {category.pk: [] for category in categories}
    for category in categories:
        parent = by_path.get(category.path[:-step]) if len(category.path) > step else None
        if parent is not None:
            children[parent.pk].append(category)
    in_category = {category.pk: [] for category in categories}
    for product in products:
        in_category.setdefault(product.category_id, []).append(product)
    counts = {}
    for category in sorted(categories, key=lambda c: -len(c.path)):  # leaves first: counts include sub-categories
        counts[category.pk] = len(in_category.get(category.pk, [])) + sum(counts[child.pk] for child in children[category.pk])
    shown = [category for category in categories if counts[category.pk]]
    images = {}
    for image in ProductImage.objects.filter(product_id__in=[p.pk for p in products]).order_by("product_id", "order", "id"):
        images.setdefault(image.product_id, image)
    variants = {}
    for variant in ProductVariant.objects.filter(product_id__in=[p.pk for p in products]).order_by("code"):
        variants.setdefault(variant.product_id, []).append(variant)

    places = currency.decimal_places if currency is not None else 2

    def price_text(product):
        result = prices[product.pk]
        if result.unit_price is None:
            return ""
        net = result.unit_price * (1 - result.discount / 100)
        return f"{currency.code if currency else ''} {decimal_text(net, places)}"

    def lineage(category):
        return [by_path[path] for path in lineage_paths(category.path, step) if path in by_path]

    common = {
        "title": _site_title(), "language": translation.get_language(), "price_list": price_list, "currency": currency, "day": day, "generated": timezone.localtime(),
    }
    files = {"style.css": STYLE.encode()}
    roots = [category for category in shown if len(category.path) == step]
    files["index.html"] = render_to_string("sales/catalogue/index.html", {
        **common, "root": "", "categories": [(c, _category_page(c), counts[c.pk]) for c in roots], "product_count": len(products),
    }).encode()
    for category in shown:
        files[_category_page(category)] = render_to_string("sales/catalogue/category.html", {
            **common, "root": "../", "category": category, "lineage": [(c, _category_page(c)) for c in lineage(category)[:-1]],
            "children": [(c, _category_page(c), counts[c.pk]) for c in children[category.pk] if counts[c.pk]],
            "products": [(p, _product_page(p), price_text(p)) for p in in_category.get(category.pk, [])],
        }).encode()
    for product in products:
        image = images.get(product.pk)
        image_name = None
        if image is not None:
            try:
                with image.image.open("rb") as handle:
                    image_name = f"images/{product.pk}{Path(image.image.name).suffix.lower()}"
                    files[image_name] = handle.read()
            except OSError:  # the file is gone from storage: the page goes without it
                image_name = None
        files[_product_page(product)] = render_to_string("sales/catalogue/product.html", {
            **common, "root": "../", "product": product, "lineage": [(c, _category_page(c)) for c in lineage(product.category)],
            "attributes": attribute_rows(product), "variants": variants.get(product.pk, []), "image": image_name,
            "price": price_text(product), "basis": prices[product.pk].basis,
        }).encode()
    return files


def _prices(products, **options):
    """{product id: Price}; a product the engine cannot price (no list price for a discount
    rule, no exchange rate) is listed without a price rather than stopping the catalogue."""
    from django.core.exceptions import ValidationError

    try:
        results = price_lines(customer=None, items=[(product, Decimal(1)) for product in products], **options)
        return {product.pk: result for product, result in zip(products, results, strict=True)}
    except ValidationError:
        prices = {}
        for product in products:
            try:
                (prices[product.pk],) = price_lines(customer=None, items=[(product, Decimal(1))], **options)
            except ValidationError as error:
                prices[product.pk] = Price(product=product, quantity=Decimal(1), steps=list(error.messages))
        return prices


def _site_title():
    from qinglan.org.models import CompanyProfile

    name = CompanyProfile.objects.values_list("name", flat=True).first()
    return name or "Qinglan"


def as_zip(files):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in sorted(files.items()):
            archive.writestr(f"catalogue/{name}", content)
    return buffer.getvalue()


def write_folder(files, folder):
    folder = Path(folder)
    for name, content in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return folder


def build_in(language, **options):
    with translation.override(language):
        return build(**options)
