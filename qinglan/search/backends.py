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

from django.conf import settings
from django.db import connection

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
        if query.empty:  # only field filters: every row they allow, but the excluded words
            sql, params = f"FROM {ENTRY} e WHERE ({allowed_sql})", [*allowed_params]
            if query.exclude:
                sql += " AND e.id NOT IN (SELECT rowid FROM search_fts WHERE search_fts MATCH %s)"
                params.append(" OR ".join(fts5_expression(term) for term in query.exclude))
            return sql, params
        # CROSS JOIN: SQLite then always starts from the full-text match. With a plain JOIN
        # and one type's condition (e.content_type_id = …) it may walk that type's rows and
        # test the match row by row: seconds instead of milliseconds at 200,000 rows.
        sql = (
            f"FROM search_fts CROSS JOIN {ENTRY} e ON e.id = search_fts.rowid "
            f"WHERE search_fts MATCH %s AND ({allowed_sql})"
        )
        return sql, [fts5_match(query), *allowed_params]

    def rank_sql(self, query):
        if query.empty:
            return f"-{self.recency}"
        weights = ", ".join(str(weight) for weight in SQLITE_WEIGHTS)
        return f"bm25(search_fts, {weights}) * {self.recency}"  # bm25 is negative: more negative is better

    rank_order = "ASC"  # bm25: lower is better

    def ranked_sql(self, query, allowed_sql, allowed_params):
        """(sql, params) of every match: id, content_type_id, updated, score."""
        base, params = self._base(query, allowed_sql, allowed_params)
        return f"SELECT e.id, e.content_type_id, e.updated, {self.rank_sql(query)} AS score {base}", params

    def candidates_sql(self, query, allowed_sql, allowed_params, limit):
        """(sql, params) of the newest `limit` matches, ranked: the full-text index hands its
        matches out by rowid, newest first, so bm25 is computed for these rows only."""
        base, params = self._base(query, allowed_sql, allowed_params)
        order = "e.id DESC" if query.empty else "search_fts.rowid DESC"
        sql = f"SELECT * FROM (SELECT e.id, e.content_type_id, e.updated, {self.rank_sql(query)} AS score {base} ORDER BY {order} LIMIT {int(limit)})"
        return sql, params


class PostgresBackend:
    recency = f"(1.0 + {RECENCY_BOOST} / (1.0 + greatest(extract(epoch from (now() - e.updated)), 0) / {RECENCY_DAYS * 86400}))"

    def _base(self, query, allowed_sql, allowed_params):
        if query.empty:
            sql, params = f"FROM {ENTRY} e WHERE ({allowed_sql})", [*allowed_params]
            if query.exclude:
                sql += " AND NOT (e.vector @@ to_tsquery('simple', %s))"
                params.append(" | ".join(tsquery_expression(term) for term in query.exclude))
            return sql, params
        sql = (
            f"FROM {ENTRY} e, to_tsquery('simple', %s) q "
            f"WHERE e.vector @@ q AND ({allowed_sql})"
        )
        return sql, [tsquery(query), *allowed_params]

    def rank_sql(self, query):
        if query.empty:
            return self.recency
        return f"ts_rank_cd('{POSTGRES_WEIGHTS}', e.vector, q) * {self.recency}"

    rank_order = "DESC"

    def ranked_sql(self, query, allowed_sql, allowed_params):
        base, params = self._base(query, allowed_sql, allowed_params)
        return f"SELECT e.id, e.content_type_id, e.updated, {self.rank_sql(query)} AS score {base}", params

    def candidates_sql(self, query, allowed_sql, allowed_params, limit):
        """The newest `limit` matches are chosen on ids alone; ts_rank_cd then reads the
        vectors of these rows only."""
        base, params = self._base(query, allowed_sql, allowed_params)
        inner = f"SELECT e.id {base} ORDER BY e.id DESC LIMIT {int(limit)}"
        if query.empty:
            return f"SELECT e.id, e.content_type_id, e.updated, {self.rank_sql(query)} AS score FROM ({inner}) c JOIN {ENTRY} e ON e.id = c.id", params
        sql = (
            f"SELECT e.id, e.content_type_id, e.updated, {self.rank_sql(query)} AS score "
            f"FROM ({inner}) c JOIN {ENTRY} e ON e.id = c.id, to_tsquery('simple', %s) q"
        )
        return sql, [*params, tsquery(query)]


def scan_limit(limit):
    """How many matching rows the first count pass reads at most (20,001 for the limit of
    1,000): every match in all but the most common searches."""
    return limit * 20 + 1


class Backend:
    """Runs the ranked and counting queries for the current database."""

    def __init__(self):
        self.impl = PostgresBackend() if connection.vendor == "postgresql" else SQLiteBackend()

    def counts(self, query, conditions, limit):
        """{content_type_id: matching rows, exact up to `limit`; `limit` + 1 means more} for
        {content_type_id: (SQL condition, params)} — never a count of every match.

        One pass reads at most `scan_limit(limit)` matching rows of all the types together:
        for most searches that is every match, and the counts are exact. When the pass stops
        early (a very common word), the types it did not see past `limit` are counted one by
        one, each up to `limit` + 1 rows, the types with no index rows at all skipped."""
        if not conditions:
            return {}
        condition = " OR ".join(sql for sql, _params in conditions.values())
        params = [param for _sql, condition_params in conditions.values() for param in condition_params]
        base, base_params = self.impl._base(query, condition, params)
        bound = scan_limit(limit)
        sql = f"SELECT c.content_type_id, COUNT(*) FROM (SELECT e.content_type_id {base} LIMIT %s) c GROUP BY c.content_type_id"
        with connection.cursor() as cursor:
            cursor.execute(sql, [*base_params, bound])
            counts = {type_id: count for type_id, count in cursor.fetchall() if type_id in conditions}
        if sum(counts.values()) < bound:
            return counts
        over = {type_id: count for type_id, count in counts.items() if count > limit}
        rest = [type_id for type_id in conditions if type_id not in over]
        with connection.cursor() as cursor:
            cursor.execute(
                " UNION ALL ".join(f"SELECT {int(type_id)} WHERE EXISTS (SELECT 1 FROM {ENTRY} WHERE content_type_id = {int(type_id)})" for type_id in rest)
                if rest else "SELECT 1 WHERE 1 = 0"
            )
            present = [row[0] for row in cursor.fetchall()]
        for type_id in present:
            count = self.count_up_to(query, *conditions[type_id], limit + 1)
            if count:
                over[type_id] = count
        return over

    def count_up_to(self, query, allowed_sql, allowed_params, limit):
        """How many rows match, counting no further than `limit`."""
        base, params = self.impl._base(query, allowed_sql, allowed_params)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM (SELECT 1 AS one {base} LIMIT %s) c", [*params, limit])
            return cursor.fetchone()[0]

    def _source(self, query, conditions, counts):
        """(sql, params) of the rows to rank under {type_id: (condition, params)}: the types
        with at most rank_candidates() matches (`counts`) all of theirs, each other type its
        newest rank_candidates()."""
        bound = rank_candidates()
        small = [type_id for type_id in conditions if counts.get(type_id, 0) <= bound]
        parts, params = [], []
        if small:
            condition = " OR ".join(conditions[type_id][0] for type_id in small)
            sql, part_params = self.impl.ranked_sql(query, condition, [p for type_id in small for p in conditions[type_id][1]])
            parts.append(sql)
            params.extend(part_params)
        for type_id in conditions:
            if type_id not in small:
                sql, part_params = self.impl.candidates_sql(query, *conditions[type_id], bound)
                parts.append(sql)
                params.extend(part_params)
        return " UNION ALL ".join(parts), params

    def top_per_type(self, query, conditions, counts, per_type):
        """The best `per_type` rows of each type of {type_id: (condition, params)}, given the
        types' match `counts`: (content_type_id, object_id, title, body, rank)."""
        source, params = self._source(query, conditions, counts)
        order = self.impl.rank_order
        sql = (
            "SELECT e.content_type_id, e.object_id, e.title, e.body, r.score FROM ("
            f"SELECT t.id, t.content_type_id, t.score, ROW_NUMBER() OVER (PARTITION BY t.content_type_id ORDER BY t.score {order}, t.updated DESC, t.id) AS n "
            f"FROM ({source}) t) r JOIN {ENTRY} e ON e.id = r.id WHERE r.n <= %s ORDER BY r.content_type_id, r.n"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, per_type])
            return cursor.fetchall()

    def page(self, query, conditions, counts, offset, limit):
        """Rows `offset` to `offset + limit` of the ranked matches of all the types of
        {type_id: (condition, params)} together (ranked among the newest rank_candidates() of
        each type that has more)."""
        source, params = self._source(query, conditions, counts)
        sql = (
            f"SELECT e.content_type_id, e.object_id, e.title, e.body, r.score FROM ({source}) r JOIN {ENTRY} e ON e.id = r.id "
            f"ORDER BY r.score {self.impl.rank_order}, r.updated DESC, r.id LIMIT %s OFFSET %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, limit, offset])
            return cursor.fetchall()
