"""The pages: start a leave request, the inbox, approving and rejecting through HTTP as the
assignee, and what everybody else gets."""

import pytest
from django.test import Client
from django.urls import reverse

from qinglan.core.testing import make_department, make_member
from qinglan.workflow import services
from qinglan.workflow.choices import InstanceStatus, TaskStatus
from qinglan.workflow.models import ProcessInstance, WorkTask

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    department = make_department("業務部")
    lead = make_member("lead", department=department, language="en")
    department.head = lead
    department.save()
    applicant = make_member("applicant", department=department, manager=lead)
    other = make_member("other", department=department)
    return applicant, lead, other


def client_for(member):
    client = Client()
    client.force_login(member)
    return client


def submit(client, days):
    return client.post(
        reverse("workflow:start_leave"),
        {"leave_type": "annual", "date_from": "2026-12-01", "date_to": "2026-12-05", "days": days, "reason": "家族旅遊"},
    )


def test_submit_approve_through_the_pages(people):
    applicant, lead, other = people
    response = submit(client_for(applicant), "2")
    instance = ProcessInstance.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("workflow:instance", args=[instance.pk])
    assert instance.data["days"] == 2 and instance.data["date_from"] == "2026-12-01"

    lead_client = client_for(lead)
    inbox = lead_client.get(reverse("workflow:inbox"))
    task = WorkTask.objects.get()
    assert f'data-task="{task.pk}"' in inbox.content.decode()
    assert 'data-testid="open-count">1<' in inbox.content.decode()
    page = lead_client.get(reverse("workflow:instance", args=[instance.pk])).content.decode()
    assert 'data-testid="task-form"' in page and "家族旅遊" in page

    # somebody else: refused, with nothing changed
    assert client_for(other).post(reverse("workflow:task_complete", args=[task.pk]), {"outcome": "approve"}).status_code == 403
    assert client_for(other).get(reverse("workflow:instance", args=[instance.pk])).status_code == 404
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN

    response = lead_client.post(reverse("workflow:task_complete", args=[task.pk]), {"outcome": "approve", "comment": "同意"})
    assert response.status_code == 302
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.APPROVED
    done = lead_client.get(reverse("workflow:inbox") + "?tab=done").content.decode()
    assert f'data-task="{task.pk}"' in done

    # acting again: a clear message, not an error page
    response = lead_client.post(reverse("workflow:task_complete", args=[task.pk]), {"outcome": "reject"}, follow=True)
    assert "already been completed" in response.content.decode()


def test_reject_and_the_initiator_sees_it(people):
    applicant, lead, _other = people
    submit(client_for(applicant), "5")
    task = WorkTask.objects.get()
    client_for(lead).post(reverse("workflow:task_complete", args=[task.pk]), {"outcome": "reject", "comment": "旺季"})
    instance = ProcessInstance.objects.get()
    assert instance.status == InstanceStatus.REJECTED
    page = client_for(applicant).get(reverse("workflow:instance", args=[instance.pk])).content.decode()
    assert "旺季" in page and 'data-testid="task-form"' not in page
    started = client_for(applicant).get(reverse("workflow:inbox") + "?tab=started").content.decode()
    assert f'data-instance="{instance.pk}"' in started


def test_withdraw_through_the_page(people):
    applicant, lead, _other = people
    submit(client_for(applicant), "1")
    instance = ProcessInstance.objects.get()
    assert client_for(lead).post(reverse("workflow:instance_withdraw", args=[instance.pk])).status_code == 403
    client_for(applicant).post(reverse("workflow:instance_withdraw", args=[instance.pk]), {"comment": "改期"})
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.WITHDRAWN
    assert not services.open_tasks(lead).exists()


def test_invalid_leave_form(people):
    applicant, _lead, _other = people
    response = client_for(applicant).post(
        reverse("workflow:start_leave"), {"leave_type": "annual", "date_from": "2026-12-05", "date_to": "2026-12-01", "days": "0", "reason": ""}
    )
    assert response.status_code == 400
    assert not ProcessInstance.objects.exists()


def test_inbox_is_keyset_paginated(people):
    applicant, lead, _other = people
    services.ensure_fixed_processes()
    for _n in range(30):
        services.start(definition_key="leave_request", initiator=applicant, data={"days": 1})
    client = client_for(lead)
    first = client.get(reverse("workflow:inbox")).content.decode()
    assert first.count("data-task=") == 25 and 'rel="next"' in first
    import re

    after = re.search(r'after=([\w-]+)', first).group(1)
    second = client.get(reverse("workflow:inbox") + f"?tab=open&after={after}").content.decode()
    assert second.count("data-task=") == 5


def test_definition_upload_through_the_generic_form():
    from .factories import bpmn

    admin = make_member("root", superuser=True, language="en")
    client = client_for(admin)
    url = reverse("workflow:processdefinition_add")
    response = client.post(url, {"name": "", "kind": "custom", "fallback_assignee": "", "active": "on", "xml": bpmn("script_task.bpmn")})
    assert response.status_code == 400 and "script tasks" in response.content.decode()
    response = client.post(url, {"name": "報銷", "kind": "custom", "fallback_assignee": "", "active": "on", "xml": bpmn("amount_gateway.bpmn")})
    assert response.status_code == 302
    from qinglan.workflow.models import ProcessDefinition

    definition = ProcessDefinition.objects.get()
    assert (definition.key, definition.version, definition.deployed_by) == ("expense_claim", 1, admin)
    edit = reverse("workflow:processdefinition_edit", args=[definition.pk])
    response = client.post(edit, {"name": "報銷", "kind": "custom", "fallback_assignee": "", "xml": bpmn("parallel.bpmn")})
    assert response.status_code == 400
    definition.refresh_from_db()
    assert definition.key == "expense_claim" and "Director" in definition.xml


def test_instances_cannot_be_written_through_the_generic_pages(people):
    applicant, lead, _other = people
    submit(client_for(applicant), "1")
    instance = ProcessInstance.objects.get()
    root = make_member("root", superuser=True)
    client = client_for(root)
    response = client.post(reverse("workflow:processinstance_edit", args=[instance.pk]), {"title": "改掉"})
    assert response.status_code == 400
    instance.refresh_from_db()
    assert instance.title != "改掉"
    assert client.post(reverse("workflow:processinstance_add"), {"title": "憑空"}).status_code == 400
    assert ProcessInstance.objects.count() == 1


def menu_entry(page, key):
    """The sidebar link of menu entry `key`, or None."""
    import re

    match = re.search(rf'<a [^>]*data-menu="{re.escape(key)}"[^>]*>.*?</a>', page, re.S)
    return match.group(0) if match else None


def test_every_member_finds_the_inbox_in_the_menu_with_the_open_count(people):
    applicant, lead, other = people  # none of them has any grant
    submit(client_for(applicant), "2")
    lead_page = client_for(lead).get("/").content.decode()
    inbox = menu_entry(lead_page, "workflow.inbox")
    assert inbox is not None and "data-menu-badge>1<" in inbox
    assert menu_entry(lead_page, "workflow.leave") is not None
    other_page = client_for(other).get("/").content.decode()
    assert menu_entry(other_page, "workflow.inbox") is not None and "data-menu-badge" not in menu_entry(other_page, "workflow.inbox")
    # approved: the count goes
    task = WorkTask.objects.get()
    client_for(lead).post(reverse("workflow:task_complete", args=[task.pk]), {"outcome": "approve"})
    assert "data-menu-badge" not in menu_entry(client_for(lead).get("/").content.decode(), "workflow.inbox")


FIVE_WAYS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:qinglan="urn:qinglan:bpmn" id="defs" targetNamespace="urn:qinglan:tests">
  <bpmn:process id="five_ways" name="Five ways" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="split" />
    <bpmn:parallelGateway id="split" />
    {steps}
    <bpmn:parallelGateway id="join" />
    <bpmn:sequenceFlow id="fe" sourceRef="join" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>"""
RULES = {"mine": "member:boss", "role_a": "role:甲組", "role_b": "role:乙組", "dept": "department:D1", "pos": "position:經理", "theirs": "member:other"}


def test_the_inbox_merges_every_way_a_task_reaches_the_member_page_by_page():
    """Assigned, two roles (one through a group), the department, the position — merged in
    the inbox's order, forwards and backwards, exactly as one query over all of them."""
    from qinglan.org.models import Group, Position, Role
    from qinglan.workflow.views import TABS, task_rows

    steps = "".join(
        f'<bpmn:sequenceFlow id="in_{key}" sourceRef="split" targetRef="{key}" /><bpmn:userTask id="{key}" name="{key}" qinglan:assignee="{rule}" />'
        f'<bpmn:sequenceFlow id="out_{key}" sourceRef="{key}" targetRef="join" />'
        for key, rule in RULES.items()
    )
    department = make_department("一部", code="D1")
    position = Position.objects.create(name="經理")
    boss = make_member("boss", department=department, position=position)
    other = make_member("other")
    make_member("colleague", department=department, position=position)
    role_a, role_b = Role.objects.create(name="甲組"), Role.objects.create(name="乙組")
    role_a.members.add(boss, other)
    group = Group.objects.create(name="乙組成員")
    group.members.add(boss, other)
    role_b.groups.add(group)
    services.deploy(xml=FIVE_WAYS.replace("{steps}", steps))
    for _n in range(4):
        services.start(definition_key="five_ways", initiator=other)

    expected = list(services.open_tasks(boss).order_by("-created", "-id").values_list("pk", flat=True))
    assert len(expected) == 20  # 4 × (assigned, two roles, department, position); not "theirs"
    keys, pages, after = TABS["open"], [], None
    while True:
        page = services.open_tasks_page(boss, keys, size=3, after=after, rows=task_rows)
        pages.append(page)
        if not page.next_cursor:
            break
        after = page.next_cursor
    assert [task.pk for page in pages for task in page.rows] == expected
    assert [len(page.rows) for page in pages] == [3] * 6 + [2]
    # and back from the last page
    back, before = [], pages[-1].prev_cursor
    while before:
        page = services.open_tasks_page(boss, keys, size=3, before=before)
        back = [task.pk for task in page.rows] + back
        before = page.prev_cursor
    assert back == expected[:-2]
    assert pages[0].is_first and not services.open_tasks_page(boss, keys, size=3, before=pages[1].prev_cursor).prev_cursor


def test_the_overdue_tab_is_paginated_in_due_order(people):
    import datetime
    import re

    from django.utils import timezone

    applicant, lead, _other = people
    boss = make_member("boss")
    lead.manager = boss
    lead.save()
    services.ensure_fixed_processes()
    for _n in range(30):
        services.start(definition_key="leave_request", initiator=applicant, data={"days": 1})
    now = timezone.now()
    tasks = list(WorkTask.objects.order_by("id"))
    for number, task in enumerate(tasks):  # the last started is the most overdue
        WorkTask.objects.filter(pk=task.pk).update(due=now - datetime.timedelta(hours=number + 1))
    expected = [task.pk for task in reversed(tasks)]
    for member in (lead, boss):  # their own tasks; the tasks of the members who report to them
        client = client_for(member)
        first = client.get(reverse("workflow:inbox") + "?tab=overdue").content.decode()
        assert [int(pk) for pk in re.findall(r'data-task="(\d+)"', first)] == expected[:25]
        assert 'data-testid="overdue-count">30<' in first
        after = re.search(r'after=([\w-]+)', first).group(1)
        second = client.get(reverse("workflow:inbox") + f"?tab=overdue&after={after}").content.decode()
        assert [int(pk) for pk in re.findall(r'data-task="(\d+)"', second)] == expected[25:]
        before = re.search(r'before=([\w-]+)', second).group(1)
        back = client.get(reverse("workflow:inbox") + f"?tab=overdue&before={before}").content.decode()
        assert [int(pk) for pk in re.findall(r'data-task="(\d+)"', back)] == expected[:25]
