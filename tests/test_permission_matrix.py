"""Permission matrix: every registered resource × every data scope, checked through the list
page, the detail page, the API, the CSV export and the global search, and for change and
delete. The expected visibility is computed from who owns each sample record and where it
sits in the department tree — never from restrict() itself."""

import csv
import importlib
import importlib.util
import io
import re

import pytest
from django.apps import apps
from django.db.models import Q
from django.test import Client

from qinglan.core.models import APIToken
from qinglan.core.permissions import Scope
from qinglan.core.registry import registry
from qinglan.core.testing import SAMPLE_FACTORIES, grant, list_pks, make_department, make_member

for app_config in apps.get_app_configs():
    if app_config.name.startswith("qinglan.") and importlib.util.find_spec(f"{app_config.name}.tests.factories"):
        importlib.import_module(f"{app_config.name}.tests.factories")

RESOURCES = sorted(registry, key=lambda resource: resource.label)


def test_every_resource_has_a_sample_factory():
    missing = [resource.label for resource in RESOURCES if resource.model not in SAMPLE_FACTORIES]
    assert missing == [], "add a sample_factory in <app>/tests/factories.py for these resources"


@pytest.fixture
def world(db):
    """Viewer in 業務部; a colleague in the same department; a member in 北區 below it; an
    outsider in 財務部. Each owns one sample record of the resource under test."""
    sales = make_department("業務部")
    north = make_department("北區", parent=sales)
    finance = make_department("財務部")
    people = {
        "viewer": make_member("viewer", department=sales),
        "colleague": make_member("colleague", department=sales),
        "below": make_member("below", department=north),
        "outsider": make_member("outsider", department=finance),
    }
    subtree = {sales.pk, north.pk}
    return people, sales, subtree


def expected_visible(resource, samples, viewer, scope, subtree):
    narrows = bool(resource.owner_field or resource.department_field or resource.scope_through)
    visible = set()
    for record, owner, department in samples:
        if not narrows or scope == Scope.ALL:
            visible.add(record.pk)
            continue
        if owner is not None and owner.pk == viewer.pk:
            visible.add(record.pk)
        elif scope == Scope.DEPARTMENT and department is not None and department.pk == viewer.department_id:
            visible.add(record.pk)
        elif scope == Scope.SUBTREE and department is not None:
            department.refresh_from_db()
            if department.pk in subtree or any(department.path.startswith(d.path) for d in type(department).objects.filter(pk__in=subtree)):
                visible.add(record.pk)
    return visible


def detail_ids(resource, html):
    pattern = re.escape(f"/{resource.app_label}/{resource.model_name}/") + r"(\d+)/"
    return {int(pk) for pk in re.findall(pattern, html)}


@pytest.mark.parametrize("scope", [Scope.OWN, Scope.DEPARTMENT, Scope.SUBTREE, Scope.ALL])
@pytest.mark.parametrize("resource", RESOURCES, ids=lambda resource: resource.label)
def test_scope_leaks_nothing(world, resource, scope):
    people, _sales, subtree = world
    viewer = people["viewer"]
    factory = SAMPLE_FACTORIES[resource.model]
    samples = [factory(owner, serial) for serial, owner in enumerate(people.values(), start=1)]
    sample_pks = {record.pk for record, _owner, _department in samples}
    expected = expected_visible(resource, samples, viewer, scope, subtree)
    grant(viewer, resource.model, ["view", "export", "change", "delete"], scope=scope)
    client = Client()
    client.force_login(viewer)

    # list page (largest page size so every sample fits)
    listed = list_pks(client.get(resource.list_url + "?page_size=200")) & sample_pks
    assert listed == expected, "list page"
    # detail pages
    for record, _owner, _department in samples:
        status = client.get(resource.url("detail", record)).status_code
        assert status == (200 if record.pk in expected else 404), f"detail of {record.pk}"
    # API
    _token, key = APIToken.issue(user=viewer, name="matrix")
    response = client.get(f"/api/{resource.api_prefix}/?limit=1000", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200
    assert {row["id"] for row in response.json()["results"]} & sample_pks == expected, "API list"
    for record, _owner, _department in samples:
        status = client.get(f"/api/{resource.api_prefix}/{record.pk}/", HTTP_AUTHORIZATION=f"Token {key}").status_code
        assert status == (200 if record.pk in expected else 404), f"API detail of {record.pk}"
    # export
    response = client.get(resource.url("export") + "?format=csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert {int(row[0]) for row in rows[1:] if row and row[0].isdigit()} & sample_pks == expected, "export"
    # global search over the quick-search fields ("矩陣" / "matrix" is in every sample's name)
    if resource.search:
        found = set()
        for term in ("矩陣", "matrix"):
            found |= detail_ids(resource, client.get("/search/", {"q": term}).content.decode())
        assert found & sample_pks <= expected, "search"
    # search-as-you-type choices of reference fields
    offered = set()
    for term in ("", "矩陣", "matrix"):
        response = client.get(resource.url("autocomplete"), {"q": term})
        assert response.status_code == 200
        offered |= {row["id"] for row in response.json()["results"]}
    assert offered & sample_pks <= expected, "autocomplete"
    # change and delete of a record outside the scope
    hidden = [record for record, _owner, _department in samples if record.pk not in expected]
    refused = 403 if resource.read_only else 404  # a read-only resource refuses before it looks the record up
    for record in hidden:
        assert client.get(resource.url("edit", record)).status_code == refused
        assert client.post(resource.url("delete", record)).status_code == refused
        api = f"/api/{resource.api_prefix}/{record.pk}/"
        assert client.patch(api, "{}", content_type="application/json", HTTP_AUTHORIZATION=f"Token {key}").status_code == refused, "API change"
        assert client.delete(api, HTTP_AUTHORIZATION=f"Token {key}").status_code == refused, "API delete"
        assert resource.model._default_manager.filter(pk=record.pk).exists()


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda resource: resource.label)
def test_no_grant_means_no_access(world, resource):
    people, _sales, _subtree = world
    viewer = people["viewer"]
    record, _owner, _department = SAMPLE_FACTORIES[resource.model](people["colleague"], 1)
    client = Client()
    client.force_login(viewer)
    assert client.get(resource.list_url).status_code == 403
    assert client.get(resource.url("detail", record)).status_code == 403
    assert client.get(resource.url("export")).status_code == 403
    _token, key = APIToken.issue(user=viewer, name="matrix")
    assert client.get(f"/api/{resource.api_prefix}/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 403
    search = client.get("/search/", {"q": "矩陣"}).content.decode()
    assert record.pk not in detail_ids(resource, search)
    offered = client.get(resource.url("autocomplete"), {"q": ""}).json()["results"]
    if not getattr(resource.model, "choices_for_everyone", False):  # lookups every member may pick
        assert record.pk not in {row["id"] for row in offered}


def test_constraints_narrow_a_grant(world):
    from qinglan.org.models import Position

    people, _sales, _subtree = world
    viewer = people["viewer"]
    junior = Position.objects.create(name="專員", level=5)
    senior = Position.objects.create(name="經理", level=2)
    grant(viewer, Position, ["view"], constraints={"level__gte": 3})
    client = Client()
    client.force_login(viewer)
    listed = list_pks(client.get(registry.get(Position).list_url))
    assert junior.pk in listed and senior.pk not in listed


SHAREABLE = [resource for resource in RESOURCES if resource.shareable and not resource.read_only]


@pytest.mark.parametrize("resource", SHAREABLE, ids=lambda resource: resource.label)
def test_a_shared_record_counts_as_own_for_the_member_it_is_shared_with(world, resource):
    """Shared through the record page's share form: seen in the list, on its page, in the API
    and the export; changed only when the share says so; never deleted."""
    people, _sales, _subtree = world
    viewer = people["viewer"]
    record, _owner, _department = SAMPLE_FACTORIES[resource.model](people["outsider"], 1)
    grant(viewer, resource.model, ["view", "export", "change", "delete"], scope=Scope.OWN)
    client = Client()
    client.force_login(viewer)
    _token, key = APIToken.issue(user=viewer, name="matrix")
    auth = {"HTTP_AUTHORIZATION": f"Token {key}"}
    api = f"/api/{resource.api_prefix}/{record.pk}/"

    def seen():
        listed = record.pk in list_pks(client.get(resource.list_url + "?page_size=200"))
        detail = client.get(resource.url("detail", record)).status_code == 200
        in_api = client.get(api, **auth).status_code == 200
        in_api_list = record.pk in {row["id"] for row in client.get(f"/api/{resource.api_prefix}/?limit=1000", **auth).json()["results"]}
        rows = csv.reader(io.StringIO(b"".join(client.get(resource.url("export") + "?format=csv").streaming_content).decode("utf-8-sig")))
        exported = str(record.pk) in {row[0] for row in rows if row}
        return {listed, detail, in_api, in_api_list, exported}

    assert seen() == {False}
    sharer = Client()
    sharer.force_login(make_member("sharer", superuser=True))
    assert sharer.post(resource.url("share", record), {"member": viewer.pk}).status_code == 302
    assert seen() == {True}
    assert client.get(resource.url("edit", record)).status_code == 404  # a plain share only shows the record
    assert client.patch(api, "{}", content_type="application/json", **auth).status_code == 404
    sharer.post(resource.url("share", record), {"member": viewer.pk, "can_change": "1"})
    # A resource whose records nobody changes through the generic pages (process instances
    # move on through their services) declares an empty scope for writes.
    if resource.scope(viewer, Scope.ALL, "change") != Q(pk__in=[]):
        assert client.get(resource.url("edit", record)).status_code == 200
        assert client.patch(api, "{}", content_type="application/json", **auth).status_code != 404
    assert client.post(resource.url("delete", record)).status_code == 404  # a share never lets one delete
    assert client.delete(api, **auth).status_code == 404
    assert resource.model._default_manager.filter(pk=record.pk).exists()
    sharer.post(resource.url("share", record), {"member": viewer.pk, "remove": "1"})
    assert seen() == {False}


def test_a_role_held_through_a_group_grants_like_one_held_directly(world):
    """The member is in a group; the group holds the role: the data scope applies as if the
    role were the member's own, in the UI and the API."""
    from qinglan.org.models import Group, Role, RolePermission

    people, _sales, _subtree = world
    viewer = people["viewer"]
    resource = registry.get_by_label("org", "user")
    team = Group.objects.create(name="業務小組")
    team.members.add(viewer)
    role = Role.objects.create(name="部門檢視")
    role.groups.add(team)
    from django.contrib.contenttypes.models import ContentType

    RolePermission.objects.create(role=role, content_type=ContentType.objects.get_for_model(resource.model), actions=["view"], scope=Scope.DEPARTMENT)
    client = Client()
    client.force_login(viewer)
    expected = {viewer.pk, people["colleague"].pk}
    members = {person.pk for person in people.values()}
    assert list_pks(client.get(resource.list_url)) & members == expected
    _token, key = APIToken.issue(user=viewer, name="group")
    response = client.get(f"/api/{resource.api_prefix}/", HTTP_AUTHORIZATION=f"Token {key}")
    assert {row["id"] for row in response.json()["results"]} & members == expected
    assert client.get(resource.url("detail", people["below"])).status_code == 404
    team.members.remove(viewer)
    assert client.get(resource.list_url).status_code == 403
