"""Yes/no filters of a list (generated for BooleanFields): worded "Any / Yes / No" in the
member's language, and filtering by them works over HTTP, on the list page and the API."""

import re

import pytest
from django.test import Client

from qinglan.core.testing import list_pks, make_member


@pytest.fixture
def members(db):
    admin = make_member("admin", superuser=True)
    active = make_member("active1")
    inactive = make_member("inactive1", is_active=False)
    client = Client()
    client.force_login(admin)
    return client, {"admin": admin.pk, "active": active.pk, "inactive": inactive.pk}


def filter_options(html, name):
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select, f"no <select name={name!r}> on the page"
    return re.findall(r'<option value="([^"]*)"([^>]*)>([^<]*)</option>', select.group(1))


def test_yes_no_filter_offers_any_yes_and_no_in_the_members_language(members):
    client, _pks = members
    html = client.get("/org/user/", HTTP_ACCEPT_LANGUAGE="zh-hant").content.decode()
    assert [(value, label) for value, _attrs, label in filter_options(html, "is_active")] == [("", "全部"), ("true", "是"), ("false", "否")]
    assert "未知" not in html and "Unknown" not in html

    html = client.get("/org/user/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert [label for _value, _attrs, label in filter_options(html, "is_active")] == ["全部", "是", "否"]

    html = client.get("/org/user/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert [label for _value, _attrs, label in filter_options(html, "is_active")] == ["Any", "Yes", "No"]


@pytest.mark.parametrize(
    "value,expected",
    [("true", {"admin", "active"}), ("false", {"inactive"}), ("", {"admin", "active", "inactive"})],
)
def test_list_is_filtered_by_yes_or_no_and_the_choice_stays_selected(members, value, expected):
    client, pks = members
    response = client.get("/org/user/", {"is_active": value})
    assert response.status_code == 200
    assert list_pks(response) == {pks[name] for name in expected}
    selected = [option for option, attrs, _label in filter_options(response.content.decode(), "is_active") if "selected" in attrs]
    assert selected == [value]


def test_old_style_values_and_nonsense_do_not_break_the_list(members):
    client, pks = members
    # "True"/"False" (Python spelling) are understood; anything else means "any".
    assert list_pks(client.get("/org/user/", {"is_active": "False"})) == {pks["inactive"]}
    response = client.get("/org/user/", {"is_active": "maybe"})
    assert response.status_code == 200
    assert list_pks(response) == set(pks.values())


def test_api_filters_by_yes_or_no(members):
    client, pks = members
    response = client.get("/api/org/users/", {"is_active": "false"})
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [pks["inactive"]]
    response = client.get("/api/org/users/", {"is_active": "true"})
    assert {row["id"] for row in response.json()["results"]} == {pks["admin"], pks["active"]}


def test_the_filter_chip_says_yes_or_no_not_true_or_false(members):
    client, _pks = members
    html = client.get("/org/user/", {"is_active": "false"}, HTTP_ACCEPT_LANGUAGE="zh-hant").content.decode()
    chips = re.findall(r'data-filter-chip[^>]*>(.*?)</', html, re.S)
    assert any("否" in chip for chip in chips), chips
    assert "False" not in " ".join(chips)
