"""Every custom field type an administrator can add — text, long text, whole number, decimal,
date, date and time, yes/no, choice, multiple choice, URL, e-mail and reference — appears in
its resource's form, list, filters, export, import and API, with no code. Each type is
driven through the pages and the API a member uses, on Position (a resource of the core)."""

import csv
import io
import json
import re

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from openpyxl import load_workbook

from qinglan.core.models import APIToken
from qinglan.core.testing import grant, list_pks, make_department, make_member
from qinglan.extras.models import FieldDef, FieldType
from qinglan.org.models import Department, Dictionary, DictionaryItem, Position

# type: (definition options, value posted by the form for record A, stored JSON of A,
#        text shown for A, value posted for record B, {filter param: value} finding A not B,
#        text of A in an import file, value of A sent through the API)
CASES = {
    FieldType.TEXT: ({}, "青藍科技", "青藍科技", "青藍科技", "紅樹林", {"": "青藍"}, "青藍科技", "青藍科技"),
    FieldType.LONGTEXT: ({}, "第一行\n第二行", "第一行\n第二行", "第一行", "別的", {"": "第二"}, "第一行\n第二行", "第一行\n第二行"),
    FieldType.INTEGER: ({}, "42", 42, "42", "7", {"_min": "40", "_max": "42"}, "42", 42),
    FieldType.DECIMAL: ({}, "1234.50", "1234.50", "1234.50", "99.5", {"_min": "1234.5"}, "1234.50", "1234.50"),
    FieldType.DATE: ({}, "2026-01-02", "2026-01-02", "2026-01-02", "2025-12-31", {"_min": "2026-01-01"}, "2026-01-02", "2026-01-02"),
    FieldType.DATETIME: (
        {}, "2026-01-02T09:30", "2026-01-02T01:30:00+00:00", "2026-01-02 09:30", "2026-01-03T09:30",
        {"_min": "2026-01-02", "_max": "2026-01-02"}, "2026-01-02 09:30", "2026-01-02T09:30:00+08:00",
    ),
    FieldType.BOOLEAN: ({}, "on", True, "Yes", "", {"": "true"}, "是", True),
    FieldType.CHOICE: ({"dictionary": True}, "g2", "g2", "二等", "g1", {"": "g2"}, "二等", "g2"),
    FieldType.MULTICHOICE: (
        {"choices": "中文\nEnglish\n日本語"}, ["中文", "English"], ["中文", "English"], "中文, English", ["日本語"],
        {"": "中文"}, "中文，English", ["中文", "English"],
    ),
    FieldType.URL: ({}, "https://example.com/青藍", "https://example.com/青藍", "https://example.com/青藍", "https://other.example", {"": "example.com"}, "https://example.com/青藍", "https://example.com/青藍"),
    FieldType.EMAIL: ({}, "wang@example.com", "wang@example.com", "wang@example.com", "lee@other.example", {"": "wang@"}, "wang@example.com", "wang@example.com"),
    FieldType.REFERENCE: ({"reference": True}, "DEPT", "DEPT", "業務部", "OTHER", {"": "DEPT"}, "業務部", "DEPT"),
}


def test_every_type_is_covered():
    assert set(CASES) == set(FieldType)


@pytest.fixture
def world(db):
    admin = make_member("admin", superuser=True)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(admin)
    grades = Dictionary.objects.create(code="grade", name="職等")
    DictionaryItem.objects.create(dictionary=grades, value="g1", label="一等")
    DictionaryItem.objects.create(dictionary=grades, value="g2", label="二等")
    sales = make_department("業務部", code="SALES")
    other = make_department("財務部", code="FIN")
    return client, admin, grades, {"DEPT": sales.pk, "OTHER": other.pk}


def resolve(value, departments):
    """A case's placeholder for a department ("DEPT"/"OTHER") as that department's id."""
    return departments.get(value, value) if isinstance(value, str) else value


def define(client, kind, options, grades):
    """The field as an administrator adds it on the custom field form."""
    data = {"content_type": ContentType.objects.get_for_model(Position).pk, "name": "extra", "label": "附加", "type": kind,
            "order": "10", "show_in_list": "on", "filterable": "on"}
    if options.get("dictionary"):
        data["dictionary"] = grades.pk
    if "choices" in options:
        data["choices"] = options["choices"]
    if options.get("reference"):
        data["reference_type"] = ContentType.objects.get_for_model(Department).pk
    response = client.post("/extras/fielddef/add/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    return FieldDef.objects.get(name="extra")


def add(client, name, value):
    response = client.post("/org/position/add/", {"name": name, "level": "1", "cf_extra": value})
    assert response.status_code == 302, response.content.decode()[:3000]
    return Position.objects.get(name=name)


@pytest.mark.parametrize("kind", list(CASES), ids=str)
def test_custom_field_type_in_form_list_filters_export_import_and_api(world, kind):
    client, admin, grades, departments = world
    options, posted, stored, shown, other_posted, found_by, imported, api_value = CASES[kind]
    define(client, kind, options, grades)

    # form: the add form has the field; what it saves is the typed JSON value
    assert 'name="cf_extra"' in client.get("/org/position/add/").content.decode()
    first = add(client, "甲", resolve(posted, departments))
    second = add(client, "乙", resolve(other_posted, departments))
    assert first.custom_field_data["extra"] == resolve(stored, departments)
    # ...and the edit form shows it again
    edit = client.get(f"/org/position/{first.pk}/edit/").content.decode()
    assert 'name="cf_extra"' in edit

    # list: a column shown by default (show_in_list), with the value as text
    listed = client.get("/org/position/").content.decode()
    assert shown in listed
    assert shown in client.get(f"/org/position/{first.pk}/").content.decode()

    # filters: the list, the export and the API narrow to the matching record
    params = {f"cf_extra{suffix}": resolve(value, departments) for suffix, value in found_by.items()}
    assert list_pks(client.get("/org/position/", params)) == {first.pk}
    exported = client.get("/org/position/export/", {**params, "format": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(exported.streaming_content).decode("utf-8-sig"))))
    column = rows[0].index("cf_extra")
    assert [(row[0], row[column]) for row in rows[1:]] == [(str(first.pk), shown if kind != FieldType.LONGTEXT else stored)]
    _token, key = APIToken.issue(user=admin, name="types")
    auth = {"HTTP_AUTHORIZATION": f"Token {key}"}
    found = client.get("/api/org/positions/", params, **auth).json()["results"]
    assert [row["id"] for row in found] == [first.pk]
    assert second.pk not in {row["id"] for row in found}

    # export: the whole list as XLSX holds the same text
    response = client.get("/org/position/export/", {"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True).worksheets[0]
    table = [list(row) for row in sheet.iter_rows(values_only=True)]
    column = table[0].index("cf_extra")
    by_id = {str(row[0]): row[column] for row in table[1:]}
    assert str(by_id[str(first.pk)]) == (shown if kind != FieldType.LONGTEXT else stored)

    # import: a file naming the field by its label fills it in
    content = io.StringIO()
    csv.writer(content).writerows([["name", "level", "附加"], ["丙", "1", imported]])
    job = client.post("/org/position/import/", {"file": SimpleUploadedFile("p.csv", content.getvalue().encode())})["Location"]
    page = client.get(job).content.decode()
    assert 'value="cf_extra" selected' in page  # the column 附加 was matched to the field by its label
    response = client.post(job, {"column_0": "name", "column_1": "level", "column_2": "cf_extra"})
    assert 'data-testid="import-ok"' in client.get(job).content.decode()
    client.post(job, {"_confirm": "1"})
    assert Position.objects.get(name="丙").custom_field_data["extra"] == resolve(stored, departments)

    # API: written and read back under custom_fields, validated like the form
    response = client.post(
        "/api/org/positions/", json.dumps({"name": "丁", "level": 1, "custom_fields": {"extra": resolve(api_value, departments)}}),
        content_type="application/json", **auth,
    )
    assert response.status_code == 201, response.content
    assert response.json()["custom_fields"]["extra"] == resolve(stored, departments)
    assert client.get(f"/api/org/positions/{first.pk}/", **auth).json()["custom_fields"]["extra"] == resolve(stored, departments)


BAD_VALUES = {
    FieldType.INTEGER: "4.5",
    FieldType.DECIMAL: "abc",
    FieldType.DATE: "2026-02-30",
    FieldType.DATETIME: "tomorrow",
    FieldType.BOOLEAN: "perhaps",
    FieldType.CHOICE: "g9",
    FieldType.MULTICHOICE: "Klingon",
    FieldType.URL: "not a url",
    FieldType.EMAIL: "nobody",
    FieldType.REFERENCE: "無此部門",
}


@pytest.mark.parametrize("kind", list(BAD_VALUES), ids=str)
def test_a_bad_value_is_refused_in_the_form_the_import_and_the_api_and_nothing_is_written(world, kind):
    client, admin, grades, _departments = world
    define(client, kind, CASES[kind][0], grades)
    bad = BAD_VALUES[kind]
    if kind != FieldType.BOOLEAN:  # the form's checkbox is ticked or not; it has no bad value
        response = client.post("/org/position/add/", {"name": "壞", "level": "1", "cf_extra": bad})
        assert response.status_code == 400
    content = io.StringIO()
    csv.writer(content).writerows([["name", "level", "附加"], ["壞", "1", bad]])
    job = client.post("/org/position/import/", {"file": SimpleUploadedFile("p.csv", content.getvalue().encode())})["Location"]
    client.post(job, {"column_0": "name", "column_1": "level", "column_2": "cf_extra"})
    page = client.get(job).content.decode()
    assert 'data-testid="import-errors"' in page and "附加" in page
    client.post(job, {"_confirm": "1"})
    _token, key = APIToken.issue(user=admin, name="bad")
    response = client.post(
        "/api/org/positions/", json.dumps({"name": "壞", "level": 1, "custom_fields": {"extra": bad}}),
        content_type="application/json", HTTP_AUTHORIZATION=f"Token {key}",
    )
    assert response.status_code == 400 and "custom_fields" in response.json()
    assert not Position.objects.filter(name="壞").exists()


def test_a_reference_field_offers_and_accepts_only_records_the_member_may_view(world):
    client, _admin, grades, departments = world
    define(client, FieldType.REFERENCE, {"reference": True}, grades)
    member = make_member("clerk")
    grant(member, Position, ["view", "add"])
    grant(member, Department, ["view"], scope="own")  # owns no department: sees none
    own = Client(HTTP_ACCEPT_LANGUAGE="en")
    own.force_login(member)
    form = own.get("/org/position/add/").content.decode()
    assert "業務部" not in form and "data-autocomplete" in form  # search-as-you-type, no list of every record
    response = own.post("/org/position/add/", {"name": "越權", "level": "1", "cf_extra": departments["DEPT"]})
    assert response.status_code == 400
    assert not Position.objects.filter(name="越權").exists()


def test_the_definition_form_shows_options_one_per_line(world):
    client, _admin, _grades, _departments = world
    page = client.get("/extras/fielddef/add/").content.decode()
    assert re.search(r'<textarea name="choices"[^>]*>\s*</textarea>', page)  # empty, not "[]"
    definition = define(client, FieldType.MULTICHOICE, {"choices": "中文\nEnglish"}, None)
    page = client.get(f"/extras/fielddef/{definition.pk}/edit/").content.decode()
    assert re.search(r'<textarea name="choices"[^>]*>\s*中文\nEnglish</textarea>', page)
