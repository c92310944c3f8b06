"""Full-text search at scale: a generator for 1,000,000 mixed Chinese/English records
(customers, their contacts and follow-ups) and 100,000 attached documents, the index built by
the real indexing path, then 1,000 sampled queries through the search API as a member with a
department scope and as an administrator, against hand-written FTS SQL of the same search.

    .venv/bin/python bench/search.py [--records 1000000] [--documents 100000] [--queries 1000]
    .venv/bin/python bench/search.py --database-url postgres://qinglan:qinglan@127.0.0.1:5432/qinglan_bench_search

Works on its own database: SQLite in var/bench-search.sqlite3, or the PostgreSQL database the
URL names (created when missing), with var/bench-search/ as the var folder (cache, media with
the generated documents, secret key). Later runs reuse what is there and only top up.

1. Records: bench/customers.py's generator (raw multi-row INSERTs / COPY), a customer with
   about 2 contacts and 1 follow-up, so --records / 4 customers.
2. Documents: files written to the media folder (plain text, HTML, PDF and DOCX contracts,
   quotations and minutes, Chinese and English, each with its own number), attachments of
   random customers, bulk-inserted; their text extracted by the real job
   (``search.documents.extract_missing``): documents/s.
3. Index: ``search.index.rebuild`` (what ``qinglan search rebuild`` runs): records/s; the size of
   the index tables on disk.
4. Queries: GET /api/search/?q=… in-process (Django's test Client: server time, no network),
   p50/p95 per kind and overall; the SQL the request issued (execute time, and re-run) against
   the hand-written raw FTS SQL of the same search (the member's scope written by hand, bounded
   counts per type, the best 5 of each type ranked by bm25 / ts_rank_cd) and the ratio.
5. Search as you type: GET /search/?q=<first letters> as htmx asks for it (the top bar's
   suggestions), p50/p95.
"""

import argparse
import datetime
import os
import random
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import quote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

SEED = 20261127
RECORDS_PER_CUSTOMER = 4  # the customer, ~2 contacts, ~1 follow-up
DOC_DIR = "bench-docs"
COUNT_LIMIT = 1000
PER_TYPE = 5

# ---- configuration -----------------------------------------------------------------------


def configure(database, url):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qinglan.settings")
    os.environ["QINGLAN_VAR_DIR"] = str(ROOT / "var" / "bench-search")
    os.environ.setdefault("QINGLAN_DEBUG", "0")
    os.environ.setdefault("QINGLAN_LOG_LEVEL", "ERROR")
    if url:
        os.environ["QINGLAN_DATABASE_URL"] = url
        _create_postgres_database(url)
    else:
        os.environ.pop("QINGLAN_DATABASE_URL", None)
    from django.conf import settings

    if not url:
        settings.DATABASES["default"]["NAME"] = str(Path(database).resolve())
    import django

    django.setup()


def _create_postgres_database(url):
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            connection.execute(f'CREATE DATABASE "{name}"')


def log(*args, flush=True):
    print(*args, flush=flush)


# ---- documents -----------------------------------------------------------------------------

CLAUSES_TRAD = [
    "甲方委託乙方提供設備維護服務，合同期間自簽訂之日起算一年。",
    "乙方應於每季進行預防保養一次，並提交保養紀錄報表。",
    "主軸更換保固三年，保固期間內非人為損壞之零件免費更換。",
    "本合同之付款條件為月結六十天，逾期未付款者按日計收違約金。",
    "雙方同意以台灣台北地方法院為第一審管轄法院。",
    "報價單有效期限為三十日，逾期需重新報價。",
    "交貨地點為甲方指定之倉庫，運費由乙方負擔。",
    "客戶應於驗收合格後十日內簽署驗收單。",
    "冷鏈運輸全程溫度須維持在攝氏零下十八度以下。",
    "本會議紀錄經與會人員確認後生效，並送交客戶存查。",
    "採購數量如有變更，應於出貨前七日以書面通知。",
    "軟體授權以年度訂閱方式計費，含版本更新與技術支援。",
]
CLAUSES_SIMP = [
    "甲方委托乙方提供系统集成服务，合同金额以双方确认的报价单为准。",
    "乙方负责安装调试及人员培训，培训时间不少于三天。",
    "质量保证期为验收合格之日起十二个月。",
    "客户如需延长保修期，可另行签订服务合同。",
    "发票应于货物交付后十五个工作日内开具。",
    "本协议一式两份，双方各执一份，具有同等法律效力。",
]
CLAUSES_EN = [
    "The supplier shall deliver the goods within thirty days of the purchase order.",
    "Annual maintenance agreement: quarterly preventive service and spare parts.",
    "Payment terms are net sixty days from the date of invoice.",
    "This quotation is valid for thirty days and subject to the terms below.",
    "Minutes of the project kick-off meeting with the customer's engineering team.",
    "Warranty covers manufacturing defects for a period of three years.",
]
TITLES_TRAD = ["年度設備維護合約", "採購合同", "報價單", "會議紀錄", "服務合同", "冷鏈運輸需求說明", "軟體授權合約", "驗收報告"]
TITLES_EN = ["Maintenance Agreement", "Purchase Contract", "Quotation", "Meeting Minutes", "Service Level Agreement"]
PDF_LINES = ["合同維護保固報價", "主軸更換保固三年", "年度設備維護合約", "Annual maintenance agreement"]


def document(rng, number):
    """(file name, bytes) of one generated document, numbered so that a phrase finds it."""
    code = f"D{number:07d}"
    roll = rng.random()
    if roll < 0.1:
        from qinglan.search import samples

        # The hand-written PDF holds at most 99 distinct characters: a fixed set of lines
        # and the number.
        lines = rng.sample(PDF_LINES, 2) + [f"No {code}"]
        return f"{code}-{rng.choice(TITLES_TRAD)}.pdf", samples.pdf(*lines)
    if roll < 0.15:
        from qinglan.search import samples

        paragraphs = [rng.choice(TITLES_TRAD), *rng.sample(CLAUSES_TRAD, 3), f"文件編號 {code}"]
        return f"{code}-{paragraphs[0]}.docx", samples.docx(*paragraphs)
    chinese = rng.random() < 0.75
    clauses = CLAUSES_TRAD if rng.random() < 0.7 else CLAUSES_SIMP
    title = rng.choice(TITLES_TRAD) if chinese else rng.choice(TITLES_EN)
    body = [title, f"文件編號 {code}" if chinese else f"Document number {code}"]
    body += rng.sample(clauses, rng.randint(3, 6)) if chinese else rng.sample(CLAUSES_EN, rng.randint(2, 5))
    body += rng.sample(CLAUSES_EN, 1) if chinese and rng.random() < 0.3 else []
    body += [f"客戶聯絡人：{rng.choice('王李張劉陳林黃吳')}{rng.choice('志明美玲雅婷家豪')}"] if chinese else []
    if roll < 0.3:
        html = "<html><head><title>" + title + "</title><style>p{margin:0}</style></head><body>"
        html += "".join(f"<p>{line}</p>" for line in body) + "</body></html>"
        return f"{code}-{title}.html", html.encode()
    return f"{code}-{title}.txt", "\n".join(body).encode("utf-8")


def generate_documents(target, log):
    """Files in the media folder and an attachment each, on random generated customers."""
    from django.contrib.contenttypes.models import ContentType
    from django.core.files.storage import default_storage
    from django.db import connection, transaction

    from customers import CODE_PREFIX, Writer
    from qinglan.customers.models import Customer
    from qinglan.extras.models import Attachment
    from qinglan.org.models import User

    customer_type = ContentType.objects.get_for_model(Customer)
    existing = Attachment.objects.filter(content_type=customer_type, file__startswith=f"{DOC_DIR}/").count()
    if existing >= target:
        log(f"reusing {existing:,} generated documents")
        return 0
    ids = list(Customer.objects.filter(code__startswith=CODE_PREFIX).values_list("pk", flat=True))
    uploader = User.objects.filter(is_superuser=True).order_by("pk").first() or _admin()
    folder = Path(default_storage.path(DOC_DIR))
    folder.mkdir(parents=True, exist_ok=True)
    columns = ("id", "content_type_id", "object_id", "file", "name", "size", "mime_type", "uploaded_by_id", "created")
    out = Writer(Attachment, columns)
    next_id = (Attachment.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    now = datetime.datetime.now(datetime.UTC)
    created = now.isoformat(sep=" ") if connection.vendor == "postgresql" else now.strftime("%Y-%m-%d %H:%M:%S")
    started = time.perf_counter()
    log(f"writing {target - existing:,} documents ({existing:,} already there)…")
    for batch_start in range(existing, target, 5000):
        rng = random.Random(SEED + 7 * batch_start)
        rows = []
        for number in range(batch_start, min(target, batch_start + 5000)):
            name, content = document(rng, number + 1)
            path = f"{DOC_DIR}/{number // 1000:04d}/{name}"
            (folder / f"{number // 1000:04d}").mkdir(exist_ok=True)
            (folder / f"{number // 1000:04d}" / name).write_bytes(content)
            mime = {"pdf": "application/pdf", "html": "text/html", "txt": "text/plain"}.get(name.rsplit(".", 1)[-1], "application/octet-stream")
            rows.append((next_id, customer_type.pk, rng.choice(ids), path, name, len(content), mime, uploader.pk, created))
            next_id += 1
        with transaction.atomic():
            out.write(rows)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT setval(pg_get_serial_sequence('extras_attachment', 'id'), (SELECT MAX(id) FROM extras_attachment))")
    log(f"  {target - existing:,} documents written in {time.perf_counter() - started:.0f} s")
    return target - existing


def _admin():
    from qinglan.org.models import User

    return User.objects.create_superuser("bench-search-admin", "admin@search.bench.example", "bench-password-2026")


# ---- index -----------------------------------------------------------------------------


INDEXED = ("customers.customer", "customers.contact", "customers.activity")


def build_index(log, force=False, labels=INDEXED):
    """Extract the documents' text (the job's code), then rebuild the index (the command's)."""
    from django.contrib.contenttypes.models import ContentType

    from qinglan.customers.models import Activity, Contact, Customer
    from qinglan.search import documents, index
    from qinglan.search.models import DocumentText, SearchEntry

    customer_type = ContentType.objects.get_for_model(Customer)
    started = time.perf_counter()
    extracted = documents.extract_missing(customer_type)
    if extracted:
        seconds = time.perf_counter() - started
        log(f"extracted {extracted:,} documents in {seconds:.0f} s: {extracted / seconds:,.0f} documents/s "
            f"({DocumentText.objects.filter(status='ok').count():,} with text)")
    models = {"customers.customer": Customer, "customers.contact": Contact, "customers.activity": Activity}
    records = sum(models[label].objects.count() for label in labels)
    indexed = SearchEntry.objects.filter(content_type__app_label="customers", content_type__model__in=[label.split(".")[1] for label in labels]).count()
    if indexed >= records and not force and not extracted:
        log(f"reusing the index ({indexed:,} rows for {records:,} records of {', '.join(labels)})")
        return
    log(f"indexing {records:,} records…")
    marks = {}

    def report(resource, done, seconds):
        if done // 50000 != marks.get(resource.label, -1):
            marks[resource.label] = done // 50000
            log(f"  {resource.label}: {done:,} in {seconds:.0f} s ({done / max(seconds, 0.001):,.0f}/s)")

    started = time.perf_counter()
    total = 0
    # All three types: what `qinglan search rebuild` runs (every type, PostgreSQL's GIN index
    # built once at the end, SQLite's segments merged once); fewer: one rebuild per type.
    full = set(labels) == set(INDEXED)
    for resource in [None] if full else [index.resource_for_label(label) for label in labels]:
        for item, count, seconds in index.rebuild(resource, report=report):
            total += count
            log(f"{item.label}: {count:,} records in {seconds:.1f} s ({count / max(seconds, 0.001):,.0f} records/s)")
    seconds = time.perf_counter() - started
    log(f"indexed {total:,} records in {seconds:.0f} s (the final merge / GIN index included): {total / seconds:,.0f} records/s")
    if not full:
        for resource in index.searchable_resources().values():
            if resource.label not in labels:
                index.rebuild(resource)


def index_size():
    """{name: bytes} of the index's tables and indexes."""
    from django.db import connection

    sizes = {}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for name in ("search_searchentry", "search_documenttext", "search_searchterm", "search_searchtermkey"):
                cursor.execute("SELECT pg_total_relation_size(%s)", [name])
                sizes[name] = cursor.fetchone()[0]
            cursor.execute("SELECT pg_relation_size('search_entry_vector')")
            sizes["of which the GIN index search_entry_vector"] = cursor.fetchone()[0]
        else:
            cursor.execute("SELECT name, SUM(pgsize) FROM dbstat WHERE name LIKE 'search%' OR name LIKE 'sqlite_autoindex_search%' GROUP BY name")
            for name, size in cursor.fetchall():
                key = "search_fts (FTS5 shadow tables)" if name.startswith("search_fts") else "search_searchentry" if "searchentry" in name else name
                sizes[key] = sizes.get(key, 0) + size
    return sizes


def format_size(size):
    return f"{size / 1024 / 1024:,.1f} MiB"


# ---- queries -----------------------------------------------------------------------------

WORDS_2 = ["合同", "客戶", "客户", "科技", "電子", "報價", "維護", "物流", "採購", "经理", "公司", "保固", "驗收", "光電", "付款"]
BRANDS_EN = ["Aurora", "Pacific", "Evergreen", "Summit", "Harbor", "Meridian", "Keystone", "Phoenix", "Formosa", "Zenith", "Kestrel", "Nimbus"]
INDUSTRY_EN = ["Technology", "Trading", "Electronics", "Logistics", "Optics", "Systems", "Machinery"]
KINDS = ("2-character word", "name", "phrase", "mixed", "pinyin", "typo")


def typo(word, rng):
    """One edit: a swapped pair, a dropped or a doubled letter."""
    position = rng.randint(1, len(word) - 2)
    edit = rng.choice(("swap", "drop", "double"))
    if edit == "swap":
        return word[:position] + word[position + 1] + word[position] + word[position + 2 :]
    if edit == "drop":
        return word[:position] + word[position + 1 :]
    return word[:position] + word[position] + word[position:]


def sample_queries(count, rng):
    """[(kind, text)]: the kinds in turn, from the generated records and documents."""
    from qinglan.customers.models import Contact, Customer
    from qinglan.search.models import DocumentText
    from qinglan.search.text import pinyin_tokens

    top = Customer.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    contact_top = Contact.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    def random_row(queryset, highest, fields):
        for _attempt in range(20):
            row = queryset.filter(pk__gte=rng.randint(1, max(highest, 1))).order_by("pk").values_list(*fields).first()
            if row:
                return row
        return queryset.order_by("pk").values_list(*fields).first()

    documents = list(DocumentText.objects.filter(status="ok").order_by("pk").values_list("text", flat=True)[:2000])
    queries = []
    for number in range(count):
        kind = KINDS[number % len(KINDS)]
        if kind == "2-character word":
            text = rng.choice(WORDS_2)
        elif kind == "name":
            if rng.random() < 0.5:
                text = random_row(Customer.objects, top, ("name",))[0]
            else:
                text = random_row(Contact.objects, contact_top, ("name",))[0]
        elif kind == "phrase":
            lines = [line for line in (rng.choice(documents).splitlines() if documents else []) if len(line) >= 8]
            line = rng.choice(lines) if lines else rng.choice(CLAUSES_TRAD)
            start = rng.randint(0, max(0, len(line) - 8))
            text = '"' + line[start : start + rng.randint(4, 8)].strip().replace('"', "") + '"'
        elif kind == "mixed":
            text = f"{rng.choice(BRANDS_EN)} {rng.choice(WORDS_2)}" if rng.random() < 0.5 else f"{rng.choice(['台灣', '上海', '青藍', '華聯', '宏達'])} {rng.choice(INDUSTRY_EN)}"
        elif kind == "pinyin":
            name = next((found for found in (random_row(Contact.objects, contact_top, ("name",))[0] for _ in range(20)) if not found[:1].isascii()), "王志明")
            tokens = pinyin_tokens(name)
            text = tokens[0] if tokens and rng.random() < 0.7 else (tokens[1] if len(tokens) > 1 else name)
        else:
            words = [rng.choice(BRANDS_EN), rng.choice(INDUSTRY_EN)]
            which = rng.randint(0, 1)
            words[which] = typo(words[which].lower(), rng)
            text = " ".join(words) if rng.random() < 0.5 else words[which]
        queries.append((kind, text))
    return queries


def prefix_queries(count, rng):
    """What people have typed when the top bar first suggests: 2–4 characters or letters."""
    from qinglan.customers.models import Contact, Customer

    names = list(Customer.objects.order_by("?").values_list("name", flat=True)[: count // 2])
    names += list(Contact.objects.order_by("?").values_list("name", flat=True)[: count - len(names)])
    found = []
    for name in names:
        if name[:1].isascii():
            found.append(name.split()[0][: rng.randint(3, 5)])
        else:
            found.append(name[: rng.randint(2, 3)])
    return found


# ---- the member, the administrator, the hand-written SQL -----------------------------------


def viewers():
    from customers import ensure_sales_members, ensure_viewer
    from members_list import ensure_departments
    from qinglan.org.models import User

    member = ensure_viewer(ensure_sales_members(ensure_departments()))
    admin = User.objects.filter(is_superuser=True).order_by("pk").first() or _admin()
    return member, admin


def raw_scopes(member):
    """{content_type_id: hand-written SQL condition on the index row e} of what the member may
    view: customers they own, of their department, shared with them or in the public pool;
    contacts and follow-ups of customers they own, of their department or shared with them."""
    from django.contrib.contenttypes.models import ContentType

    from qinglan.customers.models import Activity, Contact, Customer

    user, department = int(member.pk), int(member.department_id)
    customer_type = ContentType.objects.get_for_model(Customer).pk
    shared = f"SELECT object_id FROM core_recordshare WHERE content_type_id = {customer_type} AND user_id = {user}"
    through = f"c.owner_id = {user} OR c.department_id = {department} OR c.id IN ({shared})"
    return {
        customer_type: f"e.object_id IN (SELECT c.id FROM customers_customer c WHERE {through} OR c.in_pool)",
        ContentType.objects.get_for_model(Contact).pk: f"e.object_id IN (SELECT t.id FROM customers_contact t JOIN customers_customer c ON c.id = t.customer_id WHERE {through})",
        ContentType.objects.get_for_model(Activity).pk: f"e.object_id IN (SELECT t.id FROM customers_activity t JOIN customers_customer c ON c.id = t.customer_id WHERE {through})",
    }


WINDOW = 2000  # the service's default QINGLAN_SEARCH_WINDOW


def raw_statements(text, scopes, type_ids, postgres, tokens):
    """Hand-written SQL of the same search, bounded like it: for each type, the newest WINDOW
    matches of the words in that type; of those in the member's scope, the count up to
    COUNT_LIMIT + 1 and the best PER_TYPE ranked (bm25 / ts_rank_cd with the recency boost).
    `scopes` None: everything (the administrator)."""
    from qinglan.search.backends import fts5_match, tsquery
    from qinglan.search.text import parse_query

    query = parse_query(text)
    if query.empty:
        return []
    statements = []
    for type_id in type_ids:
        scope = f"({scopes[type_id]})" if scopes is not None else "1 = 1"
        if postgres:
            window = (f"(SELECT id FROM search_searchentry WHERE vector @@ to_tsquery('simple', %s) AND content_type_id = {int(type_id)} "
                      f"ORDER BY id DESC LIMIT {WINDOW}) w JOIN search_searchentry e ON e.id = w.id")
            statements.append((f"SELECT COUNT(*) FROM (SELECT 1 FROM {window} WHERE {scope} LIMIT {COUNT_LIMIT + 1}) c", [tsquery(query)]))
            rank = "ts_rank_cd('{0.1, 0.2, 0.4, 1.0}', e.vector, q) * (1.0 + 0.2 / (1.0 + greatest(extract(epoch from (now() - e.updated)), 0) / 7776000.0))"
            statements.append((f"SELECT e.content_type_id, e.object_id, e.title, e.body FROM {window}, to_tsquery('simple', %s) q "
                               f"WHERE {scope} ORDER BY {rank} DESC, e.updated DESC LIMIT {PER_TYPE}", [tsquery(query), tsquery(query)]))
        else:
            match = f'({fts5_match(query)}) AND "{tokens[type_id]}"'
            window = f"(SELECT rowid AS id FROM search_fts WHERE search_fts MATCH %s ORDER BY rowid DESC LIMIT {WINDOW}) w JOIN search_searchentry e ON e.id = w.id"
            statements.append((f"SELECT COUNT(*) FROM (SELECT 1 FROM {window} WHERE {scope} LIMIT {COUNT_LIMIT + 1}) c", [match]))
            recency = "(1.0 + 0.2 / (1.0 + max(julianday('now') - julianday(e.updated), 0) / 90.0))"
            ranked = (f"(SELECT rowid AS id, bm25(search_fts, 10.0, 4.0, 2.0, 1.0) AS bm FROM search_fts WHERE search_fts MATCH %s "
                      f"ORDER BY rowid DESC LIMIT {WINDOW}) w JOIN search_searchentry e ON e.id = w.id")
            statements.append((f"SELECT e.content_type_id, e.object_id, e.title, e.body FROM {ranked} WHERE {scope} "
                               f"ORDER BY w.bm * {recency}, e.updated DESC LIMIT {PER_TYPE}", [match]))
    return statements


def run_statements(statements):
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)
            cursor.fetchall()
    return (time.perf_counter() - started) * 1000


class ExecuteTimer:
    def __init__(self):
        self.statements, self.seconds = [], 0.0

    def __call__(self, execute, sql, params, many, context):
        if not many:
            self.statements.append((sql, params))
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] if ordered else 0.0


def measure_queries(client, queries, scopes, type_ids_of, postgres, log, label, tokens):
    """Per query: the request's time, its SQL (execute time, and re-run), the raw SQL's."""
    from django.db import connection

    by_kind, sql_ms, raw_ms, slowest = defaultdict(list), [], [], []
    ratios = []
    for number, (kind, text) in enumerate(queries, start=1):
        if number % 100 == 0:
            log(f"  … {number} queries")
        url = f"/api/search/?q={quote(text)}"
        started = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
        data = response.json()
        by_kind[kind].append(elapsed)
        slowest.append((elapsed, kind, text, data["total"]))
        timer = ExecuteTimer()
        with connection.execute_wrapper(timer):
            client.get(url)
        selects = [(sql, params) for sql, params in timer.statements if sql.lstrip().upper().startswith(("SELECT", "WITH"))]
        searched = [s for s in selects if "search_fts" in s[0] or "search_searchentry" in s[0]]
        service = min(run_statements(searched) for _ in range(2))
        type_ids = type_ids_of(data)
        raw = raw_statements(data["q"], scopes, type_ids, postgres, tokens)
        if raw:
            raw_time = min(run_statements(raw) for _ in range(2))
            sql_ms.append(service)
            raw_ms.append(raw_time)
            ratios.append(service / max(raw_time, 0.01))
    every = [value for values in by_kind.values() for value in values]
    log(f"\n{label}: {len(every)} queries through GET /api/search/")
    log(f"  {'kind':<18} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for kind in KINDS:
        values = by_kind.get(kind, [])
        if values:
            log(f"  {kind:<18} {len(values):>5} {statistics.median(values):>8.1f} {percentile(values, 0.95):>8.1f} {max(values):>8.1f}")
    log(f"  {'all':<18} {len(every):>5} {statistics.median(every):>8.1f} {percentile(every, 0.95):>8.1f} {max(every):>8.1f}")
    if raw_ms:
        log(f"  search SQL of the service (re-run): total {sum(sql_ms):,.0f} ms, p50 {statistics.median(sql_ms):.2f} / p95 {percentile(sql_ms, 0.95):.2f} ms a query")
        log(f"  hand-written raw FTS SQL:           total {sum(raw_ms):,.0f} ms, p50 {statistics.median(raw_ms):.2f} / p95 {percentile(raw_ms, 0.95):.2f} ms a query")
        log(f"  service SQL / raw SQL: {sum(sql_ms) / max(sum(raw_ms), 0.01):.2f}x over all queries; per query p50 {statistics.median(ratios):.2f}x, p95 {percentile(ratios, 0.95):.2f}x")
    log("  slowest: " + "; ".join(f"{ms:.0f} ms {kind} {text!r} ({total:,})" for ms, kind, text, total in sorted(slowest, reverse=True)[:5]))
    return {"p50": statistics.median(every), "p95": percentile(every, 0.95)}


def measure_suggestions(client, prefixes, log, label):
    times = []
    for prefix in prefixes:
        url = f"/search/?q={quote(prefix)}"
        started = time.perf_counter()
        response = client.get(url, headers={"HX-Request": "true"})
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    log(f"  search as you type ({label}): {len(times)} prefixes, time to first suggestions p50 {statistics.median(times):.1f} / "
        f"p95 {percentile(times, 0.95):.1f} ms (max {max(times):.0f} ms)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000, help="customers + contacts + follow-ups (default 1000000)")
    parser.add_argument("--documents", type=int, default=100_000, help="attached documents (default 100000)")
    parser.add_argument("--queries", type=int, default=1000, help="sampled queries per viewer (default 1000)")
    parser.add_argument("--prefixes", type=int, default=200, help="search-as-you-type prefixes per viewer (default 200)")
    parser.add_argument("--database", default=str(ROOT / "var" / "bench-search.sqlite3"), help="SQLite file (default var/bench-search.sqlite3)")
    parser.add_argument("--database-url", default="", help="a PostgreSQL URL instead (its database is created when missing)")
    parser.add_argument("--generate-only", action="store_true", help="generate and index, measure nothing")
    parser.add_argument("--reindex", action="store_true", help="rebuild the index even when it looks complete")
    parser.add_argument("--analyze", action="store_true", help="run ANALYZE even when nothing was generated")
    parser.add_argument("--types", default=",".join(INDEXED), help="the generated types to index (default all three)")
    parser.add_argument("--viewers", default="member,admin", help="who searches: member, admin or both (default member,admin)")
    args = parser.parse_args()
    configure(args.database, args.database_url)

    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from customers import analyze, generate

    log(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    call_command("migrate", verbosity=0)
    member, admin = viewers()
    generated = generate(args.records // RECORDS_PER_CUSTOMER, contacts_per=2, activities_per=1, batch=10_000, log=log)
    written = generate_documents(args.documents, log)
    build_index(log, force=args.reindex, labels=tuple(label for label in args.types.split(",") if label))
    if generated or written or args.analyze:
        analyze(log)
    sizes = index_size()
    log("index size: " + ", ".join(f"{name} {format_size(size)}" for name, size in sizes.items()))
    if args.generate_only:
        return
    postgres = connection.vendor == "postgresql"
    rng = random.Random(SEED)
    queries = sample_queries(args.queries, rng)
    prefixes = prefix_queries(args.prefixes, rng)
    scopes = raw_scopes(member)
    from django.contrib.contenttypes.models import ContentType

    label_ids = {f"{ct.app_label}.{ct.model}": ct.pk for ct in ContentType.objects.all()}
    from qinglan.search.backends import type_token

    tokens = {ct.pk: type_token(ct.model_class()) for ct in ContentType.objects.all() if ct.model_class() is not None}

    def type_ids_of(data):
        return [label_ids[facet["type"]] for facet in data["facets"] if facet["type"] in label_ids]

    log(f"load average {' '.join(f'{value:.1f}' for value in os.getloadavg())} before the queries")
    chosen = [item.strip() for item in args.viewers.split(",")]
    for user, label, user_scopes in ((member, f"member {member.username} (customers of their department)", scopes), (admin, "administrator", None)):
        if ("member" if user_scopes is not None else "admin") not in chosen:
            continue
        client = Client()
        client.force_login(user)
        for kind, text in queries[:10]:  # warm-up: jieba, OpenCC, caches
            client.get(f"/api/search/?q={quote(text)}")
        member_types = (lambda data: [t for t in type_ids_of(data) if t in scopes]) if user_scopes is not None else type_ids_of
        measure_queries(client, queries, user_scopes, member_types, postgres, log, label, tokens)
        measure_suggestions(client, prefixes, log, label)
        log(f"  load average {' '.join(f'{value:.1f}' for value in os.getloadavg())} after")


if __name__ == "__main__":
    main()
