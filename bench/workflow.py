"""The workflow at 10,000 running instances: inbox and task completion, against hand-written SQL.

    .venv/bin/python bench/workflow.py [--instances 10000] [--requests 50] [--completions 100]
    .venv/bin/python bench/workflow.py --database-url postgres://qinglan:qinglan@127.0.0.1:5432/qinglan_bench_workflow

Works on its own database: SQLite in var/bench-workflow.sqlite3, or the PostgreSQL database
the URL names (created when missing), with var/bench-workflow/ as the var folder (cache,
media, secret key). The first run migrates and starts the instances; later runs reuse them and
start only what brings the running instances back to --instances (completions end some).

Every instance is started through the real service (workflow.services.start: the engine runs
the process, the task rows, assignments and audit trail are written as for any member) — no
bulk copies. Only the deadlines of a tenth of the role tasks are moved into the past with one
UPDATE (the instances would otherwise have to wait two days to be overdue).

Measured, in-process through Django's test Client (server time: middleware, view, SQL,
templates; no network), p50/p95 over --requests after two warm-up requests, with the CPU time
of this process (Python, templates, the driver; not the database server's) beside the wall
time — on a loaded machine the wall time also counts waiting for a core:
  inbox: GET /workflow/tasks/ for "wfb_busy" (5,000 tasks: assigned to them as the manager
  of 100 members, and open to the review role of theirs), its 21st page (cursor); for
  "wfb_lead01", a team lead in the same role (about 2,100 tasks, 200 overdue), open and
  overdue tabs; and for "wfb_lead07", a team lead without a role (about a hundred tasks);
  the inbox rows query (the ORM queryset of the open tab) against hand-written raw SQL
  returning the same 26 rows with the same columns (checked equal), and the ORM's own SQL run
  raw, with the ratios;
  completing a task: POST /workflow/tasks/<pk>/complete/ (approve) as the busy member, each on
  another instance (the instance ends: a leave request of one day), and services.complete()
  alone on others.
"""

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SEED = 20261127
PREFIX = "wfb_"
DEPARTMENTS = ("業務一部", "業務二部", "業務三部", "研發部", "採購部", "財務部", "行政部", "客服部")
TEAMS_PER_DEPARTMENT = 5
MEMBERS_PER_TEAM = 10
BUSY_REPORTS = 100  # members whose manager is wfb_busy
ROLE = "費用審核組"
SHARES = (("busy_leave", 0.30), ("expense", 0.20), ("leave", 0.50))  # of --instances

EXPENSE_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:qinglan="urn:qinglan:bpmn"
                  id="bench_expense_definitions" targetNamespace="urn:qinglan:bench">
  <bpmn:process id="bench_expense" name="費用報銷" isExecutable="true" qinglan:fallback="superusers">
    <bpmn:startEvent id="submitted" />
    <bpmn:sequenceFlow id="f1" sourceRef="submitted" targetRef="review" />
    <bpmn:userTask id="review" name="費用審核" qinglan:assignee="role:{role}" qinglan:due="P2D" />
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="decision" />
    <bpmn:exclusiveGateway id="decision" default="to_head" />
    <bpmn:sequenceFlow id="rejected_flow" sourceRef="decision" targetRef="rejected">
      <bpmn:conditionExpression>outcome == "reject"</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="to_head" sourceRef="decision" targetRef="head" />
    <bpmn:userTask id="head" name="部門主管核准" qinglan:assignee="department_head" />
    <bpmn:sequenceFlow id="f3" sourceRef="head" targetRef="approved" />
    <bpmn:endEvent id="approved" />
    <bpmn:endEvent id="rejected" />
  </bpmn:process>
</bpmn:definitions>
""".replace("{role}", ROLE)


def configure(database, url):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qinglan.settings")
    os.environ["QINGLAN_VAR_DIR"] = str(ROOT / "var" / "bench-workflow")
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
    if name == "qinglan":
        sys.exit("bench/workflow.py: give it its own database, not the shared development one (qinglan).")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            connection.execute(f'CREATE DATABASE "{name}"')


def log(*args):
    print(*args, flush=True)


# ---- data ------------------------------------------------------------------------------------


def ensure_people():
    """8 departments (head + 5 teams of a lead and 10 members each), wfb_busy managing 100
    members of its own department and member of the review role with four others."""
    from django.contrib.auth.hashers import make_password

    from qinglan.org.models import Department, Role, User

    if User.objects.filter(username=f"{PREFIX}busy").exists():
        return
    password = make_password("bench-workflow")
    company = Department(name="青藍工作流測試", code="WFB")
    company.new_parent = None
    company.save()

    def member(username, department, manager=None):
        return User.objects.create(username=username, password=password, department=department, manager=manager, display_name=username)

    serial = 0
    for number, name in enumerate(DEPARTMENTS, 1):
        department = Department(name=name, code=f"WFB-{number}")
        department.new_parent = company
        department.save()
        head = member(f"{PREFIX}head{number}", department)
        Department.objects.filter(pk=department.pk).update(head=head)
        for team in range(TEAMS_PER_DEPARTMENT):
            lead_number = (number - 1) * TEAMS_PER_DEPARTMENT + team + 1
            lead = member(f"{PREFIX}lead{lead_number:02d}", department, head)
            for _ in range(MEMBERS_PER_TEAM):
                serial += 1
                member(f"{PREFIX}m{serial:04d}", department, lead)
    shared = Department(name="共享服務部", code="WFB-S")
    shared.new_parent = company
    shared.save()
    busy = member(f"{PREFIX}busy", shared)
    Department.objects.filter(pk=shared.pk).update(head=busy)
    for index in range(BUSY_REPORTS):
        member(f"{PREFIX}r{index:03d}", shared, busy)
    role = Role.objects.create(name=ROLE)
    role.members.add(busy, *User.objects.filter(username__in=[f"{PREFIX}lead0{n}" for n in range(1, 5)]))


def running_counts():
    from qinglan.workflow.choices import InstanceStatus
    from qinglan.workflow.models import ProcessInstance

    running = ProcessInstance.objects.filter(status=InstanceStatus.RUNNING, initiator__username__startswith=PREFIX)
    return {
        "busy_leave": running.filter(definition__key="leave_request", initiator__manager__username=f"{PREFIX}busy").count(),
        "expense": running.filter(definition__key="bench_expense").count(),
        "leave": running.filter(definition__key="leave_request").exclude(initiator__manager__username=f"{PREFIX}busy").count(),
    }


def top_up(target):
    """Start instances through workflow.services.start until each share of `target` runs."""
    import datetime

    from django.db import transaction
    from django.utils import timezone

    from qinglan.org.models import User
    from qinglan.workflow import services
    from qinglan.workflow.models import ProcessDefinition, WorkTask

    services.ensure_fixed_processes()
    if not ProcessDefinition.objects.filter(key="bench_expense").exists():
        services.deploy(xml=EXPENSE_BPMN)
    rng = random.Random(SEED)
    reports = list(User.objects.filter(manager__username=f"{PREFIX}busy"))
    others = list(User.objects.filter(username__startswith=f"{PREFIX}m"))
    counts = running_counts()
    started_total, began = 0, time.perf_counter()
    for share, fraction in SHARES:
        missing = int(target * fraction) - counts[share]
        if missing <= 0:
            continue
        log(f"  starting {missing} {share} instances…")
        share_began = time.perf_counter()
        for batch_start in range(0, missing, 500):
            with transaction.atomic():
                for _ in range(min(500, missing - batch_start)):
                    applicant = rng.choice(reports if share == "busy_leave" else others)
                    if share == "expense":
                        amount = rng.randrange(500, 80000)
                        services.start(
                            definition_key="bench_expense", initiator=applicant, title=f"費用報銷：{applicant.username} NT$ {amount:,}",
                            data={"amount": amount, "reason": "出差交通與住宿"},
                        )
                    else:
                        day = datetime.date(2026, 12, 1) + datetime.timedelta(days=rng.randrange(60))
                        services.start(
                            definition_key="leave_request", initiator=applicant, title=f"請假單：{applicant.username}，1 天（{day.isoformat()}）",
                            data={"leave_type": "annual", "date_from": day.isoformat(), "date_to": day.isoformat(), "days": 1, "reason": "休假"},
                        )
            started_total += min(500, missing - batch_start)
        elapsed = time.perf_counter() - share_began
        log(f"    {missing} in {elapsed:.1f} s ({elapsed / missing * 1000:.1f} ms per start)")
    # a tenth of the role's tasks past their deadline (the only change not made by the services)
    open_review = WorkTask.objects.filter(instance__definition__key="bench_expense", bpmn_id="review", status="open")
    overdue_ids = list(open_review.order_by("id").values_list("id", flat=True)[::10])
    WorkTask.objects.filter(id__in=overdue_ids).update(due=timezone.now() - datetime.timedelta(hours=6))
    return started_total, time.perf_counter() - began


# ---- measuring ---------------------------------------------------------------------------------


def percentiles(samples):
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return statistics.median(ordered), p95


def fmt(seconds):
    return f"{seconds * 1000:.1f} ms"


def measure_page(client, url, requests):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(2):
        assert client.get(url).status_code == 200
    samples, cpu = [], []
    for _ in range(requests):
        began, began_cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        samples.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
        assert response.status_code == 200, response.status_code
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    return percentiles(samples), percentiles(cpu), len(queries), len(response.content)


def page_url(client, pages):
    """The URL of the `pages`+1-th inbox page, following Next."""
    import re

    url = "/workflow/tasks/"
    for _ in range(pages):
        content = client.get(url).content.decode()
        found = re.search(r'href="\?(tab=open&amp;after=[^"]+)"', content)
        if not found:
            break
        url = "/workflow/tasks/?" + found.group(1).replace("&amp;", "&")
    return url


def raw_inbox_sql():
    """Hand-written SQL of the open tab's rows: the member's open tasks (theirs, or offered to
    a role of theirs, their department or position), newest first, each way along its own
    index (the first 26 of each), merged; with the instance's title, its process's name, its
    initiator and the candidate names the row shows."""
    branch = "SELECT * FROM (SELECT id, created FROM workflow_worktask WHERE status = 'open' AND {} ORDER BY created DESC, id DESC LIMIT 26) b"
    roles = (
        "SELECT role_id FROM org_role_members WHERE user_id = %(member)s UNION SELECT rg.role_id FROM org_role_groups rg "
        "JOIN org_group_members gm ON gm.group_id = rg.group_id WHERE gm.user_id = %(member)s"
    )
    branches = " UNION ".join(branch.format(condition) for condition in (
        "assignee_id = %(member)s",
        f"assignee_id IS NULL AND candidate_role_id IN ({roles})",
        "assignee_id IS NULL AND candidate_department_id = %(department)s",
        "assignee_id IS NULL AND candidate_position_id = %(position)s",
    ))
    return f"""
        SELECT t.id, t.name, t.kind, t.countersign, t.created, t.due, t.assignee_id, t.instance_id,
               i.title, pd.name, pd.version, u.username, u.display_name, a.username, r.name, d.name, p.name
          FROM ({branches}) c
          JOIN workflow_worktask t ON t.id = c.id
          JOIN workflow_processinstance i ON i.id = t.instance_id
          JOIN workflow_processdefinition pd ON pd.id = i.definition_id
          JOIN org_user u ON u.id = i.initiator_id
          LEFT JOIN org_user a ON a.id = t.assignee_id
          LEFT JOIN org_role r ON r.id = t.candidate_role_id
          LEFT JOIN org_department d ON d.id = t.candidate_department_id
          LEFT JOIN org_position p ON p.id = t.candidate_position_id
         ORDER BY t.created DESC, t.id DESC
         LIMIT 26
    """


def time_calls(function, repeat):
    for _ in range(2):
        function()
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        function()
        samples.append(time.perf_counter() - began)
    return percentiles(samples)


def compare_inbox_sql(member, repeat):
    """The inbox's open-tab rows through the ORM (services.open_tasks_page with the view's
    task_rows), the same SQL statements run raw, and the hand-written SQL."""
    from django.db import connection

    from qinglan.workflow import services
    from qinglan.workflow.views import PAGE_SIZE, TABS, task_rows

    def orm():
        return [task.pk for task in services.open_tasks_page(member, TABS["open"], size=PAGE_SIZE, rows=task_rows).rows]

    statements = []

    def record(execute, sql, params, many, context):
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        orm()
    raw = raw_inbox_sql()
    raw_params = {"member": member.pk, "department": member.department_id or -1, "position": member.position_id or -1}
    if connection.vendor == "sqlite":  # the sqlite3 driver takes :name for named parameters
        raw = raw.replace("%(member)s", ":member").replace("%(department)s", ":department").replace("%(position)s", ":position")

    def run(sql, params):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [row[0] for row in cursor.fetchall()]

    def run_orm_sql():
        for sql, params in statements:
            run(sql, params)

    assert orm() == run(raw, raw_params)[:PAGE_SIZE], "the raw SQL does not return the ORM's rows"
    orm_time = time_calls(orm, repeat)
    orm_sql_time = time_calls(run_orm_sql, repeat)
    raw_time = time_calls(lambda: run(raw, raw_params), repeat)
    return orm_time, orm_sql_time, raw_time, len(statements)


def measure_completions(client, member, count, *, through_http):
    """Approve `count` open leave-request tasks of `member` (each its own instance)."""
    from qinglan.workflow import services
    from qinglan.workflow.models import WorkTask

    tasks = list(
        WorkTask.objects.filter(assignee=member, status="open", instance__definition__key="leave_request").order_by("id")[: count + 2]
    )
    samples = []
    for index, task in enumerate(tasks):
        began = time.perf_counter()
        if through_http:
            response = client.post(f"/workflow/tasks/{task.pk}/complete/", {"outcome": "approve", "comment": "同意"})
            assert response.status_code == 302 and response.url == "/workflow/tasks/", (response.status_code, response.get("Location"))
        else:
            services.complete(task=task, user=member, outcome="approve", comment="同意")
        if index >= 2:  # two warm-up completions
            samples.append(time.perf_counter() - began)
    task = WorkTask.objects.get(pk=tasks[-1].pk)
    assert task.status == "done" and task.instance.status == "approved"
    return percentiles(samples), len(samples)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=10000, help="running instances to keep (default 10,000)")
    parser.add_argument("--requests", type=int, default=50, help="requests per inbox case (default 50)")
    parser.add_argument("--completions", type=int, default=100, help="task completions per case (default 100)")
    parser.add_argument("--database", default=str(ROOT / "var" / "bench-workflow.sqlite3"), help="the SQLite file")
    parser.add_argument("--database-url", default="", help="a PostgreSQL URL instead (its database is created when missing)")
    args = parser.parse_args()
    configure(args.database, args.database_url)

    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from qinglan.org.models import User
    from qinglan.workflow.models import ProcessInstance, WorkTask

    call_command("migrate", verbosity=0)
    ensure_people()
    started, elapsed = top_up(args.instances)
    if started:
        log(f"started {started} instances through services.start in {elapsed:.0f} s ({elapsed / started * 1000:.1f} ms each)")
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    running = ProcessInstance.objects.filter(status="running").count()
    log(f"{connection.vendor} {connection.Database.sqlite_version if connection.vendor == 'sqlite' else connection.pg_version}: "
        f"{running} running instances, {WorkTask.objects.count()} task rows, {WorkTask.objects.filter(status='open').count()} open")

    busy = User.objects.get(username=f"{PREFIX}busy")
    lead = User.objects.get(username=f"{PREFIX}lead01")
    plain = User.objects.get(username=f"{PREFIX}lead07")
    from qinglan.workflow import services

    for member in (busy, lead, plain):
        log(f"{member.username}: {services.open_tasks(member).count()} open tasks, {services.overdue_tasks(member).count()} overdue")
    clients = {}
    for member in (busy, lead, plain):
        clients[member.pk] = Client()
        clients[member.pk].force_login(member)

    log("\n| case | p50 | p95 | CPU of this process p50 / p95 | queries | page |")
    log("|---|---|---|---|---|---|")
    cases = [
        ("inbox, wfb_busy, first page", busy, "/workflow/tasks/"),
        ("inbox, wfb_busy, page 21 (Next × 20)", busy, page_url(clients[busy.pk], 20)),
        ("inbox, wfb_lead01 (team lead in the role), open", lead, "/workflow/tasks/"),
        ("inbox, wfb_lead01, overdue tab", lead, "/workflow/tasks/?tab=overdue"),
        ("inbox, wfb_lead07 (team lead, no role), open", plain, "/workflow/tasks/"),
    ]
    for label, member, url in cases:
        (p50, p95), (cpu50, cpu95), queries, size = measure_page(clients[member.pk], url, args.requests)
        log(f"| {label} | {fmt(p50)} | {fmt(p95)} | {fmt(cpu50)} / {fmt(cpu95)} | {queries} | {size // 1024} KiB |")

    log("\n| inbox rows (first 25) | ORM p50 / p95 | its SQL run raw p50 / p95 (statements) | hand-written SQL p50 / p95 | ORM/raw | ORM SQL/raw |")
    log("|---|---|---|---|---|---|")
    for member in (busy, lead, plain):
        orm, orm_sql, raw, statements = compare_inbox_sql(member, args.requests * 4)
        log(f"| {member.username} | {fmt(orm[0])} / {fmt(orm[1])} | {fmt(orm_sql[0])} / {fmt(orm_sql[1])} ({statements}) | {fmt(raw[0])} / {fmt(raw[1])} "
            f"| {orm[0] / raw[0]:.1f}× | {orm_sql[0] / raw[0]:.1f}× |")

    log("\n| completing a task (approve; the instance ends) | p50 | p95 | n |")
    log("|---|---|---|---|")
    (p50, p95), n = measure_completions(clients[busy.pk], busy, args.completions, through_http=True)
    log(f"| POST /workflow/tasks/<pk>/complete/ as wfb_busy | {fmt(p50)} | {fmt(p95)} | {n} |")
    (p50, p95), n = measure_completions(None, busy, args.completions, through_http=False)
    log(f"| services.complete() | {fmt(p50)} | {fmt(p95)} | {n} |")


if __name__ == "__main__":
    main()
