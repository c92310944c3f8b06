"""The names of the shipped processes (the leave request, the modules' fixed processes) and of
their steps, events, gateways and flows are English in the BPMN files and shown in the member's
language: on the instance's drawing and in the inbox."""

import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from qinglan.core.testing import make_department, make_member
from qinglan.workflow import services
from qinglan.workflow.models import WorkTask

pytestmark = pytest.mark.django_db


def client_for(member):
    client = Client()
    client.force_login(member)
    return client


def drawing(page):
    data = re.search(r'<script id="instance-diagram-data" type="application/json">(.*?)</script>', page, re.S).group(1)
    return json.loads(data)["xml"]


@pytest.fixture
def leave():
    department = make_department("業務部")
    lead = make_member("lead", department=department, language="zh-hant")
    department.head = lead
    department.save()
    applicant = make_member("applicant", department=department, manager=lead, language="zh-hans")
    services.ensure_fixed_processes()
    instance = services.start(definition_key="leave_request", initiator=applicant, data={"days": 5}, title="請假")
    return instance, lead, applicant


def test_the_drawing_names_the_shapes_in_the_members_language(leave):
    instance, lead, applicant = leave
    shown = drawing(client_for(lead).get(instance.get_page_url()).content.decode())
    for english, chinese in (
        ("Manager approval", "直屬主管審核"), ("Submitted", "已送出"), ("Approved? More than 3 days?", "核准？超過 3 天？"),
        ("More than 3 days", "超過 3 天"), ("3 days or less", "3 天以內"), ("Department head approval", "部門主管審核"),
    ):
        assert f'name="{english}"' not in shown and f'name="{chinese}"' in shown, english
    simplified = drawing(client_for(applicant).get(instance.get_page_url()).content.decode())
    assert 'name="已提交"' in simplified and 'name="直属主管审核"' in simplified
    # the stored definition keeps its English names (an export is the file as deployed)
    assert 'name="Submitted"' in instance.definition.xml
    english = drawing(client_for(make_member("root", superuser=True, language="en")).get(instance.get_page_url()).content.decode())
    assert 'name="Approved? More than 3 days?"' in english


def test_the_inbox_names_the_process_and_step_in_the_members_language(leave):
    instance, lead, _applicant = leave
    task = WorkTask.objects.get(instance=instance)
    page = client_for(lead).get(reverse("workflow:inbox")).content.decode()
    row = re.search(rf'<tr data-task="{task.pk}">(.*?)</tr>', page, re.S).group(1)
    assert "直屬主管審核" in row and "請假單" in row and "Leave request" not in row
