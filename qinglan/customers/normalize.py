"""Normalised keys of names, phone numbers, tax IDs and e-mail addresses, so that duplicates
are found whatever the width, case, spacing or script (繁/简) they were typed in."""

import re
import unicodedata
from functools import lru_cache

# Legal-form words that say nothing about which company it is. Chinese ones are stripped from
# the end of the joined name (longest first, repeatedly: 青藍科技(股)公司 → 青藍科技); Latin
# ones word by word from the end (ACME Co., Ltd. → acme). The lists hold the folded forms.
CHINESE_SUFFIXES = sorted(
    {
        "股份有限公司", "有限責任公司", "股份公司", "有限公司", "企業社", "公司", "集團", "商行", "工作室", "有限",
    },
    key=len,
    reverse=True,
)
LATIN_SUFFIXES = {
    "corporation", "incorporated", "limited", "company", "co", "corp", "inc", "ltd", "llc", "plc", "gmbh",
    "pte", "pty", "sa", "ag", "bv", "kk", "lp", "llp", "holdings", "group", "sdn", "bhd",
}
# Legal words that only go when they stand apart: 青藍科技（股）公司.
CHINESE_WORD_SUFFIXES = {"股", "分"}
# Kept for code that imported the old single list.
COMPANY_SUFFIXES = sorted(set(CHINESE_SUFFIXES) | LATIN_SUFFIXES, key=len, reverse=True)
# Words joining names ("Johnson & Johnson", "Johnson and Johnson") and leading articles.
JOINING_WORDS = {"and", "und", "et"}
LEADING_WORDS = {"the"}
# Place names often put in front of a company's name ("台灣青藍科技" for "青藍科技"); the
# duplicate check also compares names with these removed or added (see duplicates.py).
PLACE_PREFIXES = sorted(
    {
        "臺灣", "中國", "香港", "澳門", "新加坡", "北京", "上海", "天津", "重慶", "深圳", "廣州", "杭州", "南京", "蘇州", "廈門",
        "臺北", "新北", "桃園", "新竹", "臺中", "臺南", "高雄", "基隆",
    },
    key=len,
    reverse=True,
)
_PUNCTUATION = re.compile(r"[\s\W_]+", re.UNICODE)
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@lru_cache(maxsize=1)
def _to_traditional():
    import opencc

    return opencc.OpenCC("s2t")


def fold(text):
    """Full/half width, case and Simplified Chinese folded away (to Traditional)."""
    text = unicodedata.normalize("NFKC", text or "").casefold()
    return _to_traditional().convert(text)


def _strip_chinese_suffixes(core, keep=2):
    """`core` without trailing legal forms, leaving at least `keep` characters."""
    stripped = True
    while stripped:
        stripped = False
        for suffix in CHINESE_SUFFIXES:
            if core.endswith(suffix) and len(core) - len(suffix) >= keep:
                core = core[: -len(suffix)]
                stripped = True
                break
    return core


def _legal_form_only(word):
    return word in CHINESE_WORD_SUFFIXES or (bool(_HAN.search(word)) and _strip_chinese_suffixes(word, keep=0) == "")


def name_key(name):
    """The comparable core of a party's name: 'ACME Co., Ltd.', 'The ACME Company' and 'ａｃｍｅ'
    give 'acme'; '青藍科技股份有限公司', '青蓝科技有限公司' and '青藍 科技（股）公司' give '青藍科技'."""
    words = _PUNCTUATION.sub(" ", fold(name).replace("&", " and ").replace("＆", " and ")).split()
    if len(words) > 1 and words[0] in LEADING_WORDS:
        words = words[1:]
    words = [word for word in words if word not in JOINING_WORDS] or words
    while len(words) > 1 and words[-1] in LATIN_SUFFIXES:
        words = words[:-1]
    # Chinese legal forms, also when typed apart or in brackets: 青藍科技 (股) 公司.
    while len(words) > 1 and _legal_form_only(words[-1]):
        words = words[:-1]
    core = "".join(words)
    if _HAN.search(core):
        core = _strip_chinese_suffixes(core)
    return core[:200]


def without_place(key):
    """The key without a leading place name ('臺灣青藍科技' → '青藍科技'), or the key itself."""
    for place in PLACE_PREFIXES:
        if key.startswith(place) and len(key) - len(place) >= 2:
            return key[len(place):]
    return key


def person_key(name):
    """A person's name as compared and searched: folded (width, case, 简→繁) without spaces or
    punctuation, so '陈 美玲', '陳美玲' and 'chen meiling' / 'Chen Mei-Ling' each meet."""
    return _PUNCTUATION.sub("", fold(name))[:100]


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


def tax_id_key(tax_id):
    """A tax ID as it is compared and stored: half width, upper case, no spaces or dashes
    ('９１３１ 0000-ab' → '91310000AB')."""
    return re.sub(r"[\s\-_./]+", "", unicodedata.normalize("NFKC", tax_id or "")).upper()[:30]


def email_key(email):
    """An e-mail address as it is compared and stored: trimmed, half width, lower case."""
    return unicodedata.normalize("NFKC", email or "").strip().lower()
