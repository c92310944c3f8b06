"""The stock ledger under load (issue 5), on PostgreSQL:

1. postings per second with 32 writers: (a) the mixed workload of the concurrency test
   (receipts, deliveries, two-step transfers, reservations, cancelled deliveries: each
   document created and posted through the services) and (b) posting only, of drafts made
   beforehand, against hand-written SQL doing a posting's essential work (lock the warehouse
   FOR SHARE and the balance FOR UPDATE, insert the entry, update the balance) with the same
   32 threads; afterwards every balance is checked against the ledger;
2. the stock report over a large ledger: --entries movements generated with COPY over
   --products products and 6 warehouses, the balances rebuilt from them with
   recompute_balances(); then the real-time report (from the balances), the report on a past
   date (summed from the whole ledger, then from the month-end snapshot of 2025-12-01 taken by
   the bench and the movements since) and the product's movement history, through the test
   Client, p50/p95, against hand-written SQL of the same work.

    QINGLAN_DATABASE_URL=postgres://qinglan:qinglan@127.0.0.1:5432/qinglan_bench_inventory \\
        .venv/bin/python bench/inventory.py [--seconds 30] [--writers 32] [--entries 10000000] [--requests 20]

The database named in QINGLAN_DATABASE_URL is created when missing and migrated. Generated
movements are reused by later runs (topped up to --entries).
"""

import argparse
import datetime
import io
import logging
import os
import random
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def configure():
    url = os.environ.get("QINGLAN_DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("bench/inventory.py needs PostgreSQL: set QINGLAN_DATABASE_URL (a database of its own).")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qinglan.settings")
    os.environ["QINGLAN_VAR_DIR"] = str(ROOT / "var" / "bench-inventory")
    os.environ.setdefault("QINGLAN_DEBUG", "0")
    os.environ.setdefault("QINGLAN_LOG_LEVEL", "ERROR")
    import dj_database_url
    import psycopg

    params = dj_database_url.parse(url)
    with psycopg.connect(dbname="postgres", user=params["USER"], password=params["PASSWORD"], host=params["HOST"], port=params["PORT"] or 5432, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [params["NAME"]]).fetchone():
            conn.execute(f'CREATE DATABASE "{params["NAME"]}"')
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] if ordered else 0.0


class RetryCounter(logging.Handler):
    def __init__(self):
        super().__init__()
        self.count = 0

    def emit(self, record):
        if "retried" in record.getMessage():
            self.count += 1


def load():
    """The machine's load average (1, 5, 15 minutes), printed beside every figure: the machine
    is shared and the figures move with it."""
    return "load " + " ".join(f"{value:.1f}" for value in os.getloadavg())


def child_retries(reset=False):
    """The retries counted in this (forked) process."""
    handler = next((h for h in logging.getLogger("qinglan.inventory").handlers if isinstance(h, RetryCounter)), None)
    if handler is None:
        return 0
    if reset:
        handler.count = 0
    return handler.count


def threads(count, target):
    workers = [threading.Thread(target=target, args=(index,)) for index in range(count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


# ---- 1. postings per second ----------------------------------------------------------------------


def write_steps(workload, rng, deadline, lock, latencies, counts, errors, started=None):
    """One writer of the mixed workload: steps until deadline[0] (set by `started`, if given,
    after the writers' start gate), its latencies and counts added under `lock` at the end."""
    from django.core.exceptions import ValidationError
    from django.db import connection

    mine, postings, refusals = [], 0, 0
    try:
        if started is not None:
            started()
        while time.monotonic() < deadline[0]:
            began = time.perf_counter()
            try:
                postings += workload.step(rng)
            except ValidationError:
                refusals += 1
            mine.append((time.perf_counter() - began) * 1000)
    except Exception as error:  # noqa: BLE001 - reported below
        errors.append(repr(error))
    finally:
        with lock:
            latencies.extend(mine)
            counts["postings"] += postings
            counts["refusals"] += refusals
            counts["requests"] += len(mine)
        connection.close()


def mixed_workload(seconds, writers):
    from qinglan.inventory.tests.test_concurrency import Workload, check_consistency

    workload = Workload.create(prefix=f"M{int(time.time())}")
    latencies, lock = [], threading.Lock()
    counts = {"postings": 0, "refusals": 0, "requests": 0}
    errors = []
    start_gate = threading.Barrier(writers)
    deadline = [0.0]

    def writer(seed):
        def started():
            start_gate.wait()
            with lock:
                deadline[0] = deadline[0] or time.monotonic() + seconds

        write_steps(workload, random.Random(seed), deadline, lock, latencies, counts, errors, started)

    began = time.monotonic()
    threads(writers, writer)
    elapsed = time.monotonic() - began
    balances = check_consistency(workload)
    return {"elapsed": elapsed, "latencies": latencies, "errors": errors, "balances": balances, **counts}


def mixed_workload_processes(seconds, writers, processes):
    """mixed_workload's work by `processes` forked processes of writers / processes threads each
    (as a deployment runs several app processes, each with its own GIL), then every invariant
    checked as in (a)."""
    import multiprocessing

    from django.db import connections

    from qinglan.inventory.tests.test_concurrency import Workload, check_consistency

    workload = Workload.create(prefix=f"N{int(time.time())}")
    connections.close_all()
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    start = context.Barrier(processes)

    def child(number):
        lock, deadline = threading.Lock(), [0.0]
        latencies, counts, errors = [], {"postings": 0, "refusals": 0, "requests": 0}, []
        child_retries(reset=True)
        start.wait()
        deadline[0] = time.monotonic() + seconds

        def writer(index):
            write_steps(workload, random.Random(number * 1000 + index), deadline, lock, latencies, counts, errors)

        threads(max(1, writers // processes), writer)
        results.put({"latencies": latencies, "errors": errors, "retries": child_retries(), **counts})

    children = [context.Process(target=child, args=(number,)) for number in range(processes)]
    began = time.monotonic()
    for process in children:
        process.start()
    gathered = [results.get() for _ in children]
    for process in children:
        process.join()
    elapsed = time.monotonic() - began
    return {
        "elapsed": elapsed, "latencies": [v for r in gathered for v in r["latencies"]], "errors": [e for r in gathered for e in r["errors"]],
        "balances": check_consistency(workload), **{name: sum(r[name] for r in gathered) for name in ("postings", "refusals", "requests", "retries")},
    }


def post_only(seconds, writers):
    """Drafts of one delivery or receipt line made beforehand, posted by `writers` threads."""
    from django.db import connection

    from qinglan.inventory import services
    from qinglan.inventory.choices import DocumentKind
    from qinglan.inventory.tests.test_concurrency import Workload

    workload = Workload.create(prefix=f"P{int(time.time())}")
    if seconds <= 0:  # only the workload, for (c)
        return {"workload": workload}
    expected = int(seconds * 250) + 500  # more drafts than this machine posts in the time (if they run out, the rate is over the time taken)
    rng = random.Random(7)
    warehouses = [*workload.physical, workload.negative]
    drafts = []
    for index in range(expected):
        kind = DocumentKind.RECEIPT if index % 2 else DocumentKind.DELIVERY
        line = {"product": rng.choice(workload.products), "quantity": Decimal(rng.randint(1, 3))}
        if kind == DocumentKind.RECEIPT:
            line["unit_cost"] = Decimal(rng.randint(8, 16))
        drafts.append(services.create_document(kind=kind, warehouse=rng.choice(warehouses), lines=[line], user=workload.user))
    queue = list(reversed(drafts))
    lock = threading.Lock()
    latencies, counts, errors = [], {"postings": 0, "refusals": 0}, []
    gate = threading.Barrier(writers)
    deadline = [0.0]

    def writer(_index):
        from django.core.exceptions import ValidationError

        mine = []
        try:
            gate.wait()
            with lock:
                deadline[0] = deadline[0] or time.monotonic() + seconds
            while time.monotonic() < deadline[0]:
                with lock:
                    if not queue:
                        break
                    document = queue.pop()
                began = time.perf_counter()
                try:
                    services.post_document(record=document, user=workload.user)
                    outcome = "postings"
                except ValidationError:
                    outcome = "refusals"
                mine.append((time.perf_counter() - began) * 1000)
                with lock:
                    counts[outcome] += 1
        except Exception as error:  # noqa: BLE001
            errors.append(repr(error))
        finally:
            with lock:
                latencies.extend(mine)
            connection.close()

    began = time.monotonic()
    threads(writers, writer)
    elapsed = time.monotonic() - began
    return {"elapsed": min(elapsed, seconds + 5), "latencies": latencies, "errors": errors, "workload": workload, "left": len(queue), **counts}


def post_only_processes(seconds, writers, processes):
    """post_only's work spread over `processes` forked processes of writers / processes threads
    each, as a deployment runs several app processes (one process's threads share one GIL)."""
    import multiprocessing

    from django.db import connections

    from qinglan.inventory import services
    from qinglan.inventory.choices import DocumentKind
    from qinglan.inventory.tests.test_concurrency import Workload

    workload = Workload.create(prefix=f"F{int(time.time())}")
    rng = random.Random(11)
    warehouses = [*workload.physical, workload.negative]
    per_process = int(seconds * 250 / processes) + 100
    batches = []
    for _ in range(processes):
        ids = []
        for index in range(per_process):
            kind = DocumentKind.RECEIPT if index % 2 else DocumentKind.DELIVERY
            line = {"product": rng.choice(workload.products), "quantity": Decimal(rng.randint(1, 3))}
            if kind == DocumentKind.RECEIPT:
                line["unit_cost"] = Decimal(rng.randint(8, 16))
            ids.append(services.create_document(kind=kind, warehouse=rng.choice(warehouses), lines=[line], user=workload.user).pk)
        batches.append(ids)
    connections.close_all()
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    start = context.Barrier(processes)

    def child(ids):
        from django.core.exceptions import ValidationError
        from django.db import connection

        from qinglan.inventory.models import StockDocument

        queue, lock = list(reversed(ids)), threading.Lock()
        latencies, counts, errors = [], {"postings": 0, "refusals": 0}, []
        deadline = [0.0]
        start.wait()
        deadline[0] = time.monotonic() + seconds

        def writer(_index):
            mine = []
            try:
                while time.monotonic() < deadline[0]:
                    with lock:
                        if not queue:
                            break
                        pk = queue.pop()
                    began = time.perf_counter()
                    try:
                        services.post_document(record=StockDocument(pk=pk), user=workload.user)
                        outcome = "postings"
                    except ValidationError:
                        outcome = "refusals"
                    mine.append((time.perf_counter() - began) * 1000)
                    with lock:
                        counts[outcome] += 1
            except Exception as error:  # noqa: BLE001
                errors.append(repr(error))
            finally:
                with lock:
                    latencies.extend(mine)
                connection.close()

        threads(max(1, writers // processes), writer)
        results.put({"latencies": latencies, "errors": errors, **counts})

    children = [context.Process(target=child, args=(ids,)) for ids in batches]
    began = time.monotonic()
    for process in children:
        process.start()
    gathered = [results.get() for _ in children]
    for process in children:
        process.join()
    elapsed = time.monotonic() - began
    return {
        "elapsed": min(elapsed, seconds + 5), "latencies": [v for r in gathered for v in r["latencies"]],
        "errors": [e for r in gathered for e in r["errors"]], "postings": sum(r["postings"] for r in gathered),
        "refusals": sum(r["refusals"] for r in gathered),
    }


def raw_postings(seconds, writers, workload):
    """The same essential work by hand, one psycopg connection per thread: lock the warehouse
    FOR SHARE, the balance FOR UPDATE, insert the entry, update the balance, commit."""
    import psycopg
    from django.db import connection

    settings = connection.settings_dict
    product_ids = [p.pk for p in workload.products]
    warehouse_ids = [w.pk for w in workload.physical]
    latencies, lock, counts = [], threading.Lock(), {"postings": 0}
    gate = threading.Barrier(writers)
    deadline = [0.0]

    def writer(seed):
        rng = random.Random(seed)
        conn = psycopg.connect(dbname=settings["NAME"], user=settings["USER"], password=settings["PASSWORD"], host=settings["HOST"], port=settings["PORT"] or 5432)
        mine = []
        gate.wait()
        with lock:
            deadline[0] = deadline[0] or time.monotonic() + seconds
        while time.monotonic() < deadline[0]:
            product, warehouse = rng.choice(product_ids), rng.choice(warehouse_ids)
            quantity = Decimal(rng.randint(1, 3)) * (1 if rng.random() < 0.5 else -1)
            began = time.perf_counter()
            with conn.transaction():
                conn.execute("SELECT id, frozen, allow_negative FROM inventory_warehouse WHERE id = %s FOR SHARE", [warehouse])
                row = conn.execute(
                    "SELECT id, on_hand, value FROM inventory_stockbalance WHERE product_id = %s AND warehouse_id = %s "
                    "AND variant_id IS NULL AND batch_id IS NULL FOR UPDATE", [product, warehouse],
                ).fetchone()
                balance_id, on_hand, value = row
                if on_hand + quantity < 0:
                    continue
                cost = (value / on_hand).quantize(Decimal("0.0001")) if on_hand > 0 else Decimal(10)
                amount = (quantity * cost).quantize(Decimal("0.0001"))
                conn.execute(
                    "INSERT INTO inventory_stockentry (product_id, warehouse_id, quantity, unit_cost, value, kind, posted_at) "
                    "VALUES (%s, %s, %s, %s, %s, 'adjustment', now())", [product, warehouse, quantity, cost, amount],
                )
                conn.execute("UPDATE inventory_stockbalance SET on_hand = on_hand + %s, value = value + %s WHERE id = %s", [quantity, amount, balance_id])
            mine.append((time.perf_counter() - began) * 1000)
        conn.close()
        with lock:
            latencies.extend(mine)
            counts["postings"] += len(mine)

    began = time.monotonic()
    threads(writers, writer)
    return {"elapsed": time.monotonic() - began, "latencies": latencies, **counts}


# ---- 0. one posting, statement by statement -----------------------------------------------------


def profile_postings(rounds):
    """Statements and their time (an execute wrapper) and Python time (cProfile) of one posting
    of each kind on an idle connection: a receipt of 3 lines, a delivery of 3 lines, a transfer
    dispatched and received, a delivery cancelled. Prints per case: statements, SQL ms, wall
    ms and Python CPU ms per posting (medians of the rounds not under cProfile), the CPU the
    PostgreSQL backend spent per posting (backend_cpu(), their mean), the statements of the
    last round, and the functions cProfile (every other round, on CPU time) finds most
    expensive."""
    import cProfile
    import pstats

    from django.db import connection

    from qinglan.inventory import services
    from qinglan.inventory.choices import DocumentKind
    from qinglan.inventory.tests.test_concurrency import Workload

    workload = Workload.create(prefix=f"Q{int(time.time())}")
    user, (first, second) = workload.user, workload.physical
    products = workload.products[:3]

    def receipt():
        return services.create_document(kind=DocumentKind.RECEIPT, warehouse=first, user=user, lines=[
            {"product": p, "quantity": Decimal(5), "unit_cost": Decimal(11)} for p in products])

    def delivery():
        return services.create_document(kind=DocumentKind.DELIVERY, warehouse=first, user=user, lines=[
            {"product": p, "quantity": Decimal(1)} for p in products])

    def transfer():
        return services.create_document(kind=DocumentKind.TRANSFER, warehouse=first, to_warehouse=second, transit_warehouse=workload.transit,
                                        user=user, lines=[{"product": products[0], "quantity": Decimal(1)}])

    def post(document):
        services.post_document(record=document, user=user)

    def both_steps(document):
        services.dispatch_transfer(record=document, user=user)
        services.receive_transfer(record=document, user=user)

    def cancel(document):
        services.cancel_document(record=document, user=user)

    def posted_delivery():
        document = delivery()
        post(document)
        return document

    cases = [("receipt, 3 lines", receipt, post, 1), ("delivery, 3 lines", delivery, post, 1),
             ("transfer, dispatched + received", transfer, both_steps, 2), ("delivery cancelled", posted_delivery, cancel, 1)]
    rows = []
    for label, make, act, postings in cases:
        statements, walls, sqls, last, cpus, servers = [], [], [], [], [], []
        profiler = cProfile.Profile(time.thread_time)  # CPU time: blocking on the server or the disk does not count
        for round_ in range(rounds):
            document = make()
            seen = []
            backend = backend_cpu()
            profiled = round_ % 2  # every other round under cProfile; the times are the others'

            def wrapper(execute, sql, params, many, context, seen=seen):
                began = time.perf_counter()
                try:
                    return execute(sql, params, many, context)
                finally:
                    seen.append((time.perf_counter() - began, sql))

            began, cpu = time.perf_counter(), time.thread_time()
            with connection.execute_wrapper(wrapper):
                if profiled:
                    profiler.enable()
                act(document)
                profiler.disable()
            if profiled:
                continue
            walls.append((time.perf_counter() - began) * 1000 / postings)
            cpus.append((time.thread_time() - cpu) * 1000 / postings)
            servers.append(backend_cpu() - backend)
            statements.append(len(seen) / postings)
            sqls.append(sum(t for t, _sql in seen) * 1000 / postings)
            last = seen
        rows.append((label, percentile(statements, 0.5), percentile(sqls, 0.5), percentile(walls, 0.5), percentile(cpus, 0.5), sum(servers) * 1000 / (len(servers) * postings)))
        print(f"\n{label}: {percentile(statements, 0.5):.1f} statements per posting, SQL {percentile(sqls, 0.5):.1f} ms, "
              f"wall {percentile(walls, 0.5):.1f} ms, Python CPU {percentile(cpus, 0.5):.1f} ms "
              f"(medians of the {len(walls)} rounds not under cProfile), PostgreSQL CPU {rows[-1][-1]:.1f} ms (their mean: /proc counts 10 ms ticks); "
              "the last round's statements:", flush=True)
        for took, sql in last:
            print(f"   {took * 1000:6.2f} ms  {' '.join(sql.split())[:150]}")
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).sort_stats(os.environ.get("INV_PROFILE_SORT", "cumulative")).print_stats(18)
        print("\n".join(line for line in stream.getvalue().splitlines() if line.strip())[:4000])
    print(f"\n{'case':<34} {'statements':>10} {'SQL ms':>8} {'wall ms':>8} {'Python CPU ms':>14} {'PostgreSQL CPU ms':>18}   ({load()})")
    for label, count, sql_ms, wall, cpu, server in rows:
        print(f"{label:<34} {count:10.1f} {sql_ms:8.1f} {wall:8.1f} {cpu:14.2f} {server:18.2f}")


def backend_cpu():
    """CPU seconds the PostgreSQL backend of this thread's connection has used (user + system,
    from /proc: the server runs on this machine). With the client's own CPU time it is what a
    posting costs the two cores whatever the load: 1,000 postings/s on 2 cores leave 2 ms."""
    from django.db import connection

    connection.ensure_connection()
    fields = Path(f"/proc/{connection.connection.info.backend_pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---- 2. the stock report over a large ledger ---------------------------------------------------


def generate_ledger(entries, products):
    """Top the ledger up to `entries` generated movements (COPY), then rebuild the balances."""
    from django.db import connection

    from qinglan.inventory import stock
    from qinglan.inventory.models import StockEntry, Warehouse
    from qinglan.products import services as product_services
    from qinglan.products.models import Product
    from qinglan.products.tests.factories import make_category, make_unit

    # Random movements go below zero now and then: these warehouses allow it.
    warehouses = [
        Warehouse.objects.update_or_create(code=f"BENCH-W{n}", defaults={"name": f"壓測倉{n}", "allow_negative": True})[0] for n in range(6)
    ]
    have = Product.objects.filter(code__startswith="BENCH-P").count()
    if have < products:
        category = make_category(f"壓測類別{have}")
        unit = make_unit("pcs", "個")
        batch = []
        for n in range(have, products):
            product = Product(code=f"BENCH-P{n:06d}", name=f"壓測商品{n}", category=category, base_unit=unit)
            product_services.prepare_product(product=product)
            batch.append(product)
        Product.objects.bulk_create(batch, batch_size=2000)
    product_ids = list(Product.objects.filter(code__startswith="BENCH-P").values_list("pk", flat=True)[:products])
    warehouse_ids = [w.pk for w in warehouses]
    existing = StockEntry.objects.filter(warehouse_id__in=warehouse_ids).count()
    missing = entries - existing
    if missing > 0:
        rng = random.Random(existing)
        started = time.monotonic()
        chunk = 500_000
        with connection.cursor() as cursor:
            raw = cursor.connection
            written = 0
            while written < missing:
                size = min(chunk, missing - written)
                buffer = io.StringIO()
                for _ in range(size):
                    quantity = rng.randint(1, 20) if rng.random() < 0.55 else -rng.randint(1, 10)
                    cost = rng.randint(5, 500)
                    day = rng.randint(0, 729)
                    buffer.write(
                        f"{rng.choice(product_ids)}\t{rng.choice(warehouse_ids)}\t{quantity}\t{cost}\t{quantity * cost}\t"
                        f"{'receipt' if quantity > 0 else 'delivery'}\t2025-01-01 00:00:00+00\t{day}\n"
                    )
                buffer.seek(0)
                cursor.execute("CREATE TEMP TABLE IF NOT EXISTS bench_entry (product_id bigint, warehouse_id bigint, quantity numeric, unit_cost numeric, value numeric, kind text, base timestamptz, day int)")
                cursor.execute("TRUNCATE bench_entry")
                with raw.cursor().copy("COPY bench_entry FROM STDIN") as copy:
                    copy.write(buffer.getvalue())
                cursor.execute(
                    "INSERT INTO inventory_stockentry (product_id, warehouse_id, quantity, unit_cost, value, kind, posted_at) "
                    "SELECT product_id, warehouse_id, quantity, unit_cost, value, kind, base + day * interval '1 day' + (random() * interval '1 day') FROM bench_entry"
                )
                written += size
                print(f"  … {existing + written:,} movements", flush=True)
            cursor.execute("ANALYZE inventory_stockentry")
        print(f"generated {missing:,} movements in {time.monotonic() - started:.0f} s", flush=True)
        started = time.monotonic()
        stock.recompute_balances()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE inventory_stockbalance")
        print(f"rebuilt the balances from the ledger in {time.monotonic() - started:.1f} s", flush=True)
    return warehouse_ids, product_ids


def timed(client, url, count):
    for _ in range(2):
        assert client.get(url).status_code == 200, url
    result = []
    for _ in range(count):
        began = time.perf_counter()
        response = client.get(url)
        result.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200
    return result


def raw_ms(sql, params, count):
    from django.db import connection

    result = []
    with connection.cursor() as cursor:
        for _ in range(count + 2):
            began = time.perf_counter()
            cursor.execute(sql, params)
            cursor.fetchall()
            result.append((time.perf_counter() - began) * 1000)
    return result[2:]


def report_bench(requests, warehouse_ids, product_ids):
    from django.test import Client

    from qinglan.core.testing import make_member
    from qinglan.org.models import User

    admin = User.objects.filter(username="bench-inventory-admin").first() or make_member("bench-inventory-admin", superuser=True)
    client = Client()
    client.force_login(admin)
    as_of = "2025-12-31"
    product = product_ids[len(product_ids) // 2]
    cases = [
        ("stock report now (all warehouses)", "/inventory/stock/",
         "SELECT b.product_id, p.code, p.name, b.warehouse_id, w.code, w.name, SUM(b.on_hand), SUM(b.reserved), SUM(b.incoming), SUM(b.value) "
         "FROM inventory_stockbalance b JOIN products_product p ON p.id = b.product_id JOIN inventory_warehouse w ON w.id = b.warehouse_id "
         "GROUP BY 1, 2, 3, 4, 5, 6 HAVING SUM(b.on_hand) <> 0 ORDER BY p.code, w.code LIMIT 501", []),
        ("stock report now (one warehouse)", f"/inventory/stock/?warehouse={warehouse_ids[0]}",
         "SELECT b.product_id, p.code, p.name, b.warehouse_id, w.code, w.name, SUM(b.on_hand), SUM(b.reserved), SUM(b.incoming), SUM(b.value) "
         "FROM inventory_stockbalance b JOIN products_product p ON p.id = b.product_id JOIN inventory_warehouse w ON w.id = b.warehouse_id "
         "WHERE b.warehouse_id = %s GROUP BY 1, 2, 3, 4, 5, 6 HAVING SUM(b.on_hand) <> 0 ORDER BY p.code, w.code LIMIT 501", [warehouse_ids[0]]),
        (f"stock on {as_of}, from the ledger (one warehouse)", f"/inventory/stock/?warehouse={warehouse_ids[0]}&as_of={as_of}",
         "SELECT e.product_id, p.code, p.name, e.warehouse_id, w.code, w.name, SUM(e.quantity), SUM(e.value) "
         "FROM inventory_stockentry e JOIN products_product p ON p.id = e.product_id JOIN inventory_warehouse w ON w.id = e.warehouse_id "
         "WHERE e.warehouse_id = %s AND e.posted_at < %s GROUP BY 1, 2, 3, 4, 5, 6 HAVING SUM(e.quantity) <> 0 ORDER BY p.code, w.code LIMIT 501",
         [warehouse_ids[0], "2026-01-01T00:00:00+08:00"]),
        (f"stock on {as_of}, from the ledger (all warehouses)", f"/inventory/stock/?as_of={as_of}",
         "SELECT e.product_id, p.code, p.name, e.warehouse_id, w.code, w.name, SUM(e.quantity), SUM(e.value) "
         "FROM inventory_stockentry e JOIN products_product p ON p.id = e.product_id JOIN inventory_warehouse w ON w.id = e.warehouse_id "
         "WHERE e.posted_at < %s GROUP BY 1, 2, 3, 4, 5, 6 HAVING SUM(e.quantity) <> 0 ORDER BY p.code, w.code LIMIT 501",
         ["2026-01-01T00:00:00+08:00"]),
        ("movement history of one product", f"/inventory/stockentry/?product={product}",
         "SELECT e.* FROM inventory_stockentry e WHERE e.product_id = %s ORDER BY e.id DESC LIMIT 50", [product]),
        ("stock value by warehouse and category", "/inventory/value/",
         "SELECT warehouse_id, SUM(value), SUM(on_hand) FROM inventory_stockbalance GROUP BY 1", []),
    ]
    from qinglan.inventory import snapshots
    from qinglan.inventory.models import StockSnapshot

    StockSnapshot.objects.all().delete()  # the ledger cases sum the whole ledger
    rows = []
    for label, url, sql, params in cases:
        count = requests if "ledger" not in label else max(3, requests // 4)
        page = timed(client, url, count)
        raw = raw_ms(sql, params, count)
        rows.append((label, percentile(page, 0.5), percentile(page, 0.95), percentile(raw, 0.5), count))
    # The same past-date reports from the month-end snapshot of 2025-12-01 and the movements since.
    began = time.perf_counter()
    snapshot = snapshots.take_snapshot(at=snapshots.month_start(datetime.date(2025, 12, 1)))
    print(f"month-end snapshot of 2025-12-01 taken in {time.perf_counter() - began:.1f} s ({snapshot.line_count:,} lines)", flush=True)
    union = (
        "SELECT product_id, warehouse_id, quantity, value FROM inventory_stocksnapshotline WHERE snapshot_id = %s{w} UNION ALL "
        "SELECT product_id, warehouse_id, quantity, value FROM inventory_stockentry WHERE posted_at >= %s AND posted_at < %s{w} UNION ALL "
        "SELECT product_id, warehouse_id, quantity, value FROM inventory_stockentry WHERE id > %s AND posted_at < %s{w}"
    )
    end, start = "2026-01-01T00:00:00+08:00", snapshot.taken_at
    for label, url, where, extra in (
        (f"stock on {as_of}, from the snapshot (one warehouse)", f"/inventory/stock/?warehouse={warehouse_ids[0]}&as_of={as_of}", " AND warehouse_id = %s", [warehouse_ids[0]]),
        (f"stock on {as_of}, from the snapshot (all warehouses)", f"/inventory/stock/?as_of={as_of}", "", []),
    ):
        sql = (
            "SELECT g.product_id, p.code, p.name, g.warehouse_id, w.code, w.name, g.q, g.v FROM (SELECT product_id, warehouse_id, "
            f"SUM(quantity) AS q, SUM(value) AS v FROM ({union.format(w=where)}) k GROUP BY 1, 2 HAVING SUM(quantity) <> 0) g "
            "JOIN products_product p ON p.id = g.product_id JOIN inventory_warehouse w ON w.id = g.warehouse_id ORDER BY p.code, w.code LIMIT 501"
        )
        params = [snapshot.pk, *extra, start, end, *extra, snapshot.last_entry_id, start, *extra]
        page = timed(client, url, requests)
        raw = raw_ms(sql, params, requests)
        rows.append((label, percentile(page, 0.5), percentile(page, 0.95), percentile(raw, 0.5), requests))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--writers", type=int, default=32)
    parser.add_argument("--entries", type=int, default=10_000_000)
    parser.add_argument("--products", type=int, default=5_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--processes", type=int, default=4, help="for (a') and (b'): processes sharing the --writers, like app server workers")
    parser.add_argument("--cases", default="a,a',b,b',c", help="which posting cases to run (comma-separated of a, a', b, b', c)")
    parser.add_argument("--skip-postings", action="store_true")
    parser.add_argument("--skip-report", action="store_true")
    parser.add_argument("--profile", type=int, metavar="ROUNDS", default=0,
                        help="only profile one posting of each kind ROUNDS times (statements, SQL and Python time)")
    args = parser.parse_args()
    configure()
    from django.db import connection

    retries = RetryCounter()
    logging.getLogger("qinglan.inventory").addHandler(retries)
    logging.getLogger("qinglan.inventory").setLevel(logging.INFO)
    print(f"PostgreSQL {connection.cursor().connection.info.server_version}, Python {sys.version.split()[0]}, {os.cpu_count()} cores", flush=True)
    if args.profile:
        profile_postings(args.profile)
        return
    if not args.skip_postings:
        cases = set(args.cases.split(","))
        print(f"postings: {args.writers} writers, {args.seconds:.0f} s per case; {load()}", flush=True)
        if "a" in cases:
            mixed = mixed_workload(args.seconds, args.writers)
            print(f"\n(a) mixed workload, {args.writers} writers, {mixed['elapsed']:.1f} s: {mixed['requests']:,} requests, "
                  f"{mixed['postings']:,} postings ({mixed['postings'] / mixed['elapsed']:.0f}/s), {mixed['refusals']:,} refused for lack of stock; "
                  f"request p50 {percentile(mixed['latencies'], 0.5):.1f} ms, p95 {percentile(mixed['latencies'], 0.95):.1f} ms; "
                  f"errors {len(mixed['errors'])}; retries {retries.count}; {mixed['balances']} balances equal to the ledger; {load()}", flush=True)
        retries.count = 0
        if "a'" in cases and args.processes > 1:
            spread = mixed_workload_processes(args.seconds, args.writers, args.processes)
            print(f"(a') mixed workload, {args.processes} processes × {args.writers // args.processes} threads, {spread['elapsed']:.1f} s: "
                  f"{spread['requests']:,} requests, {spread['postings']:,} postings ({spread['postings'] / spread['elapsed']:.0f}/s), "
                  f"{spread['refusals']:,} refused for lack of stock; request p50 {percentile(spread['latencies'], 0.5):.1f} ms, "
                  f"p95 {percentile(spread['latencies'], 0.95):.1f} ms; errors {len(spread['errors'])}; retries {spread['retries']}; "
                  f"{spread['balances']} balances equal to the ledger; {load()}", flush=True)
        rates = []
        only = None
        if "b" in cases or "c" in cases:
            only = post_only(args.seconds, args.writers) if "b" in cases else post_only(0, args.writers)
        if "b" in cases:
            rates.append((only["postings"] / only["elapsed"], percentile(only["latencies"], 0.5)))
            print(f"(b) posting drafts only, {args.writers} writers, {only['elapsed']:.1f} s: {only['postings']:,} postings "
                  f"({only['postings'] / only['elapsed']:.0f}/s), {only['refusals']:,} refused; p50 {percentile(only['latencies'], 0.5):.1f} ms, "
                  f"p95 {percentile(only['latencies'], 0.95):.1f} ms; errors {len(only['errors'])}; retries {retries.count}; {load()}", flush=True)
        if "b'" in cases and args.processes > 1:
            forked = post_only_processes(args.seconds, args.writers, args.processes)
            rates.append((forked["postings"] / forked["elapsed"], percentile(forked["latencies"], 0.5)))
            print(f"(b') posting drafts only, {args.processes} processes × {args.writers // args.processes} threads, {forked['elapsed']:.1f} s: "
                  f"{forked['postings']:,} postings ({forked['postings'] / forked['elapsed']:.0f}/s), {forked['refusals']:,} refused; "
                  f"p50 {percentile(forked['latencies'], 0.5):.1f} ms, p95 {percentile(forked['latencies'], 0.95):.1f} ms; "
                  f"errors {len(forked['errors'])}; {load()}", flush=True)
        if "c" in cases:
            raw = raw_postings(args.seconds, args.writers, only["workload"])
            print(f"(c) hand-written SQL, same {args.writers} threads, {raw['elapsed']:.1f} s: {raw['postings']:,} postings "
                  f"({raw['postings'] / raw['elapsed']:.0f}/s); p50 {percentile(raw['latencies'], 0.5):.1f} ms, "
                  f"p95 {percentile(raw['latencies'], 0.95):.1f} ms; {load()}", flush=True)
            if rates:
                best, p50 = max(rates)
                print(f"    throughput raw SQL / services (best layout): {(raw['postings'] / raw['elapsed']) / max(best, 1e-9):.1f}×; "
                      f"p50 latency services / raw: {p50 / max(percentile(raw['latencies'], 0.5), 1e-9):.1f}×", flush=True)
        from qinglan.inventory.stock import recompute_balances

        print(f"    balances differing from the ledger after all of it: {len(recompute_balances(apply=False))}", flush=True)
    if not args.skip_report:
        warehouse_ids, product_ids = generate_ledger(args.entries, args.products)
        from qinglan.inventory.models import StockBalance, StockEntry

        print(f"\nledger: {StockEntry.objects.count():,} movements, {StockBalance.objects.count():,} balances", flush=True)
        print(f"{'case':<52} {'p50':>9} {'p95':>9} {'raw SQL p50':>12} {'ratio':>7}")
        for label, p50, p95, raw, count in report_bench(args.requests, warehouse_ids, product_ids):
            ratio = f"{p50 / raw:.1f}×" if raw else "—"
            print(f"{label:<52} {p50:8.1f}ms {p95:8.1f}ms {raw:10.1f}ms {ratio:>7}   ({count} requests)", flush=True)


if __name__ == "__main__":
    main()
