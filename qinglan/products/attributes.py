"""Attribute values by type: what a member (or an API client, or an import file) typed,
checked and turned into the JSON stored on a product or variant, and the key it is indexed
and faceted by. One function per direction, used by every path."""

import datetime
import re
import unicodedata
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from qinglan.customers.normalize import fold

from .choices import AttributeType

TRUE_WORDS = {"1", "true", "yes", "y", "on", "是", "有", "✓", "✔", "t"}
FALSE_WORDS = {"0", "false", "no", "n", "off", "否", "無", "无", "沒有", "没有", "✗", "✘", "f"}
MAX_NUMBER = Decimal("1e16")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")


def is_empty(value):
    return value is None or (isinstance(value, str) and not value.strip())


def clean_value(attribute, value):
    """The stored (JSON) form of `value` for `attribute`, or None for an empty value.
    Raises ValidationError with a message naming the attribute."""
    if is_empty(value):
        return None
    kind = attribute.type
    if kind == AttributeType.TEXT:
        text = str(value).strip()
        if len(text) > 200:
            raise ValidationError(_("“%(name)s”: at most 200 characters.") % {"name": attribute.name})
        return text
    if kind == AttributeType.NUMBER:
        return _clean_number(attribute, value)
    if kind == AttributeType.CHOICE:
        text = unicodedata.normalize("NFKC", str(value)).strip()
        for option in attribute.options or []:
            if option == text or fold(option) == fold(text):
                return option
        raise ValidationError(
            _("“%(name)s”: “%(value)s” is not one of the options (%(options)s).")
            % {"name": attribute.name, "value": text[:50], "options": "、".join(attribute.options or [])}
        )
    if kind == AttributeType.BOOLEAN:
        if isinstance(value, bool):
            return value
        word = unicodedata.normalize("NFKC", str(value)).strip().casefold()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ValidationError(_("“%(name)s”: answer yes or no.") % {"name": attribute.name})
    if kind == AttributeType.DATE:
        if isinstance(value, datetime.datetime):
            value = value.date()
        if isinstance(value, datetime.date):
            return value.isoformat()
        text = unicodedata.normalize("NFKC", str(value)).strip().replace("/", "-").replace(".", "-")
        try:
            return datetime.date.fromisoformat(text).isoformat()
        except ValueError:
            raise ValidationError(_("“%(name)s”: enter a date such as 2026-11-27.") % {"name": attribute.name}) from None
    raise ValidationError(_("“%(name)s” has an unknown type.") % {"name": attribute.name})


def _clean_number(attribute, value):
    error = ValidationError(_("“%(name)s”: enter a number, e.g. 6.1.") % {"name": attribute.name})
    if isinstance(value, bool):
        raise error
    if isinstance(value, float):
        value = repr(value)
    text = unicodedata.normalize("NFKC", str(value)).strip()
    unit = unicodedata.normalize("NFKC", attribute.unit or "").strip()
    if unit and text.casefold().endswith(unit.casefold()):
        text = text[: -len(unit)].strip()  # "6.1 吋" for an attribute in 吋
    text = text.replace(" ", "")
    if _THOUSANDS.match(text):
        text = text.replace(",", "")  # 1,250 → 1250
    elif text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")  # 6,1 → 6.1 (a decimal comma)
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise error from None
    if not number.is_finite():
        raise error
    if abs(number) >= MAX_NUMBER:
        raise ValidationError(_("“%(name)s”: the number is too large.") % {"name": attribute.name})
    if number != number.quantize(Decimal("1e-8")):
        raise ValidationError(_("“%(name)s”: at most 8 decimal places.") % {"name": attribute.name})
    return number_text(number)


def number_text(number):
    """A Decimal without trailing zeros or an exponent: 6.10 → '6.1', 1E+2 → '100'."""
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "+0") else text


def index_key(attribute, stored):
    """(key, number) under which a stored value is indexed: choice options and booleans as
    they are compared by the facets, text folded, numbers also as a number for ranges."""
    if attribute.type == AttributeType.BOOLEAN:
        return ("1" if stored else "0"), None
    if attribute.type == AttributeType.NUMBER:
        return str(stored)[:200], Decimal(str(stored))
    if attribute.type == AttributeType.TEXT:
        return fold(str(stored)).strip()[:200], None
    return str(stored)[:200], None


def display(attribute, stored):
    """A stored value as shown on a page: 6.1 吋, 是/否, the option or date as stored."""
    if stored is None:
        return ""
    if attribute.type == AttributeType.BOOLEAN:
        return _("Yes") if stored else _("No")
    if attribute.type == AttributeType.NUMBER and attribute.unit:
        return f"{stored} {attribute.unit}"
    return str(stored)
