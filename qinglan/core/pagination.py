"""Keyset pagination over any sort order, plus counts that stay cheap at millions of rows.

A page is "the `size` rows after (or before) this cursor in this order", where the order
always ends with the primary key so it is total. NULLs sort as the greatest value. The
database does all ordering and comparison, so the collation is consistent."""

import base64
import binascii
import datetime
import json
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import F, Q


@dataclass(frozen=True)
class SortKey:
    path: str  # ORM path, e.g. "name" or "department__name"
    descending: bool = False
    nullable: bool = False


def order_expressions(keys, reverse=False):
    """ORDER BY terms for `keys`. Only nullable keys say where NULLs go (as the greatest
    value, in both directions); a plain ``col ASC``/``col DESC`` lets an ordinary index on
    the column serve the order."""
    result = []
    for key in keys:
        descending = key.descending != reverse
        expression = F(key.path)
        if not key.nullable:
            result.append(expression.desc() if descending else expression.asc())
        else:
            result.append(expression.desc(nulls_first=True) if descending else expression.asc(nulls_last=True))
    return result


def _after(keys, values, reverse):
    """Q for rows strictly after `values` in the (possibly reversed) order.

    The exact condition is OR-expanded (``a > v OR (a = v AND …)``), which databases can't
    use for an index range scan; ANDing it with a bound on the first key alone (``a >= v``)
    gives them a range to scan."""
    exact = _strictly_after(keys, values, reverse)
    bound = _leading_bound(keys[0], values[0], reverse) if len(keys) > 1 else None
    return exact if bound is None else bound & exact


def _leading_bound(key, value, reverse):
    """A range on the first key that every row after `value` lies in (None: no bound)."""
    descending = key.descending != reverse
    if value is None:
        # NULL is the greatest value: ascending, only NULLs can follow it; descending,
        # NULLs come first and everything may follow.
        return None if descending else Q(**{f"{key.path}__isnull": True})
    bound = Q(**{f"{key.path}__lte" if descending else f"{key.path}__gte": value})
    if key.nullable and not descending:
        bound |= Q(**{f"{key.path}__isnull": True})  # ascending, NULLs come after every value
    return bound


def _strictly_after(keys, values, reverse):
    key, value = keys[0], values[0]
    descending = key.descending != reverse
    if len(keys) == 1:
        return Q(**{f"{key.path}__lt" if descending else f"{key.path}__gt": value})
    rest = _strictly_after(keys[1:], values[1:], reverse)
    if value is None:
        same = Q(**{f"{key.path}__isnull": True})
        if descending:  # NULLs come first: everything non-null is after
            return (same & rest) | Q(**{f"{key.path}__isnull": False})
        return same & rest
    greater = Q(**{f"{key.path}__lt" if descending else f"{key.path}__gt": value})
    if key.nullable and not descending:
        greater |= Q(**{f"{key.path}__isnull": True})
    return greater | (Q(**{key.path: value}) & rest)


def _filter_after(queryset, keys, values, reverse):
    """`queryset` narrowed to the rows after `values`; None when the values don't fit the
    keys' fields (a forged cursor), which is then treated as no cursor."""
    try:
        return queryset.filter(_after(keys, values, reverse))
    except (ValueError, TypeError, ValidationError):
        return None


def _value_of(row, path):
    value = row
    for part in path.split("__"):
        value = getattr(value, part, None) if value is not None else None
    if hasattr(value, "pk"):
        value = value.pk
    return value


def _encode_value(value):
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time, Decimal)):
        return value.isoformat() if hasattr(value, "isoformat") else str(value)
    return value


def encode_cursor(row, keys):
    values = [_encode_value(_value_of(row, key.path)) for key in keys]
    raw = json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text, keys):
    """The cursor's values, or None for a malformed or foreign cursor."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        values = json.loads(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    if not isinstance(values, list) or len(values) != len(keys):
        return None
    if any(isinstance(value, (dict, list)) for value in values):
        return None
    return values


@dataclass
class Page:
    rows: list
    next_cursor: str | None
    prev_cursor: str | None
    is_first: bool


def page_rows(queryset, ordering, count):
    """The first `count` rows of `queryset` in `ordering`. With select_related, the page's keys
    are read first without those joins, then the rows by their keys: a planner that sees a small
    joined table (500 customers beside a million orders) would otherwise start from it and sort
    the whole big table (2.5 s on SQLite), where reading the big one in key order stops after a
    page."""
    ordered = queryset.order_by(*ordering)
    if not ordered.query.select_related:
        return list(ordered[:count])
    keys = list(ordered.select_related(None).values_list("pk", flat=True)[:count])
    if not keys:
        return []
    found = queryset.filter(pk__in=keys).order_by().in_bulk()
    return [found[key] for key in keys if key in found]


def keyset_page(queryset, keys, *, size, after=None, before=None, last=False):
    """One page of `queryset` in the order of `keys` (which must end with the pk)."""
    if before:
        values = decode_cursor(before, keys)
        filtered = _filter_after(queryset, keys, values, reverse=True) if values is not None else None
        if filtered is not None:
            rows = page_rows(filtered, order_expressions(keys, reverse=True), size + 1)
            has_more = len(rows) > size
            rows = list(reversed(rows[:size]))
            return Page(
                rows=rows,
                next_cursor=encode_cursor(rows[-1], keys) if rows else None,
                prev_cursor=encode_cursor(rows[0], keys) if rows and has_more else None,
                is_first=not has_more,
            )
    if last:
        rows = page_rows(queryset, order_expressions(keys, reverse=True), size + 1)
        has_more = len(rows) > size
        rows = list(reversed(rows[:size]))
        return Page(rows=rows, next_cursor=None, prev_cursor=encode_cursor(rows[0], keys) if has_more else None, is_first=not has_more)
    values = decode_cursor(after, keys) if after else None
    filtered = _filter_after(queryset, keys, values, reverse=False) if values is not None else None
    if filtered is None:
        values, filtered = None, queryset
    rows = page_rows(filtered, order_expressions(keys), size + 1)
    has_more = len(rows) > size
    rows = rows[:size]
    return Page(
        rows=rows,
        next_cursor=encode_cursor(rows[-1], keys) if rows and has_more else None,
        prev_cursor=encode_cursor(rows[0], keys) if rows and values is not None else None,
        is_first=values is None,
    )


def bounded_count(queryset, limit=None):
    """(count, exact): exact up to `limit` rows, else (limit, False)."""
    limit = limit or settings.QINGLAN_COUNT_LIMIT
    count = queryset.order_by()[: limit + 1].count()
    return (count, True) if count <= limit else (limit, False)
