"""Server time of the member list (GET /org/user/) at scale, against hand-written SQL.

    .venv/bin/python bench/members_list.py [--members 100000] [--requests 50]

Works on its own database: SQLite in var/bench.sqlite3 (with var/bench/ as the var folder
for cache, media and the secret key), or QINGLAN_DATABASE_URL when that is set. The first
run migrates and generates the members; later runs reuse them (and top up to --members).

For each case it prints p50/p95 of the whole request as served in-process by Django's test
Client, the SQL queries one request makes and their time, and the time of raw SQL doing the
page's essential work (the same 50 rows + the bounded count), with the ratio between them.
"""

import argparse
import os
import random
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PAGE_SIZE = 50
BENCH_EMAIL_DOMAIN = "bench.example"
SEED = 20260101

SURNAMES = [
    ("王", "wang"), ("李", "li"), ("張", "zhang"), ("劉", "liu"), ("陳", "chen"), ("楊", "yang"), ("黃", "huang"),
    ("趙", "zhao"), ("吳", "wu"), ("周", "zhou"), ("徐", "xu"), ("孫", "sun"), ("馬", "ma"), ("朱", "zhu"),
    ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("林", "lin"), ("高", "gao"), ("羅", "luo"), ("鄭", "zheng"),
    ("梁", "liang"), ("謝", "xie"), ("宋", "song"), ("唐", "tang"), ("許", "xu"), ("韓", "han"), ("鄧", "deng"),
    ("曹", "cao"), ("彭", "peng"), ("曾", "zeng"), ("蕭", "xiao"), ("田", "tian"), ("董", "dong"), ("潘", "pan"),
    ("袁", "yuan"), ("蔡", "cai"), ("蔣", "jiang"), ("葉", "ye"), ("杜", "du"), ("魏", "wei"), ("蘇", "su"),
    ("呂", "lv"), ("丁", "ding"), ("沈", "shen"), ("姚", "yao"), ("盧", "lu"), ("鍾", "zhong"), ("廖", "liao"),
    ("范", "fan"), ("汪", "wang"), ("陸", "lu"), ("金", "jin"), ("石", "shi"), ("賴", "lai"), ("洪", "hong"),
    ("邱", "qiu"), ("江", "jiang"), ("游", "you"), ("簡", "jian"),
]
GIVEN = [
    ("志", "zhi"), ("明", "ming"), ("美", "mei"), ("玲", "ling"), ("雅", "ya"), ("婷", "ting"), ("家", "jia"),
    ("豪", "hao"), ("建", "jian"), ("國", "guo"), ("淑", "shu"), ("芬", "fen"), ("俊", "jun"), ("傑", "jie"),
    ("怡", "yi"), ("君", "jun"), ("宗", "zong"), ("翰", "han"), ("佳", "jia"), ("穎", "ying"), ("冠", "guan"),
    ("宇", "yu"), ("承", "cheng"), ("恩", "en"), ("詩", "shi"), ("涵", "han"), ("柏", "bo"), ("宏", "hong"),
    ("嘉", "jia"), ("惠", "hui"), ("文", "wen"), ("華", "hua"), ("偉", "wei"), ("欣", "xin"), ("子", "zi"),
    ("晴", "qing"), ("品", "pin"), ("妤", "yu"), ("彥", "yan"), ("廷", "ting"), ("宥", "you"), ("辰", "chen"),
    ("雨", "yu"), ("萱", "xuan"), ("思", "si"), ("妍", "yan"), ("博", "bo"), ("凱", "kai"), ("育", "yu"),
    ("誠", "cheng"), ("信", "xin"), ("安", "an"), ("心", "xin"), ("琪", "qi"), ("瑋", "wei"), ("翔", "xiang"),
]
FIRST_NAMES = [
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William", "Elizabeth", "David",
    "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen", "Daniel", "Nancy",
    "Matthew", "Lisa", "Anthony", "Betty", "Mark", "Margaret", "Steven", "Sandra", "Paul", "Ashley", "Andrew",
    "Emily", "Joshua", "Michelle", "Kevin", "Amanda", "Brian", "Melissa", "George", "Stephanie", "Edward", "Rebecca",
    "Jason", "Laura", "Ryan", "Helen", "Eric", "Amy", "Peter", "Grace", "Oliver", "Chloe", "Lucas", "Sophie",
]
LAST_NAMES = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Thompson",
    "White", "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Green",
    "Baker", "Adams", "Nelson", "Hill", "Campbell", "Mitchell", "Roberts", "Carter", "Phillips", "Evans", "Turner",
    "Parker", "Collins", "Edwards", "Stewart", "Morris", "Murphy", "Cook", "Rogers", "Morgan", "Cooper", "Reed",
]
# 1 company + 5 divisions × 3 departments × (the department + 2 teams) = 51 departments.
DIVISIONS = {
    "業務處": ["北區業務部", "中區業務部", "南區業務部"],
    "研發處": ["軟體開發部", "硬體設計部", "品質保證部"],
    "營運處": ["採購部", "倉儲物流部", "客戶服務部"],
    "財務處": ["會計部", "稅務部", "資金管理部"],
    "行政處": ["人力資源部", "資訊部", "法務部"],
}
POSITIONS = [
    ("總經理", 1), ("處長", 2), ("經理", 3), ("副理", 4), ("課長", 5), ("組長", 6), ("資深專員", 7), ("專員", 8),
    ("工程師", 8), ("資深工程師", 7), ("會計師", 7), ("業務代表", 8), ("助理", 9), ("實習生", 10), ("顧問", 5),
]


def configure(database):
    """Point Django at the bench database before it is set up."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qinglan.settings")
    os.environ["QINGLAN_VAR_DIR"] = str(ROOT / "var" / "bench")
    os.environ.setdefault("QINGLAN_DEBUG", "0")  # as in production: no query log kept, cached templates
    os.environ.setdefault("QINGLAN_LOG_LEVEL", "ERROR")
    from django.conf import settings

    if not os.environ.get("QINGLAN_DATABASE_URL"):
        settings.DATABASES["default"]["NAME"] = str(Path(database).resolve())
    import django

    django.setup()
    return settings.DATABASES["default"]


# ---- data ------------------------------------------------------------------------------


def ensure_departments():
    from qinglan.org.models import Department

    def get_or_add(name, code, parent):
        existing = Department.objects.filter(code=code).first()
        if existing:
            return existing
        department = Department(name=name, code=code)
        department.new_parent = parent
        department.save()
        return Department.objects.get(code=code)

    company = get_or_add("青藍集團", "BENCH", None)
    for division_number, (division, departments) in enumerate(DIVISIONS.items(), 1):
        division_node = get_or_add(division, f"BENCH-{division_number}", company)
        for department_number, name in enumerate(departments, 1):
            code = f"BENCH-{division_number}{department_number}"
            department_node = get_or_add(name, code, division_node)
            for team_number, team in enumerate(("一組", "二組"), 1):
                get_or_add(f"{name[:-1]}{team}", f"{code}{team_number}", department_node)
    return list(Department.objects.filter(code__startswith="BENCH"))


def ensure_positions():
    from qinglan.org.models import Position

    for name, level in POSITIONS:
        Position.objects.get_or_create(name=name, defaults={"level": level})
    return list(Position.objects.filter(name__in=[name for name, _level in POSITIONS]))


def person(rng):
    """(username stem, display name, first name, last name) of a Chinese or English name."""
    if rng.random() < 0.7:
        surname, surname_pinyin = rng.choice(SURNAMES)
        given = rng.sample(GIVEN, rng.choice((1, 2, 2, 2)))
        given_text = "".join(char for char, _pinyin in given)
        given_pinyin = "".join(pinyin for _char, pinyin in given)
        return f"{given_pinyin}.{surname_pinyin}", surname + given_text, given_text, surname
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    return f"{first}.{last}".lower(), f"{first} {last}", first, last


def generate_members(target, departments, positions, log):
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from qinglan.org.models import User

    bench_members = User.objects.filter(email__endswith=f"@{BENCH_EMAIL_DOMAIN}")
    existing = bench_members.count()
    if existing >= target:
        log(f"reusing {existing:,} generated members")
        return existing
    missing = target - existing
    log(f"generating {missing:,} members ({existing:,} already there)…")
    started = time.perf_counter()
    password = make_password("bench-password-2026")  # one hash shared by every generated member
    taken = set(User.objects.values_list("username", flat=True))
    rng = random.Random(SEED + existing)
    # Departments are not equally big: teams hold most people, the company root few.
    weights = [1 if d.depth == 1 else 3 if d.depth == 2 else 8 if d.depth == 3 else 12 for d in departments]
    batch = []
    with transaction.atomic():
        for index in range(existing, target):
            stem, display, first, last = person(rng)
            username = stem
            while username in taken:
                username = f"{stem}{rng.randint(1, 9999)}"
            taken.add(username)
            batch.append(
                User(
                    username=username,
                    password=password,
                    display_name=display,
                    first_name=first,
                    last_name=last,
                    email=f"{username}@{BENCH_EMAIL_DOMAIN}",
                    employee_number=f"E{index + 1:07d}",
                    mobile=f"09{rng.randint(10, 99)}-{rng.randint(100, 999)}-{rng.randint(100, 999)}",
                    department=rng.choices(departments, weights)[0],
                    position=rng.choice(positions),
                    is_active=rng.random() > 0.05,
                )
            )
            if len(batch) == 5000:
                User.objects.bulk_create(batch)
                batch = []
        if batch:
            User.objects.bulk_create(batch)
    log(f"  done in {time.perf_counter() - started:.1f} s")
    return target


def ensure_viewers(departments):
    """A superuser, and a sales-division manager whose role sees members in their
    department and below."""
    from django.contrib.contenttypes.models import ContentType

    from qinglan.core.permissions import Scope
    from qinglan.org.models import Role, RolePermission, User

    admin = User.objects.filter(username="bench-admin").first() or User.objects.create_superuser(
        username="bench-admin", email="bench-admin@bench.invalid", password="bench-password-2026"
    )
    division = next(d for d in departments if d.code == "BENCH-1")
    manager = User.objects.filter(username="bench-manager").first() or User.objects.create_user(
        username="bench-manager", email="bench-manager@bench.invalid", password="bench-password-2026", department=division
    )
    role, _created = Role.objects.get_or_create(name="bench: members in own department and below")
    role.members.add(manager)
    RolePermission.objects.update_or_create(
        role=role, content_type=ContentType.objects.get_for_model(User), defaults={"actions": ["view"], "scope": Scope.SUBTREE}
    )
    return admin, manager, division


def analyze():
    """Fresh planner statistics, as a production database has them."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


# ---- measuring -------------------------------------------------------------------------


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def timed_requests(client, url, count):
    """Milliseconds per GET, after two warm-up requests."""
    for _ in range(2):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return times, response


class ExecuteTimer:
    """Time spent in cursor.execute() (what Django's query log records, to the µs), and
    the statements with their parameters, to run them again exactly as sent."""

    def __init__(self):
        self.seconds = 0.0
        self.statements = []

    def __call__(self, execute, sql, params, many, context):
        if not many:
            self.statements.append((sql, params))
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started


def capture(client, url):
    """(response, queries, ms in execute) of one request."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    timer = ExecuteTimer()
    with CaptureQueriesContext(connection) as context, connection.execute_wrapper(timer):
        response = client.get(url)
    return response, list(context.captured_queries), timer


def run_sql(sql, params=()):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def replay_ms(statements, rounds):
    """Median time the database spends on the page's read queries, run again with the
    same parameters (execute, then fetch every row as the ORM does)."""
    from django.db import connection

    selects = [(sql, params) for sql, params in statements if sql.lstrip().upper().startswith("SELECT")]
    totals = []
    for _ in range(rounds):
        started = time.perf_counter()
        with connection.cursor() as cursor:
            for sql, params in selects:
                cursor.execute(sql, params)
                cursor.fetchall()
        totals.append((time.perf_counter() - started) * 1000)
    return statistics.median(totals)


def is_page_work(sql):
    """The ORM's rows query (a LIMIT 51 over members) or its bounded count."""
    flat = " ".join(sql.split())
    over_members = 'FROM "org_user"' in flat
    return over_members and (flat.endswith(f"LIMIT {PAGE_SIZE + 1}") or flat.startswith("SELECT COUNT(*) FROM (SELECT"))


def raw_ms(statements, rounds):
    totals, result = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        result = [run_sql(sql, params) for sql, params in statements]
        totals.append((time.perf_counter() - started) * 1000)
    return statistics.median(totals), result


def page_pks(response):
    return [int(pk) for pk in re.findall(r'name="pk" value="(\d+)"', response.content.decode())]


def next_cursor(response):
    match = re.search(r'after=([A-Za-z0-9_\-]+)" rel="next"', response.content.decode())
    return match.group(1) if match else None


def shape(sql):
    """A query with its literal values taken out, to spot the same query run per row."""
    sql = re.sub(r"'(?:[^']|'')*'", "?", sql)
    sql = re.sub(r"\b\d+\b", "?", sql)
    return re.sub(r"\?(?:\s*,\s*\?)+", "?…", sql)[:160]


# Hand-written SQL of the page's essential work. The member columns and the two joined
# names are what the table shows; the count is bounded like bounded_count().
ROWS_SQL = """
    SELECT u.id, u.username, u.display_name, d.name, p.name, u.email, u.mobile, u.is_active
    FROM org_user u
    LEFT JOIN org_department d ON d.id = u.department_id
    LEFT JOIN org_position p ON p.id = u.position_id
    WHERE {where}
    ORDER BY u.username, u.id
    LIMIT {limit}
"""
COUNT_SQL = "SELECT COUNT(*) FROM (SELECT 1 FROM org_user u WHERE {where} LIMIT {limit}) bounded"


def raw_statements(where, params, count_limit):
    return [
        (ROWS_SQL.format(where=where, limit=PAGE_SIZE + 1), params),
        (COUNT_SQL.format(where=where, limit=count_limit + 1), params),
    ]


def measure(name, client, url, raw, requests, log, show_queries):
    times, response = timed_requests(client, url, requests)
    captures = [capture(client, url) for _ in range(max(5, requests // 10))]
    response, queries, timer = captures[-1]
    counts = [len(queries) for _response, queries, _timer in captures]
    logged_ms = statistics.median(timer.seconds * 1000 for _response, _queries, timer in captures)
    rounds = max(20, requests)
    orm_sql_ms = replay_ms(timer.statements, rounds)
    same_work = [statement for statement in timer.statements if is_page_work(statement[0])]
    orm_work_ms = replay_ms(same_work, rounds)
    raw_sql_ms, raw_result = raw_ms(raw, rounds)
    raw_pks = [row[0] for row in raw_result[0][:PAGE_SIZE]]
    same_rows = page_pks(response) == raw_pks
    repeated = [(sql, n) for sql, n in Counter(shape(query["sql"]) for query in queries).most_common() if n > 1]
    log(f"\n{name}\n  GET {url[:110]}")
    log(f"  request     p50 {statistics.median(times):8.1f} ms   p95 {percentile(times, 0.95):8.1f} ms   ({requests} requests, page {len(response.content) / 1024:,.0f} KiB)")
    log(f"  SQL         {statistics.median(counts):.0f} queries/request ({min(counts)}–{max(counts)}); "
        f"{logged_ms:.2f} ms in execute; re-run with every row fetched {orm_sql_ms:.2f} ms")
    log(f"  raw SQL     {raw_sql_ms:.2f} ms for the page of {PAGE_SIZE} + bounded count (= {raw_result[1][0][0]:,}); "
        f"the ORM's {len(same_work)} queries for that work {orm_work_ms:.2f} ms; same rows: {'yes' if same_rows else 'NO'}")
    log(f"  ORM-SQL/raw-SQL   {orm_work_ms / raw_sql_ms:.1f}x for the same work, {orm_sql_ms / raw_sql_ms:.1f}x for all of the page's SQL")
    if repeated:
        log("  repeated query shapes: " + "; ".join(f"{n}× {sql[:90]}" for sql, n in repeated[:4]))
    if show_queries:
        for query in queries:
            log(f"    {query['sql'][:400]}")
    return response


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=100_000, help="members to generate (default 100000)")
    parser.add_argument("--requests", type=int, default=50, help="timed requests per case (at least 50 recommended)")
    parser.add_argument("--database", default=str(ROOT / "var" / "bench.sqlite3"), help="SQLite file (default var/bench.sqlite3)")
    parser.add_argument("--deep", type=int, default=20, help="pages to follow with Next before timing (default 20)")
    parser.add_argument("--show-queries", action="store_true", help="print every query of one request")
    args = parser.parse_args()

    database = configure(args.database)
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from qinglan.core.pagination import encode_cursor
    from qinglan.core.registry import registry
    from qinglan.core.views import sort_keys_for
    from qinglan.org.models import Department, User

    log = print
    log(f"database: {connection.vendor} {database.get('NAME')}")
    call_command("migrate", verbosity=0)
    departments = ensure_departments()
    positions = ensure_positions()
    generated = generate_members(args.members, departments, positions, log)
    admin, manager, division = ensure_viewers(departments)
    analyze()
    total = User.objects.count()
    log(f"{total:,} members in {Department.objects.count()} departments ({generated:,} generated); "
        f"page size {PAGE_SIZE}, count limit {settings.QINGLAN_COUNT_LIMIT}")
    limit = settings.QINGLAN_COUNT_LIMIT

    admin_client, manager_client = Client(), Client()
    admin_client.force_login(admin)
    manager_client.force_login(manager)
    keys = sort_keys_for(registry.get(User), None)
    subtree = "(u.id = %s OR u.department_id IN (SELECT id FROM org_department WHERE path LIKE %s))"
    team = max((d for d in departments if d.depth == 4), key=lambda d: User.objects.filter(department=d).count())

    def cases():
        yield ("(a) superuser, default sort", admin_client, "/org/user/", raw_statements("1 = 1", [], limit))
        yield ("(b) member whose role sees members of their department and below", manager_client, "/org/user/",
               raw_statements(subtree, [manager.pk, division.path + "%"], limit))
        yield (f"(c) superuser, one filter (department = {team.name})", admin_client, f"/org/user/?department={team.pk}",
               raw_statements("u.department_id = %s", [team.pk], limit))
        url = "/org/user/"
        pages = 1
        for _ in range(args.deep):
            cursor = next_cursor(admin_client.get(url))
            if cursor is None:
                break
            url, pages = f"/org/user/?after={cursor}", pages + 1
        if pages > 1:
            yield (f"(d) superuser, page {pages} reached with Next", admin_client, url, keyset_statements(url, keys, limit))
        # Where keyset pages should shine: far into the list, reached from a bookmark.
        row = User.objects.order_by("username", "pk").values_list("username", "pk")[int(total * 0.9)]
        url = f"/org/user/?after={encode_cursor(SimpleNamespace(username=row[0], pk=row[1]), keys)}"
        yield ("(e) superuser, a page 90% of the way down the list (cursor from a bookmark)", admin_client, url,
               keyset_statements(url, keys, limit))

    for case in cases():
        measure(*case, args.requests, log, args.show_queries)


def keyset_statements(url, keys, limit):
    """Raw SQL of a page after a keyset cursor: a row-value comparison the index can seek."""
    from qinglan.core.pagination import decode_cursor

    username, pk = decode_cursor(url.rsplit("after=", 1)[1], keys)
    return [
        (ROWS_SQL.format(where="(u.username, u.id) > (%s, %s)", limit=PAGE_SIZE + 1), [username, pk]),
        (COUNT_SQL.format(where="1 = 1", limit=limit + 1), []),
    ]


if __name__ == "__main__":
    main()
