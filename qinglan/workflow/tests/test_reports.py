"""Workflow reports through HTTP: durations per process and per step, overdue tasks by member
and department; only for members who may view process instances, over the instances in their
scope; bad filters are refused with the reason; the pages follow the member's language."""

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from qinglan.core.permissions import Scope
from qinglan.core.testing import grant, make_department, make_member
from qinglan.workflow import services
from qinglan.workflow.choices import TaskStatus
from qinglan.workflow.models import ProcessInstance, WorkTask

pytestmark = pytest.mark.django_db

DURATIONS = "/workflow/reports/durations/"
OVERDUE = "/workflow/reports/overdue/"


def leave(applicant, days=1):
    return services.start(
        definition_key="leave_request", initiator=applicant, data={"leave_type": "annual", "days": days, "reason": "休假"}
    )


def took(instance, *, started_ago, finished_ago=None):
    """Place an instance and its first step in time: started `started_ago` hours ago, decided
    (its step completed) `finished_ago` hours ago."""
    now = timezone.now()
    started = now - datetime.timedelta(hours=started_ago)
    finished = now - datetime.timedelta(hours=finished_ago) if finished_ago is not None else None
    ProcessInstance.objects.filter(pk=instance.pk).update(started=started, finished=finished)
    WorkTask.objects.filter(instance=instance).update(created=started)
    if finished is not None:
        WorkTask.objects.filter(instance=instance, status=TaskStatus.DONE).update(completed=finished)


@pytest.fixture
def company():
    sales, finance = make_department("業務部", code="S"), make_department("財務部", code="F")
    lead_s = make_member("lead_s", department=sales, language="en")
    lead_f = make_member("lead_f", department=finance, language="en")
    amy = make_member("amy", department=sales, manager=lead_s, language="en")
    bob = make_member("bob", department=finance, manager=lead_f, language="en")
    # two decided leave requests in sales: 2 days and 6 hours
    quick, slow = leave(amy), leave(amy)
    for instance in (quick, slow):
        services.complete(task=WorkTask.objects.get(instance=instance, status=TaskStatus.OPEN), user=lead_s, outcome="approve")
    took(slow, started_ago=72, finished_ago=24)
    took(quick, started_ago=10, finished_ago=4)
    # one pending in finance, its step 5 hours past its deadline; one in sales due tomorrow
    late = leave(bob)
    took(late, started_ago=80)
    WorkTask.objects.filter(instance=late, status=TaskStatus.OPEN).update(due=timezone.now() - datetime.timedelta(hours=5))
    soon = leave(amy)
    WorkTask.objects.filter(instance=soon, status=TaskStatus.OPEN).update(due=timezone.now() + datetime.timedelta(days=1))
    return {"sales": sales, "finance": finance, "lead_s": lead_s, "lead_f": lead_f, "amy": amy, "bob": bob, "slow": slow, "late": late}


def client_for(member):
    client = Client()
    client.force_login(member)
    return client


def cells(page, marker):
    """The text of the row marked `marker` (e.g. data-process="leave_request")."""
    row = page.split(marker, 1)[1].split("</tr>", 1)[0]
    import re

    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]


def test_durations_per_process_and_step_for_an_administrator(company):
    admin = make_member("admin", superuser=True, language="en")
    response = client_for(admin).get(DURATIONS)
    assert response.status_code == 200
    page = response.content.decode()
    # started, pending, decided, approved, average (48 h and 6 h), longest (linked to it)
    assert cells(page, 'data-process="leave_request"') == ["Leave request", "4", "2", "2", "2", "1 d 3 h", "2 d 0 h"]
    assert f'href="/workflow/instance/{company["slow"].pk}/">2 d 0 h' in page
    # the manager's step: 2 completed, 2 open
    assert cells(page, 'data-step="leave_request:manager_approval"') == ["Leave request", "Manager approval", "2", "2", "1 d 3 h", "2 d 0 h"]

    # one process, started in the last two days: only the quick one is decided
    since = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
    page = client_for(admin).get(DURATIONS, {"process": "leave_request", "started_from": since}).content.decode()
    assert cells(page, 'data-process="leave_request"') == ["Leave request", "2", "1", "1", "1", "6 h 0 min", "6 h 0 min"]


def test_durations_cover_the_instances_in_the_members_scope(company):
    viewer = make_member("viewer", department=company["finance"], language="en")
    grant(viewer, ProcessInstance, ["view"], scope=Scope.DEPARTMENT)
    page = client_for(viewer).get(DURATIONS).content.decode()
    # finance only: bob's pending request, nothing decided
    assert cells(page, 'data-process="leave_request"') == ["Leave request", "1", "1", "0", "0", "–", "–"]
    assert "/workflow/instance/" not in page


def test_overdue_by_member_and_department(company):
    admin = make_member("admin", superuser=True, language="en")
    page = client_for(admin).get(OVERDUE).content.decode()
    assert "Open steps past their deadline, in the process instances you may view: 1." in page
    row = cells(page, 'data-member="lead_f')
    assert row[1:3] == ["財務部", "1"] and row[3].startswith("5 h")
    assert cells(page, 'data-department="財務部"')[1:3] == ["1", "1"]
    assert 'data-department="業務部"' not in page and 'data-member="lead_s' not in page  # due tomorrow: not overdue
    assert f'href="/workflow/instance/{company["late"].pk}/"' in page

    # narrowed to a department, then to a member with nothing overdue
    page = client_for(admin).get(OVERDUE, {"department": company["finance"].pk}).content.decode()
    assert f'data-task="{WorkTask.objects.get(instance=company["late"], status=TaskStatus.OPEN).pk}"' in page
    page = client_for(admin).get(OVERDUE, {"member": company["lead_s"].pk}).content.decode()
    assert "data-task=" not in page

    # a member who may view the sales department's instances sees no overdue task
    viewer = make_member("viewer", department=company["sales"], language="en")
    grant(viewer, ProcessInstance, ["view"], scope=Scope.DEPARTMENT)
    page = client_for(viewer).get(OVERDUE).content.decode()
    assert "in the process instances you may view: 0." in page and "data-task=" not in page and 'data-member="' not in page


def test_reports_are_refused_to_members_who_may_not_view_instances(company):
    for url in (DURATIONS, OVERDUE):
        assert client_for(company["amy"]).get(url).status_code == 403
    # and the menu offers them only to those who may
    home = client_for(company["amy"]).get("/").content.decode()
    assert DURATIONS not in home and OVERDUE not in home
    viewer = make_member("viewer", language="en")
    grant(viewer, ProcessInstance, ["view"], scope=Scope.OWN)
    home = client_for(viewer).get("/").content.decode()
    assert DURATIONS in home and OVERDUE in home


def test_bad_filters_are_refused_with_the_reason(company):
    admin = make_member("admin", superuser=True, language="en")
    client = client_for(admin)
    response = client.get(DURATIONS, {"started_from": "2026-05-02", "started_to": "2026-05-01"})
    assert response.status_code == 400 and "The first day is after the last day." in response.content.decode()
    assert 'data-process="' not in response.content.decode()
    response = client.get(DURATIONS, {"started_from": "yesterday"})
    assert response.status_code == 400 and "Enter a valid date." in response.content.decode()
    response = client.get(DURATIONS, {"process": "no_such_process"})
    assert response.status_code == 400 and "Select a valid choice." in response.content.decode()
    response = client.get(OVERDUE, {"member": "abc"})
    assert response.status_code == 400 and "Choose a member or a department from the tables." in response.content.decode()


def test_reports_follow_the_members_language(company):
    admin = make_member("admin", superuser=True, language="zh-hant")
    page = client_for(admin).get(DURATIONS).content.decode()
    assert "流程耗時" in page and "平均耗時" in page and "請假單" in page and "1 天 3 小時" in page
    page = client_for(admin).get(OVERDUE).content.decode()
    assert "逾期待辦" in page and "依部門" in page
    hans = make_member("admin2", superuser=True, language="zh-hans")
    assert "流程耗时" in client_for(hans).get(DURATIONS).content.decode()
