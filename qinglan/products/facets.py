"""Finding products one does not know by name: by category (sub-categories included) and by
attribute values, with a count per value. Counts are exact up to FACET_COUNT_LIMIT and then
shown as "more than", so a facet never counts a whole big table.

A selection is a list of ``code=value`` texts (``attr`` in the product list's, export's and
API's query string, and on the find page): values of one attribute are ORed, attributes are
ANDed; ``code=min..max`` (either end may be left out) is a range of a number attribute."""

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db.models import Count, Max, Min, Q

from qinglan.customers.normalize import fold

from . import attributes as values
from .choices import AttributeType
from .models import Attribute, AttributeValue

FACET_COUNT_LIMIT = 1000
MAX_FACET_VALUES = 50  # values offered per attribute
# The values of an attribute are counted among at most this many products in one grouped
# query; beyond it the counts are those of the first FACET_SAMPLE products, shown as "n+".
FACET_SAMPLE = 5000
FACETED_TYPES = (AttributeType.CHOICE, AttributeType.BOOLEAN)


def parse_selection(texts):
    """{code: [value texts]} from ``code=value`` texts; malformed ones are left out."""
    result = {}
    for text in texts or ():
        code, equals, value = str(text).partition("=")
        code, value = code.strip(), value.strip()
        if equals and code and value:
            result.setdefault(code, [])
            if value not in result[code]:
                result[code].append(value)
    return result


def _number(text):
    try:
        number = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        return None
    return number if number.is_finite() else None


def _value_q(attribute, wanted):
    """The index rows of `attribute` matching any of the `wanted` texts."""
    condition = Q(pk__in=[])
    keys = set()
    for text in wanted:
        if attribute.type == AttributeType.NUMBER and ".." in text:
            low, _dots, high = text.partition("..")
            low, high = _number(low) if low.strip() else None, _number(high) if high.strip() else None
            if low is None and high is None:
                continue
            bounds = Q(attribute=attribute)
            if low is not None:
                bounds &= Q(number__gte=low)
            if high is not None:
                bounds &= Q(number__lte=high)
            condition |= bounds
            continue
        try:
            stored = values.clean_value(attribute, text)
        except ValidationError:
            continue
        if stored is not None:
            keys.add(values.index_key(attribute, stored)[0])
    if keys:
        condition |= Q(attribute=attribute, key__in=sorted(keys))
    return condition


def filter_products(queryset, selection, attributes=None):
    """`queryset` narrowed to the products having the selected values (one of the values of
    each attribute, on the product or on one of its variants)."""
    if not selection:
        return queryset
    if attributes is None:
        attributes = list(Attribute.objects.filter(code__in=list(selection)))
    by_code = {}
    for attribute in attributes:
        by_code.setdefault(attribute.code, []).append(attribute)
    for code, wanted in selection.items():
        condition = Q(pk__in=[])
        for attribute in by_code.get(code, ()):
            condition |= _value_q(attribute, wanted)
        queryset = queryset.filter(pk__in=AttributeValue.objects.filter(condition).values("product_id"))
    return queryset


def bounded(queryset, limit=FACET_COUNT_LIMIT):
    """(count, exact): the rows of `queryset` counted up to `limit`."""
    count = queryset.order_by().values("pk")[: limit + 1].count()
    return min(count, limit), count <= limit


def value_counts(products, attribute):
    """({key: number of products}, exact) of `attribute`'s values among `products`: the ids
    of at most FACET_SAMPLE products, then one grouped query over their index rows, looked up
    by product (a product counts once per value, however many of its variants have it)."""
    ids = list(products.order_by().values_list("pk", flat=True)[: FACET_SAMPLE + 1])
    exact = len(ids) <= FACET_SAMPLE
    if not ids:
        return {}, True
    rows = (
        AttributeValue.objects.filter(attribute=attribute, product__id__anyof=ids[:FACET_SAMPLE])
        .values("key").annotate(products=Count("product_id", distinct=True)).order_by()
    )
    return {row["key"]: row["products"] for row in rows}, exact


def number_bounds(products, attribute):
    """(smallest, largest) value of a number attribute among at most FACET_SAMPLE of
    `products`, as texts for the range inputs' hints ("" when none)."""
    ids = list(products.order_by().values_list("pk", flat=True)[:FACET_SAMPLE])
    if not ids:
        return "", ""
    bounds = AttributeValue.objects.filter(attribute=attribute, product__id__anyof=ids).aggregate(low=Min("number"), high=Max("number"))
    return tuple("" if bounds[end] is None else values.number_text(bounds[end]) for end in ("low", "high"))


def facets(base, attributes, selection):
    """[{attribute, values: [{value, label, count, exact, chosen}], low, high}] for the
    filterable attributes: each value counted among `base` narrowed by the other attributes'
    selections (so choosing one value still shows how many the others would give)."""
    result = []
    for attribute in attributes:
        if not attribute.filterable:
            continue
        others = {code: wanted for code, wanted in selection.items() if code != attribute.code}
        chosen = selection.get(attribute.code, [])
        if attribute.type in FACETED_TYPES:
            counts, exact = value_counts(filter_products(base, others, attributes), attribute)
            options = [(option, option) for option in attribute.options or []] if attribute.type == AttributeType.CHOICE else [("1", values.display(attribute, True)), ("0", values.display(attribute, False))]
            rows = []
            for value, label in options[:MAX_FACET_VALUES]:
                key = values.index_key(attribute, values.clean_value(attribute, value))[0]
                count = counts.get(key, 0)
                is_chosen = value in chosen or (attribute.type == AttributeType.CHOICE and any(fold(value) == fold(text) for text in chosen))
                if count or is_chosen:
                    rows.append({"value": value, "label": label, "count": count, "exact": exact, "chosen": is_chosen})
            if rows:
                result.append({"attribute": attribute, "values": rows})
        elif attribute.type == AttributeType.NUMBER:
            low = high = ""
            for text in chosen:
                if ".." in text:
                    low, _dots, high = text.partition("..")
            smallest, largest = number_bounds(filter_products(base, others, attributes), attribute)
            result.append({
                "attribute": attribute, "range": True, "low": low.strip(), "high": high.strip(), "smallest": smallest, "largest": largest,
            })
    return result
