"""Building and keeping the index rows.

What is indexed: every registered resource with a ``search`` dict, once per concrete model
(a proxy resource such as the public pool shares its concrete model's rows). For each record:

- ``title``: ``str(record)``, weight A;
- each field named in ``search`` (related paths such as ``customer__name`` too), weighted by
  its number — lower is more important: ≤ 100 → A, ≤ 200 → B, ≤ 300 → C, anything else → D;
- the title's pinyin initials and full pinyin (``text.pinyin_tokens``), weight D;
- the text of the record's attachments (``documents.py``), weight D.

The Latin words of titles and fields also go into the vocabulary of typo corrections
(``fuzzy.py``).

The rows follow the records through the domain events (``subscribers.py``) and are rebuilt by
``qinglan search rebuild``."""

import multiprocessing
import re
import time
from contextlib import contextmanager

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, connection, connections, transaction
from django.utils import timezone

from qinglan.core.registry import registry

from . import fuzzy
from .backends import type_token
from .documents import extract_missing, tokens_by_record
from .models import SearchEntry
from .text import index_text, load_text_tools, pinyin_tokens

WEIGHT_LIMITS = ((100, "a"), (200, "b"), (300, "c"))
BODY_LIMIT = 4000
BATCH_SIZE = 2000


def weight_of(number):
    for limit, bucket in WEIGHT_LIMITS:
        if number <= limit:
            return bucket
    return "d"


def searchable_resources():
    """{concrete model: resource} of every resource with search fields, the concrete model's
    own resource first (a proxy's resource is used only when the concrete model has none)."""
    found = {}
    for resource in sorted(registry, key=lambda r: (r.model._meta.proxy, r.label)):
        if resource.search:
            found.setdefault(resource.model._meta.concrete_model, resource)
    return found


def resource_for_label(label):
    """The indexed resource named ``app.model`` (or only ``model``), or None."""
    label = (label or "").lower()
    for model, resource in searchable_resources().items():
        if label in (resource.label, resource.model_name):
            return resource
    return None


def _related_paths(resource):
    return sorted({name.rsplit("__", 1)[0] for name in resource.search if "__" in name})


def _value(record, path):
    value = record
    for part in path.split("__"):
        value = getattr(value, part, None)
        if value is None:
            return ""
    if hasattr(value, "all") and callable(value.all):  # a many-to-many manager
        return " ".join(str(item) for item in value.all())
    return str(value)


def document(resource, record, attachment_tokens=""):
    """The SearchEntry fields of a record (unsaved values); `attachment_tokens` are the index
    tokens of its attachments' text (``documents.tokens_by_record``)."""
    title = str(record)[:300]
    buckets = {"a": [title], "b": [], "c": [], "d": []}
    body = []
    for name, number in sorted(resource.search.items(), key=lambda item: item[1]):
        value = _value(record, name).strip()
        if value:
            buckets[weight_of(number)].append(value)
            if value != title and value not in body:
                body.append(value)
    fields = {f"tokens_{bucket}": index_text(" ".join(values)) for bucket, values in buckets.items()}
    fields["tokens_d"] = " ".join(part for part in (type_token(resource.model), fields["tokens_d"], *pinyin_tokens(title), attachment_tokens) if part)
    if connection.vendor == "postgresql":
        fields["tokens_d"] = fit_tsvector(fields["tokens_d"], used=sum(_tsvector_bytes(fields[f"tokens_{b}"]) for b in "abc"))
    updated = getattr(record, "last_updated", None) or timezone.now()
    return {"title": title, "body": " · ".join(body)[:BODY_LIMIT], "updated": updated, **fields}


# PostgreSQL refuses a tsvector past 1 MB ("string is too long for tsvector"), and a large
# attachment's distinct words and bigrams reach that long before MAX_RECORD_TOKENS: the row
# (and a rebuild's whole batch) would fail. The D column is cut to what fits.
TSVECTOR_BUDGET = 960_000


def _tsvector_bytes(tokens):
    """An upper bound of the tsvector bytes of `tokens`: each token's bytes, its entry (4)
    and positions (2 each, 2 for their count, 2 of alignment), as if every token were new."""
    return len(tokens.encode()) + 10 * (tokens.count(" ") + 1) if tokens else 0


def fit_tsvector(tokens, *, used=0, budget=TSVECTOR_BUDGET):
    """`tokens` cut after the last token that keeps the tsvector of all the columns (`used`
    bytes already) under `budget` bytes; repeated tokens cost their position only (2 bytes,
    none past PostgreSQL's 256 positions per word)."""
    if used + _tsvector_bytes(tokens) <= budget:
        return tokens
    size, seen, end = used, {}, 0
    for match in re.finditer(r"\S+", tokens):
        token = match.group()
        count = seen.get(token, 0)
        cost = 2 if count else len(token.encode()) + 10
        if count >= 256:
            cost = 0
        if size + cost > budget:
            break
        size += cost
        seen[token] = count + 1
        end = match.end()
    return tokens[:end]


def index_record(model, pk):
    """(Re)index one record, or drop its row when it is gone or no longer indexed."""
    concrete = model._meta.concrete_model
    resource = searchable_resources().get(concrete)
    if resource is None:
        return
    content_type = ContentType.objects.get_for_model(concrete)
    record = _records(resource).filter(pk=pk).first()
    if record is None:
        SearchEntry.objects.filter(content_type=content_type, object_id=pk).delete()
        return
    values = document(resource, record, tokens_by_record(content_type, [pk]).get(pk, ""))
    try:
        with transaction.atomic():
            SearchEntry.objects.update_or_create(content_type=content_type, object_id=pk, defaults=values)
    except IntegrityError:  # created by a concurrent job in the meantime
        SearchEntry.objects.filter(content_type=content_type, object_id=pk).update(**values)
    fuzzy.remember(fuzzy.vocabulary_words(f"{values['title']} {values['body']}"))


def remove_record(model, pk):
    if model._meta.concrete_model not in searchable_resources():
        return
    content_type = ContentType.objects.get_for_model(model._meta.concrete_model)
    SearchEntry.objects.filter(content_type=content_type, object_id=pk).delete()


def dependents(model):
    """[(resource, lookup)] of indexed resources whose search fields read `model` through a
    reference, e.g. contacts (``customer__name``) for customers: they are reindexed when a
    record of `model` changes."""
    found = []
    for resource in searchable_resources().values():
        for path in _related_paths(resource):
            related = resource.model
            lookup = []
            for part in path.split("__"):
                field = related._meta.get_field(part)
                related = field.related_model
                lookup.append(part)
                if related is None:
                    break
                if related._meta.concrete_model is model._meta.concrete_model:
                    found.append((resource, "__".join(lookup)))
                    break
    return found


def reindex_dependents(model, pk, *, limit=5000):
    for resource, lookup in dependents(model):
        pks = list(resource.model._default_manager.filter(**{lookup: pk}).values_list("pk", flat=True)[:limit])
        for dependent_pk in pks:
            index_record(resource.model, dependent_pk)


def _records(resource):
    """The records with the related rows their search fields read, of which only those fields
    (a contact's customer is read for its name: its other columns cost a rebuild a fifth of
    its time in model instances and date conversions)."""
    model = resource.model._meta.concrete_model
    queryset = model._default_manager.all()
    related = [path for path in _related_paths(resource) if _is_forward_chain(resource.model, path)]
    if not related:
        return queryset
    own = [field.name for field in model._meta.concrete_fields]
    read = [name for name in resource.search if name.rsplit("__", 1)[0] in related]
    return queryset.select_related(*related).only(*own, *read)


def _is_forward_chain(model, path):
    for part in path.split("__"):
        field = model._meta.get_field(part)
        if not (field.many_to_one or field.one_to_one) or field.auto_created and not field.concrete:
            return False
        model = field.related_model
    return True


_COLUMNS = ("title", "body", "tokens_a", "tokens_b", "tokens_c", "tokens_d", "updated")


def _insert(content_type_id, rows):
    """INSERT the index rows [(object_id, document values)] in one statement per batch: the
    ORM's bulk_create spent a quarter of a rebuild building model instances and SQL."""
    for start in range(0, len(rows), 1000):  # 9,000 parameters a statement at most
        _insert_some(content_type_id, rows[start : start + 1000])


def _insert_some(content_type_id, rows):
    adapt = connection.ops.adapt_datetimefield_value
    columns = ", ".join(("content_type_id", "object_id", *_COLUMNS))
    marks = "(" + ", ".join(["%s"] * (2 + len(_COLUMNS))) + ")"
    params = []
    for object_id, values in rows:
        params.extend((content_type_id, object_id, *(values[name] for name in _COLUMNS[:-1]), adapt(values["updated"])))
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {SearchEntry._meta.db_table} ({columns}) VALUES {', '.join([marks] * len(rows))}", params)


def rebuild(resource=None, *, batch_size=BATCH_SIZE, report=None):
    """Rebuild the rows of one resource (or of all), a batch per transaction. Returns
    [(resource, records, seconds)]; `report(resource, done, seconds)` is called per batch.

    A type of more than PARALLEL_RECORDS records is split in two pk ranges, the upper one
    built by a forked second process (segmenting is CPU work: two cores, twice the speed).
    A rebuild of all types outside a transaction loads PostgreSQL without its GIN index and
    builds it once at the end; on SQLite every rebuild ends by merging the FTS5 segments into
    one ('optimize': the deleted rows' entries go, a 1 M-record index shrinks to less than
    half)."""
    resources = [resource] if resource is not None else list(searchable_resources().values())
    results = []
    with _bulk_load(full=resource is None):
        for item in resources:
            started = time.monotonic()
            concrete = item.model._meta.concrete_model
            content_type = ContentType.objects.get_for_model(concrete)
            extract_missing(content_type)
            SearchEntry.objects.filter(content_type=content_type).delete()
            queryset = _records(item).order_by("pk")
            total = queryset.count()
            split = queryset.values_list("pk", flat=True)[total // 2] if total > PARALLEL_RECORDS and _can_fork() else None

            def progress(done, item=item, started=started):
                if report:
                    report(item, done, time.monotonic() - started)

            if split is None:
                done = _rebuild_range(item, content_type, queryset, batch_size, progress)
            else:
                done = _rebuild_in_two(item, content_type, queryset, split, batch_size, progress)
            results.append((item, done, time.monotonic() - started))
    return results


PARALLEL_RECORDS = 50_000


def _can_fork():
    """A second process needs a database it can open too (not SQLite's in-memory one) and
    no transaction of this process to see (it closes this process's connection first)."""
    if "fork" not in multiprocessing.get_all_start_methods() or connection.in_atomic_block:
        return False
    return connection.vendor != "sqlite" or not connection.is_in_memory_db()


def _rebuild_range(item, content_type, queryset, batch_size, progress):
    """Index the records of `queryset` (ordered by pk) in batches; returns how many."""
    done, last_pk = 0, None
    while True:
        batch = queryset.filter(pk__gt=last_pk) if last_pk is not None else queryset
        records = list(batch[:batch_size])
        if not records:
            return done
        attachments = tokens_by_record(content_type, [record.pk for record in records])
        rows = [(record.pk, document(item, record, attachments.get(record.pk, ""))) for record in records]
        with transaction.atomic():
            SearchEntry.objects.filter(content_type=content_type, object_id__in=[r.pk for r in records])._raw_delete(SearchEntry.objects.db)
            _insert(content_type.pk, rows)
            fuzzy.remember(set().union(*(fuzzy.vocabulary_words(f"{values['title']} {values['body']}") for _pk, values in rows)))
        done += len(records)
        last_pk = records[-1].pk
        progress(done)


def _rebuild_in_two(item, content_type, queryset, split, batch_size, progress):
    """The records below `split` here, the others in a forked process (its own connection);
    returns how many both indexed. Raises when the second process failed."""
    load_text_tools()  # once, before the fork: both processes share jieba's dictionary
    connections.close_all()  # the child must not share this process's connection
    shared = multiprocessing.get_context("fork").Value("q", 0)
    child = multiprocessing.get_context("fork").Process(target=_child_range, args=(item, content_type, queryset.filter(pk__gte=split), batch_size, shared))
    child.start()
    try:
        done = _rebuild_range(item, content_type, queryset.filter(pk__lt=split), batch_size, lambda done: progress(done + shared.value))
    finally:
        child.join()
    if child.exitcode != 0:
        raise RuntimeError(f"search: the second indexing process of {item.label} failed (exit code {child.exitcode})")
    return done + shared.value


def _child_range(item, content_type, queryset, batch_size, shared):
    def progress(done):
        shared.value = done

    try:
        _rebuild_range(item, content_type, queryset, batch_size, progress)
    finally:
        connections.close_all()


@contextmanager
def _bulk_load(*, full):
    # Not inside a caller's transaction: PostgreSQL refuses CREATE INDEX on a table with
    # pending (deferred) trigger events, and the index's lock would be held to its end.
    if connection.vendor == "postgresql" and full and not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("DROP INDEX IF EXISTS search_entry_vector")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET maintenance_work_mem = '256MB'")
                cursor.execute("CREATE INDEX IF NOT EXISTS search_entry_vector ON search_searchentry USING gin (vector)")
                cursor.execute("RESET maintenance_work_mem")
        return
    yield
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO search_fts(search_fts) VALUES ('optimize')")
