"""More like this: the records most similar to one record, among those the member may view.

Similarity is the cosine of TF-IDF vectors over the record's index tokens (its title, fields,
pinyin and attachments, as ``index.document`` wrote them; single CJK characters left out,
the bigrams and words carry the meaning). To stay fast at any size it works like Lucene's
MoreLikeThis:

1. the record's tokens are counted sublinearly (1 + ln count) and weighted by column (A 2,
   B 1.5, C 1.2, D 1) and the ``MAX_TERMS`` most frequent become candidates for the query;
2. their document frequencies are counted on the full-text index alone, each no further
   than ``DF_LIMIT`` (a common token's IDF is low either way), and the ``QUERY_TERMS`` tokens
   with the highest TF-IDF are the "interesting terms" (leaving out tokens of more than
   ``DF_LIMIT`` records, which say little and would make the query read many rows);
3. one query gives, for each interesting term, the newest ``PER_TERM`` rows with it among the
   member's types and scope, like every search (no rank computed: the cosine ranks them);
4. those are ranked by the cosine of their TF-IDF vectors with the record's (the record
   as its ``MAX_TERMS`` most frequent tokens, a candidate as all its tokens, an uncounted
   token taken as fairly rare), and the best ``LIMIT`` above ``MIN_SIMILARITY`` are shown.

Only the first ``TOKEN_CHARS`` characters of a column are read, so a record with a large
attachment costs no more than one with a short one."""

import math
from collections import Counter
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.urls import NoReverseMatch

from .backends import ENTRY, Backend, fts5_expression, tsquery_expression
from .index import searchable_resources
from .text import Query, Term, is_cjk

# Softer than the search's bm25 weights (10/4/2/1): a shared document should count for more
# than a shared word of the names.
COLUMN_WEIGHTS = {"tokens_a": 2.0, "tokens_b": 1.5, "tokens_c": 1.2, "tokens_d": 1.0}
TOKEN_CHARS = 20000
MAX_TERMS = 30
QUERY_TERMS = 15
DF_LIMIT = 1000
PER_TERM = 8
LIMIT = 5
MIN_SIMILARITY = 0.05


@dataclass
class Similar:
    resource: object
    object_id: int
    title: str
    detail: str  # the start of its indexed fields, to tell records of the same name apart
    url: str | None
    similarity: float

    @property
    def percent(self):
        return round(self.similarity * 100)


def _vector(columns):
    """{token: term frequency} of an entry's token columns: per column 1 + ln(count) (a word
    said ten times is not ten times the topic), times the column's weight."""
    vector = Counter()
    for name, text in columns.items():
        counts = Counter(token for token in (text or "").split() if not (len(token) == 1 and is_cjk(token)) and not token.startswith("qtype"))
        for token, count in counts.items():
            vector[token] += COLUMN_WEIGHTS[name] * (1 + math.log(count))
    return vector


def _entries(where, params):
    """[(content_type_id, object_id, title, body's start, token vector)] of index rows."""
    columns = ", ".join(f"substr({name}, 1, {TOKEN_CHARS})" for name in COLUMN_WEIGHTS)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT e.content_type_id, e.object_id, e.title, substr(e.body, 1, 80), {columns} FROM {ENTRY} e WHERE {where}", params)
        return [(*row[:4], _vector(dict(zip(COLUMN_WEIGHTS, row[4:])))) for row in cursor.fetchall()]


def _document_frequencies(backend, tokens):
    """{token: documents containing it, counted up to DF_LIMIT + 1}, 20 tokens a query."""
    numbered = list(enumerate(tokens))
    counted = {}
    for start in range(0, len(numbered), 20):
        counted.update(_count_tokens(backend, numbered[start : start + 20]))
    return {token: counted.get(number, 0) for number, token in numbered}


def _count_tokens(backend, numbered_tokens):
    """{number: documents with the token, up to DF_LIMIT + 1}: the full-text index alone, no
    join to the rows."""
    parts, params = [], []
    for number, token in numbered_tokens:
        if connection.vendor == "postgresql":
            # OFFSET 0: planned without the LIMIT, so through the GIN index, not a scan of
            # the table that stops at the LIMIT (which reads every row for a rare token).
            match = f"SELECT 1 FROM (SELECT 1 FROM {ENTRY} e WHERE e.vector @@ to_tsquery('simple', %s) OFFSET 0) m LIMIT %s"
            params.extend([tsquery_expression(Term("token", (token,))), DF_LIMIT + 1])
        else:
            match = "SELECT 1 FROM search_fts WHERE search_fts MATCH %s LIMIT %s"
            params.extend([fts5_expression(Term("token", (token,))), DF_LIMIT + 1])
        parts.append(f"SELECT {int(number)} AS n, COUNT(*) AS c FROM ({match}) d{int(number)}")
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        return dict(cursor.fetchall())


def _candidates(backend, tokens, condition, params):
    """[(content_type_id, object_id)] of the newest PER_TERM rows under `condition` with each
    token, in one query: no rank is computed (the cosine ranks them), and each token is in at
    most DF_LIMIT rows, so every part is cheap."""
    parts, all_params = [], []
    for number, token in enumerate(tokens):
        base, base_params = backend.impl._base(Query(include=[Term("token", (token,))]), condition, params)
        # PostgreSQL: OFFSET 0 keeps the match (GIN) as the start; with a small LIMIT over
        # ORDER BY id it would walk the primary key backwards testing every row instead.
        fence = " OFFSET 0" if connection.vendor == "postgresql" else ""
        parts.append(
            f"SELECT * FROM (SELECT m.content_type_id, m.object_id FROM (SELECT e.id, e.content_type_id, e.object_id {base}{fence}) m "
            f"ORDER BY m.id DESC LIMIT {PER_TERM}) c{number}"
        )
        all_params.extend(base_params)
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), all_params)
        return list(dict.fromkeys((row[0], row[1]) for row in cursor.fetchall()))


def _total_entries():
    """About how many index rows there are (the highest id: rows are rarely deleted, and the
    IDF only needs the order of magnitude), without counting them."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX(id) FROM {ENTRY}")
        return cursor.fetchone()[0] or 0


def _cosine(source, candidate, idf, default_idf):
    """Cosine of the TF-IDF vectors; tokens whose document frequency was not counted get
    `default_idf`."""
    dot = sum(weight * idf[token] * candidate.get(token, 0) * idf[token] for token, weight in source.items())
    norm_source = math.sqrt(sum((weight * idf[token]) ** 2 for token, weight in source.items()))
    norm_candidate = math.sqrt(sum((weight * idf.get(token, default_idf)) ** 2 for token, weight in candidate.items()))
    if not dot or not norm_source or not norm_candidate:
        return 0.0
    return min(dot / (norm_source * norm_candidate), 1.0)


def similar_records(user, record, limit=LIMIT):
    """[Similar] records of types the member may view, in their scope, most similar first."""
    from .service import _allowed, _combine, _link_resources, _viewers

    concrete = type(record)._meta.concrete_model
    if concrete not in searchable_resources():
        return []
    content_type = ContentType.objects.get_for_model(concrete)
    source = _entries("e.content_type_id = %s AND e.object_id = %s", [content_type.pk, record.pk])
    if not source:
        return []
    vector = source[0][4]
    if not vector:
        return []
    viewers = _viewers(user)
    allowed = _allowed(user, viewers)
    if not allowed:
        return []
    backend = Backend()
    frequent = [token for token, _count in sorted(vector.items(), key=lambda item: (-item[1], -len(item[0]), item[0]))[:MAX_TERMS]]
    total = max(_total_entries(), 1)
    frequencies = _document_frequencies(backend, frequent)
    idf = {token: math.log(1 + total / (1 + frequencies.get(token, 0))) for token in frequent}
    interesting = sorted(frequent, key=lambda token: (-vector[token] * idf[token], token))[:QUERY_TERMS]
    # Shared with another record, and not so common that the query would rank every row
    # (a token in more than DF_LIMIT records says little about what the record is about).
    interesting = [token for token in interesting if 1 < frequencies.get(token, 0) <= DF_LIMIT]
    if not interesting:
        return []
    condition, params = _combine(allowed, list(allowed))
    condition = f"({condition}) AND NOT (e.content_type_id = %s AND e.object_id = %s)"
    keys = _candidates(backend, interesting, condition, [*params, content_type.pk, record.pk])
    if not keys:
        return []
    where = " OR ".join("(e.content_type_id = %s AND e.object_id = %s)" for _key in keys)
    candidates = _entries(where, [value for key in keys for value in key])
    # The record is represented by its MAX_TERMS most frequent tokens; a candidate by all its
    # tokens, those not counted taken as fairly rare (half the records do not have them).
    source_vector = {token: vector[token] for token in frequent}
    default_idf = math.log(1 + total / (1 + total / 2))
    scored = sorted(
        (
            (_cosine(source_vector, candidate, idf, default_idf), type_id, object_id, title, body)
            for type_id, object_id, title, body, candidate in candidates
        ),
        key=lambda item: (-item[0], item[3], item[2]),
    )
    resources = {ContentType.objects.get_for_model(model).pk: resource for model, resource in searchable_resources().items()}
    chosen = [item for item in scored if item[0] >= MIN_SIMILARITY][:limit]
    links = _link_resources([(type_id, object_id) for _score, type_id, object_id, *_rest in chosen], resources, viewers, user)
    found = []
    for score, type_id, object_id, title, body in chosen:
        resource = resources.get(type_id)
        if resource is None:
            continue
        try:
            url = links.get((type_id, object_id), resource).url("detail", pk=object_id)
        except NoReverseMatch:
            url = None
        found.append(Similar(resource=resource, object_id=object_id, title=title, detail=body or "", url=url, similarity=score))
    return found
