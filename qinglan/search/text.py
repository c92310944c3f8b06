"""The one text pipeline of full-text search, used to index records and to read queries, so
that both sides always agree.

1. ``fold``: Unicode NFKC (full/half width), case folding, Simplified → Traditional
   (OpenCC, the same converter as the customers' duplicate keys), so 客户 and 客戶 or
   ｑｉｎｇｌａｎ and Qinglan become the same text.
2. The folded text is cut into runs: CJK runs (Han, kana, hangul) and runs of other letters
   and digits; everything else (punctuation, FTS syntax characters) only separates runs.
3. A CJK run gives three kinds of tokens:
   - every character, in order (the *sequence*: single characters and phrases);
   - every bigram, in order: a word of two characters or more is found as the phrase of its
     bigrams wherever it stands, whatever jieba made of the text around it (合同, 客戶 and
     unknown names always match);
   - jieba's search-mode words of two characters or more. jieba's dictionary is Simplified,
     so it segments the run converted back to Simplified (same length, character for
     character) and the words are taken from the Traditional run at the same positions.
     A real word counts twice (once as a bigram, once as a word), which ranks 合同 in
     「簽訂合同」 above 合同 across a word boundary as in 「結合同時」.
4. A Latin run is one token, stemmed with the Snowball English stemmer (companies → compani).
5. A record's title also gives pinyin tokens (``pinyin_tokens``): the initials and the full
   pinyin of each CJK run, of each jieba word in it and of the run up to the end of each word,
   and the initials of the run up to each character (中山公司 → zsgs, zhongshangongsi, zs,
   zhongshan, gs, gongsi, zsg), so a name is found by what people type on a Latin keyboard.

Tokens are letters and digits only, so they can be quoted safely in an FTS5 MATCH expression
or a PostgreSQL tsquery, and the SQLite ``unicode61`` tokenizer and PostgreSQL's parser with
the ``simple`` configuration split the indexed text exactly at the spaces put between them.
"""

import logging
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from qinglan.customers.normalize import fold

MAX_QUERY_LENGTH = 200
MAX_TOKEN_LENGTH = 60
MAX_TERMS = 24
MAX_FIELDS = 5

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\U00020000-\U0003134f"
_RUN = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+")
_CJK_CHAR = re.compile(rf"[{_CJK}]")


@lru_cache(maxsize=1)
def _to_simplified():
    # Only for jieba, whose dictionary is Simplified; folding itself uses customers.normalize.
    import opencc

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


@lru_cache(maxsize=1)
def _stemmer():
    import snowballstemmer

    return snowballstemmer.stemmer("english")


def load_text_tools():
    """Load jieba's dictionary, OpenCC and pypinyin now (seconds of CPU) rather than on first
    use: a forked indexing process then shares them."""
    _jieba()
    _to_simplified()
    _pinyin()
    _stemmer()


def is_cjk(text):
    return bool(_CJK_CHAR.match(text))


def runs(folded):
    """The CJK runs and the letter/digit runs of folded text, in order."""
    return [match.group() for match in _RUN.finditer(folded)]


def stem(word):
    word = word[:MAX_TOKEN_LENGTH]
    if word.isascii() and word.isalpha():
        return _stem(word)
    return word


# Pure functions of their input, memoised: names, e-mail domains and legal forms repeat from
# record to record, and stemming and segmenting were most of the indexing time.
@lru_cache(maxsize=200_000)
def _stem(word):
    return _stemmer().stemWord(word)


def jieba_words(run, *, search_mode=True):
    """jieba's words of a (folded, Traditional) CJK run, taken back from the run itself."""
    if len(run) > 64:  # long runs (documents) rarely repeat: not worth a cache entry
        return _jieba_words(run, search_mode)
    return _cached_jieba_words(run, search_mode)


def _jieba_words(run, search_mode):
    simplified = _to_simplified().convert(run)
    source = simplified if len(simplified) == len(run) else run
    mode = "search" if search_mode else "default"
    return tuple(run[start:end] for _word, start, end in _jieba().tokenize(source, mode=mode))


@lru_cache(maxsize=100_000)
def _cached_jieba_words(run, search_mode):
    return _jieba_words(run, search_mode)


def cjk_bigrams(run):
    return [run[i : i + 2] for i in range(len(run) - 1)]


def index_text(text):
    """The token text stored in the index for `text`."""
    if len(text) > CACHED_TEXT:  # documents and long notes rarely repeat
        return _index_text(text)
    return _cached_index_text(text)


# Field values repeat across records (a contact's and a follow-up's customer name, subjects,
# legal forms): a rebuild folds and segments each distinct short value once.
CACHED_TEXT = 200


@lru_cache(maxsize=200_000)
def _cached_index_text(text):
    return _index_text(text)


def _index_text(text):
    sequence, bigrams, words = [], [], []
    for run in runs(fold(text)):
        if is_cjk(run):
            sequence.extend(run)
            bigrams.extend(cjk_bigrams(run))
            words.extend(word for word in jieba_words(run) if len(word) >= 2)
        else:
            sequence.append(stem(run))
    return " ".join(sequence + bigrams + words)


# Surnames read differently from the character's common reading (曾 is céng, the surname
# Zēng): a title starting with one is indexed with both readings.
SURNAME_READINGS = {
    "曾": "zeng", "单": "shan", "解": "xie", "区": "ou", "仇": "qiu", "查": "zha", "朴": "piao",
    "缪": "miao", "覃": "qin", "召": "shao", "翟": "zhai", "乐": "yue", "盖": "ge", "尉": "yu",
    "纪": "ji", "员": "yun", "秘": "bi", "繁": "po", "任": "ren", "沈": "shen", "华": "hua",
}
MAX_PINYIN_TITLE = 60


@lru_cache(maxsize=1)
def _pinyin():
    import pypinyin

    return pypinyin


@lru_cache(maxsize=65536)
def _word_syllables(word):
    """The common reading of each character of one Simplified word (pypinyin, which reads
    words from its phrase dictionary: 银行 yín háng, 重庆 chóng qìng); None if a character
    has no reading. Names repeat their words (有限公司, 股份), hence the cache."""
    pypinyin = _pinyin()
    syllables = pypinyin.lazy_pinyin(word, style=pypinyin.Style.NORMAL, errors=lambda chars: ["" for _ in chars])
    if len(syllables) != len(word) or not all(syllable.isascii() and syllable.isalpha() for syllable in syllables):
        return None
    return tuple(syllables)


@lru_cache(maxsize=100_000)
def _segmented_syllables(simplified):
    """((syllable per character), ((start, end) of each jieba word)) of a Simplified CJK run,
    or None when a character has no reading. People's names repeat (王志明), hence the cache."""
    syllables, bounds = [], []
    # Dictionary words only (no HMM guesses at unknown words): a name's unknown part is read
    # character by character, and the cache above hits.
    for word, start, end in _jieba().tokenize(simplified, HMM=False):
        readings = _word_syllables(word)
        if readings is None:
            return None
        syllables.extend(readings)
        bounds.append((start, end))
    return tuple(syllables), tuple(bounds)


def _syllables(simplified):
    found = _segmented_syllables(simplified)
    return found[0] if found else None


def _pinyin_pair(syllables):
    if not syllables or not all(syllables):
        return []
    return ["".join(syllable[0] for syllable in syllables), "".join(syllables)]


def pinyin_tokens(title):
    """Pinyin initials and full pinyin of a title's CJK runs and of the jieba words in them."""
    tokens = []
    for number, run in enumerate(runs(fold(title[:MAX_PINYIN_TITLE]))):
        if not is_cjk(run):
            continue
        simplified = _to_simplified().convert(run)
        if len(simplified) != len(run):
            continue
        found = _segmented_syllables(simplified)
        if found is None:
            continue
        syllables, bounds = found
        tokens.extend(_pinyin_pair(syllables))
        if number == 0 and simplified[0] in SURNAME_READINGS and SURNAME_READINGS[simplified[0]] != syllables[0]:
            tokens.extend(_pinyin_pair([SURNAME_READINGS[simplified[0]], *syllables[1:]]))
        # Each word, and the run up to the end of each word (people type a name from its
        # start: 重慶銀行股份有限公司 is also cq, cqyh, chongqingyinhang, …); the initials
        # also up to every character (台灣精密機械 is twjm too, 精密機械 being one word).
        for start, end in bounds:
            if 2 <= end - start < len(run):
                tokens.extend(_pinyin_pair(syllables[start:end]))
            if 0 < end < len(run):
                tokens.extend(_pinyin_pair(syllables[:end]))
        tokens.extend("".join(syllable[0] for syllable in syllables[:end]) for end in range(2, len(run)))
    return list(dict.fromkeys(token[:MAX_TOKEN_LENGTH] for token in tokens if len(token) >= 2))


def pinyin_spans(text, needles):
    """(start, end) spans of the CJK characters of `text` whose pinyin initials or full
    pinyin is one of the (Latin) `needles`: 中山 in 中山公司 for ``zs`` or ``zhongshan``."""
    needles = {needle for needle in needles if needle.isascii() and needle.isalpha() and len(needle) >= 2}
    text = text[:MAX_PINYIN_TITLE]
    folded = fold(text)
    if not needles or len(folded) != len(text):
        return []
    spans = []
    for match in _RUN.finditer(folded):
        run = match.group()
        if not is_cjk(run):
            continue
        simplified = _to_simplified().convert(run)
        syllables = _syllables(simplified) if len(simplified) == len(run) else None
        if not syllables:
            continue
        for start in range(len(run)):
            for end in range(start + 1, len(run) + 1):
                pair = _pinyin_pair(syllables[start:end])
                if pair and needles.intersection(pair):
                    spans.append((match.start() + start, match.start() + end))
    return spans


# ---- queries -------------------------------------------------------------------------------
# A query is parsed into Terms, which the backends turn into FTS5 MATCH or tsquery syntax.


@dataclass(frozen=True)
class Term:
    """One condition on a record's tokens.

    kind: ``token`` (one token), ``phrase`` (tokens at consecutive positions), ``prefix``
    (a token starting with the text) or ``any`` (one of `parts` matches)."""

    kind: str
    tokens: tuple = ()
    parts: tuple = ()


@dataclass
class Query:
    text: str = ""
    include: list = field(default_factory=list)  # every term must match
    exclude: list = field(default_factory=list)  # no term may match
    types: list = field(default_factory=list)  # the values of type:… filters
    highlight: list = field(default_factory=list)  # folded strings to mark in snippets
    fields: list = field(default_factory=list)  # FieldFilters of name:value parts
    # Set by the backend for the query of one type: only index rows from this id on (the
    # type's newest matches, see backends.Backend.typed), and the type's index token.
    floor: int | None = None
    type_token: str = ""
    # Set by the backend (``Backend.split_common``): include terms that match so many index
    # rows that they are left out of the full-text match and checked on the rows the rarer
    # terms match instead; and, when every term is that common, rank by the fields the words
    # are in (no bm25, whose document-frequency pass reads each word's whole list).
    common: list = field(default_factory=list)
    field_rank: bool = False
    # PostgreSQL: the rows from the floor on are few; read them by key, the words checked on
    # each, instead of the GIN index's whole list of a common word.
    scan: bool = False

    @property
    def empty(self):
        return not self.include


@dataclass
class FieldFilter:
    """``name:value`` (``-name:value`` negated). The search service applies it to the types
    whose resource declares the field filterable or searchable; a name no type knows is only
    text, and `terms` are the word terms it stands for then."""

    name: str
    value: str
    negated: bool = False
    terms: list = field(default_factory=list)
    highlight: list = field(default_factory=list)


def _cjk_word_term(word):
    if len(word) <= 2:
        return Term("token", (word,))
    # Found as the phrase of its bigrams anywhere; ranked higher where jieba saw the word.
    return Term("any", parts=(Term("token", (word,)), Term("phrase", tuple(cjk_bigrams(word)))))


def _word_terms(chunk, *, prefix_last):
    """The terms of one typed word (no spaces): each CJK word and each Latin word must match."""
    terms = []
    pieces = runs(fold(chunk))
    for index, run in enumerate(pieces):
        if is_cjk(run):
            terms.extend(_cjk_word_term(word) for word in jieba_words(run, search_mode=False))
        else:
            token = stem(run)
            # A word of Latin letters may also be pinyin, indexed as typed (not stemmed).
            alternatives = [Term("token", (token,))]
            if token != run[:MAX_TOKEN_LENGTH] and len(run) >= 2 and run.isascii() and run.isalpha():
                alternatives.append(Term("token", (run[:MAX_TOKEN_LENGTH],)))
            if prefix_last and index == len(pieces) - 1 and len(run) >= 2:
                alternatives.append(Term("prefix", (run[:MAX_TOKEN_LENGTH],)))
            terms.append(alternatives[0] if len(alternatives) == 1 else Term("any", parts=tuple(alternatives)))
    return terms


def _phrase_term(text):
    """A phrase: its characters and Latin words at consecutive positions of the sequence."""
    tokens = []
    for run in runs(fold(text)):
        tokens.extend(run) if is_cjk(run) else tokens.append(stem(run))
    if not tokens:
        return None
    return Term("token", (tokens[0],)) if len(tokens) == 1 else Term("phrase", tuple(tokens))


_QUERY_PART = re.compile(r'(-?)"([^"]*)"|(-?[^\W\d_]\w{0,49}[:：]"[^"]*"?)|(\S+)')
_TYPE = re.compile(r"^(?:type|類型|类型)[:：](.+)$", re.IGNORECASE)
_FIELD = re.compile(r'^(-?)([^\W\d_]\w{0,49})[:：]"?([^"]*)"?$')


def parse_query(text, *, prefix_last=False):
    """Words (all must match), "phrases", -exclusions, type:… filters and field:value (or
    field:"two words", -field:value) filters. Anything else typed (FTS operators, quotes,
    SQL) is only text: it ends up as quoted tokens or nothing."""
    text = (text or "")[:MAX_QUERY_LENGTH]
    query = Query(text=text.strip())
    ends_open = bool(text) and not text[-1].isspace() and not text.rstrip().endswith('"')
    parts = list(_QUERY_PART.finditer(text))
    for position, match in enumerate(parts):
        negated, phrase, word = match.group(1), match.group(2), match.group(3) or match.group(4)
        if phrase is not None:
            term = _phrase_term(phrase)
            if term is not None:
                (query.exclude if negated else query.include).append(term)
                if not negated:
                    query.highlight.extend(runs(fold(phrase)))
            continue
        type_match = _TYPE.match(word)
        if type_match:
            query.types.append(type_match.group(1).strip())
            continue
        field_match = _FIELD.match(word)
        if field_match and field_match.group(3).strip():
            field_negated, name, value = field_match.groups()
            value = value.strip()
            if field_negated:
                term = _phrase_term(f"{name} {value}")
                fallback = [term] if term is not None else []
            else:
                fallback = _word_terms(f"{name} {value}", prefix_last=False)
            query.fields.append(
                FieldFilter(name, value, bool(field_negated), fallback, [] if field_negated else runs(fold(f"{name} {value}")))
            )
            continue
        if word.startswith("-") and len(word) > 1:
            term = _phrase_term(word[1:])
            if term is not None:
                query.exclude.append(term)
            continue
        last = position == len(parts) - 1 and ends_open
        terms = _word_terms(word, prefix_last=prefix_last and last)
        query.include.extend(terms)
        query.highlight.extend(runs(fold(word)))
    query.include = _dedupe(query.include)[:MAX_TERMS]
    query.exclude = _dedupe(query.exclude)[:MAX_TERMS]
    query.fields = query.fields[:MAX_FIELDS]
    return query


def value_terms(value):
    """Terms every record whose field contains `value` matches: its CJK characters and words
    (found anywhere, as in `_cjk_word_term`), its Latin words and numbers as prefixes of a
    word (stemmed or as typed). A narrowing for the full-text index, not the test itself."""
    terms = []
    for run in runs(fold(value)):
        if is_cjk(run):
            terms.extend(_cjk_word_term(word) for word in jieba_words(run, search_mode=False))
        else:
            prefixes = dict.fromkeys([stem(run), run[:MAX_TOKEN_LENGTH]])
            parts = tuple(Term("prefix", (prefix,)) for prefix in prefixes)
            terms.append(parts[0] if len(parts) == 1 else Term("any", parts=parts))
    return terms


def as_text(query, filter_):
    """A field filter no type knows: its words become terms of `query` again."""
    if filter_.negated:
        query.exclude = _dedupe(query.exclude + filter_.terms)[:MAX_TERMS]
    else:
        query.include = _dedupe(query.include + filter_.terms)[:MAX_TERMS]
        query.highlight.extend(filter_.highlight)


def _dedupe(terms):
    seen, unique = set(), []
    for term in terms:
        if term not in seen:
            seen.add(term)
            unique.append(term)
    return unique


# ---- snippets -------------------------------------------------------------------------------


def _folded_with_positions(text):
    """`text` folded like the index folds it, with the index in `text` of each folded
    character (folding may change the length: ｷﾞ → ギ, ß → ss)."""
    pieces = [unicodedata.normalize("NFKC", char).casefold() for char in text]
    positions = [index for index, piece in enumerate(pieces) for _char in piece]
    joined = "".join(pieces)
    converted = fold(joined)
    if len(converted) != len(joined):
        converted = "".join(fold(piece) if len(fold(piece)) == len(piece) else piece for piece in pieces)
    return converted, positions


def highlight_spans(text, needles):
    """(start, end) spans of `text` where one of the folded `needles` occurs, merged."""
    if not text or not needles:
        return []
    folded, positions = _folded_with_positions(text)
    spans = []
    for needle in {needle for needle in needles if needle}:
        start = folded.find(needle)
        while start != -1:
            end = start + len(needle)
            spans.append((positions[start], positions[end - 1] + 1))
            start = folded.find(needle, end)
    merged = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
