"""Test helpers and ResourceTestCase: the conformance test every resource gets from its
``form_data``, ``csv_data`` and ``bulk_edit_data`` alone. It drives the real URLs (UI and
API) as a member whose role grants exactly the actions under test."""

import csv
import io
import json
import re

from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, TestCase

from .forms import BulkEditForm
from .models import APIToken, ObjectChange
from .permissions import Scope
from .registry import registry

PASSWORD = "Test-pass-2026!"


def make_member(username, *, department=None, superuser=False, **extra):
    from qinglan.org.models import User

    return User.objects.create_user(
        username=username, password=PASSWORD, department=department, is_superuser=superuser, is_staff=superuser, **extra
    )


def client_for(member):
    """A test client signed in as `member`."""
    client = Client()
    client.force_login(member)
    return client


def make_department(name, parent=None, **extra):
    from qinglan.org.models import Department

    department = Department(name=name, **extra)
    department.new_parent = parent
    department.save()
    return department


def grant(member, model, actions, *, scope=Scope.ALL, constraints=None, role_name=None):
    """Give `member` a role allowing `actions` on `model` within `scope`."""
    from qinglan.core.permissions import forget_grants
    from qinglan.org.models import Role, RolePermission

    role, _created = Role.objects.get_or_create(name=role_name or f"role-{member.username}")
    role.members.add(member)
    content_type = ContentType.objects.get_for_model(model)
    permission, created = RolePermission.objects.get_or_create(
        role=role, content_type=content_type, defaults={"actions": list(actions), "scope": scope, "constraints": constraints}
    )
    if not created:
        permission.actions = sorted(set(permission.actions) | set(actions))
        permission.scope = scope
        permission.constraints = constraints
        permission.save()
    forget_grants(member)
    return permission


SAMPLE_FACTORIES = {}


def sample_factory(model):
    """Register ``factory(owner, serial) -> (record, owner, department)`` making a record of
    `model` that belongs to `owner` (a member with a department). The permission matrix uses
    these to check every resource under every data scope; every resource needs one."""

    def decorator(function):
        SAMPLE_FACTORIES[model] = function
        return function

    return decorator


def list_pks(response):
    """Primary keys of the rows on a list page (the selection checkboxes)."""
    return {int(pk) for pk in re.findall(r'name="pk" value="(\d+)"', response.content.decode())}


class ResourceTestCase(TestCase):
    """Subclass with ``model`` and ``form_data`` (as the add form posts it); optionally
    ``update_data``, ``csv_data`` (header + rows that import cleanly) and
    ``bulk_edit_data`` ({field: posted value}). Import the module, not the class
    (``from qinglan.core import testing``), so the base itself is not collected."""

    model = None
    form_data = {}
    update_data = {}
    csv_data = ""
    bulk_edit_data = {}
    second_form_data = None  # a second valid record; default: form_data with unique fields varied

    def setUp(self):
        self.resource = registry.get(self.model)
        self.member = make_member("tester")
        self.client.force_login(self.member)

    # ---- helpers ---------------------------------------------------------------------
    def grant(self, *actions, scope=Scope.ALL):
        grant(self.member, self.model, actions, scope=scope)

    def create_record(self, **overrides):
        """A record created through the add form and the create service, as the owner."""
        from . import services
        from .forms import QueryLike

        management = {}
        for name in self.resource.formsets():
            management.update({f"{name}-TOTAL_FORMS": "0", f"{name}-INITIAL_FORMS": "0"})
        data = QueryLike({**management, **self.form_data, **overrides})
        form = self.resource.form_class(data=data, instance=self.model(), user=None)
        self.assertTrue(form.is_valid(), form.errors)
        formsets = {name: cls(data, instance=form.instance, prefix=name) for name, cls in self.resource.formsets().items()}
        for formset in formsets.values():
            self.assertTrue(formset.is_valid(), formset.errors)
        admin = getattr(self, "_admin", None) or make_member("resource-admin", superuser=True)
        self._admin = admin
        record = services.create_record(form=form, formsets=formsets, user=admin)
        if getattr(record, "owner_id", "n/a") is None or getattr(record, "owner_id", "n/a") == admin.pk:
            type(record).objects.filter(pk=record.pk).update(owner=self.member)
            record.refresh_from_db()
        return record

    def second_record(self):
        return self.create_record(**(self.second_form_data or self.unique_variant(self.form_data, "-2")))

    def unique_variant(self, data, suffix):
        """form_data with unique text fields made unique again (for a second record)."""
        result = dict(data)
        for name, value in data.items():
            field = self.resource.model_field(name)
            if field is not None and getattr(field, "unique", False) and isinstance(value, str):
                result[name] = f"{value}{suffix}"[: field.max_length or 100]
        return result

    def post_form(self, url, data):
        formset_data = {}
        for name, formset_class in self.resource.formsets().items():
            formset_data.update({f"{name}-TOTAL_FORMS": "0", f"{name}-INITIAL_FORMS": "0"})
        return self.client.post(url, {**formset_data, **data})

    # ---- permissions -----------------------------------------------------------------
    def test_pages_refused_without_permission(self):
        record = self.create_record()
        for url in (self.resource.list_url, self.resource.url("add"), self.resource.url("detail", record), self.resource.url("export")):
            self.assertEqual(self.client.get(url).status_code, 403, url)
        api = f"/api/{self.resource.api_prefix}/"
        self.assertEqual(self.client.get(api).status_code, 403)

    def test_record_outside_scope_is_not_found(self):
        self.grant("view", "change", "delete", scope=Scope.OWN)
        record = self.create_record()
        if self.resource.owner_field in (None, "self") and not self.resource.department_field and not self.resource.scope_through:
            return  # this resource has no owner; its scope covers every record
        self._give_away(record)
        self.assertEqual(self.client.get(self.resource.url("detail", record)).status_code, 404)
        self.assertEqual(self.client.post(self.resource.url("delete", record)).status_code, 404)
        self.assertTrue(self.model._default_manager.filter(pk=record.pk).exists())

    def _give_away(self, record):
        """Make `record` someone else's: its owner's, or for a resource whose scope follows
        another record (``scope_through``), that record's owner."""
        stranger = make_member("stranger")
        resource = self.resource
        if resource.scope_through:
            record = getattr(record, resource.scope_through)
            resource = registry.get(type(record))
        values = {}
        if resource.owner_field and resource.owner_field != "self":
            values[resource.owner_field] = stranger
        if resource.department_field and resource.department_field != "self":
            values[resource.department_field] = None
        type(record)._default_manager.filter(pk=record.pk).update(**values)

    def test_autocomplete_offers_viewable_records_only(self):
        record = self.create_record()
        url = self.resource.url("autocomplete")
        offered = lambda: {row["id"] for row in self.client.get(url, {"q": ""}).json()["results"]}  # noqa: E731
        if getattr(self.model, "choices_for_everyone", False):
            self.assertIn(record.pk, offered())  # a lookup every member may pick
            return
        self.assertNotIn(record.pk, offered())
        self.grant("view")
        self.assertIn(record.pk, offered())

    # ---- list, detail, add, edit, delete ------------------------------------------
    def test_list_and_detail(self):
        self.grant("view")
        record = self.create_record()
        response = self.client.get(self.resource.list_url)
        self.assertEqual(response.status_code, 200)
        self.assertIn(record.pk, list_pks(response))
        response = self.client.get(self.resource.url("detail", record))
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, str(record))
        for tab in ("changes", "comments", "attachments"):
            self.assertEqual(self.client.get(self.resource.url(tab, record)).status_code, 200, tab)

    def test_add(self):
        self.grant("view", "add")
        before = self.model._default_manager.count()
        response = self.post_form(self.resource.url("add"), self.form_data)
        self.assertEqual(response.status_code, 302, getattr(response, "context", None) and response.context.get("form").errors)
        self.assertEqual(self.model._default_manager.count(), before + 1)
        record = self.model._default_manager.order_by("-pk").first()
        self.assertTrue(
            ObjectChange.objects.filter(
                content_type=ContentType.objects.get_for_model(self.model), object_id=record.pk, action="create"
            ).exists()
        )

    def test_add_with_invalid_data_saves_nothing(self):
        self.grant("view", "add")
        before = self.model._default_manager.count()
        response = self.post_form(self.resource.url("add"), {})
        self.assertEqual(response.status_code, 400)
        self.assertEqual(self.model._default_manager.count(), before)

    def test_edit(self):
        self.grant("view", "change")
        record = self.create_record()
        data = {**self.form_data, **self.update_data}
        response = self.post_form(self.resource.url("edit", record), data)
        self.assertEqual(response.status_code, 302, getattr(response, "context", None) and response.context.get("form").errors)
        if self.update_data:
            change = ObjectChange.objects.filter(
                content_type=ContentType.objects.get_for_model(self.model), object_id=record.pk, action="update"
            ).first()
            self.assertIsNotNone(change)
            self.assertTrue(change.diff())

    def test_delete(self):
        self.grant("view", "delete")
        record = self.create_record()
        response = self.client.post(self.resource.url("delete", record))
        self.assertEqual(response.status_code, 302)
        self.assertFalse(self.model._default_manager.filter(pk=record.pk).exists())
        self.assertTrue(
            ObjectChange.objects.filter(
                content_type=ContentType.objects.get_for_model(self.model), object_id=record.pk, action="delete"
            ).exists()
        )

    # ---- bulk ----------------------------------------------------------------------
    def test_bulk_edit(self):
        if not self.bulk_edit_data:
            return
        self.grant("view", "change")
        first = self.create_record()
        second = self.second_record()
        data = {"pk": [first.pk, second.pk], "_apply": "1"}
        for name, value in self.bulk_edit_data.items():
            data[name] = value
            data[f"set_{name}"] = "on"
        response = self.client.post(self.resource.url("bulk_edit"), data)
        self.assertEqual(response.status_code, 302, response.context and response.context.get("form").errors)
        for record in (first, second):
            record.refresh_from_db()
            for name, value in self.bulk_edit_data.items():
                expected = BulkEditForm(self.resource).fields[name].clean(value)
                if name.startswith("cf_"):
                    self.assertEqual(record.custom_field_data.get(name[3:]), expected)
                else:
                    actual = getattr(record, self.resource.model_field(name).attname)
                    self.assertEqual(actual, getattr(expected, "pk", expected), name)

    def test_bulk_delete(self):
        self.grant("view", "delete")
        first = self.create_record()
        second = self.second_record()
        response = self.client.post(self.resource.url("bulk_delete"), {"pk": [first.pk, second.pk], "_confirm": "1"})
        self.assertEqual(response.status_code, 302)
        self.assertFalse(self.model._default_manager.filter(pk__in=[first.pk, second.pk]).exists())

    # ---- export and import ------------------------------------------------------------
    def test_export_csv_and_xlsx(self):
        self.grant("view", "export")
        record = self.create_record()
        response = self.client.get(self.resource.url("export") + "?format=csv")
        self.assertEqual(response.status_code, 200)
        text = b"".join(response.streaming_content).decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(text)))
        self.assertEqual(rows[0][0], "id")
        self.assertIn(str(record.pk), [row[0] for row in rows[1:]])
        response = self.client.get(self.resource.url("export") + "?format=xlsx")
        self.assertEqual(response.status_code, 200)
        from openpyxl import load_workbook

        workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
        ids = [row[0] for row in workbook.worksheets[0].iter_rows(values_only=True)]
        self.assertIn(str(record.pk), [str(value) for value in ids])

    def _import(self, content, mapping=None):
        upload = SimpleUploadedFile("data.csv", content.encode("utf-8"), content_type="text/csv")
        response = self.client.post(self.resource.url("import"), {"file": upload})
        self.assertEqual(response.status_code, 302, response.content[:2000])
        job_url = response["Location"]
        headers = next(csv.reader(io.StringIO(content)))
        data = {f"column_{index}": (mapping or {}).get(header, header) for index, header in enumerate(headers)}
        response = self.client.post(job_url, data)
        self.assertEqual(response.status_code, 302, response.content[:3000])
        return job_url

    def test_import(self):
        if not self.csv_data:
            return
        self.grant("view", "add", "import")
        before = self.model._default_manager.count()
        job_url = self._import(self.csv_data)
        response = self.client.get(job_url)
        self.assertContains(response, 'data-testid="import-ok"')
        self.assertEqual(self.model._default_manager.count(), before, "a check must not write")
        response = self.client.post(job_url, {"_confirm": "1"})
        self.assertEqual(response.status_code, 302)
        rows = len(self.csv_data.strip().splitlines()) - 1
        self.assertEqual(self.model._default_manager.count(), before + rows)

    def test_import_with_a_bad_row_writes_nothing(self):
        if not self.csv_data:
            return
        self.grant("view", "add", "import")
        before = self.model._default_manager.count()
        lines = self.csv_data.strip().splitlines()
        bad = ",".join("" for _ in next(csv.reader([lines[0]])))
        job_url = self._import("\n".join([*lines, bad + ",x"]) + "\n")
        response = self.client.get(job_url)
        self.assertContains(response, 'data-testid="import-errors"')
        response = self.client.post(job_url, {"_confirm": "1"})
        self.assertEqual(self.model._default_manager.count(), before)

    # ---- API ---------------------------------------------------------------------------
    def api(self, method, url, data=None):
        _token, key = APIToken.issue(user=self.member, name="test")
        return getattr(self.client, method)(
            url, data=json.dumps(data) if data is not None else None, content_type="application/json", HTTP_AUTHORIZATION=f"Token {key}"
        )

    def test_api(self):
        self.grant("view", "add", "change", "delete")
        self.client.logout()
        base = f"/api/{self.resource.api_prefix}/"
        response = self.api("post", base, self.form_data)
        self.assertEqual(response.status_code, 201, response.content)
        pk = response.json()["id"]
        response = self.api("get", base)
        self.assertEqual(response.status_code, 200)
        self.assertIn(pk, [row["id"] for row in response.json()["results"]])
        if self.update_data:
            response = self.api("patch", f"{base}{pk}/", self.update_data)
            self.assertEqual(response.status_code, 200, response.content)
        response = self.api("delete", f"{base}{pk}/")
        self.assertEqual(response.status_code, 204, response.content)
        self.assertFalse(self.model._default_manager.filter(pk=pk).exists())

    def test_api_refuses_invalid_data(self):
        self.grant("view", "add")
        self.client.logout()
        before = self.model._default_manager.count()
        response = self.api("post", f"/api/{self.resource.api_prefix}/", {})
        self.assertEqual(response.status_code, 400, response.content)
        self.assertEqual(self.model._default_manager.count(), before)
