"""Typo tolerance for Latin words: a vocabulary of the Latin words indexed in records' titles
and fields (``SearchTerm``), and candidate corrections of a word that is not in it.

Candidates come from deletion keys (``SearchTermKey``, the SymSpell idea), on both databases:
every word is stored under itself and each string one deletion away, and a typed word looks
up its own keys the same way, which finds every word one edit away (insertion, deletion,
substitution, transposition) and most two edits away with a few indexed lookups. On
PostgreSQL, pg_trgm adds the words similar in trigrams (GIN index created by migration 0003
when the extension could be created; without it the keys alone serve). Candidates are
ordered by Damerau–Levenshtein distance, at most 1 for words of up to 5 letters and 2 for
longer ones.

The vocabulary holds words of every record, so a candidate says nothing by itself: the
search service only offers a correction after counting its results in the member's scope."""

import logging
import re

from django.db import connection

from .models import SearchTerm, SearchTermKey
from .text import fold

logger = logging.getLogger("qinglan.search")

MIN_LENGTH = 3
MAX_LENGTH = 30
MAX_CANDIDATES = 3
_WORD = re.compile(r"[a-z]+")


def vocabulary_words(text):
    """The Latin words of `text` worth correcting towards (3–30 letters a–z)."""
    return {word for word in _WORD.findall(fold(text)) if MIN_LENGTH <= len(word) <= MAX_LENGTH}


def deletion_keys(word):
    return {word} | {word[:index] + word[index + 1 :] for index in range(len(word))}


def remember(words):
    """Add new words to the vocabulary (and their deletion keys)."""
    words = {word for word in words if MIN_LENGTH <= len(word) <= MAX_LENGTH}
    if not words:
        return
    known = set(SearchTerm.objects.filter(term__in=words).values_list("term", flat=True))
    new = sorted(words - known)
    if not new:
        return
    SearchTerm.objects.bulk_create([SearchTerm(term=word) for word in new], ignore_conflicts=True)
    SearchTermKey.objects.bulk_create(
        [SearchTermKey(key=key, term=word) for word in new for key in deletion_keys(word)], ignore_conflicts=True
    )


def is_known(word):
    return SearchTerm.objects.filter(term=word).exists()


def distance(first, second):
    """Damerau–Levenshtein distance (optimal string alignment)."""
    previous2, previous = None, list(range(len(second) + 1))
    for i, a in enumerate(first, start=1):
        current = [i] + [0] * len(second)
        for j, b in enumerate(second, start=1):
            cost = 0 if a == b else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a == second[j - 2] and first[i - 2] == b:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def allowed_distance(word):
    return 1 if len(word) <= 5 else 2


def trigram_index_available():
    """Whether pg_trgm and the vocabulary's trigram index are there (checked once per
    connection)."""
    if connection.vendor != "postgresql":
        return False
    cached = getattr(connection, "_qinglan_trigram_index", None)
    if cached is None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = 'search_term_trgm'")
            cached = cursor.fetchone() is not None
        connection._qinglan_trigram_index = cached
    return cached


def _trigram_candidates(word):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT term FROM search_searchterm WHERE term %% %s AND term <> %s ORDER BY similarity(term, %s) DESC, term LIMIT 20",
            [word, word, word],
        )
        return [row[0] for row in cursor.fetchall()]


def _key_candidates(word):
    keys = deletion_keys(word)
    return list(SearchTermKey.objects.filter(key__in=keys).exclude(term=word).values_list("term", flat=True).distinct()[:200])


def candidates(word):
    """Vocabulary words close to `word`, closest first (at most MAX_CANDIDATES)."""
    word = fold(word)
    if not (MIN_LENGTH <= len(word) <= MAX_LENGTH and _WORD.fullmatch(word)):
        return []
    found = _key_candidates(word)
    if trigram_index_available():  # also words further away in edits but close in trigrams
        found += _trigram_candidates(word)
    limit = allowed_distance(word)
    scored = sorted((distance(word, term), abs(len(term) - len(word)), term) for term in set(found))
    return [term for score, _length, term in scored if score <= limit][:MAX_CANDIDATES]
