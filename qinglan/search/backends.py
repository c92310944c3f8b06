"""The two query backends: SQLite FTS5 (bm25 with column weights) and PostgreSQL (tsvector,
ts_rank_cd with weights A–D). Both take the parsed Terms and an SQL condition that already
limits the rows to what the member may view, and return ranked rows and counts per type.
Ranks get a gentle boost for recently updated records (RECENCY_BOOST); a query of field
filters alone (no words) lists the rows they allow, most recently updated first.

Ranking is bounded like the counts: a type with more than ``rank_candidates()`` (1,000) matches in the
member's scope (a very common word: 公司 in most names) is ranked among its newest
rank_candidates() matches in scope only, taken in index order without computing a rank, so
the cost of a search does not grow with the number of matches (bm25 / ts_rank_cd over
20,000+ rows took 0.6–0.7 s). The scope is applied before the candidates are taken, as
everywhere. Rows are ranked on (id, type, updated, rank) alone; titles and texts are read for
the rows shown.

Nothing the user typed reaches the SQL text: the match expression is built from tokens
(letters and digits only), quoted, and passed as a parameter."""

import time
from dataclasses import replace

from django.conf import settings
from django.db import connection

from .text import Term

# bm25 weights of tokens_a … tokens_d; ts_rank_cd weights {D, C, B, A}.
SQLITE_WEIGHTS = (10.0, 4.0, 2.0, 1.0)
POSTGRES_WEIGHTS = "{0.1, 0.2, 0.4, 1.0}"
ENTRY = "search_searchentry"
# Recency: a rank is multiplied by 1 + RECENCY_BOOST / (1 + age / RECENCY_DAYS), so a record
# updated today gains 20 %, one updated 90 days ago 10 %, a year ago 4 %: relevance first.
RECENCY_BOOST = 0.2
RECENCY_DAYS = 90.0


def rank_candidates():
    """A type with more matches than this in scope is ranked among its newest this many
    (setting QINGLAN_SEARCH_RANK_CANDIDATES, 1,000 by default: the pages of one type reach
    the 1,000th result)."""
    return max(1, int(getattr(settings, "QINGLAN_SEARCH_RANK_CANDIDATES", 1000)))


def _quote_fts(token):
    return '"' + token.replace('"', '""') + '"'


def fts5_expression(term):
    if term.kind == "token":
        return _quote_fts(term.tokens[0])
    if term.kind == "phrase":
        return _quote_fts(" ".join(term.tokens))
    if term.kind == "prefix":
        return _quote_fts(term.tokens[0]) + " *"
    return "(" + " OR ".join(fts5_expression(part) for part in term.parts) + ")"


def fts5_match(query):
    expression = " AND ".join(fts5_expression(term) for term in query.include)
    for term in query.exclude:
        expression = f"({expression}) NOT {fts5_expression(term)}"
    return expression


def type_token(model):
    """The token every index row of a type (a concrete model) carries at the start of its D
    column: ``qtypecustomerscustomer``. SQLite's full-text index then finds the matches of one
    type by itself, newest first. (Migration 0004 writes the same from django_content_type.)"""
    meta = model._meta.concrete_model._meta
    return "qtype" + meta.app_label.replace("_", "") + meta.model_name.replace("_", "")


def _ids(type_ids):
    """Type ids (one, or a list) as SQL integers."""
    ids = type_ids if isinstance(type_ids, list) else [type_ids]
    return ", ".join(str(int(type_id)) for type_id in ids) or "NULL"


def typed_match(query):
    """The FTS5 expression of `query`, limited to its type's rows when it has a type token."""
    expression = fts5_match(query)
    return f"({expression}) AND {_quote_fts(query.type_token)}" if query.type_token else expression


def common_limit():
    """A word (an include term) found in more index rows than this is *common* (setting
    QINGLAN_SEARCH_COMMON_TERM, 30,000 by default): see ``Backend.split_common``."""
    return max(1, int(getattr(settings, "QINGLAN_SEARCH_COMMON_TERM", 30000)))


# How long a term's (bounded) number of matching index rows is kept: it only chooses how a
# search is run, never what it finds, so a stale value costs time at worst.
FREQUENCY_SECONDS = 300
# Frequencies are counted up to COMMON_COUNTED × common_limit(); a common term joins the
# full-text match while the others are expected to leave more than CHECKED_ROWS rows to check.
COMMON_COUNTED = 10
CHECKED_ROWS = 2000
# A type with at most this many index rows is read whole when every word is common.
SMALL_TYPE = 10000
# PostgreSQL reads the index rows from a type's floor on by key when there are at most this
# many (公司: the newest 2,000 of its 145,000 customers are among the last 3,400 rows).
SCANNED_ROWS = 20000
FREQUENCY_ENTRIES = 20000
_frequencies = {}


def clear_frequencies():
    _frequencies.clear()


def _needles(term, column):
    """(SQL, params): whether the index row e holds `term` in its token column `column`, read
    from the stored tokens (the very text the full-text index was built from, tokens split
    by single spaces): a token or a phrase is its tokens between spaces, a prefix a token
    start."""
    if term.kind == "any":
        parts = [_needles(part, column) for part in term.parts]
        return "(" + " OR ".join(sql for sql, _params in parts) + ")", [p for _sql, params in parts for p in params]
    if term.kind == "prefix":
        return f"instr(' ' || e.tokens_{column}, %s) > 0", [" " + term.tokens[0]]
    return f"instr(' ' || e.tokens_{column} || ' ', %s) > 0", [" " + " ".join(term.tokens) + " "]


def _words(query):
    """The terms of the words of `query`, wherever they are checked (not its type token)."""
    return [term for term in (*query.include, *query.common) if not (term.kind == "token" and term.tokens[0] == query.type_token)]


def sqlite_contains(term, columns="abcd"):
    """(SQL, params): the index row e matches `term` in one of `columns` — what the full-text
    match of the term decides, computed on one row's stored tokens."""
    parts = [_needles(term, column) for column in columns]
    return "(" + " OR ".join(sql for sql, _params in parts) + ")", [p for _sql, params in parts for p in params]


def _quote_ts(token):
    return "'" + token.replace("'", "''").replace("\\", "\\\\") + "'"


def tsquery_expression(term):
    if term.kind == "token":
        return _quote_ts(term.tokens[0])
    if term.kind == "phrase":
        return "(" + " <-> ".join(_quote_ts(token) for token in term.tokens) + ")"
    if term.kind == "prefix":
        return _quote_ts(term.tokens[0]) + ":*"
    return "(" + " | ".join(tsquery_expression(part) for part in term.parts) + ")"


def tsquery(query):
    parts = [tsquery_expression(term) for term in query.include]
    parts += ["!" + tsquery_expression(term) for term in query.exclude]
    return " & ".join(parts)


class SQLiteBackend:
    # 1 + RECENCY_BOOST / (1 + age in days / RECENCY_DAYS): ×1.2 today, ×1.1 at 90 days.
    recency = f"(1.0 + {RECENCY_BOOST} / (1.0 + max(julianday('now') - julianday(e.updated), 0) / {RECENCY_DAYS}))"

    def _base(self, query, allowed_sql, allowed_params):
        floor = f" AND e.id >= {int(query.floor)}" if query.floor is not None else ""
        if query.empty:  # only field filters: every row they allow, but the excluded words
            sql, params = f"FROM {ENTRY} e WHERE ({allowed_sql}){floor}", [*allowed_params]
            if query.exclude:
                sql += " AND e.id NOT IN (SELECT rowid FROM search_fts WHERE search_fts MATCH %s)"
                params.append(" OR ".join(fts5_expression(term) for term in query.exclude))
            return sql, params
        # The floor on the full-text table's rowid: FTS5 seeks to it instead of reading on.
        floor = floor.replace("e.id", "search_fts.rowid")
        checks, check_params = self._checks(query)
        # CROSS JOIN: SQLite then always starts from the full-text match. With a plain JOIN
        # and one type's condition (e.content_type_id = …) it may walk that type's rows and
        # test the match row by row: seconds instead of milliseconds at 200,000 rows.
        sql = (
            f"FROM search_fts CROSS JOIN {ENTRY} e ON e.id = search_fts.rowid "
            f"WHERE search_fts MATCH %s{floor}{checks} AND ({allowed_sql})"
        )
        return sql, [typed_match(query), *check_params, *allowed_params]

    def order(self, query):
        """Newest first: FTS5 seeks to a floor (rowid >= …) only reading backwards; forwards
        it reads the words' lists from their start (56 ms for 公司 instead of 0.2 ms)."""
        return "" if query.empty else " ORDER BY search_fts.rowid DESC"

    def _checks(self, query):
        """(" AND …", params): the common terms (``Backend.split_common``), checked on the
        rows the full-text match gives."""
        if not query.common:
            return "", []
        parts = [sqlite_contains(term) for term in query.common]
        return "".join(f" AND {sql}" for sql, _params in parts), [p for _sql, params in parts for p in params]

    def rank_sql(self, query):
        """(sql, params) of a row's score (lower is better)."""
        if query.empty:
            return f"-{self.recency}", []
        if query.field_rank:
            # Every word is common: bm25 would first read each word's whole list of matches
            # (its document frequency: 35 ms for 公司's 583,000) in every statement. The
            # fields the words are in, weighted like bm25's columns, then recency.
            parts, params = [], []
            for term in _words(query):
                for column, weight in zip("abc", SQLITE_WEIGHTS):
                    sql, term_params = sqlite_contains(term, column)
                    parts.append(f"{sql} * {weight}")
                    params.extend(term_params)
            return f"-(1.0 + {' + '.join(parts)}) * {self.recency}", params
        weights = ", ".join(str(weight) for weight in SQLITE_WEIGHTS)
        return f"bm25(search_fts, {weights}) * {self.recency}", []  # bm25 is negative: more negative is better

    rank_order = "ASC"  # bm25: lower is better

    def floor_sql(self, query, type_ids, size):
        """(sql, params) of the ids of the `size`-th and next newest matches of the type
        `type_ids` (or of the words alone, given a list of types)."""
        if query.empty:
            return f"SELECT e.id FROM {ENTRY} e WHERE e.content_type_id IN ({_ids(type_ids)}) ORDER BY e.id DESC LIMIT 2 OFFSET {int(size) - 1}", []
        if query.common:
            checks, params = self._checks(query)
            return (
                f"SELECT search_fts.rowid AS id FROM search_fts CROSS JOIN {ENTRY} e ON e.id = search_fts.rowid "
                f"WHERE search_fts MATCH %s{checks} ORDER BY search_fts.rowid DESC LIMIT 2 OFFSET {int(size) - 1}",
                [typed_match(query), *params],
            )
        return f"SELECT rowid AS id FROM search_fts WHERE search_fts MATCH %s ORDER BY rowid DESC LIMIT 2 OFFSET {int(size) - 1}", [typed_match(query)]

    def frequency_sql(self, term, limit):
        return f"SELECT COUNT(*) FROM (SELECT 1 FROM search_fts WHERE search_fts MATCH %s LIMIT {int(limit)})", [fts5_expression(term)]

    def ranked_sql(self, query, allowed_sql, allowed_params):
        """(sql, params) of every match: id, content_type_id, updated, score."""
        base, params = self._base(query, allowed_sql, allowed_params)
        rank, rank_params = self.rank_sql(query)
        return f"SELECT e.id, e.content_type_id, e.updated, {rank} AS score {base}{self.order(query)}", [*rank_params, *params]

    def candidates_sql(self, query, allowed_sql, allowed_params, limit):
        """(sql, params) of the newest `limit` matches, ranked: the full-text index hands its
        matches out by rowid, newest first, so bm25 is computed for these rows only."""
        base, params = self._base(query, allowed_sql, allowed_params)
        rank, rank_params = self.rank_sql(query)
        order = "e.id DESC" if query.empty else "search_fts.rowid DESC"
        sql = f"SELECT * FROM (SELECT e.id, e.content_type_id, e.updated, {rank} AS score {base} ORDER BY {order} LIMIT {int(limit)})"
        return sql, [*rank_params, *params]


class PostgresBackend:
    recency = f"(1.0 + {RECENCY_BOOST} / (1.0 + greatest(extract(epoch from (now() - e.updated)), 0) / {RECENCY_DAYS * 86400}))"

    def _base(self, query, allowed_sql, allowed_params):
        floor = f" AND e.id >= {int(query.floor)}" if query.floor is not None else ""
        if query.empty:
            sql, params = f"FROM {ENTRY} e WHERE ({allowed_sql}){floor}", [*allowed_params]
            if query.exclude:
                sql += " AND NOT (e.vector @@ to_tsquery('simple', %s))"
                params.append(" | ".join(tsquery_expression(term) for term in query.exclude))
            return sql, params
        checks, check_params = self._checks(query)
        # ts_match_vq is @@ without the index: the rows from the floor on, by their key.
        match = "ts_match_vq(e.vector, q)" if query.scan and query.floor is not None else "e.vector @@ q"
        sql = (
            f"FROM {ENTRY} e, to_tsquery('simple', %s) q "
            f"WHERE {match}{floor}{checks} AND ({allowed_sql})"
        )
        return sql, [tsquery(query), *check_params, *allowed_params]

    def order(self, query):
        return ""

    def _checks(self, query):
        """The common terms (``Backend.split_common``) checked on the rows the GIN index gives
        for the others: ts_match_vq is the function of @@, which the index does not serve, so
        their long posting lists are not read."""
        if not query.common:
            return "", []
        return " AND ts_match_vq(e.vector, to_tsquery('simple', %s))", [" & ".join(tsquery_expression(term) for term in query.common)]

    def rank_sql(self, query):
        """(sql, params) of a row's score (higher is better): ts_rank_cd of every word,
        common ones included (it reads the row's vector only)."""
        if query.empty:
            return self.recency, []
        if query.common:
            full = replace(query, include=_words(query), common=[])
            return f"ts_rank_cd('{POSTGRES_WEIGHTS}', e.vector, to_tsquery('simple', %s)) * {self.recency}", [tsquery(full)]
        return f"ts_rank_cd('{POSTGRES_WEIGHTS}', e.vector, q) * {self.recency}", []

    rank_order = "DESC"

    def floor_sql(self, query, type_ids, size):
        if query.empty:
            return f"SELECT e.id FROM {ENTRY} e WHERE e.content_type_id IN ({_ids(type_ids)}) ORDER BY e.id DESC LIMIT 2 OFFSET {int(size) - 1}", []
        types = f" AND e.content_type_id IN ({_ids(type_ids)})" if not isinstance(type_ids, list) else ""
        checks, check_params = self._checks(query)
        sql = f"SELECT e.id FROM {ENTRY} e WHERE e.vector @@ to_tsquery('simple', %s){types}{checks} ORDER BY e.id DESC LIMIT 2 OFFSET {int(size) - 1}"
        return sql, [tsquery(query), *check_params]

    def frequency_sql(self, term, limit):
        return f"SELECT COUNT(*) FROM (SELECT 1 FROM {ENTRY} WHERE vector @@ to_tsquery('simple', %s) LIMIT {int(limit)}) c", [tsquery_expression(term)]

    def ranked_sql(self, query, allowed_sql, allowed_params):
        base, params = self._base(query, allowed_sql, allowed_params)
        rank, rank_params = self.rank_sql(query)
        return f"SELECT e.id, e.content_type_id, e.updated, {rank} AS score {base}", [*rank_params, *params]

    def candidates_sql(self, query, allowed_sql, allowed_params, limit):
        """The newest `limit` matches are chosen on ids alone; ts_rank_cd then reads the
        vectors of these rows only."""
        base, params = self._base(query, allowed_sql, allowed_params)
        rank, rank_params = self.rank_sql(query)
        inner = f"SELECT e.id {base} ORDER BY e.id DESC LIMIT {int(limit)}"
        if query.empty:
            return f"SELECT e.id, e.content_type_id, e.updated, {rank} AS score FROM ({inner}) c JOIN {ENTRY} e ON e.id = c.id", [*rank_params, *params]
        sql = (
            f"SELECT e.id, e.content_type_id, e.updated, {rank} AS score "
            f"FROM ({inner}) c JOIN {ENTRY} e ON e.id = c.id, to_tsquery('simple', %s) q"
        )
        return sql, [*rank_params, *params, tsquery(query)]


def window():
    """How many of a type's newest matches a search reads at most (setting
    QINGLAN_SEARCH_WINDOW, 2,000 by default): every match in all but the most common searches."""
    return max(1, int(getattr(settings, "QINGLAN_SEARCH_WINDOW", 2000)))


class Backend:
    """Runs the ranked and counting queries for the current database."""

    def __init__(self):
        self.impl = PostgresBackend() if connection.vendor == "postgresql" else SQLiteBackend()

    def frequencies(self, terms, limit):
        """{term: how many index rows match it, counted no further than `limit` + 1}, kept
        FREQUENCY_SECONDS per database (a search's terms are looked up in one statement)."""
        now = time.monotonic()
        database = (connection.vendor, str(connection.settings_dict.get("NAME")))
        found, missing = {}, []
        for term in dict.fromkeys(terms):
            cached = _frequencies.get((database, term, limit))
            if cached is not None and now - cached[1] < FREQUENCY_SECONDS:
                found[term] = cached[0]
            else:
                missing.append(term)
        if missing:
            parts, params = [], []
            for number, term in enumerate(missing):
                sql, term_params = self.impl.frequency_sql(term, limit + 1)
                parts.append(f"SELECT {number}, ({sql})")
                params.extend(term_params)
            with connection.cursor() as cursor:
                cursor.execute(" UNION ALL ".join(parts), params)
                rows = cursor.fetchall()
            if len(_frequencies) > FREQUENCY_ENTRIES:
                _frequencies.clear()
            for number, count in rows:
                found[missing[number]] = count
                _frequencies[(database, missing[number], limit)] = (count, now)
        return found

    def split_common(self, query):
        """`query` run by its rarer terms: a term found in more than common_limit() index rows
        (公司 is in 583,000 of 1,000,000) is left out of the full-text match when another
        term is not, and checked on the rows the others match (the tokens they are stored
        with on SQLite, ts_match_vq on PostgreSQL) — the same rows are found, counted and
        limited to the member's scope, without reading the common terms' long lists of
        matches, once per statement. bm25 (SQLite) then ranks by the rarer terms (a common
        term's weight is small and every result has it); ts_rank_cd by every term.

        When every term is common, the full-text match keeps them all and, on SQLite, the
        rows are ranked by the fields the words are in (``field_rank``) instead of bm25."""
        if query.empty or query.common:
            return query
        limit = common_limit()
        # One word (most searches as you type, 合同): only whether it is common matters, so
        # it is counted to limit + 1 rows, not to the 300,001 that choose among several.
        counts = self.frequencies(query.include, limit if len(query.include) == 1 else limit * COMMON_COUNTED)
        common = sorted((term for term in query.include if counts.get(term, 0) > limit), key=lambda term: counts[term])
        if not common:
            return query
        rare = [term for term in query.include if counts.get(term, 0) <= limit]
        if not rare:
            return replace(query, field_rank=True)
        # While the rarer terms leave many rows to check (新竹 alone: 11,500), the least common
        # of the others joins the match (貿易: 40,000 entries read, a few hundred rows left).
        rows = self.rows()
        expected = rows
        for term in rare:
            expected *= min(counts[term], rows) / max(rows, 1)
        while common and expected > CHECKED_ROWS and counts[common[0]] <= limit * COMMON_COUNTED:
            term = common.pop(0)
            rare.append(term)
            expected *= min(counts[term], rows) / max(rows, 1)
        if not common:
            return query
        return replace(query, include=[term for term in query.include if term in rare], common=common)

    def rows(self):
        """About how many index rows there are (the highest id), kept like the frequencies."""
        database = (connection.vendor, str(connection.settings_dict.get("NAME")))
        cached = _frequencies.get((database, "rows"))
        if cached is not None and time.monotonic() - cached[1] < FREQUENCY_SECONDS:
            return cached[0]
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT MAX(id) FROM {ENTRY}")
            found = cursor.fetchone()[0] or 0
        _frequencies[(database, "rows")] = (found, time.monotonic())
        return found

    def typed(self, query, tokens, size):
        """{type_id: the query of one type} for {type_id: type token}: with the type's token
        (SQLite's full-text index then reads that type's matches only) and its floor, the id of
        its `size`-th newest match, when the words match more of its rows.

        Every query of a type then reads only its newest `size` matches, before the member's
        scope is checked: the words of most searches match fewer rows and nothing changes; a
        very common word (公司: 583,000 of 1,000,000 records) is counted and ranked within
        each type's newest matches, and its counts become lower bounds ("N+"). Without the
        floor, a member whose scope holds few of the matches had every one of them checked
        against the scope (0.6–1.3 s a query at 1,000,000 records)."""
        if not tokens:
            return {}
        # First the words alone: when they match no more than `size` rows of all the types,
        # the types share the plain query, counted and ranked together in one statement each.
        sql, params = self.impl.floor_sql(query, list(tokens), size)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM ({sql}) f", params)
            if cursor.fetchone()[0] < 2:
                return {type_id: query for type_id in tokens}
            # The types that have index rows at all (the others match nothing).
            cursor.execute(
                " UNION ALL ".join(f"SELECT {int(type_id)} WHERE EXISTS (SELECT 1 FROM {ENTRY} WHERE content_type_id = {int(type_id)})" for type_id in tokens)
            )
            present = {row[0] for row in cursor.fetchall()}
        # Ranked by the fields the words are in, then recency (``field_rank``): bm25 would read
        # the whole list of each word and of the type's token (500,000 contacts) per type.
        typed = {type_id: replace(query, type_token=token, floor=None, field_rank=True) for type_id, token in tokens.items() if type_id in present}
        if not typed:
            return {}
        if query.field_rank:
            # Only common words, and a type with few index rows (regions among 1,000,000
            # records): its rows are read by its type token and the words checked on each —
            # intersecting the words' long lists with the type's cost 50 ms a type.
            terms = {type_id: Term("token", (item.type_token,)) for type_id, item in typed.items()}
            sizes = self.frequencies(list(terms.values()), SMALL_TYPE)
            for type_id, item in typed.items():
                if sizes.get(terms[type_id], SMALL_TYPE + 1) <= SMALL_TYPE:
                    typed[type_id] = replace(item, include=[terms[type_id]], common=list(item.include))
        parts, params = [], []
        for type_id, item in typed.items():
            sql, part_params = self.impl.floor_sql(item, type_id, size)
            # The floor is the size-th newest id when there is a next one (more matches).
            parts.append(f"SELECT {int(type_id)}, MAX(f.id), COUNT(*) FROM ({sql}) f")
            params.extend(part_params)
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(parts), params)
            for type_id, floor, found in cursor.fetchall():
                typed[type_id].floor = floor if found == 2 else None
        if isinstance(self.impl, PostgresBackend) and any(item.floor is not None for item in typed.values()):
            rows = self.rows()
            for item in typed.values():
                item.scan = item.floor is not None and rows - item.floor <= SCANNED_ROWS
        return typed

    def counts(self, queries, conditions, limit):
        """{content_type_id: matching rows, exact up to `limit`; `limit` + 1 means more} for
        {content_type_id: (SQL condition, params)} and the types' `queries` (``typed``): one
        statement, each type counted on its own up to `limit` + 1 rows — never a count of
        every match."""
        conditions = {type_id: value for type_id, value in conditions.items() if type_id in queries}
        if not conditions:
            return {}
        counts = {}
        plain = [type_id for type_id in conditions if not queries[type_id].type_token]
        if plain:  # the words match few rows in all: one pass over them
            condition = " OR ".join(conditions[type_id][0] for type_id in plain)
            base, params = self.impl._base(queries[plain[0]], condition, [p for type_id in plain for p in conditions[type_id][1]])
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT c.content_type_id, COUNT(*) FROM (SELECT e.content_type_id {base}) c GROUP BY c.content_type_id", params)
                counts.update((type_id, min(count, limit + 1)) for type_id, count in cursor.fetchall() if type_id in conditions)
        parts, params = [], []
        for type_id, (condition, condition_params) in conditions.items():
            if type_id in plain:
                continue
            base, base_params = self.impl._base(queries[type_id], condition, condition_params)
            parts.append(f"SELECT {int(type_id)}, (SELECT COUNT(*) FROM (SELECT 1 AS one {base}{self.impl.order(queries[type_id])} LIMIT {int(limit) + 1}) c)")
            params.extend(base_params)
        if parts:
            with connection.cursor() as cursor:
                cursor.execute(" UNION ALL ".join(parts), params)
                counts.update((type_id, count) for type_id, count in cursor.fetchall() if count)
        return counts

    @property
    def counts_with_top(self):
        """Whether ``counts_and_top`` answers counts and the best rows in one statement."""
        return isinstance(self.impl, SQLiteBackend)

    def counts_and_top(self, queries, conditions, limit, per_type):
        """``counts`` and ``top_per_type`` in one statement (SQLite): each type's matches in
        scope are read once — the plain types' together, each other type's newest
        max(`limit` + 1, rank_candidates()) — then counted (up to `limit` + 1) and the
        newest rank_candidates() of them ranked. Returns (counts, rows)."""
        conditions = {type_id: value for type_id, value in conditions.items() if type_id in queries}
        if not conditions:
            return {}, []
        bound = rank_candidates()
        parts, params = [], []
        plain = [type_id for type_id in conditions if not queries[type_id].type_token]
        if plain:
            condition = " OR ".join(conditions[type_id][0] for type_id in plain)
            sql, part_params = self.impl.ranked_sql(queries[plain[0]], condition, [p for type_id in plain for p in conditions[type_id][1]])
            parts.append(f"SELECT * FROM ({sql}) plain")
            params.extend(part_params)
        for number, (type_id, (condition, condition_params)) in enumerate(conditions.items()):
            if type_id not in plain:
                sql, part_params = self.impl.candidates_sql(queries[type_id], condition, condition_params, max(int(limit) + 1, bound))
                parts.append(f"SELECT * FROM ({sql}) p{number}")
                params.extend(part_params)
        order = self.impl.rank_order
        sql = (
            "SELECT e.content_type_id, e.object_id, e.title, e.body, r.score, r.total FROM ("
            f"SELECT c.id, c.content_type_id, c.score, c.total, ROW_NUMBER() OVER (PARTITION BY c.content_type_id ORDER BY c.score {order}, c.updated DESC, c.id) AS n FROM ("
            "SELECT m.*, COUNT(*) OVER (PARTITION BY m.content_type_id) AS total, "
            "ROW_NUMBER() OVER (PARTITION BY m.content_type_id ORDER BY m.id DESC) AS newest "
            f"FROM ({' UNION ALL '.join(parts)}) m) c WHERE c.newest <= %s) r "
            f"JOIN {ENTRY} e ON e.id = r.id WHERE r.n <= %s ORDER BY r.content_type_id, r.n"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, bound, per_type])
            found = cursor.fetchall()
        counts = {row[0]: min(row[5], int(limit) + 1) for row in found if row[0] in conditions}
        return counts, [row[:5] for row in found]

    def count_up_to(self, query, allowed_sql, allowed_params, limit):
        """How many rows match, counting no further than `limit`."""
        base, params = self.impl._base(query, allowed_sql, allowed_params)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM (SELECT 1 AS one {base}{self.impl.order(query)} LIMIT %s) c", [*params, limit])
            return cursor.fetchone()[0]

    def _source(self, queries, conditions, counts):
        """(sql, params) of the rows to rank under {type_id: (condition, params)}, each type
        with its query (``typed``): the types with at most rank_candidates() matches
        (`counts`) all of theirs, each other type its newest rank_candidates()."""
        bound = rank_candidates()
        parts, params = [], []
        plain = [type_id for type_id in conditions if not queries[type_id].type_token and counts.get(type_id, 0) <= bound]
        if plain:  # ranked together
            condition = " OR ".join(conditions[type_id][0] for type_id in plain)
            sql, part_params = self.impl.ranked_sql(queries[plain[0]], condition, [p for type_id in plain for p in conditions[type_id][1]])
            parts.append(f"SELECT * FROM ({sql}) plain")
            params.extend(part_params)
        for number, (type_id, (condition, condition_params)) in enumerate(conditions.items()):
            if type_id in plain:
                continue
            if counts.get(type_id, 0) <= bound:
                sql, part_params = self.impl.ranked_sql(queries[type_id], condition, condition_params)
            else:
                sql, part_params = self.impl.candidates_sql(queries[type_id], condition, condition_params, bound)
            parts.append(f"SELECT * FROM ({sql}) p{number}")
            params.extend(part_params)
        return " UNION ALL ".join(parts), params

    def top_per_type(self, queries, conditions, counts, per_type):
        """The best `per_type` rows of each type of {type_id: (condition, params)}, given the
        types' match `counts`: (content_type_id, object_id, title, body, rank)."""
        source, params = self._source(queries, conditions, counts)
        order = self.impl.rank_order
        sql = (
            "SELECT e.content_type_id, e.object_id, e.title, e.body, r.score FROM ("
            f"SELECT t.id, t.content_type_id, t.score, ROW_NUMBER() OVER (PARTITION BY t.content_type_id ORDER BY t.score {order}, t.updated DESC, t.id) AS n "
            f"FROM ({source}) t) r JOIN {ENTRY} e ON e.id = r.id WHERE r.n <= %s ORDER BY r.content_type_id, r.n"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, per_type])
            return cursor.fetchall()

    def page(self, queries, conditions, counts, offset, limit):
        """Rows `offset` to `offset + limit` of the ranked matches of all the types of
        {type_id: (condition, params)} together (ranked among the newest rank_candidates() of
        each type that has more)."""
        source, params = self._source(queries, conditions, counts)
        sql = (
            f"SELECT e.content_type_id, e.object_id, e.title, e.body, r.score FROM ({source}) r JOIN {ENTRY} e ON e.id = r.id "
            f"ORDER BY r.score {self.impl.rank_order}, r.updated DESC, r.id LIMIT %s OFFSET %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, limit, offset])
            return cursor.fetchall()
