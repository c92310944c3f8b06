"""A custom field added by an administrator appears in the form, list, filters, export,
import and API of its resource, without code."""

import csv
import io
import json

from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase

from qinglan.core.models import APIToken
from qinglan.core.testing import list_pks, make_department, make_member
from qinglan.extras.models import FieldDef
from qinglan.org.models import Department, Dictionary, DictionaryItem, Position


class CustomFieldTests(TestCase):
    def setUp(self):
        self.admin = make_member("admin", superuser=True)
        self.client.force_login(self.admin)
        position = ContentType.objects.get_for_model(Position)
        levels = Dictionary.objects.create(code="grade", name="職等")
        DictionaryItem.objects.create(dictionary=levels, value="g1", label="一等")
        DictionaryItem.objects.create(dictionary=levels, value="g2", label="二等")
        # created through the UI, as an administrator would
        for data in (
            {"name": "grade", "label": "職等", "type": "choice", "dictionary": levels.pk, "show_in_list": "on", "filterable": "on"},
            {"name": "skills", "label": "技能", "type": "multichoice", "choices": "中文\nEnglish\n日本語", "filterable": "on"},
            {"name": "budget", "label": "預算", "type": "decimal", "filterable": "on"},
            {"name": "since", "label": "設立日", "type": "date"},
            {"name": "remote", "label": "可遠端", "type": "boolean", "filterable": "on"},
            {"name": "home", "label": "所屬部門", "type": "reference", "reference_type": ContentType.objects.get_for_model(Department).pk},
        ):
            response = self.client.post("/extras/fielddef/add/", {"content_type": position.pk, "order": "10", **data})
            self.assertEqual(response.status_code, 302, response.content.decode()[:3000])
        self.department = make_department("業務部")

    def add_position(self, name, **custom):
        data = {"name": name, "level": "1", **{f"cf_{key}": value for key, value in custom.items()}}
        response = self.client.post("/org/position/add/", data)
        self.assertEqual(response.status_code, 302, response.content.decode()[:3000])
        return Position.objects.get(name=name)

    def test_form_saves_values_and_list_filters_by_them(self):
        engineer = self.add_position(
            "工程師", grade="g2", skills=["中文", "English"], budget="1234.50", since="2026-01-02", remote="on", home=self.department.pk
        )
        clerk = self.add_position("助理", grade="g1", skills=["日本語"], budget="10")
        self.assertEqual(
            engineer.custom_field_data,
            {"grade": "g2", "skills": ["中文", "English"], "budget": "1234.50", "since": "2026-01-02", "remote": True, "home": self.department.pk},
        )
        response = self.client.get("/org/position/")
        self.assertContains(response, "二等")  # shown in the list (show_in_list)
        self.assertEqual(list_pks(self.client.get("/org/position/", {"cf_grade": "g1"})), {clerk.pk})
        self.assertEqual(list_pks(self.client.get("/org/position/", {"cf_skills": "English"})), {engineer.pk})
        self.assertEqual(list_pks(self.client.get("/org/position/", {"cf_remote": "true"})), {engineer.pk})
        detail = self.client.get(f"/org/position/{engineer.pk}/")
        self.assertContains(detail, "業務部")
        self.assertContains(detail, "2026-01-02")

    def test_invalid_values_are_refused(self):
        response = self.client.post("/org/position/add/", {"name": "x", "level": "1", "cf_grade": "g9", "cf_budget": "abc"})
        self.assertEqual(response.status_code, 400)
        self.assertFalse(Position.objects.filter(name="x").exists())

    def test_export_and_import(self):
        self.add_position("工程師", grade="g2", skills=["中文"])
        response = self.client.get("/org/position/export/?format=csv")
        rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
        self.assertIn("cf_grade", rows[0])
        self.assertEqual(rows[1][rows[0].index("cf_grade")], "二等")
        content = "name,level,職等,技能,可遠端\n設計師,2,一等,\"中文,English\",是\n".encode()
        response = self.client.post("/org/position/import/", {"file": SimpleUploadedFile("p.csv", content)})
        job = response["Location"]
        page = self.client.get(job).content.decode()
        self.assertIn('value="cf_grade" selected', page)  # the header 職等 was matched to the field
        response = self.client.post(job, {"column_0": "name", "column_1": "level", "column_2": "cf_grade", "column_3": "cf_skills", "column_4": "cf_remote"})
        self.client.post(job, {"_confirm": "1"})
        designer = Position.objects.get(name="設計師")
        self.assertEqual(designer.custom_field_data["grade"], "g1")
        self.assertEqual(designer.custom_field_data["skills"], ["中文", "English"])
        self.assertIs(designer.custom_field_data["remote"], True)

    def test_api_reads_and_validates_custom_fields(self):
        _token, key = APIToken.issue(user=self.admin, name="t")
        auth = {"HTTP_AUTHORIZATION": f"Token {key}"}
        response = self.client.post(
            "/api/org/positions/", json.dumps({"name": "顧問", "level": 3, "custom_fields": {"grade": "g1", "budget": "5.5"}}),
            content_type="application/json", **auth,
        )
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(response.json()["custom_fields"]["grade"], "g1")
        response = self.client.patch(
            f"/api/org/positions/{response.json()['id']}/", json.dumps({"custom_fields": {"grade": "nope"}}),
            content_type="application/json", **auth,
        )
        self.assertEqual(response.status_code, 400)
        self.assertIn("custom_fields", response.json())
        self.assertEqual(Position.objects.get(name="顧問").custom_field_data["grade"], "g1")

    def test_field_name_clashing_with_a_model_field_is_refused(self):
        response = self.client.post(
            "/extras/fielddef/add/",
            {"content_type": ContentType.objects.get_for_model(Position).pk, "name": "level", "label": "x", "type": "text", "order": "1"},
        )
        self.assertEqual(response.status_code, 400)
        self.assertFalse(FieldDef.objects.filter(name="level").exists())
