"""Reference fields (foreign keys in forms and filters) at scale and within permissions:
pages render only the chosen records, the search-as-you-type endpoint returns only what the
member may view, and a posted id outside the member's scope is refused."""

import re

import pytest
from django.test import Client

from qinglan.core.models import RecordShare
from qinglan.core.permissions import Scope
from qinglan.core.testing import grant, make_department, make_member
from qinglan.org.models import Department, User


def client_for(member):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(member)
    return client


def offered(client, url, text=""):
    response = client.get(url, {"q": text})
    assert response.status_code == 200
    return response.json()


@pytest.fixture
def scoped(db):
    """A member who may view and add members of their own department (Sales) only."""
    sales, finance = make_department("Sales"), make_department("Finance")
    member = make_member("scoped", department=sales, display_name="Scoped Member")
    make_member("colleague", department=sales, display_name="Sales Colleague")
    make_member("outsider", department=finance, display_name="Outsider Person")
    grant(member, User, ["view", "add"], scope=Scope.DEPARTMENT)
    grant(member, Department, ["view"], scope=Scope.ALL)
    return member, sales, finance


def test_pages_render_only_the_chosen_records_not_every_choice(db):
    admin = make_member("admin", superuser=True)
    User.objects.bulk_create([User(username=f"bulk{index:03d}", display_name=f"批量{index}") for index in range(300)])
    client = client_for(admin)
    html = client.get("/org/user/").content.decode()
    filter_form = html[html.index('id="ql-filter-form"'):]
    filter_form = filter_form[: filter_form.index("</form>")]
    assert len(re.findall(r"<option", filter_form)) < 10  # not one per member
    assert 'data-autocomplete="/org/user/autocomplete/"' in filter_form

    chosen = User.objects.get(username="bulk123")
    html = client.get("/org/user/", {"manager": chosen.pk}).content.decode()
    assert re.search(rf'<option value="{chosen.pk}" selected>批量123</option>', html)

    add_form = client.get("/org/user/add/").content.decode()
    assert len(re.findall(r"<option", add_form)) < 20


def test_autocomplete_searches_and_limits(db):
    admin = make_member("admin", superuser=True)
    User.objects.bulk_create([User(username=f"wang{index:02d}", display_name=f"王{index:02d}") for index in range(30)])
    make_member("lee", display_name="李四")
    client = client_for(admin)
    data = offered(client, "/org/user/autocomplete/", "王")
    assert len(data["results"]) == 20 and data["more"] is True
    assert all(row["text"].startswith("王") for row in data["results"])
    data = offered(client, "/org/user/autocomplete/", "李")
    assert data == {"results": [{"id": User.objects.get(username="lee").pk, "text": "李四"}], "more": False}
    # hostile input: long, wildcard and quote characters give a clean empty answer
    for text in ("x" * 5000, "%", "_", "' OR 1=1 --", "\x00"):
        response = client.get("/org/user/autocomplete/", {"q": text})
        assert response.status_code == 200 and isinstance(response.json()["results"], list)


def test_autocomplete_needs_a_login(db):
    response = Client().get("/org/user/autocomplete/", {"q": "a"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_autocomplete_and_filters_stay_within_the_scope(scoped):
    member, _sales, finance = scoped
    client = client_for(member)
    names = [row["text"] for row in offered(client, "/org/user/autocomplete/")["results"]]
    assert "Sales Colleague" in names and "Scoped Member" in names and "Outsider Person" not in names
    assert offered(client, "/org/user/autocomplete/", "Outsider")["results"] == []

    # Filtering by a member outside the scope is refused, not answered.
    outsider = User.objects.get(username="outsider")
    response = client.get("/org/user/", {"manager": outsider.pk})
    assert response.status_code == 200
    assert "Some filters are invalid and were ignored." in response.content.decode()
    assert "Outsider Person" not in response.content.decode()


def test_a_posted_reference_outside_the_scope_is_refused(scoped):
    member, _sales, _finance = scoped
    outsider = User.objects.get(username="outsider")
    response = client_for(member).post(
        "/org/user/add/", {"username": "newbie", "password": "Quite-long-pass-42", "manager": outsider.pk}
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not User.objects.filter(username="newbie").exists()


def test_without_a_grant_a_member_still_finds_themselves(db):
    loner = make_member("loner", display_name="Lone Member")
    make_member("other", display_name="Other Member")
    data = offered(client_for(loner), "/org/user/autocomplete/")
    assert [row["text"] for row in data["results"]] == ["Lone Member"]
    assert offered(client_for(loner), "/org/department/autocomplete/")["results"] == []


def test_colleague_lookup_and_sharing(db):
    owner = make_member("owner", display_name="Owner")
    make_member("friend", display_name="Friendly Colleague")
    gone = make_member("gone", display_name="Gone Colleague", is_active=False)
    department = make_department("Shared department")
    grant(owner, Department, ["view", "change"], scope=Scope.ALL)
    client = client_for(owner)
    names = [row["text"] for row in offered(client, "/org/colleagues/", "Colleague")["results"]]
    assert names == ["Friendly Colleague (friend)"]

    # Sharing with an inactive member is refused with a message, and nothing is stored.
    response = client.post(f"/org/department/{department.pk}/share/", {"member": gone.pk}, follow=True)
    assert "Select a valid choice" in response.content.decode()
    assert not RecordShare.objects.exists()


def test_lookups_are_offered_to_every_member(db):
    from qinglan.org.models import Position

    Position.objects.create(name="業務專員")
    member = make_member("plain")
    assert [row["text"] for row in offered(client_for(member), "/org/position/autocomplete/", "業務")["results"]] == ["業務專員"]
    assert Client().get("/org/position/autocomplete/").status_code == 302  # but not to strangers
