"""Customers at scale: a generator for 1 M customers, 3 M contacts and 5 M follow-ups, and the
server time of the customer list, the customer page and the quick search against hand-written SQL.

    .venv/bin/python bench/customers.py [--customers 1000000] [--requests 50] [--generate-only]

Works on its own database: SQLite in var/bench-customers.sqlite3 (with var/bench/ as the var
folder for cache, media and the secret key), or QINGLAN_DATABASE_URL when that is set (use a
database of its own, e.g. postgres://…/qinglan_bench). The first run migrates and generates;
later runs reuse what is there and only top up to --customers.

Rows are written with raw multi-row INSERTs (SQLite) or COPY (PostgreSQL) in transactions of
--batch customers with their contacts and follow-ups, with name_key/phone_key derived by
qinglan.customers.normalize as the services do; then ANALYZE.
"""

import argparse
import datetime
import random
import re
import statistics
import time
from collections import Counter
from pathlib import Path

from members_list import (
    GIVEN,
    FIRST_NAMES,
    LAST_NAMES,
    SURNAMES,
    capture,
    configure,
    ensure_departments,
    percentile,
    raw_ms,
    replay_ms,
    shape,
    timed_requests,
)

ROOT = Path(__file__).resolve().parent.parent
PAGE_SIZE = 50
SEED = 20261127
SALES_DOMAIN = "sales.bench.example"
CODE_PREFIX = "BC"  # generated customers are numbered BC00000001…

# ---- data pools ------------------------------------------------------------------------

BRAND_TRAD = list("青藍華聯宏達鴻海台積永豐長榮統一遠東國泰富邦元大中興新光大同聲寶東元廣達英業仁寶緯創光寶台達日月南亞億豐亞泰寶成正新巨大美利達力晶旺宏友達群創瑞昱聯發智原義隆凌陽")
BRAND_SIMP = list("青蓝华联宏达鸿海台积永丰长荣统一远东国泰富邦元大中兴新光大同声宝东元广达英业仁宝纬创光宝台达日月南亚亿丰亚泰宝成正新巨大美利达")
INDUSTRY_TRAD = ["科技", "電子", "貿易", "實業", "精密", "生技", "光電", "建設", "食品", "物流", "資訊", "機械", "化工", "紡織", "醫療", "能源"]
INDUSTRY_SIMP = ["科技", "电子", "贸易", "实业", "精密", "生物", "光电", "建设", "食品", "物流", "信息", "机械", "化工", "纺织", "医疗", "能源"]
PLACES_TRAD = ["台灣", "臺北", "新竹", "台中", "高雄", "香港"]
PLACES_SIMP = ["上海", "深圳", "北京", "广州", "苏州", "杭州"]
SUFFIX_ZH = ["股份有限公司", "有限公司", "有限公司", "股份有限公司", "企業社", "公司", "(股)公司"]
BRAND_EN = [
    "Acme", "Blue Ridge", "Pacific", "Golden Gate", "Evergreen", "Summit", "Harbor", "Orient", "Lotus", "Phoenix", "Jade",
    "Silverline", "Northstar", "Crescent", "Dragon", "Formosa", "Sunrise", "Everbright", "Unity", "Pioneer", "Bright Ocean",
    "Red Lantern", "Tiger", "Crane", "Maple", "Kestrel", "Aurora", "Meridian", "Keystone", "Vertex", "Nimbus", "Zenith",
]
INDUSTRY_EN = ["Technology", "Trading", "Electronics", "Logistics", "Industrial", "Foods", "Biotech", "Optics", "Materials", "Systems", "Machinery", "Textiles"]
SUFFIX_EN = ["Co., Ltd.", "Co., Ltd.", "Inc.", "Ltd.", "Corp.", "Limited", "GmbH", "Pte. Ltd."]
TITLES = ["總經理", "採購經理", "業務經理", "財務長", "工程師", "專案經理", "採購專員", "Purchasing Manager", "CTO", "Sales Director", "Office Manager", "董事長", "执行董事", "采购主管"]
CONTACT_DEPARTMENTS = ["採購部", "業務部", "財務部", "研發部", "管理部", "Procurement", "Engineering", "采购部", ""]
DECISION_ROLES = ["decision_maker", "influencer", "user", "gatekeeper", "other", ""]
ACTIVITY_KINDS = ["call", "call", "call", "visit", "meeting", "email", "email", "note"]
SUBJECTS = ["電話拜訪", "報價追蹤", "產品展示", "合約討論", "年度回顧", "售後回訪", "寄送樣品", "Follow-up call", "Quotation sent",
            "Site visit", "Demo meeting", "Contract review", "催收貨款", "新品介紹", "需求访谈", "技术交流"]
OUTCOMES = ["客戶有興趣，下週再聯絡。", "已寄出報價單。", "需要主管核准。", "Waiting for budget approval.", "Asked for a second demo.",
            "暫無需求。", "同意簽約。", "价格偏高，需再议。", ""]
STATUSES = (["prospect"] * 35) + (["active"] * 40) + (["dormant"] * 15) + (["lost"] * 10)
LEVELS = [("VIP", 10), ("重點客戶", 20), ("一般客戶", 30), ("潛在客戶", 40)]
REGIONS = {
    "台灣": {"北部": ["台北市", "新北市", "桃園市", "新竹市"], "中部": ["台中市", "彰化縣"], "南部": ["台南市", "高雄市"]},
    "中國大陸": {"華東": ["上海市", "蘇州市", "杭州市"], "華南": ["深圳市", "廣州市"], "華北": ["北京市", "天津市"]},
    "香港": {},
    "海外": {"東南亞": ["新加坡", "吉隆坡"], "北美": ["San Jose", "Seattle"]},
}
START = datetime.datetime(2023, 11, 27, tzinfo=datetime.UTC)
SPAN_SECONDS = 3 * 365 * 86400


# ---- set-up rows (departments, sales members, levels, regions, the viewer's role) ------


def ensure_sales_members(departments, count=200):
    """~200 owners: most in the sales division's departments and teams, a few elsewhere."""
    from django.contrib.auth.hashers import make_password

    from qinglan.org.models import User

    existing = list(User.objects.filter(email__endswith=f"@{SALES_DOMAIN}").order_by("pk"))
    if len(existing) >= count:
        return existing
    rng = random.Random(SEED)
    sales = [d for d in departments if d.code.startswith("BENCH-1")]
    others = [d for d in departments if d.code[:7] in ("BENCH-3", "BENCH-2")]
    password = make_password("bench-password-2026")
    new = []
    for index in range(len(existing), count):
        if rng.random() < 0.7:
            surname, surname_pinyin = rng.choice(SURNAMES)
            given = rng.sample(GIVEN, 2)
            display = surname + "".join(char for char, _ in given)
            first, last = "".join(char for char, _ in given), surname
        else:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            display = f"{first} {last}"
        username = f"bench-sales-{index + 1:03d}"
        department = rng.choice(sales) if rng.random() < 0.9 else rng.choice(others)
        new.append(User(username=username, password=password, display_name=display, first_name=first, last_name=last,
                        email=f"{username}@{SALES_DOMAIN}", department=department, is_active=True))
    User.objects.bulk_create(new)
    return list(User.objects.filter(email__endswith=f"@{SALES_DOMAIN}").order_by("pk"))


def ensure_levels():
    from qinglan.customers.models import CustomerLevel

    for name, order in LEVELS:
        CustomerLevel.objects.get_or_create(name=name, defaults={"order": order, "pool_days": 90 if order > 10 else None})
    return list(CustomerLevel.objects.filter(name__in=[name for name, _ in LEVELS]).values_list("pk", flat=True))


def ensure_regions():
    from qinglan.customers.models import Region

    def get_or_add(name, code, parent):
        found = Region.objects.filter(code=code).first()
        if found:
            return found
        region = Region(name=name, code=code)
        region.new_parent = parent
        region.save()
        return Region.objects.get(code=code)

    leaves = []
    for i, (country, areas) in enumerate(REGIONS.items(), 1):
        top = get_or_add(country, f"BR{i}", None)
        if not areas:
            leaves.append(top.pk)
        for j, (area, cities) in enumerate(areas.items(), 1):
            middle = get_or_add(area, f"BR{i}{j}", top)
            for k, city in enumerate(cities, 1):
                leaves.append(get_or_add(city, f"BR{i}{j}{k:02d}", middle).pk)
    return leaves


def ensure_viewer(sales_members):
    """The salesperson measured: the first sales member in the biggest sales department, with a
    role that may view and export customers, their contacts and follow-ups in their own
    department ("department" scope)."""
    from django.contrib.contenttypes.models import ContentType

    from qinglan.core.permissions import Scope, forget_grants
    from qinglan.customers.models import Activity, Contact, Customer
    from qinglan.org.models import Role, RolePermission

    biggest = Counter(member.department_id for member in sales_members).most_common(1)[0][0]
    viewer = next(member for member in sales_members if member.department_id == biggest)
    role, _created = Role.objects.get_or_create(name="bench: customers of own department")
    role.members.add(viewer)
    for model in (Customer, Contact, Activity):
        RolePermission.objects.update_or_create(
            role=role, content_type=ContentType.objects.get_for_model(model),
            defaults={"actions": ["view", "export"], "scope": Scope.DEPARTMENT},
        )
    forget_grants(viewer)
    return viewer


# ---- generated rows ----------------------------------------------------------------------


def company_name(rng):
    """(name, latin name): Traditional, Simplified or English company names."""
    roll = rng.random()
    if roll < 0.5:
        place = rng.choice(PLACES_TRAD) if rng.random() < 0.15 else ""
        return place + "".join(rng.sample(BRAND_TRAD, 2)) + rng.choice(INDUSTRY_TRAD) + rng.choice(SUFFIX_ZH), ""
    if roll < 0.72:
        place = rng.choice(PLACES_SIMP) if rng.random() < 0.2 else ""
        suffix = rng.choice(["有限公司", "股份有限公司", "有限责任公司", "公司"])
        return place + "".join(rng.sample(BRAND_SIMP, 2)) + rng.choice(INDUSTRY_SIMP) + suffix, ""
    brand = rng.choice(BRAND_EN)
    second = rng.choice(BRAND_EN) if rng.random() < 0.4 else ""
    name = " ".join(part for part in (brand, second, rng.choice(INDUSTRY_EN), rng.choice(SUFFIX_EN)) if part)
    return name, name


def person_name(rng):
    if rng.random() < 0.7:
        surname, surname_pinyin = rng.choice(SURNAMES)
        given = rng.sample(GIVEN, rng.choice((1, 2, 2)))
        latin = f"{''.join(p for _c, p in given).title()} {surname_pinyin.title()}"
        return surname + "".join(c for c, _p in given), latin, f"{''.join(p for _c, p in given)}.{surname_pinyin}"
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    return f"{first} {last}", f"{first} {last}", f"{first}.{last}".lower()


def landline(rng):
    roll = rng.random()
    area, number = rng.choice(("2", "3", "4", "6", "7")), f"{rng.randint(2000, 8999)}{rng.randint(0, 9999):04d}"
    if roll < 0.4:
        return f"0{area}-{number[:4]}-{number[4:]}"
    if roll < 0.55:
        return f"(0{area}) {number[:4]} {number[4:]}"
    if roll < 0.7:
        return f"+886 {area} {number[:4]} {number[4:]}"
    if roll < 0.85:
        city = rng.choice(("21", "10", "755", "20", "512"))
        return f"0{city}-{rng.randint(5000, 8999)} {rng.randint(0, 9999):04d}"
    return f"+86 {rng.choice(('21', '10', '755'))} {rng.randint(5000, 8999)} {rng.randint(0, 9999):04d}"


def mobile(rng):
    roll = rng.random()
    if roll < 0.45:
        return f"09{rng.randint(10, 99)}-{rng.randint(0, 999):03d}-{rng.randint(0, 999):03d}"
    if roll < 0.6:
        return f"+886 9{rng.randint(10, 99)} {rng.randint(0, 999):03d} {rng.randint(0, 999):03d}"
    if roll < 0.85:
        return f"1{rng.choice('3589')}{rng.randint(0, 9)}{rng.randint(0, 9999):04d}{rng.randint(0, 9999):04d}"
    return f"+86 1{rng.choice('3589')}{rng.randint(0, 9)} {rng.randint(0, 9999):04d} {rng.randint(0, 9999):04d}"


class Writer:
    """Bulk rows into a table: multi-row INSERTs on SQLite, COPY on PostgreSQL. Columns not
    given get the model field's default, so fields added later need no change here."""

    def __init__(self, model, given):
        from django.db import connection

        self.connection = connection
        self.table = model._meta.db_table
        self.columns, self.positions, self.defaults = [], [], []
        fields = [f for f in model._meta.concrete_fields]
        names = {f.attname for f in fields}
        unknown = set(given) - names
        assert not unknown, unknown
        for f in fields:
            self.columns.append(f.column)
            if f.attname in given:
                self.positions.append(given.index(f.attname))
                self.defaults.append(None)
            else:
                self.positions.append(None)
                default = f.get_default() if f.has_default() or not f.null else None
                if default is None and not f.null:
                    default = ""
                if isinstance(default, dict):
                    default = "{}"
                elif isinstance(default, bool):
                    pass
                elif default is not None and not isinstance(default, (str, int, float)):
                    default = str(default)
                self.defaults.append(default)

    def expand(self, row):
        return [row[p] if p is not None else d for p, d in zip(self.positions, self.defaults)]

    def write(self, rows):
        if not rows:
            return
        columns = ", ".join(f'"{c}"' for c in self.columns)
        raw = self.connection.connection
        if self.connection.vendor == "postgresql":
            with raw.cursor() as cursor, cursor.copy(f'COPY "{self.table}" ({columns}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(self.expand(row))
            return
        width = len(self.columns)
        per = max(1, 30000 // width)  # SQLite allows 32766 parameters per statement
        for start in range(0, len(rows), per):
            chunk = rows[start:start + per]
            values = ",".join(["(" + ",".join("?" * width) + ")"] * len(chunk))
            params = [value for row in chunk for value in self.expand(row)]
            raw.execute(f'INSERT INTO "{self.table}" ({columns}) VALUES {values}', params)


def fill_contact_keys(log):
    """Contacts generated before contacts had a folded name key get it, set-based: each distinct
    name is folded once in Python, then one UPDATE … FROM a temporary table of (name, key)."""
    from django.db import connection, transaction

    from qinglan.customers.models import Contact
    from qinglan.customers.normalize import person_key

    if not Contact.objects.filter(name_key="").exclude(name="").exists():
        return
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT name FROM customers_contact WHERE name_key = ''")
        pairs = [(name, person_key(name)) for (name,) in cursor.fetchall()]
        cursor.execute("CREATE TEMPORARY TABLE bench_contact_keys (name varchar(200) PRIMARY KEY, name_key varchar(200))")
        for start in range(0, len(pairs), 5000):
            chunk = pairs[start:start + 5000]
            cursor.execute("INSERT INTO bench_contact_keys (name, name_key) VALUES " + ",".join(["(%s, %s)"] * len(chunk)),
                           [value for pair in chunk for value in pair])
        cursor.execute("UPDATE customers_contact SET name_key = k.name_key FROM bench_contact_keys k "
                       "WHERE customers_contact.name = k.name AND customers_contact.name_key = ''")
        updated = cursor.rowcount
        cursor.execute("DROP TABLE bench_contact_keys")
    log(f"contact name keys filled: {updated:,} contacts ({len(pairs):,} distinct names) in {time.perf_counter() - started:.0f} s")


def generate(target, *, contacts_per, activities_per, batch, log):
    from django.db import connection, transaction

    from qinglan.customers.models import Activity, Contact, Customer
    from qinglan.customers.normalize import name_key, person_key, phone_key

    generated = Customer.objects.filter(code__startswith=CODE_PREFIX)
    existing = generated.count()
    if existing >= target:
        log(f"reusing {existing:,} generated customers")
        return 0
    departments = ensure_departments()
    sales = ensure_sales_members(departments)
    levels = ensure_levels()
    regions = ensure_regions()
    postgres = connection.vendor == "postgresql"

    def moment(dt):
        return dt.isoformat(sep=" ") if postgres else dt.strftime("%Y-%m-%d %H:%M:%S")

    customer_columns = ("id", "created", "last_updated", "owner_id", "code", "kind", "name", "name_latin", "short_name",
                        "tax_id", "is_customer", "is_supplier", "is_partner", "status", "level_id", "region_id", "phone",
                        "mobile", "email", "website", "address", "department_id", "in_pool", "pooled_at", "owned_since",
                        "last_activity_at", "next_follow_up", "name_key", "phone_key")
    contact_columns = ("id", "created", "last_updated", "customer_id", "name", "name_latin", "title", "department_name",
                       "phone", "mobile", "email", "im", "birthday", "decision_role", "is_primary", "name_key", "phone_key")
    activity_columns = ("id", "created", "last_updated", "owner_id", "customer_id", "contact_id", "kind", "subject",
                        "occurred_at", "outcome", "next_follow_up", "reminder_sent")
    customers_out = Writer(Customer, customer_columns)
    contacts_out = Writer(Contact, contact_columns)
    activities_out = Writer(Activity, activity_columns)

    def next_id(model):
        return (model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1

    customer_id, contact_id, activity_id = next_id(Customer), next_id(Contact), next_id(Activity)
    log(f"generating {target - existing:,} customers with ~{contacts_per} contacts and ~{activities_per} follow-ups each "
        f"({existing:,} already there), {batch:,} per transaction…")
    if not postgres:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous = OFF")
            cursor.execute("PRAGMA cache_size = -2000000")  # 2 GB of page cache while building the indexes
    started = time.perf_counter()
    totals = Counter()
    now = moment(datetime.datetime.now(datetime.UTC))
    for batch_start in range(existing, target, batch):
        rng = random.Random(SEED + batch_start)
        customers, contacts, activities = [], [], []
        for index in range(batch_start, min(target, batch_start + batch)):
            created = START + datetime.timedelta(seconds=int(SPAN_SECONDS * index / max(target, 1_000_000)) + rng.randint(0, 3600))
            if rng.random() < 0.1:
                kind = "person"
                name, latin, _stem = person_name(rng)
            else:
                kind = "company"
                name, latin = company_name(rng)
            pooled = rng.random() < 0.05
            owner = None if pooled else rng.choice(sales)
            phone = landline(rng) if rng.random() < 0.85 else ""
            mob = mobile(rng) if rng.random() < 0.6 else ""
            slug = re.sub(r"[^a-z]", "", latin.lower())[:12] or f"c{index}"
            status = rng.choice(STATUSES)
            n_contacts = rng.randint(max(0, contacts_per - 2), contacts_per + 2)
            n_activities = rng.randint(0, 2 * activities_per)
            times = sorted(created + datetime.timedelta(seconds=rng.randint(0, max(1, int((START + datetime.timedelta(seconds=SPAN_SECONDS) - created).total_seconds())))) for _ in range(n_activities))
            next_date = (times[-1] + datetime.timedelta(days=rng.randint(3, 30))).date().isoformat() if times and rng.random() < 0.3 else None
            customers.append((
                customer_id, moment(created), now, owner.pk if owner else None, f"{CODE_PREFIX}{index + 1:08d}", kind, name, latin,
                name[:8] if rng.random() < 0.3 else "", f"{rng.randint(10000000, 99999999)}" if kind == "company" and rng.random() < 0.6 else "",
                True, rng.random() < 0.05, rng.random() < 0.03, status, rng.choice(levels) if rng.random() < 0.8 else None,
                rng.choice(regions) if rng.random() < 0.9 else None, phone, mob,
                f"{rng.choice(('info', 'sales', 'service', 'contact'))}@{slug}{index % 997}.{rng.choice(('com.tw', 'com', 'cn', 'com.hk'))}",
                f"https://www.{slug}{index % 997}.com" if rng.random() < 0.3 else "", "", owner.department_id if owner else None,
                pooled, moment(created) if pooled else None, None if pooled else moment(created),
                moment(times[-1]) if times else None, next_date, name_key(name), phone_key(phone or mob),
            ))
            first_contact = contact_id
            for number in range(n_contacts):
                person, person_latin, stem = person_name(rng)
                contact_phone = landline(rng) if rng.random() < 0.5 else ""
                contact_mobile = mobile(rng) if rng.random() < 0.8 else ""
                birthday = datetime.date(rng.randint(1960, 2000), rng.randint(1, 12), rng.randint(1, 28)).isoformat() if rng.random() < 0.2 else None
                contacts.append((
                    contact_id, moment(created), now, customer_id, person, person_latin, rng.choice(TITLES), rng.choice(CONTACT_DEPARTMENTS),
                    contact_phone, contact_mobile, f"{stem}@{slug}{index % 997}.com" if rng.random() < 0.8 else "",
                    f"line:{stem}" if rng.random() < 0.2 else "", birthday, rng.choice(DECISION_ROLES), number == 0,
                    person_key(person), phone_key(contact_mobile or contact_phone),
                ))
                contact_id += 1
            for when in times:
                activities.append((
                    activity_id, moment(when), moment(when), owner.pk if owner else rng.choice(sales).pk, customer_id,
                    rng.randint(first_contact, contact_id - 1) if contact_id > first_contact and rng.random() < 0.7 else None,
                    rng.choice(ACTIVITY_KINDS), rng.choice(SUBJECTS), moment(when), rng.choice(OUTCOMES),
                    None, True,
                ))
                activity_id += 1
            customer_id += 1
        with transaction.atomic():
            customers_out.write(customers)
            contacts_out.write(contacts)
            activities_out.write(activities)
        totals.update(customers=len(customers), contacts=len(contacts), activities=len(activities))
        elapsed = time.perf_counter() - started
        rows = sum(totals.values())
        log(f"  {existing + totals['customers']:,} customers ({rows:,} rows in {elapsed:.0f} s, {rows / elapsed:,.0f} rows/s)", flush=True)
    elapsed = time.perf_counter() - started
    rows = sum(totals.values())
    log(f"generated {totals['customers']:,} customers, {totals['contacts']:,} contacts, {totals['activities']:,} follow-ups "
        f"in {elapsed:.1f} s: {rows / elapsed:,.0f} rows/s ({totals['customers'] / elapsed:,.0f} customers/s with their rows)")
    if postgres:
        with connection.cursor() as cursor:
            for model in (Customer, Contact, Activity):
                table = model._meta.db_table
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
    return totals["customers"]


def analyze(log):
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # full statistics (a sampled ANALYZE misleads SQLite's planner here)
    log(f"ANALYZE in {time.perf_counter() - started:.1f} s")


# ---- measuring -------------------------------------------------------------------------


def page_pks(response):
    return [int(pk) for pk in re.findall(r'name="pk" value="(\d+)"', response.content.decode())]


def json_pks(response):
    return [row["id"] for row in response.json()["results"]]


def measure(name, client, url, raw, requests, log, show_queries, *, pks=page_pks, is_work=None):
    """p50/p95 of the request, queries, SQL time, and the page's essential work against `raw`
    (a list of (sql, params); the first one returns the page's ids in order)."""
    times, response = timed_requests(client, url, requests)
    captures = [capture(client, url) for _ in range(max(5, requests // 10))]
    response, queries, timer = captures[-1]
    counts = [len(queries) for _response, queries, _timer in captures]
    logged_ms = statistics.median(timer.seconds * 1000 for _response, _queries, timer in captures)
    rounds = max(20, requests)
    orm_sql_ms = replay_ms(timer.statements, rounds)
    result = {"p50": statistics.median(times), "p95": percentile(times, 0.95), "queries": statistics.median(counts),
              "sql_ms": orm_sql_ms, "kib": len(response.content) / 1024}
    log(f"\n{name}\n  GET {url[:110]}")
    log(f"  request     p50 {result['p50']:8.1f} ms   p95 {result['p95']:8.1f} ms   ({requests} requests, page {result['kib']:,.0f} KiB)")
    log(f"  SQL         {result['queries']:.0f} queries/request ({min(counts)}–{max(counts)}); "
        f"{logged_ms:.2f} ms in execute; re-run with every row fetched {orm_sql_ms:.2f} ms")
    if raw:
        same_work = [statement for statement in timer.statements if is_work(statement[0])]
        orm_work_ms = replay_ms(same_work, rounds)
        raw_sql_ms, raw_result = raw_ms(raw, rounds)
        raw_pks = [row[0] for row in raw_result[0][:PAGE_SIZE]]
        shown = pks(response)
        same_rows = shown == raw_pks[: len(shown)] and len(shown) == min(len(raw_pks), len(shown) or len(raw_pks))
        extra = f" + bounded count (= {raw_result[1][0][0]:,})" if len(raw_result) > 1 else ""
        log(f"  raw SQL     {raw_sql_ms:.2f} ms for the {len(raw_pks)} rows{extra}; "
            f"the ORM's {len(same_work)} queries for that work {orm_work_ms:.2f} ms; same rows: {'yes' if same_rows else 'NO'}")
        log(f"  ORM-SQL/raw-SQL   {orm_work_ms / raw_sql_ms:.1f}x for the same work, {orm_sql_ms / raw_sql_ms:.1f}x for all of the page's SQL")
        result.update(raw_ms=raw_sql_ms, work_ms=orm_work_ms, ratio=orm_work_ms / raw_sql_ms, ratio_all=orm_sql_ms / raw_sql_ms, same=same_rows)
    repeated = [(sql, n) for sql, n in Counter(shape(query["sql"]) for query in queries).most_common() if n > 1]
    if repeated:
        log("  repeated query shapes: " + "; ".join(f"{n}× {sql[:90]}" for sql, n in repeated[:4]))
    if show_queries:
        for query in queries:
            log(f"    {query['sql'][:600]}")
    return result


def table_work(table):
    """is_work for a list over `table`: its rows query (LIMIT 51) or its bounded count."""
    def is_work(sql):
        flat = " ".join(sql.split())
        return f'FROM "{table}"' in flat and (re.search(r"LIMIT 51$", flat) is not None or flat.startswith("SELECT COUNT(*) FROM (SELECT"))
    return is_work


def customer_work(sql):
    """The ORM's rows query over customers (LIMIT 51 or 21) or its bounded count."""
    flat = " ".join(sql.split())
    over = 'FROM "customers_customer"' in flat
    return over and (re.search(r"LIMIT (51|21)$", flat) is not None or flat.startswith("SELECT COUNT(*) FROM (SELECT"))


# Hand-written SQL of the list page: the shown columns of 51 rows (one more tells whether there
# is a next page) in the default order, the member's scope (own department, or owned by them)
# and the filter, plus the count bounded like bounded_count().
LIST_ROWS_SQL = """
    SELECT c.id, c.name, c.code, c.status, l.name, r.name, c.phone, u.username, c.last_activity_at
    FROM customers_customer c
    LEFT JOIN customers_customerlevel l ON l.id = c.level_id
    LEFT JOIN customers_region r ON r.id = c.region_id
    LEFT JOIN org_user u ON u.id = c.owner_id
    WHERE {where}
    ORDER BY c.id DESC
    LIMIT {limit}
"""
COUNT_SQL = "SELECT COUNT(*) FROM (SELECT 1 FROM customers_customer c WHERE {where} LIMIT {limit}) bounded"


# The contact and follow-up lists found by the quick search, written by hand: the rows of the
# shown columns whose customer is in the member's scope, the prefix as ids from the key's index.
CONTACT_ROWS_SQL = """
    SELECT t.id, t.name, c.name, t.title, t.mobile, t.email, t.decision_role
    FROM customers_contact t JOIN customers_customer c ON c.id = t.customer_id
    WHERE {scope} AND t.id IN ({ids})
    ORDER BY t.id DESC LIMIT {limit}
"""
CONTACT_COUNT_SQL = """SELECT COUNT(*) FROM (SELECT 1 FROM customers_contact t JOIN customers_customer c ON c.id = t.customer_id
    WHERE {scope} AND t.id IN ({ids}) LIMIT {limit}) bounded"""
ACTIVITY_ROWS_SQL = """
    SELECT a.id, a.subject, c.name, a.kind, a.occurred_at, u.username, a.next_follow_up
    FROM customers_activity a JOIN customers_customer c ON c.id = a.customer_id LEFT JOIN org_user u ON u.id = a.owner_id
    WHERE {scope} AND a.customer_id IN ({ids})
    ORDER BY a.occurred_at DESC, a.id DESC LIMIT {limit}
"""
ACTIVITY_COUNT_SQL = """SELECT COUNT(*) FROM (SELECT 1 FROM customers_activity a JOIN customers_customer c ON c.id = a.customer_id
    WHERE {scope} AND a.customer_id IN ({ids}) LIMIT {limit}) bounded"""


def contact_ids(text, postgres):
    """The ids of contacts one of whose keys, or whose customer's name key, starts with `text`
    folded as each key is: the contact's own keys ORed, the customer's as a UNIONed branch."""
    from qinglan.customers.normalize import email_key, name_key, person_key, phone_key

    own, params = [], []
    for column, key in (("name_key", person_key(text)), ("phone_key", phone_key(text)), ("email", email_key(text))):
        if key:
            condition, values = key_prefix(column, key, postgres)
            own.append(condition)
            params += values
    customer, values = key_prefix("c2.name_key", name_key(text), postgres)
    sql = (f"SELECT id FROM customers_contact WHERE {' OR '.join(own)} UNION "
           f"SELECT t2.id FROM customers_contact t2 JOIN customers_customer c2 ON c2.id = t2.customer_id WHERE {customer}")
    return sql, params + values


def activity_ids(text, postgres):
    """The ids of the customers whose name key starts with `text` (follow-ups are found by them)."""
    from qinglan.customers.normalize import name_key

    customer, params = key_prefix("name_key", name_key(text), postgres)
    return f"SELECT id FROM customers_customer WHERE {customer}", params


def key_prefix(column, prefix, postgres):
    """(condition, params): `column` starts with `prefix`, as the __keyprefix lookup writes it."""
    from qinglan.core.lookups import successor

    if postgres:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return f"{column} LIKE %s", [escaped + "%"]
    return f"{column} >= %s AND {column} < %s", [prefix, successor(prefix)]


def list_statements(where, params, count_limit, limit=PAGE_SIZE + 1):
    return [
        (LIST_ROWS_SQL.format(where=where, limit=limit), params),
        (COUNT_SQL.format(where=where, limit=count_limit + 1), params),
    ]


def prefix_where(column, prefix, postgres):
    """A prefix condition on the one key that matters, served by its index, written by hand
    (as the ids it matches: the fastest form on SQLite, see quick_search_q)."""
    match, params = key_prefix(column, prefix, postgres)
    return f"c.id IN (SELECT id FROM customers_customer WHERE {match})", params


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000, help="customers to generate (default 1000000)")
    parser.add_argument("--contacts-per", type=int, default=3, help="contacts per customer on average (default 3)")
    parser.add_argument("--activities-per", type=int, default=5, help="follow-ups per customer on average (default 5)")
    parser.add_argument("--batch", type=int, default=10_000, help="customers per transaction (default 10000)")
    parser.add_argument("--requests", type=int, default=50, help="timed requests per case (at least 50 recommended)")
    parser.add_argument("--database", default=str(ROOT / "var" / "bench-customers.sqlite3"), help="SQLite file (default var/bench-customers.sqlite3)")
    parser.add_argument("--generate-only", action="store_true", help="generate (and ANALYZE), measure nothing")
    parser.add_argument("--analyze", action="store_true", help="run ANALYZE even when nothing was generated")
    parser.add_argument("--only", default="", help="comma-separated case letters to measure (default all), e.g. a,c")
    parser.add_argument("--show-queries", action="store_true", help="print every query of one request")
    args = parser.parse_args()

    database = configure(args.database)
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from qinglan.customers.models import Activity, Contact, Customer
    from qinglan.customers.normalize import name_key, phone_key

    log = print
    log(f"database: {connection.vendor} {database.get('NAME')}")
    call_command("migrate", verbosity=0)
    generated = generate(args.customers, contacts_per=args.contacts_per, activities_per=args.activities_per, batch=args.batch, log=log)
    fill_contact_keys(log)
    if generated or args.analyze:
        analyze(log)
    if args.generate_only:
        return
    sales = ensure_sales_members(ensure_departments())
    viewer = ensure_viewer(sales)
    postgres = connection.vendor == "postgresql"
    limit = settings.QINGLAN_COUNT_LIMIT
    total = Customer.objects.count()
    in_department = Customer.objects.filter(department_id=viewer.department_id).count()
    log(f"{total:,} customers, {Contact.objects.count():,} contacts, {Activity.objects.count():,} follow-ups; "
        f"the salesperson {viewer.username} sees their department's {in_department:,}; page size {PAGE_SIZE}, count limit {limit}")
    client = Client()
    client.force_login(viewer)
    only = set(args.only.split(",")) - {""}
    scope = "(c.department_id = %s OR c.owner_id = %s)"
    scope_params = [viewer.department_id, viewer.pk]
    results = {}

    def run(letter, *case, **options):
        if only and letter not in only:
            return
        results[letter] = measure(*case, args.requests, log, args.show_queries, **options)

    run("a", "(a) customer list as a salesperson (department scope), default sort, status = active", client,
        "/customers/customer/?status=active",
        list_statements(f"{scope} AND c.status = %s", [*scope_params, "active"], limit), is_work=customer_work)
    # A customer of the department, with its contacts and follow-ups.
    sample = (Customer.objects.filter(department_id=viewer.department_id).order_by("-pk")
              .values_list("pk", "name", "phone")[in_department // 3])
    pk, name, phone = sample
    run("b", f"(b) customer page ({Contact.objects.filter(customer_id=pk).count()} contacts, "
        f"{Activity.objects.filter(customer_id=pk).count()} follow-ups)", client, f"/customers/customer/{pk}/", None)
    # Quick search: the first characters of a name as typed (half width, maybe Simplified) and a
    # phone number typed differently from how it was stored.
    prefix = name[:3] if re.match(r"[\u3400-\u9fff]", name) else name.split()[0]
    digits = phone_key(phone)[:6] if phone else "2234"
    typed_phone = f"0{digits[:1]}-{digits[1:]}"
    for letter, label, text, column, key in (
        ("c", "name prefix", prefix, "name_key", name_key(prefix)),
        ("d", "phone", typed_phone, "phone_key", phone_key(typed_phone)),
    ):
        where, params = prefix_where(column, key, postgres)
        run(letter, f"({letter}) quick search by {label} {text!r} in the list (?q=)", client,
            f"/customers/customer/?q={text}",
            list_statements(f"{scope} AND {where}", [*scope_params, *params], limit), is_work=customer_work)
        run(letter + "2", f"({letter}2) quick search by {label} {text!r} through the autocomplete endpoint", client,
            f"/customers/customer/autocomplete/?q={text}",
            [(f"SELECT c.id, c.name FROM customers_customer c WHERE {scope} AND {where} ORDER BY c.id DESC LIMIT 21",
              [*scope_params, *params])],
            pks=json_pks, is_work=customer_work)
    # Contacts and follow-ups found by the quick search (the count is bounded by the search limit).
    search_limit = settings.QINGLAN_SEARCH_COUNT_LIMIT
    contact = Contact.objects.filter(customer__department_id=viewer.department_id).order_by("-pk").values_list("name", "mobile")[1000]
    person = contact[0][:2] if re.match(r"[\u3400-\u9fff]", contact[0]) else contact[0].split()[0]
    contact_digits = phone_key(contact[1])[:7] if contact[1] else "912"  # typed as the key, as a member might
    for letter, label, text in (("e", "person name prefix", person), ("f", "mobile prefix", contact_digits)):
        ids, params = contact_ids(text, postgres)
        run(letter, f"({letter}) contacts: quick search by {label} {text!r}", client, f"/customers/contact/?q={text}",
            [(CONTACT_ROWS_SQL.format(scope=scope, ids=ids, limit=PAGE_SIZE + 1), [*scope_params, *params]),
             (CONTACT_COUNT_SQL.format(scope=scope, ids=ids, limit=search_limit + 1), [*scope_params, *params])],
            is_work=table_work("customers_contact"))
    ids, params = activity_ids(prefix, postgres)
    run("g", f"(g) follow-ups: quick search by customer name prefix {prefix!r}", client, f"/customers/activity/?q={prefix}",
        [(ACTIVITY_ROWS_SQL.format(scope=scope, ids=ids, limit=PAGE_SIZE + 1), [*scope_params, *params]),
         (ACTIVITY_COUNT_SQL.format(scope=scope, ids=ids, limit=search_limit + 1), [*scope_params, *params])],
        is_work=table_work("customers_activity"))
    log("\nsummary: " + "; ".join(f"({k}) p50 {v['p50']:.1f} / p95 {v['p95']:.1f} ms, {v['queries']:.0f} q"
                                 + (f", {v['ratio']:.1f}x raw" if "ratio" in v else "") for k, v in results.items()))


if __name__ == "__main__":
    main()
