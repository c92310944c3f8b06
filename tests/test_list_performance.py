"""The generic list page costs a fixed number of queries whatever the number of rows on it,
reads the custom field definitions once per request, and its keyset pages walk every row
exactly once, forwards and backwards, even over a sort key with NULLs and duplicates."""

import base64
import json
import re

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.signals import request_finished, request_started
from django.db import connection
from django.test import AsyncClient, Client
from django.test.utils import CaptureQueriesContext

from qinglan.core.pagination import keyset_page
from qinglan.core.registry import registry
from qinglan.core.testing import make_department, make_member
from qinglan.core.views import sort_keys_for
from qinglan.extras.models import FieldDef, Tag, set_tags
from qinglan.org.models import Department, Dictionary, DictionaryItem, Position, User


@pytest.fixture
def admin_client(db):
    client = Client()
    client.force_login(make_member("admin", superuser=True))
    return client


def page_pks(response):
    """Primary keys of the rows on a list page, in their order."""
    assert response.status_code == 200
    return [int(pk) for pk in re.findall(r'name="pk" value="(\d+)"', response.content.decode())]


def link(response, rel):
    match = re.search(rf'href="(\?[^"]*)" rel="{rel}"', response.content.decode())
    return match.group(1).replace("&amp;", "&") if match else None


def list_queries(client, url):
    client.get(url)  # warm process caches (content types, …) so both counts see the same state
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return response, [query["sql"] for query in context.captured_queries]


# ---- queries per page ---------------------------------------------------------------------


def test_position_list_queries_do_not_grow_with_the_rows(admin_client):
    position_type = ContentType.objects.get_for_model(Position)
    grades = Dictionary.objects.create(code="grade", name="職等")
    DictionaryItem.objects.create(dictionary=grades, value="g1", label="一等")
    FieldDef.objects.create(
        content_type=position_type, name="home", label="所屬部門", type="reference",
        reference_type=ContentType.objects.get_for_model(Department), show_in_list=True,
    )
    FieldDef.objects.create(content_type=position_type, name="grade", label="職等", type="choice", dictionary=grades, show_in_list=True)
    tag = Tag.objects.create(name="重點", slug="key")
    admin_client.post("/org/position/preferences/", {"columns": ["name", "level", "cf_home", "cf_grade", "tags"]})

    def add_positions(count):
        for index in range(Position.objects.count(), count):
            department = make_department(f"部門{index:02d}")
            position = Position.objects.create(name=f"職位{index:02d}", custom_field_data={"home": department.pk, "grade": "g1"})
            set_tags(position, [tag])

    add_positions(5)
    few, few_queries = list_queries(admin_client, "/org/position/")
    add_positions(50)
    many, many_queries = list_queries(admin_client, "/org/position/")
    assert len(page_pks(few)) == 5 and len(page_pks(many)) == 50
    assert len(many_queries) == len(few_queries), "\n".join(many_queries)
    html = many.content.decode()
    for index in range(50):  # every row shows its own referenced record, choice label and tag
        assert f"部門{index:02d}" in html
    assert html.count("一等") >= 50 and html.count("重點") >= 50
    # the definitions are read once for the filters, the table and the column chooser
    assert sum('"extras_fielddef"' in sql for sql in many_queries) == 1


def test_member_list_queries_do_not_grow_with_the_rows(admin_client):
    """Foreign keys picked in the column chooser (not joined by the resource's queryset) and a
    custom reference to another resource are loaded for the page, not row by row."""
    FieldDef.objects.create(
        content_type=ContentType.objects.get_for_model(User), name="post", label="兼任職位", type="reference",
        reference_type=ContentType.objects.get_for_model(Position), show_in_list=True,
    )
    admin_client.post("/org/user/preferences/", {"columns": ["username", "department", "position", "manager", "cf_post"]})
    boss = User.objects.get(username="admin")

    def add_members(count):
        for index in range(User.objects.count(), count):
            department = make_department(f"組{index:02d}")
            position = Position.objects.create(name=f"職{index:02d}")
            extra = Position.objects.create(name=f"兼{index:02d}")
            User.objects.create(
                username=f"m{index:02d}", department=department, position=position, manager=boss,
                custom_field_data={"post": extra.pk},
            )

    add_members(5)
    few, few_queries = list_queries(admin_client, "/org/user/")
    add_members(50)
    many, many_queries = list_queries(admin_client, "/org/user/")
    assert len(page_pks(few)) == 5 and len(page_pks(many)) == 50
    assert len(many_queries) == len(few_queries), "\n".join(many_queries)
    html = many.content.decode()
    for index in range(1, 50):
        assert f"組{index:02d}" in html and f"職{index:02d}" in html and f"兼{index:02d}" in html


def test_reference_to_a_missing_or_malformed_record_shows_its_id(admin_client):
    FieldDef.objects.create(
        content_type=ContentType.objects.get_for_model(Position), name="home", label="部門", type="reference",
        reference_type=ContentType.objects.get_for_model(Department), show_in_list=True,
    )
    existing = make_department("倉儲部")
    Position.objects.create(name="甲", custom_field_data={"home": existing.pk})
    Position.objects.create(name="乙", custom_field_data={"home": 987654})
    Position.objects.create(name="丙", custom_field_data={"home": "not-a-pk"})
    html = admin_client.get("/org/position/").content.decode()
    assert "倉儲部" in html and "#987654" in html and "#not-a-pk" in html


# ---- custom field definitions -------------------------------------------------------------


def test_field_definitions_are_read_once_per_request_and_never_stale(admin_client):
    position_type = ContentType.objects.get_for_model(Position)
    Position.objects.create(name="工程師", custom_field_data={"shift": "夜班"})
    form = {"content_type": position_type.pk, "name": "shift", "label": "班別", "type": "text", "order": "1", "show_in_list": "on", "filterable": "on"}
    assert admin_client.post("/extras/fielddef/add/", form).status_code == 302
    response, queries = list_queries(admin_client, "/org/position/")
    assert "班別" in response.content.decode() and "夜班" in response.content.decode()
    assert sum('"extras_fielddef"' in sql for sql in queries) == 1
    definition = FieldDef.objects.get(name="shift")
    admin_client.post(f"/extras/fielddef/{definition.pk}/edit/", {**form, "label": "輪班"})
    html = admin_client.get("/org/position/").content.decode()
    assert "輪班" in html and "班別" not in html
    definition.delete()
    assert "輪班" not in admin_client.get("/org/position/").content.decode()


@pytest.mark.django_db
def test_saving_or_deleting_a_definition_refreshes_the_request_cache():
    from qinglan.extras.customfields import field_defs_for

    send(request_started)
    try:
        assert field_defs_for(Position) == []
        definition = FieldDef.objects.create(content_type=ContentType.objects.get_for_model(Position), name="a", label="A")
        assert [d.label for d in field_defs_for(Position)] == ["A"]
        definition.label = "B"
        definition.save()
        assert [d.label for d in field_defs_for(Position)] == ["B"]
        definition.delete()
        assert field_defs_for(Position) == []
    finally:
        send(request_finished)


def send(signal):
    """Send a request signal as the test client does, without closing the test's connection."""
    from django.db import close_old_connections

    signal.disconnect(close_old_connections)
    try:
        signal.send(sender=None)
    finally:
        signal.connect(close_old_connections)


@pytest.mark.django_db
def test_definitions_are_read_once_per_request_under_asgi():
    from asgiref.sync import async_to_sync

    FieldDef.objects.create(content_type=ContentType.objects.get_for_model(Position), name="a", label="欄甲", show_in_list=True)
    Position.objects.create(name="甲", custom_field_data={"a": "值甲"})
    client = AsyncClient()
    client.force_login(make_member("admin", superuser=True))
    with CaptureQueriesContext(connection) as context:
        response = async_to_sync(client.get)("/org/position/")
    assert response.status_code == 200
    assert "欄甲" in response.content.decode() and "值甲" in response.content.decode()
    assert sum('"extras_fielddef"' in query["sql"] for query in context.captured_queries) == 1


# ---- keyset pages over nullable keys ------------------------------------------------------


@pytest.fixture
def members_with_null_and_duplicate_departments(db):
    """81 members: 20 in "alpha", 30 in two departments both named "beta", 31 in none (the
    administrator too), so page borders at 25 fall among duplicates and among NULLs."""
    admin = make_member("admin", superuser=True)
    alpha, beta1, beta2 = make_department("alpha"), make_department("beta"), make_department("beta")
    groups = [(alpha, 20), (beta1, 15), (beta2, 15), (None, 30)]
    serial = 0
    members = []
    for department, count in groups:
        for _index in range(count):
            members.append(User(username=f"u{serial:03d}", department=department))
            serial += 1
    User.objects.bulk_create(sorted(members, key=lambda member: int(member.username[1:]) * 37 % 80))  # pks not in group order
    return admin


def expected_order(descending):
    """Department name with NULL as the greatest value, then the pk in the same direction."""
    rows = list(User.objects.values_list("department__name", "pk"))
    named = sorted((row for row in rows if row[0] is not None), reverse=descending)
    nulls = sorted((row for row in rows if row[0] is None), key=lambda row: row[1], reverse=descending)
    return [pk for _name, pk in (nulls + named if descending else named + nulls)]


@pytest.mark.parametrize("sort", ["department", "-department"])
def test_list_pages_walk_a_nullable_key_with_duplicates_both_ways(members_with_null_and_duplicate_departments, sort):
    client = Client()
    client.force_login(members_with_null_and_duplicate_departments)
    expected = expected_order(sort.startswith("-"))
    assert len(expected) == 81

    forwards, url = [], f"?sort={sort}&page_size=25"
    while url:
        response = client.get("/org/user/" + url)
        forwards += page_pks(response)
        url = link(response, "next")
    assert forwards == expected

    backwards, url = [], f"?sort={sort}&page_size=25&last=1"
    while url:
        response = client.get("/org/user/" + url)
        backwards = page_pks(response) + backwards
        url = link(response, "prev")
    assert backwards == expected


@pytest.mark.parametrize("sort", ["department", "-department", "manager", "-manager", "code", "-code"])
@pytest.mark.parametrize("size", [1, 2, 3, 7])
def test_keyset_pages_over_nullable_keys_visit_every_row_once(members_with_null_and_duplicate_departments, sort, size):
    if sort.lstrip("-") == "code":
        model = Department
        for index in range(6):  # NULL codes and a few set ones
            make_department(f"d{index}", code=f"c{index % 3}{index}" if index % 2 else None)
    else:
        model = User
        boss = User.objects.get(username="u005")
        User.objects.filter(pk__in=User.objects.filter(username__gt="u040").values("pk")).update(manager=boss)
    resource = registry.get(model)
    keys = sort_keys_for(resource, sort)
    assert keys[0].nullable
    queryset = model.objects.all()
    ordering = list(queryset.order_by(*_orm_order(keys)).values_list("pk", flat=True))
    seen, cursor = [], None
    while True:
        page = keyset_page(queryset, keys, size=size, after=cursor)
        seen += [row.pk for row in page.rows]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == ordering
    back, cursor = [], None
    page = keyset_page(queryset, keys, size=size, last=True)
    while True:
        back = [row.pk for row in page.rows] + back
        if not page.prev_cursor:
            break
        page = keyset_page(queryset, keys, size=size, before=page.prev_cursor)
    assert back == ordering


def _orm_order(keys):
    from django.db.models import F

    for key in keys:
        yield F(key.path).desc(nulls_first=True) if key.descending else F(key.path).asc(nulls_last=True)


def test_sort_keys_say_nullable_only_where_null_can_occur(db):
    members = registry.get(User)
    assert [(key.path, key.nullable) for key in sort_keys_for(members, "username")] == [("username", False), ("pk", False)]
    assert sort_keys_for(members, "department")[0].nullable  # nullable foreign key
    assert sort_keys_for(members, "manager")[0].nullable
    assert sort_keys_for(registry.get(Department), "code")[0].nullable  # nullable column
    assert not sort_keys_for(registry.get(Department), "name")[0].nullable


def test_plain_keys_sort_without_null_handling_and_range_scan_from_the_cursor(admin_client):
    """A non-nullable sort key orders and seeks with plain comparisons an index can serve."""
    for index in range(30):
        Position.objects.create(name=f"職位{index:02d}", level=index % 4)
    first = admin_client.get("/org/position/?sort=level&page_size=25")
    with CaptureQueriesContext(connection) as context:
        second = admin_client.get("/org/position/" + link(first, "next"))
    assert sorted(page_pks(first) + page_pks(second)) == sorted(Position.objects.values_list("pk", flat=True))
    page_query = next(query["sql"] for query in context.captured_queries if "ORDER BY" in query["sql"] and '"org_position"' in query["sql"])
    assert "NULLS" not in page_query and "IS NULL" not in page_query
    assert '"org_position"."level" >= ' in page_query


@pytest.mark.parametrize("values", [["abc", 1], [1, "x"], [None, None], [{"a": 1}, 1], ["2026-13-45", 1]])
@pytest.mark.parametrize("direction", ["after", "before"])
def test_forged_cursors_give_the_first_page_not_an_error(admin_client, values, direction):
    for index in range(3):
        Position.objects.create(name=f"p{index}", level=index)
    cursor = base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")
    response = admin_client.get(f"/org/position/?sort=-level&{direction}={cursor}")
    assert len(page_pks(response)) == 3


# ---- exports --------------------------------------------------------------------------------


def test_export_queries_do_not_grow_with_the_rows(admin_client):
    member_type = ContentType.objects.get_for_model(User)
    FieldDef.objects.create(
        content_type=member_type, name="home", label="常駐部門", type="reference",
        reference_type=ContentType.objects.get_for_model(Department),
    )
    position = Position.objects.create(name="業務專員")

    def add_members(count):
        for index in range(User.objects.count(), count):
            department = make_department(f"匯出部門{index:02d}")
            make_member(f"export{index:02d}", department=department, position=position, custom_field_data={"home": department.pk})

    def export():
        admin_client.get("/org/user/export/?format=csv")
        with CaptureQueriesContext(connection) as context:
            response = admin_client.get("/org/user/export/?format=csv")
            text = b"".join(response.streaming_content).decode("utf-8-sig")
        return text, len(context.captured_queries)

    add_members(5)
    few_text, few = export()
    add_members(40)
    many_text, many = export()
    assert few_text.count("\n") == 6 and many_text.count("\n") == 41  # header + members (admin too)
    assert many == few
    for index in range(1, 40):  # department column and the reference custom field both name it
        assert many_text.count(f"匯出部門{index:02d}") == 2
