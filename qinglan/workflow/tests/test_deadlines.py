"""Deadlines on steps (qinglan:due), the periodic escalation to the assignee's manager (once),
the Overdue tab, and copies (抄送) listed under "Copied to me"."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from qinglan.core.testing import make_member
from qinglan.extras.models import Notification
from qinglan.org.models import Role
from qinglan.workflow import services, tasks
from qinglan.workflow.choices import TaskStatus
from qinglan.workflow.models import CopyRecipient, TaskEvent, WorkTask

from .factories import bpmn

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    boss = make_member("boss", language="en")
    clerk = make_member("clerk", manager=boss, language="en")
    observer = make_member("observer", language="en")
    auditor = make_member("auditor", language="en")
    Role.objects.create(name="稽核").members.add(auditor)
    return {"boss": boss, "clerk": clerk, "observer": observer, "auditor": auditor, "applicant": make_member("applicant")}


def start(people):
    services.deploy(xml=bpmn("deadline.bpmn"))
    return services.start(definition_key="deadline", initiator=people["applicant"], title="合約審查")


def test_the_step_gets_its_deadline(people):
    before = timezone.now()
    instance = start(people)
    task = WorkTask.objects.get(instance=instance)
    assert before + datetime.timedelta(hours=4) <= task.due <= timezone.now() + datetime.timedelta(hours=4)
    assert not task.is_overdue


def test_overdue_steps_are_escalated_to_the_managers_once(people, mailoutbox, django_capture_on_commit_callbacks):
    people["boss"].email = "boss@example.com"
    people["boss"].save()
    instance = start(people)
    task = WorkTask.objects.get(instance=instance)
    assert services.escalate_overdue(now=timezone.now() + datetime.timedelta(hours=3)) == 0
    later = timezone.now() + datetime.timedelta(hours=5)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.escalate_overdue(now=later) == 1
    (mail,) = mailoutbox
    assert mail.to == ["boss@example.com"] and mail.subject.startswith("Overdue: Review within 4 hours")
    note = Notification.objects.get(user=people["boss"], event="workflow.overdue")
    assert "Review within 4 hours" in note.title and "clerk" in note.body and note.url == instance.get_page_url()
    event = TaskEvent.objects.get(task=task, kind="escalated")
    assert event.comment == "boss"
    assert services.escalate_overdue(now=later + datetime.timedelta(hours=1)) == 0  # once
    assert Notification.objects.filter(event="workflow.overdue").count() == 1


def test_the_periodic_job_escalates_and_skips_done_tasks(people):
    instance = start(people)
    other = services.start(definition_key="deadline", initiator=people["applicant"])
    past = timezone.now() - datetime.timedelta(minutes=1)
    WorkTask.objects.update(due=past)  # both steps were due a minute ago
    services.complete(task=WorkTask.objects.get(instance=other), user=people["clerk"], outcome="approve")
    job = tasks.escalate_overdue_tasks
    assert job.task_class().validate_datetime(datetime.datetime(2026, 11, 27, 9, 5))
    assert not job.task_class().validate_datetime(datetime.datetime(2026, 11, 27, 9, 7))
    assert job.call_local() == 1
    assert WorkTask.objects.get(instance=instance).escalated is not None
    assert WorkTask.objects.get(instance=other).escalated is None


def test_overdue_tab_lists_my_and_my_reports_overdue_tasks(people):
    instance = start(people)
    task = WorkTask.objects.get(instance=instance)
    client = Client()
    client.force_login(people["clerk"])
    assert f'data-task="{task.pk}"' not in client.get(reverse("workflow:inbox") + "?tab=overdue").content.decode()
    WorkTask.objects.filter(pk=task.pk).update(due=timezone.now() - datetime.timedelta(hours=1))
    page = client.get(reverse("workflow:inbox") + "?tab=overdue").content.decode()
    assert f'data-task="{task.pk}"' in page and 'data-testid="overdue-count">1<' in page
    boss = Client()
    boss.force_login(people["boss"])
    assert f'data-task="{task.pk}"' in boss.get(reverse("workflow:inbox") + "?tab=overdue").content.decode()
    stranger = Client()
    stranger.force_login(people["observer"])
    assert f'data-task="{task.pk}"' not in stranger.get(reverse("workflow:inbox") + "?tab=overdue").content.decode()
    services.complete(task=task, user=people["clerk"], outcome="approve")
    assert f'data-task="{task.pk}"' not in client.get(reverse("workflow:inbox") + "?tab=overdue").content.decode()


def test_copies_are_listed_and_readable_but_give_no_task(people):
    instance = start(people)
    copies = CopyRecipient.objects.filter(instance=instance)
    assert {copy.member for copy in copies} == {people["observer"], people["auditor"]}
    assert Notification.objects.filter(user=people["observer"], event="workflow.copied").exists()
    assert TaskEvent.objects.filter(instance=instance, kind="copied").count() == 1
    client = Client()
    client.force_login(people["observer"])
    page = client.get(reverse("workflow:inbox") + "?tab=copied").content.decode()
    assert f'data-copy="{instance.pk}"' in page and "Review within 4 hours" in page
    instance_page = client.get(reverse("workflow:instance", args=[instance.pk]))
    assert instance_page.status_code == 200 and 'data-testid="task-form"' not in instance_page.content.decode()
    assert not services.open_tasks(people["observer"]).exists()
    # a step opening again (returned to) does not copy twice
    task = WorkTask.objects.get(instance=instance, status=TaskStatus.OPEN)
    services.jump(instance=instance, user=make_member("root", superuser=True), step="review", reason="重審")
    assert CopyRecipient.objects.filter(instance=instance).count() == 2
    assert WorkTask.objects.get(instance=instance, status=TaskStatus.OPEN).pk != task.pk
