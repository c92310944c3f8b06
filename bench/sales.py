"""Pricing and sales orders at scale, against hand-written SQL.

    .venv/bin/python bench/sales.py [--products 200000] [--orders 20000] [--lines 5] [--requests 50]

Works on its own database: SQLite in var/bench-sales.sqlite3 (var/bench-sales/ as the var
folder), or QINGLAN_DATABASE_URL when that is set (use a database of its own). The first run
migrates and generates; later runs top up to the sizes asked.

Generated: products in a two-level category tree with list prices and costs; a general price
list (a discount for everything, one rule per tenth category) and a dealer list for a customer
level (a fixed price per product with two quantity tiers for every fifth product); promotions
on a few categories; customers; orders with `--lines` lines each (rows written in bulk, amounts
computed as the services do) plus one order of 200 lines.

Timed (p50/p95 over --requests runs, server time in-process):
1. pricing 200 lines for a dealer customer (sales.pricing.price_lines), its SQL time, and the
   raw SQL reading the same rows (the chosen lists' rules for the products and categories, the
   promotions of the day);
2. the order list (GET /sales/salesorder/) as an administrator and as a salesperson seeing
   their own orders, against the raw SQL of the same 50 rows and bounded count;
3. the page of the 200-line order (GET /sales/salesorder/<pk>/);
4. the sales-by-month report over all orders (sales.reports.by_month as an administrator:
   booked orders, invoices and receipts per month), against the raw SQL of its orders' part.
"""

import argparse
import datetime
import os
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SEED = 20261127


def configure(database):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qinglan.settings")
    os.environ["QINGLAN_VAR_DIR"] = str(ROOT / "var" / "bench-sales")
    os.environ.setdefault("QINGLAN_DEBUG", "0")
    os.environ.setdefault("QINGLAN_LOG_LEVEL", "ERROR")
    from django.conf import settings

    if not os.environ.get("QINGLAN_DATABASE_URL"):
        settings.DATABASES["default"]["NAME"] = str(Path(database).resolve())
    import django

    django.setup()
    return settings.DATABASES["default"]


def percentiles(samples):
    samples = sorted(samples)
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)]


def timed(function, runs, page_table=None):
    """((p50, p95) of the whole call, (p50, p95) of its SQL, queries of the last call) in ms;
    the SQL timed by an execute wrapper (Django's query log rounds to whole milliseconds).
    With `page_table`, also the p50 of the SQL reading that table (a list's own rows and
    count, without the session, menu counts and filter options every page reads)."""
    from django.db import connection

    times, sql, own = [], [], []
    for _ in range(runs):
        spent = [0.0, 0, 0.0]

        def wrapper(execute, query, params, many, context):
            start = time.perf_counter()
            try:
                return execute(query, params, many, context)
            finally:
                took = time.perf_counter() - start
                spent[0] += took
                spent[1] += 1
                if page_table and f'FROM "{page_table}"' in query:
                    spent[2] += took

        with connection.execute_wrapper(wrapper):
            start = time.perf_counter()
            function()
            times.append((time.perf_counter() - start) * 1000)
        sql.append(spent[0] * 1000)
        own.append(spent[2] * 1000)
    if page_table:
        return percentiles(times), percentiles(sql), spent[1], statistics.median(own)
    return percentiles(times), percentiles(sql), spent[1]


def ensure_data(args, log):
    from django.db import connection, transaction

    from qinglan.core import bulk
    from qinglan.core.testing import make_department
    from qinglan.customers.models import Customer, CustomerLevel
    from qinglan.org.models import CompanyProfile, Currency, User
    from qinglan.products.models import Category, Product, Unit
    from qinglan.sales import services
    from qinglan.sales.models import PriceList, PriceRule, Promotion, SalesOrder, SalesOrderLine, TaxRate

    rng = random.Random(SEED)
    services.ensure_defaults()
    twd = Currency.objects.get_or_create(code="TWD", defaults={"name": "新臺幣", "decimal_places": 0})[0]
    if not CompanyProfile.objects.exists():
        CompanyProfile.objects.create(name="青藍壓測", base_currency=twd)
    department = make_department("壓測業務部") if not User.objects.filter(username="bench-seller").exists() else None
    seller = User.objects.filter(username="bench-seller").first() or User.objects.create_user(username="bench-seller", password="x", department=department)
    admin = User.objects.filter(username="bench-admin").first() or User.objects.create_user(username="bench-admin", password="x", is_superuser=True)
    from qinglan.core.permissions import Scope
    from qinglan.core.testing import grant

    if department is not None:  # a new seller: may see their own orders
        grant(seller, SalesOrder, ["view", "add", "change"], scope=Scope.OWN)
    level = CustomerLevel.objects.get_or_create(name="經銷商")[0]
    unit = Unit.objects.get_or_create(code="pcs", defaults={"name": "個"})[0]
    if not Category.objects.exists():
        for top in range(20):
            parent = Category(name=f"類別{top:02d}")
            parent.save()
            for sub in range(10):
                child = Category(name=f"類別{top:02d}-{sub}")
                child.new_parent = parent
                child.save()
    leaves = list(Category.objects.filter(depth=2).order_by("path"))
    have = Product.objects.count()
    if have < args.products:
        log(f"generating {args.products - have:,} products")
        batch = []
        for index in range(have, args.products):
            price = Decimal(rng.randint(50, 50000))
            batch.append(Product(
                code=f"B{index:07d}", name=f"壓測產品{index}", category=leaves[index % len(leaves)], base_unit=unit, owner=admin,
                list_price=price, cost=(price * Decimal("0.6")).quantize(Decimal(1)), status="active",
            ))
            if len(batch) == 5000:
                Product.objects.bulk_create(batch)
                batch = []
        Product.objects.bulk_create(batch)
    products = list(Product.objects.order_by("pk").values_list("pk", "category_id", "list_price"))
    if not PriceList.objects.filter(name="壓測一般價").exists():
        general = PriceList.objects.create(name="壓測一般價", priority=20)
        PriceRule.objects.create(price_list=general, method="discount", value=Decimal(3))
        PriceRule.objects.bulk_create([PriceRule(price_list=general, category=leaf, method="discount", value=Decimal(5)) for leaf in leaves[::10]])
        dealers = PriceList.objects.create(name="壓測經銷價", priority=10)
        dealers.levels.add(level)
        rules = []
        for pk, _category, price in products[::5]:
            rules.append(PriceRule(price_list=dealers, product_id=pk, method="fixed", value=price * Decimal("0.9")))
            rules.append(PriceRule(price_list=dealers, product_id=pk, min_quantity=Decimal(10), method="fixed", value=price * Decimal("0.85")))
            rules.append(PriceRule(price_list=dealers, product_id=pk, min_quantity=Decimal(100), method="fixed", value=price * Decimal("0.8")))
        PriceRule.objects.bulk_create(rules, batch_size=5000)
        today = datetime.date.today()
        for leaf in leaves[:5]:
            Promotion.objects.create(name=f"壓測促銷{leaf.pk}", percent=Decimal(5), starts_on=today, ends_on=today + datetime.timedelta(days=365), category=leaf)
    customers = list(Customer.objects.filter(name__startswith="壓測客戶").values_list("pk", flat=True))
    if len(customers) < 500:
        Customer.objects.bulk_create([
            Customer(name=f"壓測客戶{index}", code=f"BC{index:05d}", owner=seller if index % 10 == 0 else admin, level=level if index % 2 else None)
            for index in range(len(customers), 500)
        ])
        customers = list(Customer.objects.filter(name__startswith="壓測客戶").values_list("pk", flat=True))
    rate = TaxRate.objects.filter(is_default=True).first()
    have = SalesOrder.objects.count()
    if have < args.orders:
        log(f"generating {args.orders - have:,} orders of {args.lines} lines")
        day = datetime.date.today()
        department = seller.department_id
        rate_id = rate.pk if rate else None
        tax_share = Decimal("0.05")
        started = time.perf_counter()

        def blank(model):  # every column a row does not name gets the field's own default ("" for text)
            return {f.attname: f.get_default() for f in model._meta.local_concrete_fields
                    if not f.primary_key and not getattr(f, "auto_now", False) and not getattr(f, "auto_now_add", False)}

        order_blank, line_blank = blank(SalesOrder), blank(SalesOrderLine)
        if connection.vendor == "postgresql":
            generate_on_server(args, log, have, seller, admin, products, customers, twd, rate_id, order_blank, line_blank)
        else:
            if connection.vendor == "sqlite":  # the line table's indexes outgrow SQLite's default 2 MB page cache
                with connection.cursor() as cursor:
                    cursor.execute("PRAGMA cache_size = -1000000")
            for start in range(have, args.orders, 5000):
                if start > have and start % 100_000 == 0:
                    log(f"  {start:,} orders ({(start - have) / (time.perf_counter() - started):,.0f} orders/s)")
                with transaction.atomic():
                    orders, order_lines = [], []
                    for index in range(start, min(start + 5000, args.orders)):
                        own = index % 10 == 0
                        subtotal = tax_total = Decimal(0)
                        lines = []
                        for pk, _category, price in rng.sample(products, args.lines):
                            quantity = Decimal(rng.randint(1, 20))
                            net = quantity * price
                            tax = (net * tax_share).quantize(Decimal(1))
                            subtotal += net
                            tax_total += tax
                            lines.append({**line_blank, "product_id": pk, "quantity": quantity, "unit_price": price, "tax_rate_id": rate_id,
                                          "net_amount": net, "tax_amount": tax, "line_total": net + tax})
                        total = subtotal + tax_total
                        orders.append({
                            **order_blank, "code": f"BSO{index:08d}", "customer_id": customers[index % len(customers)], "owner_id": seller.pk if own else admin.pk,
                            "department_id": department if own else None, "order_date": day - datetime.timedelta(days=index % 700),
                            "status": rng.choice(["draft", "approved", "fulfilling", "completed"]), "currency_id": twd.pk,
                            "subtotal": subtotal, "tax_total": tax_total, "total": total, "total_base": total,
                        })
                        order_lines.append(lines)
                    # rows written as plain values (core.bulk.insert_rows): building model instances was most of the time
                    for pk, lines in zip(bulk.insert_rows(SalesOrder, orders), order_lines, strict=True):
                        for line in lines:
                            line["order_id"] = pk
                    bulk.insert_rows(SalesOrderLine, [line for lines in order_lines for line in lines])
        log(f"  {args.orders - have:,} orders in {time.perf_counter() - started:,.0f} s")
    big = SalesOrder.objects.filter(code="BSO-200").first()
    if big is None:
        big = SalesOrder(code="BSO-200", customer_id=customers[1], owner=admin, currency=twd)
        services.prepare_order(order=big, created=True)
        big.code = "BSO-200"
        big.save()
        SalesOrderLine.objects.bulk_create([
            SalesOrderLine(order=big, product_id=pk, description="", quantity=Decimal(rng.randint(1, 120)), unit_price=None, tax_rate=rate)
            for pk, _category, _price in rng.sample(products, 200)
        ])
        services.order_saved(order=big, user=admin)
    return admin, seller, big, customers


def generate_on_server(args, log, have, seller, admin, products, customers, currency, rate_id, order_blank, line_blank):
    """PostgreSQL: the orders and their lines computed by the server (generate_series, a hash of
    the order's number picking its products, quantities, customer and status), 200,000 orders
    a statement pair — the same rows as the Python generator's in kind (distinct products per
    order, quantities 1–20, list prices, 5 % tax rounded to whole units, totals the sums of the
    lines), at ~10× its speed: 2 M orders through psycopg were ~50 minutes on this machine."""
    from django.db import connection, transaction

    from qinglan.sales.models import SalesOrder, SalesOrderLine

    def defaults(model, blank, given):  # every column the statement does not compute: the field's own default, as Django saves it
        columns, values = [], []
        for field in model._meta.local_concrete_fields:
            if field.primary_key or field.attname in given:
                continue
            columns.append(connection.ops.quote_name(field.column))
            if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                values.append(("now()", None))
            else:
                values.append(("%s", field.get_db_prep_save(blank[field.attname], connection)))
        return columns, values

    order_given = {"code": "'BSO' || lpad(t.i::text, 8, '0')", "customer_id": "(%s::bigint[])[1 + t.i %% %s]",
                   "owner_id": "CASE WHEN t.i %% 10 = 0 THEN %s ELSE %s END", "department_id": "CASE WHEN t.i %% 10 = 0 THEN %s::bigint END",
                   "order_date": "current_date - (t.i %% 700)",
                   "status": "(ARRAY['draft', 'approved', 'fulfilling', 'completed'])[1 + abs(hashint8(t.i * 3 + 1)::bigint) %% 4]",
                   "currency_id": "%s", "subtotal": "t.subtotal", "tax_total": "t.tax", "total": "t.subtotal + t.tax", "total_base": "t.subtotal + t.tax"}
    order_params = {"customer_id": [customers, len(customers)], "owner_id": [seller.pk, admin.pk], "department_id": [seller.department_id],
                    "currency_id": [currency.pk]}
    line_given = {"order_id": "o.id", "product_id": "l.product_id", "quantity": "l.quantity", "unit_price": "l.price",
                  "tax_rate_id": "%s", "net_amount": "l.net", "tax_amount": "l.tax", "line_total": "l.net + l.tax"}
    extra_columns, extra = defaults(SalesOrder, order_blank, order_given)
    line_columns, line_extra = defaults(SalesOrderLine, line_blank, line_given)
    quote = connection.ops.quote_name
    order_sql = (
        f"INSERT INTO sales_salesorder ({', '.join([quote(name) for name in order_given] + extra_columns)}) "
        f"SELECT {', '.join(list(order_given.values()) + [sql for sql, _ in extra])} "
        "FROM (SELECT i, SUM(net) AS subtotal, SUM(tax) AS tax FROM bench_lines GROUP BY i) t ORDER BY t.i"
    )
    order_values = [value for name in order_given for value in order_params.get(name, [])] + [value for sql, value in extra if sql == "%s"]
    line_sql = (
        f"INSERT INTO sales_salesorderline ({', '.join([quote(name) for name in line_given] + line_columns)}) "
        f"SELECT {', '.join(list(line_given.values()) + [sql for sql, _ in line_extra])} "
        "FROM bench_lines l JOIN sales_salesorder o ON o.code = 'BSO' || lpad(l.i::text, 8, '0') ORDER BY l.i, l.k"
    )
    line_values = [rate_id] + [value for sql, value in line_extra if sql == "%s"]
    step = len(products) // args.lines  # the k-th line's product lies k fifths of the catalogue further on: distinct within an order
    started = time.perf_counter()
    for start in range(have, args.orders, 200_000):
        end = min(start + 200_000, args.orders)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(  # the catalogue numbered 1…n in key order (indexing a 200,000-element array copied it per row)
                "CREATE TEMP TABLE bench_catalogue ON COMMIT DROP AS "
                "SELECT row_number() OVER (ORDER BY id) AS n, id, list_price FROM products_product"
            )
            cursor.execute(
                "CREATE TEMP TABLE bench_lines ON COMMIT DROP AS "
                "SELECT i, k, c.id AS product_id, c.list_price AS price, q AS quantity, q * c.list_price AS net, round(q * c.list_price * 0.05) AS tax "
                "FROM generate_series(%s, %s) i CROSS JOIN generate_series(0, %s) k, "
                "LATERAL (SELECT 1 + (abs(hashint8(i)::bigint) + k * %s) %% %s AS p, (1 + abs(hashint8(i * 31 + k)::bigint) %% 20)::numeric AS q) pick "
                "JOIN bench_catalogue c ON c.n = pick.p",
                [start, end - 1, args.lines - 1, step, len(products)],
            )
            cursor.execute(order_sql, order_values)
            cursor.execute(line_sql, line_values)
        log(f"  {end:,} orders ({(end - have) / (time.perf_counter() - started):,.0f} orders/s)")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE sales_salesorder")
        cursor.execute("VACUUM ANALYZE sales_salesorderline")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=200_000)
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--lines", type=int, default=5)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--database", default=str(ROOT / "var" / "bench-sales.sqlite3"))
    args = parser.parse_args()
    database = configure(args.database)
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from qinglan.customers.models import Customer
    from qinglan.products.models import Product
    from qinglan.sales import pricing
    from qinglan.sales.models import SalesOrder, SalesOrderLine

    print(f"database: {connection.vendor} {database.get('NAME')}")
    call_command("migrate", verbosity=0)
    admin, seller, big, customers = ensure_data(args, print)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(f"{Product.objects.count():,} products, {SalesOrder.objects.count():,} orders, {SalesOrderLine.objects.count():,} lines")

    dealer = Customer.objects.filter(pk__in=customers, level__isnull=False).first()
    lines = list(big.lines.select_related("product__category"))
    items = [(line.product, line.quantity) for line in lines]

    def price_200():
        pricing.price_lines(customer=dealer, items=items, currency=big.currency, day=big.order_date)

    (p50, p95), (s50, s95), queries = timed(price_200, args.requests)
    product_ids = [line.product_id for line in lines]
    placeholders = ",".join(["%s"] * len(product_ids))

    def raw_pricing():
        with connection.cursor() as cursor:
            cursor.execute("SELECT id, priority FROM sales_pricelist WHERE active")
            cursor.execute(
                f"SELECT r.* FROM sales_pricerule r LEFT JOIN products_category c ON c.id = r.category_id WHERE r.price_list_id IN "
                f"(SELECT id FROM sales_pricelist WHERE active) AND (r.product_id IN ({placeholders}) OR r.category_id IS NOT NULL OR r.product_id IS NULL)",
                product_ids,
            )
            cursor.fetchall()
            cursor.execute("SELECT * FROM sales_promotion WHERE active AND starts_on <= %s AND ends_on >= %s", [big.order_date, big.order_date])
            cursor.fetchall()

    (r50, r95), _, _ = timed(raw_pricing, args.requests)
    print(f"pricing 200 lines: p50 {p50:.1f} ms, p95 {p95:.1f} ms; its SQL p50 {s50:.1f} ms in {queries} queries; raw SQL of the same rows p50 {r50:.1f} ms "
          f"(SQL ratio {s50 / r50 if r50 else 0:.1f}x)")

    for who, member in (("administrator", admin), ("salesperson (own)", seller)):
        client = Client()
        client.force_login(member)
        client.get("/sales/salesorder/")
        (p50, p95), (s50, s95), queries, o50 = timed(lambda: client.get("/sales/salesorder/"), args.requests, "sales_salesorder")
        where = "" if member.is_superuser else f"WHERE o.owner_id = {member.pk}"

        def raw_list():
            with connection.cursor() as cursor:
                cursor.execute(  # the page's ids first, then their rows (a planner must not start from the customers)
                    "SELECT o.id, o.code, o.order_date, o.status, o.total, cu.name, c.code, u.username FROM "
                    f"(SELECT id FROM sales_salesorder o {where} ORDER BY o.id DESC LIMIT 50) page JOIN sales_salesorder o ON o.id = page.id "
                    "JOIN customers_customer cu ON cu.id = o.customer_id LEFT JOIN org_currency c ON c.id = o.currency_id "
                    "LEFT JOIN org_user u ON u.id = o.owner_id ORDER BY o.id DESC"
                )
                cursor.fetchall()
                cursor.execute(f"SELECT COUNT(*) FROM (SELECT 1 FROM sales_salesorder o {where} LIMIT {settings.QINGLAN_COUNT_LIMIT + 1}) t")
                cursor.fetchall()

        (r50, r95), _, _ = timed(raw_list, args.requests)
        print(f"order list as {who}: p50 {p50:.1f} ms, p95 {p95:.1f} ms; SQL p50 {s50:.2f} ms in {queries} queries, of which the orders' "
              f"rows and count {o50:.2f} ms; raw SQL p50 {r50:.2f} ms (SQL ratio: same work {o50 / r50 if r50 else 0:.1f}x, "
              f"whole page {s50 / r50 if r50 else 0:.1f}x)")

    client = Client()
    client.force_login(admin)
    client.get(f"/sales/salesorder/{big.pk}/")
    (p50, p95), (s50, s95), queries = timed(lambda: client.get(f"/sales/salesorder/{big.pk}/"), args.requests)
    print(f"order page with 200 lines: p50 {p50:.1f} ms, p95 {p95:.1f} ms; SQL p50 {s50:.1f} ms in {queries} queries")

    from qinglan.sales import reports

    first = SalesOrder.objects.order_by("order_date").values_list("order_date", flat=True).first().replace(day=1)
    end = reports.add_months(datetime.date.today(), 1)
    runs = max(3, args.requests // 10)
    (p50, p95), (s50, s95), queries = timed(lambda: reports.by_month(admin, first, end), runs)
    booked = ",".join(f"'{status}'" for status in reports.BOOKED)
    month = "substr(order_date, 1, 7)" if connection.vendor == "sqlite" else "to_char(order_date, 'YYYY-MM')"

    def raw_by_month():
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {month}, COUNT(*), SUM(subtotal * total_base / total) FROM sales_salesorder "
                f"WHERE status IN ({booked}) AND total <> 0 AND total_base IS NOT NULL AND order_date >= %s AND order_date < %s GROUP BY 1",
                [first, end],
            )
            cursor.fetchall()

    (r50, r95), _, _ = timed(raw_by_month, runs)
    print(f"sales by month over all orders ({first:%Y-%m} to now, orders, invoices and receipts): p50 {p50:.0f} ms, p95 {p95:.0f} ms; "
          f"SQL p50 {s50:.0f} ms in {queries} queries; raw SQL of the orders' part p50 {r50:.0f} ms")


if __name__ == "__main__":
    main()
