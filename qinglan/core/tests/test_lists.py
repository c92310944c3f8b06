"""List pages: keyset pagination in any order, bounded counts, column choice, saved filters,
hostile parameters."""

import re

import pytest
from django.test import Client

from qinglan.core.pagination import SortKey, bounded_count, keyset_page
from qinglan.core.testing import list_pks, make_member
from qinglan.org.models import Position


def walk(queryset, keys, size):
    seen, cursor = [], None
    while True:
        page = keyset_page(queryset, keys, size=size, after=cursor)
        seen += [row.pk for row in page.rows]
        if not page.next_cursor:
            return seen
        cursor = page.next_cursor


@pytest.mark.django_db
@pytest.mark.parametrize("descending", [False, True])
def test_keyset_pages_visit_every_row_once_in_order_with_ties_and_nulls(descending):
    from qinglan.org.models import User

    for index in range(23):
        # repeated names and NULL departments exercise the tie-breaker and the NULL handling
        make_member(f"user{index:02d}", display_name=f"name{index % 4}")
    queryset = User.objects.all()
    keys = [SortKey("display_name", descending), SortKey("department", descending, nullable=True), SortKey("pk", descending)]
    expected = list(queryset.order_by(*[("-" if descending else "") + key for key in ("display_name", "pk")]).values_list("pk", flat=True))
    assert walk(queryset, keys, 5) == expected


@pytest.mark.django_db
def test_previous_page_returns_the_rows_before():
    for index in range(12):
        Position.objects.create(name=f"p{index:02d}", level=index)
    keys = [SortKey("name"), SortKey("pk")]
    first = keyset_page(Position.objects.all(), keys, size=5)
    second = keyset_page(Position.objects.all(), keys, size=5, after=first.next_cursor)
    back = keyset_page(Position.objects.all(), keys, size=5, before=second.prev_cursor)
    assert [row.pk for row in back.rows] == [row.pk for row in first.rows]
    assert back.is_first
    last = keyset_page(Position.objects.all(), keys, size=5, last=True)
    assert [row.name for row in last.rows] == ["p07", "p08", "p09", "p10", "p11"]


@pytest.mark.django_db
def test_count_is_exact_up_to_the_limit():
    for index in range(7):
        Position.objects.create(name=f"p{index}")
    assert bounded_count(Position.objects.all(), limit=10) == (7, True)
    assert bounded_count(Position.objects.all(), limit=5) == (5, False)


@pytest.fixture
def admin_client(db):
    client = Client()
    client.force_login(make_member("admin", superuser=True))
    return client


def test_list_page_links_walk_the_whole_list(admin_client):
    for index in range(60):
        Position.objects.create(name=f"職位{index:02d}", level=index % 7)
    seen, url = [], "/org/position/?sort=-level&page_size=25"
    while url:
        response = admin_client.get(url)
        assert response.status_code == 200
        seen += sorted(list_pks(response))
        match = re.search(r'href="(\?[^"]*after=[^"]+)" rel="next"', response.content.decode())
        url = "/org/position/" + match.group(1).replace("&amp;", "&") if match else None
    assert sorted(seen) == sorted(Position.objects.values_list("pk", flat=True))
    assert len(seen) == 60


@pytest.mark.parametrize(
    "query",
    [
        "?after=not-a-cursor",
        "?before=%00%ff",
        "?sort=password",
        "?sort=-__class__",
        "?page_size=999999",
        "?page_size=-1",
        "?level_min=abc",
        "?q=" + "%27%3B DROP TABLE org_position%3B--",
        "?q=" + "長" * 5000,
    ],
)
def test_hostile_parameters_give_a_page_not_an_error(admin_client, query):
    Position.objects.create(name="業務", level=1)
    response = admin_client.get("/org/position/" + query)
    assert response.status_code == 200
    assert Position.objects.exists()


def test_column_choice_and_saved_filter_are_remembered(admin_client):
    Position.objects.create(name="業務專員", level=3, description="外勤")
    assert "外勤" in admin_client.get("/org/position/").content.decode()  # description is a default column
    admin_client.post("/org/position/preferences/", {"columns": ["name", "level"], "next": "/org/position/"})
    html = admin_client.get("/org/position/").content.decode()
    assert "外勤" not in html and "業務專員" in html
    response = admin_client.post(
        "/me/filters/", {"resource": "org.position", "name": "高階", "query": "level_max=2"}
    )
    assert response.status_code == 302
    html = admin_client.get("/org/position/").content.decode()
    assert "高階" in html and "level_max=2" in html
    admin_client.post("/org/position/preferences/", {"reset": "1"})
    assert "外勤" in admin_client.get("/org/position/").content.decode()


def test_menu_items_hidden_for_a_role(db):
    from qinglan.core.testing import grant
    from qinglan.org.models import Role, User

    member = make_member("clerk")
    grant(member, Position, ["view"], role_name="clerks")
    grant(member, User, ["view"], role_name="clerks")
    client = Client()
    client.force_login(member)
    html = client.get("/").content.decode()
    assert 'data-menu="org.position"' in html and 'data-menu="org.user"' in html
    assert 'data-menu="org.role"' not in html  # no permission, no menu item
    Role.objects.filter(name="clerks").update(hidden_menus=["org.position"])
    html = client.get("/").content.decode()
    assert 'data-menu="org.position"' not in html and 'data-menu="org.user"' in html
    # A menu shows when any of the member's roles shows it, also a role held through a group.
    from qinglan.org.models import Group

    team = Group.objects.create(name="倉管組")
    team.members.add(member)
    warehouse = Role.objects.create(name="warehouse", hidden_menus=["org.user"])
    warehouse.groups.add(team)
    html = client.get("/").content.decode()
    assert 'data-menu="org.position"' in html and 'data-menu="org.user"' in html
    warehouse.hidden_menus = ["org.user", "org.position"]
    warehouse.save()
    html = client.get("/").content.decode()
    assert 'data-menu="org.position"' not in html and 'data-menu="org.user"' in html


def test_tags_are_set_in_the_form_shown_in_the_list_and_filtered(admin_client):
    from qinglan.extras.models import Tag

    vip = Tag.objects.create(name="<b>重要</b>", slug="vip", color="#aa0000")
    admin_client.post("/org/position/add/", {"name": "業務", "level": "1", "tags": [vip.pk]})
    admin_client.post("/org/position/add/", {"name": "倉管", "level": "1"})
    tagged = Position.objects.get(name="業務")
    admin_client.post("/org/position/preferences/", {"columns": ["name", "tags"]})
    response = admin_client.get("/org/position/", {"tag": "vip"})
    assert list_pks(response) == {tagged.pk}
    html = response.content.decode()
    assert "&lt;b&gt;重要&lt;/b&gt;" in html and "<b>重要</b>" not in html


def test_large_imports_run_as_a_background_job(admin_client, monkeypatch):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from qinglan.core import imports

    monkeypatch.setattr(imports, "BACKGROUND_ROWS", 2)
    content = "name,level\n甲,1\n乙,2\n丙,3\n".encode()
    job = admin_client.post("/org/position/import/", {"file": SimpleUploadedFile("p.csv", content)})["Location"]
    admin_client.post(job, {"column_0": "name", "column_1": "level"})
    assert 'data-testid="import-ok"' in admin_client.get(job).content.decode()
    admin_client.post(job, {"_confirm": "1"})
    assert set(Position.objects.values_list("name", flat=True)) == {"甲", "乙", "丙"}


@pytest.mark.django_db
def test_a_search_is_counted_only_up_to_the_search_limit(settings):
    settings.QINGLAN_SEARCH_COUNT_LIMIT = 3
    admin = make_member("admin", superuser=True)
    for index in range(5):
        Position.objects.create(name=f"專員{index}")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(admin)
    searched = client.get("/org/position/", {"q": "專員"}).content.decode()
    assert "more than 3 records" in searched
    assert "5 records" in client.get("/org/position/").content.decode()  # browsing counts exactly


def test_option_lists_of_a_list_page_are_read_without_server_side_cursors(db):
    """On PostgreSQL Django reads a choice field's options through a server-side cursor
    (DECLARE, FETCH, CLOSE); short lookup lists are read with one plain query instead."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from qinglan.core.testing import grant
    from qinglan.customers.models import Customer
    from qinglan.extras.models import Tag

    Tag.objects.create(name="重要客戶", slug="key-account")
    member = make_member("lister")
    grant(member, Customer, ["view"])
    client = Client()
    client.force_login(member)
    with CaptureQueriesContext(connection) as queries:
        html = client.get("/customers/customer/").content.decode()
    assert "重要客戶" in html  # the tag filter lists its options
    assert [q["sql"][:60] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("DECLARE")] == []


def test_list_cells_are_those_django_tables2_renders(admin_client, monkeypatch):
    """The list's cells are found and rendered once per column (templatetags.table_rows); every
    column of a varied page must come out exactly as django-tables2's own cells would: choice
    labels, empty references, dates in the member's time zone, amounts, yes/no, custom fields,
    tags, escaped text."""
    import datetime
    from decimal import Decimal

    from django.contrib.contenttypes.models import ContentType

    from qinglan.core.registry import registry
    from qinglan.core.tables import all_column_names
    from qinglan.core.templatetags import qinglan as tags
    from qinglan.customers.models import Customer, CustomerLevel
    from qinglan.extras.models import FieldDef, Tag

    FieldDef.objects.create(content_type=ContentType.objects.get_for_model(Customer), name="tier", label="等級", type="choice", choices=["gold", "silver"])
    level = CustomerLevel.objects.create(name="經銷商")
    vip = Tag.objects.create(name="<i>重要</i>", slug="vip", color="#aa0000")
    Customer.objects.create(code="C-1", name="<b>青藍</b>科技", kind="company", status="active", level=level, lifetime_revenue=Decimal("1234567.50"),
                            first_order_date=datetime.date(2026, 1, 2), is_supplier=True, custom_field_data={"tier": "gold"})
    plain = Customer.objects.create(code="C-2", name="王小明", kind="person", status="prospect")
    vip.items.create(content_type=ContentType.objects.get_for_model(Customer), object_id=plain.pk)
    resource = registry.get(Customer)
    columns = all_column_names(resource)
    admin_client.post("/customers/customer/preferences/", {"columns": columns})
    html = admin_client.get("/customers/customer/", HTTP_ACCEPT_LANGUAGE="zh-hant").content.decode()
    body = re.search(r"<tbody>(.*)</tbody>", html, re.S).group(1)
    assert "&lt;b&gt;青藍&lt;/b&gt;科技" in body and "1,234,567.50" in body and "2026-01-02" in body
    assert "經銷商" in body and "gold" in body and "&lt;i&gt;重要&lt;/i&gt;" in body

    monkeypatch.setattr(tags, "_cell_reader", lambda table, column: None)  # every cell through django-tables2
    reference = admin_client.get("/customers/customer/", HTTP_ACCEPT_LANGUAGE="zh-hant").content.decode()
    assert re.search(r"<tbody>(.*)</tbody>", reference, re.S).group(1) == body
    assert body.count("<td") == 2 * (len(columns) + 1)

    # The page reads only the columns it shows (page_fields): the same cells, and no record
    # fetches a field it lacked afterwards (one more query per row).
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from qinglan.core import views

    monkeypatch.undo()
    with CaptureQueriesContext(connection) as narrow:
        admin_client.get("/customers/customer/", HTTP_ACCEPT_LANGUAGE="zh-hant")
    monkeypatch.setattr(views, "page_fields", lambda *args: None)
    with CaptureQueriesContext(connection) as whole:
        whole_rows = admin_client.get("/customers/customer/", HTTP_ACCEPT_LANGUAGE="zh-hant").content.decode()
    assert re.search(r"<tbody>(.*)</tbody>", whole_rows, re.S).group(1) == body
    assert len(narrow) == len(whole)


def test_a_list_reads_only_the_columns_it_shows(admin_client, monkeypatch):
    """Orders listed with their default columns: the order's shown fields and the text of its
    customer, owner and currency are read, not their whole rows; the page is the same."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from qinglan.core import views
    from qinglan.core.testing import make_member
    from qinglan.customers.models import Customer
    from qinglan.org.models import Currency
    from qinglan.sales.models import SalesOrder

    seller = make_member("seller", display_name="陳小華")
    twd = Currency.objects.get_or_create(code="TWD", defaults={"name": "新臺幣", "decimal_places": 0})[0]
    customer = Customer.objects.create(code="C-1", name="青藍科技", notes="不該讀到的備註")
    for index in range(3):
        SalesOrder.objects.create(code=f"SO-{index}", customer=customer, owner=seller, currency=twd)

    def page():
        with CaptureQueriesContext(connection) as queries:
            html = admin_client.get("/sales/salesorder/", HTTP_ACCEPT_LANGUAGE="zh-hant").content.decode()
        rows = next(query["sql"] for query in queries.captured_queries if query["sql"].startswith('SELECT "sales_salesorder"."id", '))
        return re.search(r"<tbody>(.*)</tbody>", html, re.S).group(1), len(queries), rows

    page()  # the first page of a session reads a few things once (content types, the column chooser)
    body, count, rows = page()
    assert "青藍科技" in body and "陳小華" in body and "SO-2" in body
    assert '"customers_customer"."name"' in rows and '"customers_customer"."notes"' not in rows and '"org_user"."password"' not in rows
    monkeypatch.setattr(views, "page_fields", lambda *args: None)
    whole_body, whole_count, whole_rows = page()
    assert whole_body == body and whole_count == count and '"customers_customer"."notes"' in whole_rows
