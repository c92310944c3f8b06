"""Product catalogue services: attribute values by category, their facet index, products and
variants made ready to save, unit conversions (with the cycle check) and product images.

Other modules use `convert_quantity(product=…, quantity=…, from_unit=…, to_unit=…)`,
`attributes_for(category)` and `effective_conversions(product)`."""

from collections import deque
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from qinglan.core.permissions import may

from . import attributes as values
from .models import Attribute, AttributeValue, Category, Product, ProductImage, ProductVariant, Unit, UnitConversion
from .normalize import barcode_text, code_key, name_key

QUANTITY_PLACES = 6


# ---- categories and their attributes ---------------------------------------------------------


def lineage_paths(path, steplen=None):
    """The materialized paths of a node and of every node above it."""
    steplen = steplen or Category.steplen
    return [path[:end] for end in range(steplen, len(path) + 1, steplen)]


def attributes_for(category, *, for_variants=None):
    """The attributes of `category` and of every category above it (inherited), in order:
    from the top category down, then by their own order. `for_variants`: True for the ones set
    on each variant, False for the ones set on the product, None for both."""
    if category is None:
        return []
    # Read the path again: inserting a sibling (siblings sort by name) moves the paths of
    # nodes already in memory.
    path = Category.objects.filter(pk=category.pk).values_list("path", flat=True).first() if category.pk else None
    if not path:
        return []
    found = Attribute.objects.filter(category__path__in=lineage_paths(path)).select_related("category")
    if for_variants is not None:
        found = found.filter(for_variants=for_variants)
    return sorted(found, key=lambda attribute: (attribute.category.depth, attribute.order, attribute.name, attribute.pk))


def clean_attribute_values(*, category, data, for_variants):
    """`data` ({code: value as typed}) checked against the attributes of `category` (the
    product's ones, or with `for_variants` the variants' ones): the JSON to store, or a
    ValidationError listing every problem."""
    if data in (None, ""):
        data = {}
    if not isinstance(data, dict):
        raise ValidationError(_("Attribute values must be an object of attribute code → value."))
    known = {attribute.code: attribute for attribute in attributes_for(category)}
    wanted = {code: attribute for code, attribute in known.items() if attribute.for_variants == for_variants}
    problems, result, refused = [], {}, set()
    for code, raw in data.items():
        attribute = wanted.get(code)
        if attribute is None:
            if code in known and for_variants:
                problems.append(_("“%(name)s” is set on the product, not on each variant.") % {"name": known[code].name})
            elif code in known:
                problems.append(_("“%(name)s” varies by variant: set it on each variant.") % {"name": known[code].name})
            elif not values.is_empty(raw):
                problems.append(
                    _("“%(code)s” is not an attribute of the category %(category)s.") % {"code": code, "category": category or "—"}
                )
            continue
        try:
            cleaned = values.clean_value(attribute, raw)
        except ValidationError as error:
            problems.extend(error.messages)
            refused.add(code)
            continue
        if cleaned is not None:
            result[code] = cleaned
    for code, attribute in wanted.items():
        if attribute.required and code not in result and code not in refused:
            problems.append(_("“%(name)s” is required.") % {"name": attribute.name})
    if problems:
        raise ValidationError(problems)
    return {code: result[code] for code in wanted if code in result}


def check_attribute(*, attribute):
    """An attribute's code must be unique among the attributes its products can have (those
    of the categories above and below its own); a choice list needs options; a type or code
    in use, or an option in use, cannot change under the values stored with it."""
    problems = {}
    if attribute.category_id is None:
        return
    category = Category.objects.get(pk=attribute.category_id)
    related = Attribute.objects.filter(
        Q(category__path__in=lineage_paths(category.path)) | Q(category__path__startswith=category.path), code=attribute.code,
    ).exclude(pk=attribute.pk)
    clash = related.select_related("category").first()
    if clash is not None:
        problems["code"] = _("The category %(category)s already has an attribute “%(code)s” for the same products.") % {
            "category": clash.category.full_name(), "code": attribute.code,
        }
    options = [option for option in attribute.options or []]
    if attribute.type == "choice" and not options:
        problems["options"] = _("A choice list needs at least one option.")
    if len(set(options)) != len(options):
        problems["options"] = _("Each option may be listed only once.")
    if attribute.pk:
        before = Attribute.objects.filter(pk=attribute.pk).first()
        in_use = AttributeValue.objects.filter(attribute_id=attribute.pk)
        if before is not None and in_use.exists():
            if before.code != attribute.code:
                problems["code"] = _("Products have values of this attribute; its code cannot change.")
            if before.type != attribute.type:
                problems["type"] = _("Products have values of this attribute; its type cannot change.")
            if before.category_id != attribute.category_id:
                problems["category"] = _("Products have values of this attribute; it cannot move to another category.")
            if before.for_variants != attribute.for_variants:
                problems["for_variants"] = _("Products have values of this attribute; where it is set cannot change.")
            if attribute.type == "choice":
                removed = set(before.options or []) - set(options)
                used = sorted(in_use.filter(key__in=removed).values_list("key", flat=True).distinct()[:10]) if removed else []
                if used:
                    problems["options"] = _("These options are in use and cannot be removed: %(options)s") % {"options": "、".join(used)}
    if problems:
        raise ValidationError(problems)


def check_category_move(*, category, new_parent):
    """A category may move only where its products keep every attribute they have values for,
    and where no attribute code above would clash with its own or its sub-categories'."""
    if not category.pk or new_parent == "unchanged":
        return
    category.path = Category.objects.filter(pk=category.pk).values_list("path", flat=True).first()
    if new_parent is not None:
        new_parent.refresh_from_db()
    current = category.parent
    if (current.pk if current else None) == (new_parent.pk if new_parent else None):
        return
    old_above = set(Attribute.objects.filter(category__path__in=lineage_paths(category.path)[:-1]).values_list("pk", flat=True))
    new_above = set(Attribute.objects.filter(category__path__in=lineage_paths(new_parent.path)).values_list("pk", flat=True)) if new_parent else set()
    lost = old_above - new_above
    if lost:
        used = (
            Attribute.objects.filter(pk__in=lost, values__product__category__path__startswith=category.path)
            .order_by("name").values_list("name", flat=True).distinct()[:10]
        )
        used = sorted(used)
        if used:
            raise ValidationError(
                _("Products of this category have values of attributes it would no longer inherit: %(names)s.") % {"names": "、".join(used)}
            )
    if new_parent is not None:
        above = set(Attribute.objects.filter(pk__in=new_above - old_above).values_list("code", flat=True))
        below = set(Attribute.objects.filter(category__path__startswith=category.path).values_list("code", flat=True))
        clashes = sorted(above & below)
        if clashes:
            raise ValidationError(
                _("The new parent category already has attributes with these codes: %(codes)s.") % {"codes": ", ".join(clashes)}
            )


def check_category_deleted(*, category):
    """A category goes alone: deleting the node of a tree would take its sub-categories with
    it unseen (no change log, no check), so a category that had any is kept (the error rolls
    the deletion back)."""
    if category.numchild:
        raise ValidationError(_("%(category)s has sub-categories; delete or move them first.") % {"category": category})


def subtree_q(categories, field="category", *, fresh=False):
    """Records in any of `categories` or in a category below them: the reference IN the ids of
    those categories, found by path prefix through the path index (``__keyprefix``), so the
    records are then read through their own index on the reference. The paths are read again
    unless the categories come `fresh` from the database (a sibling added since moves them)."""
    categories = list(categories)
    if fresh:
        paths = [category.path for category in categories]
    else:
        paths = list(Category.objects.filter(pk__in=[category.pk for category in categories]).values_list("path", flat=True))
    condition = Q(pk__in=[])
    for path in paths:
        condition |= Q(path__keyprefix=path)
    return Q(**{f"{field}__in": Category.objects.filter(condition).values("pk")})


# ---- products and variants -------------------------------------------------------------------


def _default_currency():
    from qinglan.org.models import CompanyProfile

    profile = CompanyProfile.objects.select_related("base_currency").first()
    return profile.base_currency if profile else None


def check_product(*, product):
    """Everything about a product that needs more than one field (called by Product.clean, so
    by the forms, the API and imports): attribute values by category, the currencies of its
    cost and price, a barcode not already used by a variant."""
    problems = {}
    if product.category_id is not None:
        category = product.category
        try:
            product.attributes = clean_attribute_values(category=category, data=product.attributes, for_variants=False)
        except ValidationError as error:
            problems["attributes"] = error.messages
        if product.pk:
            stored = Product.objects.filter(pk=product.pk).values_list("category_id", flat=True).first()
            if stored is not None and stored != product.category_id:
                allowed = {attribute.code for attribute in attributes_for(category, for_variants=True)}
                stray = sorted(
                    {code for data in product.variants.values_list("attributes", flat=True) for code in (data or {}) if code not in allowed}
                )
                if stray:
                    problems["category"] = _("Variants of this product have values of attributes the new category lacks: %(codes)s.") % {
                        "codes": ", ".join(stray)
                    }
    for amount, currency in (("cost", "cost_currency"), ("list_price", "price_currency")):
        if getattr(product, amount) is not None and getattr(product, f"{currency}_id") is None:
            default = _default_currency()
            if default is None:
                problems[currency] = _("Choose the currency of this amount.")
            else:
                setattr(product, currency, default)
    if product.barcode:
        product.barcode = barcode_text(product.barcode)
        if ProductVariant.objects.filter(barcode=product.barcode).exists():
            problems["barcode"] = _("A product variant already has this barcode.")
    if problems:
        raise ValidationError(problems)


def prepare_product(*, product):
    """The folded keys products are searched by (before every save)."""
    product.name_key = name_key(product.name)
    product.latin_key = name_key(product.name_latin)
    product.code_key = code_key(product.code)
    product.barcode = barcode_text(product.barcode) or None


def check_variant(*, variant):
    problems = {}
    if variant.product_id is not None:
        try:
            variant.attributes = clean_attribute_values(category=variant.product.category, data=variant.attributes, for_variants=True)
        except ValidationError as error:
            problems["attributes"] = error.messages
    if variant.barcode:
        variant.barcode = barcode_text(variant.barcode)
        if Product.objects.filter(barcode=variant.barcode).exists():
            problems["barcode"] = _("A product already has this barcode.")
    if problems:
        raise ValidationError(problems)


def prepare_variant(*, variant):
    variant.code_key = code_key(variant.code)
    variant.barcode = barcode_text(variant.barcode) or None
    if not variant.name.strip() and variant.attributes and variant.product_id:
        shown = {attribute.code: attribute for attribute in attributes_for(variant.product.category, for_variants=True)}
        variant.name = " ".join(
            values.display(shown[code], value) for code, value in variant.attributes.items() if code in shown
        )[:200]


def index_attributes(*, products=(), variants=()):
    """Rewrite the facet index rows of `products` (their own values) and `variants` from their
    stored JSON: a few statements for the whole list."""
    rows = []
    product_ids = [product.pk for product in products]
    variant_ids = [variant.pk for variant in variants]
    if product_ids:
        AttributeValue.objects.filter(product_id__in=product_ids, variant__isnull=True).delete()
    if variant_ids:
        AttributeValue.objects.filter(variant_id__in=variant_ids).delete()
    by_category = {}
    for record, product in [*((p, p) for p in products), *((v, v.product) for v in variants)]:
        if not record.attributes:
            continue
        if product.category_id not in by_category:
            by_category[product.category_id] = {a.code: a for a in attributes_for(product.category)}
        known = by_category[product.category_id]
        for code, stored in record.attributes.items():
            attribute = known.get(code)
            if attribute is None:
                continue
            key, number = values.index_key(attribute, stored)
            rows.append(
                AttributeValue(
                    product_id=product.pk, variant_id=record.pk if record is not product else None, attribute=attribute, key=key, number=number,
                )
            )
    AttributeValue.objects.bulk_create(rows, batch_size=500)


def attribute_rows(record):
    """[(attribute, shown value)] of a product's or variant's values, in attribute order."""
    product = record if isinstance(record, Product) else record.product
    stored = record.attributes or {}
    return [
        (attribute, values.display(attribute, stored[attribute.code]))
        for attribute in attributes_for(product.category)
        if attribute.code in stored
    ]


# ---- units and conversions ---------------------------------------------------------------------


def _edges(conversions):
    """{frozenset(units): (from, to, Fraction factor)} of conversion rows."""
    return {
        frozenset((from_id, to_id)): (from_id, to_id, Fraction(factor))
        for from_id, to_id, factor in conversions
    }


def _conversion_rows(queryset):
    return list(queryset.values_list("from_unit_id", "to_unit_id", "factor"))


def effective_edges(product_id, *, exclude_pk=None):
    """The conversions that hold for a product (None: for every product): every product's,
    with the product's own ones replacing those between the same two units."""
    conversions = UnitConversion.objects.all()
    if exclude_pk:
        conversions = conversions.exclude(pk=exclude_pk)
    edges = _edges(_conversion_rows(conversions.filter(product__isnull=True)))
    if product_id:
        edges.update(_edges(_conversion_rows(conversions.filter(product_id=product_id))))
    return edges


def _path(edges, start, goal):
    """The factor from `start` to `goal` along the conversions (a Fraction), or None."""
    if start == goal:
        return Fraction(1)
    neighbours = {}
    for from_id, to_id, factor in edges.values():
        neighbours.setdefault(from_id, []).append((to_id, factor))
        neighbours.setdefault(to_id, []).append((from_id, 1 / factor))
    seen, queue = {start}, deque([(start, Fraction(1))])
    while queue:
        unit, factor = queue.popleft()
        for other, step in neighbours.get(unit, ()):
            if other == goal:
                return factor * step
            if other not in seen:
                seen.add(other)
                queue.append((other, factor * step))
    return None


def check_conversion(*, conversion):
    """A conversion needs two different units and a factor above zero, and must not add a
    second way between two units already converted into each other (a cycle, whose two ways
    could disagree) — for every product, or for its own product."""
    if conversion.from_unit_id is None or conversion.to_unit_id is None or conversion.factor is None:
        return
    if conversion.from_unit_id == conversion.to_unit_id:
        raise ValidationError({"to_unit": _("A unit converts into another unit, not into itself.")})
    if conversion.factor <= 0:
        raise ValidationError({"factor": _("The factor must be greater than zero.")})
    pair = frozenset((conversion.from_unit_id, conversion.to_unit_id))
    others = UnitConversion.objects.exclude(pk=conversion.pk) if conversion.pk else UnitConversion.objects.all()
    shared_rows = _conversion_rows(others.filter(product__isnull=True))
    if conversion.product_id:
        own_rows = {conversion.product_id: _conversion_rows(others.filter(product_id=conversion.product_id))}
    else:
        # A conversion for every product must not close a cycle for any product that has
        # conversions of its own either (unless that product converts these two units its own way).
        own_rows = {None: []}
        for product_id, from_id, to_id, factor in others.filter(product__isnull=False).values_list("product_id", "from_unit_id", "to_unit_id", "factor"):
            own_rows.setdefault(product_id, []).append((from_id, to_id, factor))
    shared = _edges(shared_rows)
    for product_id, rows in own_rows.items():
        own = _edges(rows)
        if product_id is not None and conversion.product_id is None and pair in own:
            continue  # this product converts these two units its own way; the new rule does not reach it
        if pair in (own if conversion.product_id else shared):
            raise ValidationError(_("These two units are already converted; change that conversion instead."))
        edges = {**shared, **own}
        edges.pop(pair, None)  # a product's own conversion replaces the one for every product
        if _path(edges, conversion.from_unit_id, conversion.to_unit_id) is not None:
            names = dict(Unit.objects.filter(pk__in=pair).values_list("pk", "name"))
            message = _("%(from)s and %(to)s are already converted through other units; a second way would make a cycle.") % {
                "from": names.get(conversion.from_unit_id), "to": names.get(conversion.to_unit_id),
            }
            if product_id is not None and conversion.product_id is None:
                product = Product.objects.filter(pk=product_id).first()
                message = _("%(message)s (with the conversions of %(product)s)") % {"message": message, "product": product}
            raise ValidationError(message)


def lock_conversions(*, conversion):
    """Serialise conversion writes that could close a cycle together: lock the units of both
    connected groups (for every product) before the check is made again."""
    edges = effective_edges(None)
    units = set()
    for start in (conversion.from_unit_id, conversion.to_unit_id):
        units |= {unit for unit in _component(edges, start)}
    list(Unit.objects.select_for_update().filter(pk__in=sorted(units)).values_list("pk", flat=True))


def _component(edges, start):
    neighbours = {}
    for from_id, to_id, _factor in edges.values():
        neighbours.setdefault(from_id, set()).add(to_id)
        neighbours.setdefault(to_id, set()).add(from_id)
    seen, queue = {start}, deque([start])
    while queue:
        for other in neighbours.get(queue.popleft(), ()):
            if other not in seen:
                seen.add(other)
                queue.append(other)
    return seen


def unit_factor(*, product, from_unit, to_unit):
    """How many `to_unit` make one `from_unit` for `product` (None: any product), exactly,
    as a Fraction; ValidationError when no conversion leads there."""
    from_id = getattr(from_unit, "pk", from_unit)
    to_id = getattr(to_unit, "pk", to_unit)
    factor = _path(effective_edges(getattr(product, "pk", product)), from_id, to_id)
    if factor is None:
        names = dict(Unit.objects.filter(pk__in=(from_id, to_id)).values_list("pk", "name"))
        raise ValidationError(
            _("There is no conversion from %(from)s to %(to)s for %(product)s.")
            % {"from": names.get(from_id, from_id), "to": names.get(to_id, to_id), "product": product or _("every product")}
        )
    return factor


def convert_quantity(*, product, quantity, from_unit, to_unit, places=QUANTITY_PLACES):
    """`quantity` (a Decimal) of `from_unit` expressed in `to_unit` for `product`, through the
    product's own conversions and those for every product, rounded half up to `places`."""
    quantity = Decimal(quantity)
    if not quantity.is_finite():
        raise ValidationError(_("The quantity must be a number."))
    exact = Fraction(quantity) * unit_factor(product=product, from_unit=from_unit, to_unit=to_unit)
    with localcontext() as context:
        context.prec = 40
        result = Decimal(exact.numerator) / Decimal(exact.denominator)
        return result.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def to_base_unit(*, product, quantity, unit, places=QUANTITY_PLACES):
    """`quantity` of `unit` in the product's base unit."""
    return convert_quantity(product=product, quantity=quantity, from_unit=unit, to_unit=product.base_unit_id, places=places)


def effective_conversions(product):
    """[(conversion, own)] that hold for `product` and lead from or to its base unit (directly
    or through other units): its own conversions, then those for every product between other
    pairs of units."""
    own = list(UnitConversion.objects.filter(product=product).select_related("from_unit", "to_unit"))
    pairs = {frozenset((c.from_unit_id, c.to_unit_id)) for c in own}
    shared = [
        c for c in UnitConversion.objects.filter(product__isnull=True).select_related("from_unit", "to_unit")
        if frozenset((c.from_unit_id, c.to_unit_id)) not in pairs
    ]
    rows = [(c, True) for c in own] + [(c, False) for c in shared]
    reachable = _component(_edges([(c.from_unit_id, c.to_unit_id, c.factor) for c, _own in rows]), product.base_unit_id)
    return [(c, mine) for c, mine in rows if c.from_unit_id in reachable]


# ---- images ------------------------------------------------------------------------------------


def _images_snapshot(product):
    return [{"id": image.pk, "file": image.image.name, "caption": image.caption} for image in product.images.all()]


def _check_may_change(product, user):
    if not may(user, "change", product):
        raise PermissionDenied(_("You may not change this product."))


MAX_IMAGES = 20


@transaction.atomic
def add_image(*, product, upload, caption="", user):
    """Keep an uploaded picture of `product` after checking that it is a real image of an
    allowed type and size; logged as a change of the product."""
    from qinglan.core.changelog import log_change
    from qinglan.core.events import event_name, queue_event
    from qinglan.core.models import ObjectChange

    from .validators import inspect_image

    _check_may_change(product, user)
    product = Product.objects.select_for_update().get(pk=product.pk)
    if product.images.count() >= MAX_IMAGES:
        raise ValidationError(_("A product may have at most %(count)s images.") % {"count": MAX_IMAGES})
    inspect_image(upload)
    caption = (caption or "").strip()[:200]
    before = _images_snapshot(product)
    last = product.images.order_by("-order").values_list("order", flat=True).first()
    image = ProductImage(product=product, caption=caption, order=(last or 0) + 10, uploaded_by=user)
    image.image.save(upload.name, upload, save=False)
    image.save()
    log_change(record=product, action=ObjectChange.Action.UPDATE, user=user, before={"images": before}, after={"images": _images_snapshot(product)})
    queue_event(event_name(product, "updated"), record=product, user=user)
    return image


@transaction.atomic
def remove_image(*, image, user):
    from qinglan.core.changelog import log_change
    from qinglan.core.events import event_name, queue_event
    from qinglan.core.models import ObjectChange

    product = image.product
    _check_may_change(product, user)
    before = _images_snapshot(product)
    name = image.image.name
    storage = image.image.storage
    image.delete()
    transaction.on_commit(lambda: storage.delete(name))
    log_change(record=product, action=ObjectChange.Action.UPDATE, user=user, before={"images": before}, after={"images": _images_snapshot(product)})
    queue_event(event_name(product, "updated"), record=product, user=user)


def forget_image_files(*, product_id):
    """Once a deleted product's rows are gone for good (on commit), remove its image files."""
    from django.core.files.storage import default_storage

    def remove():
        folder = f"products/{product_id}"
        try:
            _folders, files = default_storage.listdir(folder)
        except (FileNotFoundError, NotImplementedError):
            return
        for name in files:
            default_storage.delete(f"{folder}/{name}")

    transaction.on_commit(remove)


@transaction.atomic
def make_first_image(*, image, user):
    """Show `image` first (the product's main picture); the others keep their order."""
    product = image.product
    _check_may_change(product, user)
    images = [image] + [other for other in product.images.select_for_update() if other.pk != image.pk]
    for position, each in enumerate(images, start=1):
        if each.order != position * 10:
            ProductImage.objects.filter(pk=each.pk).update(order=position * 10)
