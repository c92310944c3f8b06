"""Keys products are found by as a member types (Resource.search_prefix): names folded like
the customers' (width, case, 简→繁) without spaces or punctuation, codes folded, barcodes as
digits. The stored keys and the typed text go through the same function."""

import re
import unicodedata

from qinglan.customers.normalize import fold

_PUNCTUATION = re.compile(r"[\s\W_]+", re.UNICODE)


def name_key(name):
    """'iPhone 15 Pro（黑色）', 'IPHONE15PRO黑色' → 'iphone15pro黑色'; '智慧型手机' → '智慧型手機'."""
    return _PUNCTUATION.sub("", fold(name))[:200]


def code_key(code):
    """A product or variant code as it is compared: half width, case folded, no spaces or
    separators ('ph-15 pro' and 'PH15PRO' meet)."""
    return _PUNCTUATION.sub("", unicodedata.normalize("NFKC", code or "").casefold())[:60]


def barcode_text(barcode):
    """A barcode as stored: half width, without spaces or dashes ('４７１ 0000-00000 8' →
    '471000000008'), upper case for the codes that carry letters."""
    return re.sub(r"[\s\-]+", "", unicodedata.normalize("NFKC", barcode or "")).upper()[:40]
