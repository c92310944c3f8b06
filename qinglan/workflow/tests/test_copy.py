"""Predefined templates (issue item 3): an administrator copies a deployed process (a template)
into a new process of their own — the designer opens the drawing under a free process ID, and
deploying it makes a custom process, version 1, with the template's steps and form; the
template itself is unchanged."""

import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from qinglan.core.testing import make_member
from qinglan.workflow import services
from qinglan.workflow.choices import ProcessKind
from qinglan.workflow.models import ProcessDefinition

pytestmark = pytest.mark.django_db


def client_for(member):
    client = Client()
    client.force_login(member)
    return client


def designer_xml(page):
    return json.loads(re.search(r'<script id="designer-xml" type="application/json">(.*?)</script>', page, re.S).group(1))


def test_an_administrator_copies_a_template_into_a_new_process(settings):
    admin = client_for(make_member("root", superuser=True, language="en"))
    xml = (services.PROCESSES_DIR / "purchase_request.bpmn").read_text(encoding="utf-8")
    template = services.deploy(xml=xml, kind=ProcessKind.PREDEFINED, name="採購申請")
    detail = admin.get(template.get_absolute_url()).content.decode()
    copy_url = reverse("workflow:designer_copy", args=[template.pk])
    assert copy_url in detail and "Copy as new process" in detail

    page = admin.get(copy_url).content.decode()
    copied = designer_xml(page)
    assert 'id="purchase_request_copy"' in copied and 'bpmnElement="purchase_request_copy"' in copied
    assert 'id="purchase_request"' not in copied
    assert 'value="採購申請 (copy)"' in page and 'data-testid="designer-copy-of"' in page
    response = admin.post(reverse("workflow:designer_deploy"), {"xml": copied, "name": "採購申請（研發部）", "kind": "custom"})
    assert response.json()["ok"], response.json()
    mine = ProcessDefinition.objects.get(key="purchase_request_copy")
    assert (mine.kind, mine.version, mine.name) == (ProcessKind.CUSTOM, 1, "採購申請（研發部）")
    assert mine.form_fields == template.form_fields and mine.task_rules == template.task_rules
    assert list(ProcessDefinition.objects.filter(key="purchase_request")) == [template]
    template.refresh_from_db()
    assert template.xml == xml and template.kind == ProcessKind.PREDEFINED

    # the copy is the administrator's to change: a new version of it deploys
    again = admin.post(reverse("workflow:designer_deploy"), {"xml": copied.replace("主管審核", "部門審核"), "name": "採購申請（研發部）"})
    assert again.json()["ok"] and ProcessDefinition.objects.get(key="purchase_request_copy", version=2).task_rules["manager_approval"]["name"] == "部門審核"
    # copying again finds the next free ID
    assert 'id="purchase_request_copy2"' in designer_xml(admin.get(copy_url).content.decode())


def test_only_designers_copy(settings):
    template = services.deploy(xml=(services.PROCESSES_DIR / "purchase_request.bpmn").read_text(encoding="utf-8"), kind=ProcessKind.PREDEFINED)
    member = client_for(make_member("member"))
    assert member.get(reverse("workflow:designer_copy", args=[template.pk])).status_code == 403
    assert client_for(make_member("root", superuser=True)).get(reverse("workflow:designer_copy", args=[template.pk + 99])).status_code == 404
