"""The search service: ``search(user, text, types=None, page=1)``.

Permissions come first: the index rows are limited, inside the SQL that ranks and counts
them, to the types the member may view (``has_permission``) and, per type, to the object ids
of ``resource.restrict(user, "view")`` as a subquery, so neither a result nor a count comes
from a record outside the member's scope. A type viewed through several resources (customers
and the public pool) allows the records any of them shows."""

from dataclasses import dataclass, field
from itertools import islice, product

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models.expressions import RawSQL
from django.db.models.functions import Length, Substr
from django.urls import NoReverseMatch
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from qinglan.core.permissions import has_permission
from qinglan.core.registry import registry

from . import fields as search_fields
from . import fuzzy
from .backends import Backend, type_token, window
from .index import searchable_resources
from .models import DocumentText
from .text import MAX_TERMS, as_text, fold, highlight_spans, parse_query, pinyin_spans, runs, value_terms
from .text import _dedupe as _dedupe_terms

PAGE_SIZE = 20
PER_TYPE = 5
FEW_RESULTS = 3


MAX_CORRECTIONS_TRIED = 6
WIDER = 10


def count_limit():
    """Counts are exact up to this (the house-wide QINGLAN_COUNT_LIMIT, 1,000), then "1,000+"."""
    return max(1, int(settings.QINGLAN_COUNT_LIMIT))
MAX_PAGE = 50
SNIPPET_LENGTH = 140


@dataclass
class Hit:
    resource: object
    object_id: int
    title: str
    title_html: str
    snippet: str
    url: str | None
    score: float
    attachment: str = ""  # the name of the attached file the words were found in


@dataclass
class Group:
    resource: object
    count: int  # exact up to count_limit(); one more means "more than the limit"
    hits: list = field(default_factory=list)
    # Counted among the newest matches of a very common word only: at least `count`.
    partial: bool = False

    @property
    def key(self):
        return self.resource.label

    @property
    def capped(self):
        return self.count > count_limit() or self.partial

    @property
    def shown_count(self):
        """The count as shown: "1,000+" past the limit, "N+" when only the newest matches
        of the words were counted."""
        return f"{min(self.count, count_limit()):,}+" if self.capped else f"{self.count:,}"

    @property
    def limit_shown(self):
        return f"{min(self.count, count_limit()):,}"

    @property
    def more(self):
        return self.count > len(self.hits)


@dataclass
class Results:
    text: str = ""
    groups: list = field(default_factory=list)  # with hits
    facets: list = field(default_factory=list)  # every type with a match: Group without hits
    types: list = field(default_factory=list)  # the selected types' labels
    page: int = 1
    has_next: bool = False
    message: str = ""
    corrected_from: str = ""  # what was typed, when the results are those of a correction
    suggestion: str = ""  # a corrected query offered with few results

    @property
    def total(self):
        """The sum of the facets' counts, each at most count_limit() + 1."""
        return sum(group.count for group in self.facets)

    @property
    def total_capped(self):
        return any(group.capped for group in self.facets)

    @property
    def shown_total(self):
        if self.total_capped:
            return f"{sum(min(group.count, count_limit()) for group in self.facets):,}+"
        return f"{self.total:,}"


def _viewers(user):
    """{concrete model: [resources the member may view it through]}."""
    found = {}
    indexed = searchable_resources()
    for resource in sorted(registry, key=lambda r: (r.model._meta.proxy, r.label)):
        concrete = resource.model._meta.concrete_model
        if concrete in indexed and resource.search and has_permission(user, resource.model, "view"):
            found.setdefault(concrete, []).append(resource)
    return found


def _allowed(user, viewers):
    """{content_type_id: (SQL condition, params)} limiting index rows of each type the member
    may view to the records they may view."""
    allowed = {}
    for concrete, resources in viewers.items():
        content_type = ContentType.objects.get_for_model(concrete)
        subqueries, params, unrestricted = [], [], False
        for resource in resources:
            queryset = resource.model._default_manager.all().restrict(user, "view")
            if not queryset.query.where and not resource.model._meta.proxy:
                unrestricted = True
                break
            try:
                # A correlated EXISTS: the scope is checked for the matched rows only (a key
                # lookup each). `object_id IN (scope)` made the database list the whole scope
                # first: all the contacts of a department's customers, ~0.9 s at 1 M records.
                records = queryset.order_by().filter(pk=RawSQL("e.object_id", ()))
                sql, sub_params = records.values("pk").query.sql_with_params()
            except EmptyResultSet:
                continue
            # PostgreSQL: OFFSET 0 keeps the EXISTS a per-row key lookup; without it the
            # planner may turn it into a hashed IN over the whole scope (a sequential scan of
            # the customers, 140 ms at 250,000, to check 3,700 rows).
            subqueries.append(f"EXISTS ({sql} OFFSET 0)" if connection.vendor == "postgresql" else f"EXISTS ({sql})")
            params.extend(sub_params)
        if unrestricted:
            allowed[content_type.pk] = ("e.content_type_id = %s", [content_type.pk])
        elif subqueries:
            condition = f"(e.content_type_id = %s AND ({' OR '.join(subqueries)}))"
            allowed[content_type.pk] = (condition, [content_type.pk, *params])
    return allowed


def _combine(allowed, type_ids):
    conditions, params = [], []
    for type_id in type_ids:
        condition, condition_params = allowed[type_id]
        conditions.append(condition)
        params.extend(condition_params)
    return " OR ".join(conditions), params


def resolve_type(name, resources):
    """The resource among `resources` that `name` names: ``customers.customer``,
    ``customer``, or its (translated) singular or plural name, in any width, case or script."""
    wanted = fold(name).strip()
    for resource in resources:
        names = {resource.label, resource.model_name, str(resource.verbose_name), str(resource.verbose_name_plural)}
        if wanted in {fold(candidate) for candidate in names}:
            return resource
    return None


def search(user, text, types=None, page=1, *, per_type=PER_TYPE, page_size=PAGE_SIZE, prefix_last=False, correct=True):
    """Ranked, permission-filtered results of `text`, grouped by type.

    With one type selected (``types`` or ``type:`` in the text) the results of that type are
    paginated by `page_size`; otherwise each type shows its best `per_type` results and its
    count. Bad input gives an empty result and a message, never an error.

    With `correct`, a query with fewer than FEW_RESULTS results whose Latin words are not in
    the vocabulary is tried with corrected words (``fuzzy.py``): with no results at all the
    corrected query's results are shown (``corrected_from`` says what was typed), otherwise
    it is offered (``suggestion``) — in both cases only if it finds more records in the
    member's scope."""
    text = (text or "").strip()
    query = parse_query(text, prefix_last=prefix_last)
    results = Results(text=text, page=_page_number(page))
    if not text:
        return results
    viewers = _viewers(user)
    if not viewers:
        return results
    concrete_resources = {searchable_resources()[model]: model for model in viewers}
    selected = []
    for name in [*(types or []), *query.types]:
        resource = resolve_type(name, concrete_resources) or _proxy_type(name, viewers)
        if resource is None:
            results.message = _("Unknown type: %(name)s") % {"name": name}
            return results
        if resource not in selected:
            selected.append(resource)
    results.types = [resource.label for resource in selected]
    filters = _field_filters(query, concrete_resources)
    if query.empty and filters is None:
        results.message = _("Type a word to search for.")
        return results
    allowed = _allowed(user, viewers)
    if not allowed:
        return results
    type_ids = {ContentType.objects.get_for_model(resource.model).pk: resource for resource in concrete_resources}
    type_ids = {type_id: resource for type_id, resource in type_ids.items() if type_id in allowed}
    if filters is not None:
        type_ids = {type_id: resource for type_id, resource in type_ids.items() if resource in filters}
        allowed = _with_filters(allowed, type_ids, filters)
        if not type_ids:
            return results
    backend = Backend()
    # Very common words (公司, 有限公司) are checked on the rows the others match.
    query = backend.split_common(query)
    queries = backend.typed(query, {type_id: type_token(resource.model) for type_id, resource in type_ids.items()}, window())
    partial = {type_id for type_id, item in queries.items() if item.floor is not None}
    top = None  # the best rows of each type, when read with the counts
    if not selected and backend.counts_with_top:
        counts, top = backend.counts_and_top(queries, {type_id: allowed[type_id] for type_id in type_ids}, count_limit(), per_type)
    else:
        counts = backend.counts(queries, {type_id: allowed[type_id] for type_id in type_ids}, count_limit())
    # A scope that holds few of a very common word's newest matches (a salesperson's own
    # customers among everybody's): those types are read again over WIDER times as many.
    thin = {type_id: queries[type_id].type_token for type_id in partial if counts.get(type_id, 0) < per_type}
    if thin:
        wider = backend.typed(query, thin, window() * WIDER)
        queries.update(wider)
        partial = (partial - set(thin)) | {type_id for type_id, item in wider.items() if item.floor is not None}
        counts.update(backend.counts(wider, {type_id: allowed[type_id] for type_id in thin}, count_limit()))
        top = None
    results.facets = sorted(
        (Group(resource=type_ids[type_id], count=count, partial=type_id in partial) for type_id, count in counts.items() if type_id in type_ids),
        key=lambda group: (-group.count, str(group.resource.verbose_name_plural)),
    )
    selected_ids = [type_id for type_id, resource in type_ids.items() if resource in selected]
    if correct and not prefix_last:
        scope_ids = selected_ids or list(type_ids)
        found = sum(counts.get(type_id, 0) for type_id in scope_ids)
        if found < FEW_RESULTS and scope_ids:
            corrected = _correction(text, backend, *_combine(allowed, scope_ids), concrete_resources, better_than=found)
            if corrected and not found:
                fixed = search(user, corrected, types, page, per_type=per_type, page_size=page_size, correct=False)
                fixed.corrected_from = text
                return fixed
            results.suggestion = corrected or ""
    if selected:
        if not selected_ids or not any(counts.get(type_id) for type_id in selected_ids):
            return results
        offset = (results.page - 1) * page_size
        rows = backend.page(queries, {type_id: allowed[type_id] for type_id in selected_ids if counts.get(type_id)}, counts, offset, page_size + 1)
        results.has_next = len(rows) > page_size
        hits = _hits(rows[:page_size], type_ids, viewers, user, query)
        for type_id in selected_ids:
            if counts.get(type_id):
                resource = type_ids[type_id]
                results.groups.append(Group(resource=resource, count=counts[type_id], hits=[hit for hit in hits if hit.resource is resource], partial=type_id in partial))
        if len(results.groups) > 1:  # several types on one page: keep the ranked order in one list
            results.groups = [Group(resource=results.groups[0].resource, count=results.total, hits=hits, partial=bool(partial & set(selected_ids)))]
        return results
    present = [type_id for type_id in type_ids if counts.get(type_id)]
    if not present:
        return results
    if top is None:
        rows = backend.top_per_type(queries, {type_id: allowed[type_id] for type_id in present}, counts, per_type)
    else:
        rows = [row for row in top if row[0] in present]
    hits = _hits(rows, type_ids, viewers, user, query)
    by_type = {}
    for hit in hits:
        by_type.setdefault(hit.resource, []).append(hit)
    reverse = backend.impl.rank_order == "DESC"
    ordered = sorted(by_type.items(), key=lambda item: max(h.score for h in item[1]) if reverse else min(h.score for h in item[1]), reverse=reverse)
    by_resource = {group.resource: group for group in results.facets}
    results.groups = [
        Group(resource=resource, count=by_resource[resource].count if resource in by_resource else len(items), hits=items,
              partial=resource in by_resource and by_resource[resource].partial)
        for resource, items in ordered
    ]
    return results


def _field_filters(query, resources):
    """{resource: [(Q, negated)]} of the field:value filters of `query` for the types that
    offer every filtered field, or None without such filters. A name no type offers is only
    text: its words go back into `query`."""
    known, by_resource, narrowing = [], {}, []
    for filter_ in query.fields:
        matched = {resource: field for resource in resources if (field := search_fields.resolve(resource, filter_.name))}
        if not matched:
            as_text(query, filter_)
            continue
        known.append(filter_)
        indexed = all(search_fields.is_indexed_text(resource, field) for resource, field in matched.items())
        if indexed and not filter_.negated:
            # The index narrows the rows first; the field is then read only for those.
            narrowing.extend(value_terms(filter_.value))
            query.highlight.extend(runs(fold(filter_.value)))
        for resource, field in matched.items():
            by_resource.setdefault(resource, []).append(
                (search_fields.condition(field, filter_.value), filter_.negated, search_fields.is_text(field) and (indexed or not query.empty))
            )
    if narrowing:
        query.include = _dedupe_terms(query.include + narrowing)[:MAX_TERMS]
    if not known:
        return None
    return {resource: conditions for resource, conditions in by_resource.items() if len(conditions) == len(known)}


def _with_filters(allowed, type_ids, filters):
    """The allowed conditions of `type_ids` narrowed by the field filters of their type."""
    narrowed = {}
    for type_id, resource in type_ids.items():
        condition, params = allowed[type_id]
        parts, extra = [condition], []
        model = resource.model._meta.concrete_model
        for match, negated, per_row in filters[resource]:
            records = model._default_manager.filter(match)
            if per_row:  # read the field of the matched rows only (a scan of the table for IN)
                records = records.filter(pk=RawSQL("e.object_id", ()))
            try:
                sql, sub_params = records.order_by().values("pk").query.sql_with_params()
            except EmptyResultSet:
                if negated:
                    continue
                sql, sub_params = None, ()
            if sql is None:
                parts.append("1 = 0")
            elif per_row:
                parts.append(f"{'NOT ' if negated else ''}EXISTS ({sql})")
                extra.extend(sub_params)
            else:
                parts.append(f"e.object_id {'NOT IN' if negated else 'IN'} ({sql})")
                extra.extend(sub_params)
        narrowed[type_id] = ("(" + " AND ".join(parts) + ")", [*params, *extra])
    return narrowed


def _correction(text, backend, condition, params, resources, *, better_than):
    """`text` with its unknown Latin words corrected, if that finds more than `better_than`
    records under `condition` (the member's scope and field filters); else None."""
    options, changed = [], False
    for chunk in text.split():
        word = fold(chunk)
        if fuzzy.MIN_LENGTH <= len(word) <= fuzzy.MAX_LENGTH and word.isascii() and word.isalpha() and not fuzzy.is_known(word):
            found = fuzzy.candidates(word)
            if found:
                options.append(found)
                changed = True
                continue
        options.append([chunk])
    if not changed:
        return None
    for combination in islice(product(*options), MAX_CORRECTIONS_TRIED):
        candidate = " ".join(combination)
        query = parse_query(candidate)
        _field_filters(query, resources)  # names no type offers are words
        if not query.empty and backend.count_up_to(backend.split_common(query), condition, params, better_than + 1) > better_than:
            return candidate
    return None


def _page_number(page):
    try:
        return min(max(int(page), 1), MAX_PAGE)
    except (TypeError, ValueError):
        return 1


def _proxy_type(name, viewers):
    """A proxy resource's name (e.g. the public pool) selects its concrete type."""
    for concrete, resources in viewers.items():
        for resource in resources:
            if resource.model._meta.proxy and resolve_type(name, [resource]):
                return searchable_resources()[concrete]
    return None


def _hits(rows, type_ids, viewers, user, query):
    links = _link_resources(rows, type_ids, viewers, user)
    hits = []
    for content_type_id, object_id, title, body, score in rows:
        resource = type_ids.get(content_type_id)
        if resource is None:
            continue
        link_resource = links.get((content_type_id, object_id), resource)
        try:
            url = link_resource.url("detail", pk=object_id)
        except NoReverseMatch:
            url = None
        hits.append(
            Hit(
                resource=resource, object_id=object_id, title=title, title_html=mark(title, query.highlight, pinyin=True),
                snippet=snippet(body, query.highlight), url=url, score=score,
            )
        )
    _find_in_attachments(
        # A title marked by its pinyin (zs for 中山公司) shows the words too.
        [hit for hit in hits if query.highlight and "<mark>" not in hit.title_html and "<mark>" not in hit.snippet],
        query.highlight,
    )
    return hits


def _find_in_attachments(hits, needles):
    """For hits whose title and fields do not show the words: the attachment they are in
    (newest first), with a snippet of its text. The texts (up to 1,000,000 characters each)
    are read a piece at a time, in SQL, until a piece shows the words."""
    if not hits:
        return
    wanted = {}
    for hit in hits:
        content_type = ContentType.objects.get_for_model(hit.resource.model._meta.concrete_model)
        wanted.setdefault(content_type.pk, {})[hit.object_id] = hit
    for content_type_id, by_id in wanted.items():
        rows = (
            DocumentText.objects.filter(content_type_id=content_type_id, object_id__in=list(by_id), status=DocumentText.Status.OK)
            .annotate(size=Length("text"))
            .order_by("object_id", "-attachment_id")
            .values_list("pk", "object_id", "name", "size")
        )
        for pk, object_id, name, size in rows:
            hit = by_id[object_id]
            if hit.attachment:
                continue
            piece = document_snippet((_text_reader(pk), size or 0), needles)
            if piece is not None:
                hit.attachment, hit.snippet = name, piece


def _text_reader(pk):
    """read(start, size): characters start … start + size of one DocumentText's text."""

    def read(start, size):
        rows = DocumentText.objects.filter(pk=pk).annotate(piece=Substr("text", start + 1, size)).values_list("piece", flat=True)
        return next(iter(rows), None) or ""

    return read


def document_snippet(text, needles, length=SNIPPET_LENGTH, chunk=20000):
    """A snippet of a (long) document's text around the first match of `needles`, or None.
    `text` is the text, or (read(start, size), length of the text) to read it a piece at a
    time: each piece is read and folded only if the earlier ones did not show the words, so a
    match near the start costs little and a document is never read whole at once."""
    if isinstance(text, str):
        whole = text
        read, total = (lambda start, size: whole[start : start + size]), len(whole)
    else:
        read, total = text
    needles = [needle for needle in needles if needle]
    overlap = max((len(needle) for needle in needles), default=1)
    for start in range(0, total, chunk):
        # From `length` before the piece to `length` after it, so the window around a match
        # near either edge is at hand; a match in the margin before would have been found in
        # the previous piece, so the first match here is the first of the text.
        offset = max(0, start - length)
        piece = read(offset, start - offset + chunk + overlap + length)
        folded = fold(piece)
        found = [position for position in (folded.find(needle) for needle in needles) if position != -1]
        if not found:
            continue
        position = min(found)
        if len(folded) != len(piece):  # folding changed the length: place it proportionally
            position = position * len(piece) // max(len(folded), 1)
        begin = max(0, position - length // 4)
        end = min(len(piece), begin + length)
        prefix = "…" if offset + begin > 0 else ""
        suffix = "…" if offset + end < total else ""
        return mark_safe(prefix + mark(piece[begin:end], needles) + suffix)
    return None


def _link_resources(rows, type_ids, viewers, user):
    """Which resource's page to link a hit to, for types seen through several resources: the
    first one (the concrete model's) that shows the record to the member."""
    links = {}
    for type_id, resource in type_ids.items():
        resources = viewers.get(resource.model._meta.concrete_model, [])
        ids = [object_id for content_type_id, object_id, *_rest in rows if content_type_id == type_id]
        if len(resources) < 2 or not ids:
            continue
        remaining = set(ids)
        for viewer in resources:
            shown = set(viewer.model._default_manager.restrict(user, "view").filter(pk__in=remaining).values_list("pk", flat=True))
            for object_id in shown:
                links[(type_id, object_id)] = viewer
            remaining -= shown
    return links


def mark(text, needles, *, pinyin=False):
    """`text` escaped, with the matches of `needles` in <mark> (with `pinyin`, also the
    Chinese characters a Latin needle spells in pinyin or pinyin initials)."""
    spans = highlight_spans(text, needles)
    if pinyin and not spans:
        spans = _merge(pinyin_spans(text, needles))
    parts, position = [], 0
    for start, end in spans:
        parts.append(escape(text[position:start]))
        parts.append(f"<mark>{escape(text[start:end])}</mark>")
        position = end
    parts.append(escape(text[position:]))
    return mark_safe("".join(parts))


def _merge(spans):
    merged = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def snippet(body, needles, length=SNIPPET_LENGTH):
    """A piece of `body` around its first match, escaped, matches in <mark>."""
    if not body:
        return mark_safe("")
    spans = highlight_spans(body, needles)
    start = max(0, spans[0][0] - length // 4) if spans else 0
    end = min(len(body), start + length)
    piece = body[start:end]
    html = mark(piece, needles)
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(body) else ""
    return mark_safe(prefix + html + suffix)
