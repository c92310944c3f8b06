"""Customer import: rows/s of the real CSV import path (check and commit), queries per row,
where the time goes, and the all-or-nothing guarantees (invalid rows, kill -9).

    .venv/bin/python bench/customer_import.py [--rows 100000] [--existing 2000] [--dirty-rows 2000] [--repeat 3]

Works on its own, fresh SQLite database var/bench-customer-import.sqlite3 (deleted and migrated
on every run; var/bench/ is the var folder for cache, media and the secret key). It

1. seeds --existing customers (bulk rows with their name/phone keys, as bench/customers.py);
2. writes a clean CSV of --rows customers (Traditional/Simplified Chinese and English company
   names, Taiwanese and mainland phones, tax IDs, e-mail, status, level by name), unique among
   themselves and against the seeded customers by the duplicate rules, so a commit can succeed;
3. writes a dirty variant (--dirty-rows): repeats of earlier rows of the file (same tax ID, same
   phone), copies of seeded customers' tax IDs / phones / names, and a few invalid rows (bad
   status, bad e-mail, unknown level, no name);
4. times ``imports.process(job, commit=False)`` (the check, --repeat times: p50 and p95) and
   ``commit=True`` on the clean file: rows/s; counts the SQL per row on a 1,000-row sample
   (CaptureQueriesContext), times each phase of a check of the same sample (µs per row) and
   prints cProfile's top 15 (cumulative and own time) on a --profile-row sample;
5. verifies that committing the dirty file writes nothing, and that a commit import killed by
   SIGKILL midway (a child process on a copy of the database) leaves all rows or none;
6. times the hand-written SQL of the commit's writes: the same customer and change-log rows
   INSERTed again by sqlite3's executemany in one transaction (rolled back) — the floor the
   import is compared with.
"""

import argparse
import cProfile
import csv
import gc
import io
import pstats
import random
import re
import os
import shutil
import signal
import statistics
import sqlite3
import subprocess
import sys
import time
from difflib import SequenceMatcher
from pathlib import Path

from members_list import configure

ROOT = Path(__file__).resolve().parent.parent
SEED = 20261127
HEADERS = ["kind", "name", "name_latin", "tax_id", "phone", "mobile", "email", "status", "level", "address"]

HAN_POOL = list(
    "青藍華聯宏達鴻海積永豐長榮統遠東國泰富邦元中興新光同聲寶廣英業仁緯創日月南亞億寶成正巨美利力晶旺友群瑞昱發智義隆凌陽"
    "安邦信和豐盛恆泰金鼎銘德嘉祥瑞豪欣悅慶福祿壽康寧順昌隆晟昇輝煌嵐峰岳川河湖海洋星辰雲霖雷電風霞晴朗卓越精誠"
    "博雅睿哲凱旋翔飛騰躍鵬鳳麟龍虎獅鶴松柏竹梅蘭菊桂楓榕樺杉楠樟璟琪瑾瑜璞珍珠玉晶鑫鈺銓鋒鉅鈞錦綸織紡棉絲麗"
)
INDUSTRY_ZH = ["科技", "電子", "貿易", "實業", "精密", "生技", "光電", "建設", "食品", "物流", "資訊", "機械", "化工", "紡織", "醫療", "能源",
               "电子", "贸易", "信息", "机械", "纺织", "医疗", "光电", "实业"]
SUFFIX_ZH = ["股份有限公司", "有限公司", "有限公司", "企業社", "有限责任公司", "(股)公司", "公司"]
SYLLABLES = ["ka", "no", "ri", "ta", "ve", "lo", "mi", "sa", "zen", "tor", "quin", "bel", "dra", "fen", "gal", "hor", "jun", "kel",
             "lum", "mar", "nov", "ori", "pax", "rho", "sil", "tek", "ula", "vor", "wen", "xel", "yar", "zor", "cor", "dex", "eon",
             "fal", "gri", "hal", "ion", "jet", "kor", "lin", "mon", "nex", "olo", "pri"]
INDUSTRY_EN = ["Technology", "Trading", "Electronics", "Logistics", "Industrial", "Foods", "Biotech", "Optics", "Materials", "Systems"]
SUFFIX_EN = ["Co., Ltd.", "Co., Ltd.", "Inc.", "Ltd.", "Corp.", "Limited", "GmbH", "Pte. Ltd."]
STATUSES = ["prospect", "active", "active", "dormant", "lost", "潛在客戶", "active"]  # a value or its label
LEVEL_NAMES = ["VIP", "重點客戶", "一般客戶", "潛在客戶", ""]
ADDRESSES = ["台北市信義區松仁路 100 號", "新竹科學園區力行路 8 號", "上海市浦东新区张江路 88 号", "深圳市南山区科技园",
             "12 Harbour Road, Wan Chai, Hong Kong", "1 Raffles Place, Singapore", ""]


# ---- generated rows ----------------------------------------------------------------------


class NameBook:
    """Names that do not look alike under the duplicate rules (equal key, one key the start of
    the other, near-equal key with the same first characters), so a clean file is clean."""

    def __init__(self):
        from qinglan.customers.normalize import _HAN, name_key

        self.name_key, self.han = name_key, _HAN
        self.heads = {}

    def head(self, key):
        return key[:3] if self.han.search(key[:3]) else key[:5]

    def add(self, name):
        key = self.name_key(name)
        if len(key) < 4:
            return False
        bucket = self.heads.setdefault(self.head(key), [])
        for other in bucket:
            if other.startswith(key) or key.startswith(other) or (
                abs(len(other) - len(key)) <= 1 and SequenceMatcher(None, key, other).ratio() >= 0.7
            ):
                return False
        bucket.append(key)
        return True


def company(rng):
    """(name, latin name)"""
    if rng.random() < 0.7:
        return "".join(rng.sample(HAN_POOL, rng.choice((2, 2, 3)))) + rng.choice(INDUSTRY_ZH) + rng.choice(SUFFIX_ZH), ""
    brand = "".join(rng.sample(SYLLABLES, rng.choice((2, 3, 3)))).title()
    name = " ".join((brand, rng.choice(INDUSTRY_EN), rng.choice(SUFFIX_EN)))
    return name, name


class Unique:
    def __init__(self, rng):
        self.rng, self.seen = rng, set()

    def take(self, make):
        while True:
            value = make(self.rng)
            if value not in self.seen:
                self.seen.add(value)
                return value


def tw_phone(rng):
    area = rng.choice(("2", "3", "4", "6", "7"))
    number = f"{rng.randint(2000, 8999)}{rng.randint(0, 9999):04d}"
    return rng.choice((f"0{area}-{number[:4]}-{number[4:]}", f"(0{area}) {number[:4]} {number[4:]}", f"+886 {area} {number[:4]} {number[4:]}"))


def cn_phone(rng):
    return f"0{rng.choice(('21', '10', '755', '20', '512'))}-{rng.randint(5000, 8999)}{rng.randint(0, 9999):04d}"


def any_mobile(rng):
    if rng.random() < 0.55:
        return f"09{rng.randint(10, 99)}-{rng.randint(0, 999):03d}-{rng.randint(0, 999):03d}"
    return f"1{rng.choice('3589')}{rng.randint(0, 9)}{rng.randint(0, 9999):04d}{rng.randint(0, 9999):04d}"


def make_rows(count, rng, names, phones, taxes, start=0):
    """`count` customers as CSV rows (lists in HEADERS order), unique by the duplicate rules."""
    from qinglan.customers.normalize import phone_key

    key_of = lambda make: (lambda r: phone_key(make(r)))  # noqa: E731  (uniqueness on the folded key)
    rows = []
    for index in range(start, start + count):
        while True:
            name, latin = company(rng)
            if names.add(name):
                break
        chinese = not latin
        tax = taxes.take(lambda r: f"{r.randint(10000000, 99999999)}" if chinese and r.random() < 0.6 else
                         f"91{r.randint(1000, 9999)}{r.randint(10000000, 99999999)}{r.choice('ABCDEFGHJKLMNPQRTUWXY')}{r.randint(0, 99):02d}")
        phone = ""
        if rng.random() < 0.85:
            key = phones.take(key_of(tw_phone if rng.random() < 0.6 else cn_phone))
            phone = key  # digits only is a valid way to type it; the key is what must be unique
            if rng.random() < 0.5:
                phone = f"{key[:2]}-{key[2:6]}-{key[6:]}"
        mobile = phones.take(key_of(any_mobile)) if rng.random() < 0.6 else ""
        if mobile and len(mobile) == 10:
            mobile = f"{mobile[:4]}-{mobile[4:7]}-{mobile[7:]}"
        email = f"info{index}@{rng.choice(('example.com.tw', 'example.cn', 'example.com', 'mail.example.hk'))}" if rng.random() < 0.7 else ""
        rows.append([rng.choice(("company", "company", "公司")), name, latin if rng.random() < 0.8 else "", tax, phone, mobile, email,
                     rng.choice(STATUSES), rng.choice(LEVEL_NAMES), rng.choice(ADDRESSES)])
    return rows


def dirty(rows, existing, rng):
    """A copy of `rows` with repeats (of the file and of seeded customers) and invalid rows.
    Returns (rows, {kind: count})."""
    rows = [list(row) for row in rows]
    kinds = {"same tax ID as an earlier row": 0, "same phone as an earlier row": 0, "same tax ID as a seeded customer": 0,
             "same phone as a seeded customer": 0, "same name as a seeded customer": 0, "invalid status": 0,
             "invalid e-mail": 0, "unknown level": 0, "no name": 0}
    step = 20  # every 20th row (5 %): five kinds of repeats, four kinds of invalid rows
    for n, position in enumerate(range(step, len(rows), step)):
        row, earlier = rows[position], rows[rng.randrange(position)]
        seeded = existing[rng.randrange(len(existing))]
        kind = list(kinds)[n % len(kinds)]
        kinds[kind] += 1
        if kind == "same tax ID as an earlier row":
            row[3] = earlier[3]
        elif kind == "same phone as an earlier row":
            row[4] = earlier[4] or earlier[5] or row[4]
        elif kind == "same tax ID as a seeded customer":
            row[3] = seeded.tax_id
        elif kind == "same phone as a seeded customer":
            row[4] = seeded.phone
        elif kind == "same name as a seeded customer":
            row[1] = seeded.name
        elif kind == "invalid status":
            row[7] = "maybe"
        elif kind == "invalid e-mail":
            row[6] = "not-an-address@"
        elif kind == "unknown level":
            row[8] = "白金客戶"
        elif kind == "no name":
            row[1] = ""
    return rows, kinds


def csv_bytes(rows):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


# ---- set-up ------------------------------------------------------------------------------


def seed_existing(count, rows, importer):
    """Seeded customers from generated rows, written in bulk with their keys (no services)."""
    from qinglan.customers.models import Customer
    from qinglan.customers.normalize import email_key, name_key, phone_key, tax_id_key

    objects = [
        Customer(code=f"EX{i + 1:07d}", name=row[1], name_latin=row[2], tax_id=tax_id_key(row[3]), phone=row[4], mobile=row[5],
                 email=email_key(row[6]), name_key=name_key(row[1]), phone_key=phone_key(row[4] or row[5]), owner=importer)
        for i, row in enumerate(rows[:count])
    ]
    Customer.objects.bulk_create(objects, batch_size=2000)
    return list(Customer.objects.filter(code__startswith="EX").order_by("pk"))


def importer_user():
    from qinglan.org.models import User

    user, _created = User.objects.get_or_create(
        username="bench-importer", defaults={"display_name": "匯入者", "email": "importer@bench.example", "is_superuser": True, "is_staff": True}
    )
    return user


def new_job(user, data, name):
    from django.contrib.contenttypes.models import ContentType
    from django.core.files.base import ContentFile

    from qinglan.core.imports import guess_mapping
    from qinglan.core.models import ImportJob
    from qinglan.core.registry import registry
    from qinglan.customers.models import Customer

    resource = registry.get_by_label("customers", "customer")
    job = ImportJob(user=user, content_type=ContentType.objects.get_for_model(Customer), original_name=name, headers=HEADERS)
    job.file.save(name, ContentFile(data), save=False)
    job.mapping = guess_mapping(resource, HEADERS)
    job.total_rows = data.count(b"\n") - 1
    job.save()
    return job


def timed(job, commit):
    from qinglan.core.imports import process

    started = time.perf_counter()
    process(job, commit=commit)
    return time.perf_counter() - started


def customers_in(path):
    """Customers in a SQLite file, read by a fresh connection (a hot journal is rolled back)."""
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT COUNT(*) FROM customers_customer").fetchone()[0]


# ---- the kill -9 child -----------------------------------------------------------------------


def child(job_id):
    from qinglan.core.imports import process
    from qinglan.core.models import ImportJob

    job = ImportJob.objects.select_related("user", "content_type").get(pk=job_id)
    print("started", flush=True)
    process(job, commit=True)
    print("finished", flush=True)


def kill_test(database, job_id, after, log):
    copy = Path(database).with_name("bench-customer-import-kill.sqlite3")
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{copy}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(database, copy)
    before = customers_in(copy)
    process = subprocess.Popen([sys.executable, __file__, "--database", str(copy), "--child-commit", str(job_id)],
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "started"
    time.sleep(after)
    still_running = process.poll() is None
    process.send_signal(signal.SIGKILL)
    process.wait()
    journal = any(Path(f"{copy}{suffix}").exists() for suffix in ("-journal", "-wal"))
    after_kill = customers_in(copy)
    log(f"kill -9 after {after:.0f} s of a commit import (child still running when killed: {still_running}; "
        f"journal left behind: {journal}): customers before {before:,}, after {after_kill:,} → "
        f"{'none written (rolled back)' if after_kill == before else 'ROWS WRITTEN'}")
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{copy}{suffix}").unlink(missing_ok=True)
    return after_kill == before and still_running


# ---- phases ------------------------------------------------------------------------------------

# (label, module, class or None, function): timed around each call; inner phases are also in
# their outer phase's time.
PHASES = (
    ("read the cells into form values (RowConverter.convert)", "qinglan.core.imports", "RowConverter", "convert"),
    ("validate with the form's fields (RowValidator.validate)", "qinglan.core.imports", "RowValidator", "validate"),
    ("write a chunk (services.create_many)", "qinglan.core.services", None, "create_many"),
    ("  numbers, keys, grades, territories (before_create_many)", "qinglan.customers.resources", "CustomerResource", "before_create_many"),
    ("  unique values (unique_clashes)", "qinglan.core.services", None, "unique_clashes"),
    ("  customers INSERT (bulk.insert_new)", "qinglan.core.services", None, "insert_new"),
    ("  change-log rows (log_creations)", "qinglan.core.services", None, "log_creations"),
    ("duplicate rules (check_created)", "qinglan.customers.resources", "CustomerResource", "check_created"),
    ("  their queries (duplicates.find_duplicates_many)", "qinglan.customers.duplicates", None, "find_duplicates_many"),
)


def timed_phases(job, rows):
    """µs per row of each phase of a check of `job` ({label: µs})."""
    import importlib

    spent, originals = {}, []
    for label, module_name, class_name, name in PHASES:
        owner = importlib.import_module(module_name)
        if class_name:
            owner = getattr(owner, class_name)
        original = getattr(owner, name)
        originals.append((owner, name, original))
        spent[label] = 0.0

        def wrapper(*args, _original=original, _label=label, **kwargs):
            started = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                spent[_label] += time.perf_counter() - started

        setattr(owner, name, wrapper)
    try:
        total = timed(job, commit=False)
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)
    return {"whole check": total * 1e6 / rows, **{label: seconds * 1e6 / rows for label, seconds in spent.items()}}


def raw_writes(database, customers_after, changes_after):
    """Seconds for sqlite3's executemany to INSERT again the customers and change-log rows the
    commit wrote (ids above the given ones), in one transaction that is rolled back."""
    connection = sqlite3.connect(database, isolation_level=None)
    try:
        out = {}
        for table, after in (("customers_customer", customers_after), ("core_objectchange", changes_after)):
            cursor = connection.execute(f"SELECT * FROM {table} WHERE id > ? ORDER BY id", (after,))
            out[table] = ([d[0] for d in cursor.description], cursor.fetchall())
        connection.execute("BEGIN")
        for table, after in (("customers_customer", customers_after), ("core_objectchange", changes_after)):
            connection.execute(f"DELETE FROM {table} WHERE id > ?", (after,))
        started = time.perf_counter()
        for table, (columns, rows) in out.items():
            connection.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", rows
            )
        seconds = time.perf_counter() - started
        connection.execute("ROLLBACK")
        return seconds, len(out["customers_customer"][1])
    finally:
        connection.close()


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


# ---- main ------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the clean file (default 100000)")
    parser.add_argument("--existing", type=int, default=2000, help="customers in the database before the import (default 2000)")
    parser.add_argument("--dirty-rows", type=int, default=2000, help="rows of the file with duplicates and invalid rows (default 2000)")
    parser.add_argument("--sample", type=int, default=1000, help="rows whose queries are counted (default 1000)")
    parser.add_argument("--profile", type=int, default=2000, help="rows profiled with cProfile (default 2000)")
    parser.add_argument("--repeat", type=int, default=3, help="checks of the clean file timed (p50, p95; default 3)")
    parser.add_argument("--kill-after", type=float, default=5.0, help="seconds into the commit before SIGKILL (default 5)")
    parser.add_argument("--skip-commit", action="store_true", help="time the check only (not the commit of --rows)")
    parser.add_argument("--database", default=str(ROOT / "var" / "bench-customer-import.sqlite3"))
    parser.add_argument("--child-commit", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child_commit:
        configure(args.database)
        return child(args.child_commit)

    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{args.database}{suffix}").unlink(missing_ok=True)
    database = configure(args.database)
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from customers import ensure_levels
    from qinglan.core.models import ObjectChange
    from qinglan.customers.models import Customer

    log = print
    log(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    ensure_levels()
    importer = importer_user()
    log(f"database: {connection.vendor} {database.get('NAME')} (fresh, migrated in {time.perf_counter() - started:.1f} s)")

    rng = random.Random(SEED)
    started = time.perf_counter()
    names, phones, taxes = NameBook(), Unique(rng), Unique(rng)
    pool = make_rows(args.existing + args.rows, rng, names, phones, taxes)
    existing = seed_existing(args.existing, pool, importer)
    clean = pool[args.existing:]
    dirty_rows, kinds = dirty(clean[: args.dirty_rows], existing, random.Random(SEED + 1))
    clean_csv, dirty_csv = csv_bytes(clean), csv_bytes(dirty_rows)
    log(f"generated {len(clean):,} clean rows ({len(clean_csv) / 1e6:.1f} MB CSV) and {len(dirty_rows):,} dirty rows "
        f"in {time.perf_counter() - started:.1f} s; {Customer.objects.count():,} customers in the database")
    log("  dirty rows: " + ", ".join(f"{kind} {n}" for kind, n in kinds.items()))
    log("  sample rows: " + " | ".join(",".join(row) for row in clean[:3]))
    # The generated rows (millions of objects) are the bench's, not the import's: frozen out of
    # the garbage collector, so its full collections during the import do not scan them (a
    # background worker importing a file holds none of them).
    gc.collect()
    gc.freeze()

    # Queries per row, on a check of the first --sample rows.
    sample_job = new_job(importer, csv_bytes(clean[: args.sample]), "sample.csv")
    log(f"  column mapping: {sample_job.mapping}")
    statements = []

    def record(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    # CaptureQueriesContext keeps only the last 9,000 queries: count through an execute wrapper
    # as well, inside it (so the counts are those of a captured run).
    with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(record):
        seconds = timed(sample_job, commit=False)
    assert not sample_job.errors, sample_job.errors[:5]
    per_row = len(statements) / args.sample
    kinds_sql = {}
    for sql in statements:
        verb = sql.lstrip().split(None, 1)[0].upper()
        match = re.search(r'(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', sql)
        kinds_sql[(verb, match.group(1) if match and verb != "SAVEPOINT" else "")] = kinds_sql.get((verb, match.group(1) if match and verb != "SAVEPOINT" else ""), 0) + 1
    log(f"\nqueries per row (check of {args.sample:,} rows, {seconds:.2f} s, {len(statements):,} statements; "
        f"CaptureQueriesContext kept {len(captured.captured_queries):,}): {per_row:.1f}")
    for (verb, table), n in sorted(kinds_sql.items(), key=lambda item: -item[1])[:16]:
        log(f"  {n / args.sample:5.2f}/row  {verb:9} {table}")

    # Each phase, µs per row.
    phases_job = new_job(importer, csv_bytes(clean[: args.sample]), "phases.csv")
    log(f"\nphases of a check of {args.sample:,} rows (µs per row):")
    for label, micro in timed_phases(phases_job, args.sample).items():
        log(f"  {micro:8.1f}  {label}")

    # Where the time goes.
    profile_job = new_job(importer, csv_bytes(clean[: args.profile]), "profile.csv")
    profiler = cProfile.Profile()
    profiler.enable()
    timed(profile_job, commit=False)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(15)
    log(f"\ncProfile, check of {args.profile:,} rows, top 15 cumulative:")
    log("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:6000])
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
    log("\ncProfile, same run, top 15 by own time:")
    log("\n".join(line for line in out.getvalue().splitlines() if line.strip() and not line.startswith(("   Ordered", "   List")))[:6000])

    # The invalid file writes nothing.
    before, changes_before = Customer.objects.count(), ObjectChange.objects.count()
    dirty_job = new_job(importer, dirty_csv, "dirty.csv")
    check_seconds = timed(dirty_job, commit=False)
    reported = len(dirty_job.errors)
    commit_seconds = timed(dirty_job, commit=True)
    after = Customer.objects.count()
    log(f"\ndirty file, {len(dirty_rows):,} rows: check {check_seconds:.1f} s ({len(dirty_rows) / check_seconds:,.0f} rows/s), "
        f"{reported} errors reported, e.g.:")
    for error in dirty_job.errors[:6]:
        log(f"    row {error['row']} {error['field']}: {error['message']}")
    log(f"  commit of the dirty file: {commit_seconds:.1f} s, status {dirty_job.status}; customers {before:,} → {after:,}, "
        f"change-log rows {changes_before:,} → {ObjectChange.objects.count():,} → "
        f"{'nothing written' if after == before else 'ROWS WRITTEN'}")

    # kill -9 midway through a commit (a copy of the database, before the big import).
    big_job = new_job(importer, clean_csv, "customers.csv")
    connection.close()
    kill_test(database["NAME"], big_job.pk, args.kill_after, log)

    # The full check (--repeat times) and commit.
    rates = []
    for _attempt in range(max(1, args.repeat)):
        seconds = timed(big_job, commit=False)
        assert not big_job.errors, big_job.errors[:5]
        rates.append(len(clean) / seconds)
        log(f"check of {len(clean):,} rows: {seconds:.1f} s → {len(clean) / seconds:,.0f} rows/s "
            f"({big_job.created_count:,} would be created, customers still {Customer.objects.count():,}; "
            f"load {os.getloadavg()[0]:.1f})")
    log(f"check rows/s over {len(rates)} runs: p50 {statistics.median(rates):,.0f}, p95 (slowest) {percentile(rates, 0.05):,.0f}")
    if not args.skip_commit:
        before = Customer.objects.count()
        customers_after = Customer.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        changes_after = ObjectChange.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        seconds = timed(big_job, commit=True)
        assert not big_job.errors, big_job.errors[:5]
        log(f"commit of {len(clean):,} rows: {seconds:.1f} s → {len(clean) / seconds:,.0f} rows/s "
            f"(status {big_job.status}, customers {before:,} → {Customer.objects.count():,}, "
            f"change-log rows {ObjectChange.objects.count():,}; load {os.getloadavg()[0]:.1f})")
        if connection.vendor == "sqlite":
            connection.close()
            raw_seconds, raw_rows = raw_writes(database["NAME"], customers_after, changes_after)
            log(f"hand-written SQL of the commit's writes (executemany INSERT of the same {raw_rows:,} customers and "
                f"change-log rows, one transaction): {raw_seconds:.1f} s → {raw_rows / raw_seconds:,.0f} rows/s; "
                f"the import's commit takes {seconds / raw_seconds:.1f}× as long")
    log("goal (issue 3): ≥ 10,000 rows/s on SQLite")


if __name__ == "__main__":
    sys.exit(main())
