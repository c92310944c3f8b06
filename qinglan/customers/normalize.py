"""Normalised keys of names and phone numbers, so that duplicates are found whatever the
width, case, spacing or script (繁/简) they were typed in."""

import re
import unicodedata
from functools import lru_cache

# Legal-form suffixes that say nothing about which company it is; longest first.
COMPANY_SUFFIXES = sorted(
    {
        "股份有限公司", "有限責任公司", "有限责任公司", "有限公司", "股份公司", "企業社", "企业社", "公司", "集團", "集团",
        "corporation", "incorporated", "limited", "company", "co ltd", "co", "corp", "inc", "ltd", "llc", "plc", "gmbh",
        "pte", "pty", "sa", "ag", "bv", "kk",
    },
    key=len,
    reverse=True,
)
_PUNCTUATION = re.compile(r"[\s\W_]+", re.UNICODE)


@lru_cache(maxsize=1)
def _to_traditional():
    import opencc

    return opencc.OpenCC("s2t")


def fold(text):
    """Full/half width, case and Simplified Chinese folded away (to Traditional)."""
    text = unicodedata.normalize("NFKC", text or "").casefold()
    return _to_traditional().convert(text)


def name_key(name):
    """The comparable core of a party's name: 'ACME Co., Ltd.' and 'ａｃｍｅ' give 'acme';
    '青藍科技股份有限公司' and '青蓝科技有限公司' give '青藍科技'."""
    words = _PUNCTUATION.sub(" ", fold(name)).split()
    while len(words) > 1:
        tail2 = " ".join(words[-2:])
        if tail2 in COMPANY_SUFFIXES:
            words = words[:-2]
        elif words[-1] in COMPANY_SUFFIXES:
            words = words[:-1]
        else:
            break
    core = "".join(words)
    for suffix in COMPANY_SUFFIXES:
        if core.endswith(suffix) and len(core) > len(suffix) and not suffix.isascii():
            core = core[: -len(suffix)]
            break
    return core[:200]


def phone_key(phone):
    """Digits only, without a leading country code for Taiwan, China or Hong Kong and without
    the trunk zero: '+886 2 2345-6789' and '02-2345 6789' give '223456789'."""
    digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", phone or ""))
    for country in ("886", "86", "852", "853"):
        if digits.startswith("00" + country):
            digits = digits[2 + len(country):]
            break
        if (phone or "").strip().startswith("+") and digits.startswith(country):
            digits = digits[len(country):]
            break
    return digits.lstrip("0")[:30]
