"""The issue's acceptance scenario through the pages, in Chinese: an administrator deploys a
process with a parallel branch, a quorum countersign, a relative assignee and a sub-process;
members complete it from their inboxes, with a return, a delegation and an urge on the way."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from qinglan.core.testing import make_member
from qinglan.extras.models import Notification
from qinglan.org.models import Role
from qinglan.workflow.choices import InstanceStatus, TaskStatus
from qinglan.workflow.models import ProcessDefinition, ProcessInstance, WorkTask

from .factories import bpmn

pytestmark = pytest.mark.django_db


def browser(member):
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    return client


def post(client, page_url, url, data):
    page = client.get(page_url).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    return client.post(url, {**data, "csrfmiddlewaretoken": token}, follow=True)


def inbox_tasks(client):
    return [int(pk) for pk in re.findall(r'data-task="(\d+)"', client.get(reverse("workflow:inbox")).content.decode())]


def test_parallel_quorum_countersign_relative_assignee_and_sub_process_in_chinese():
    admin = make_member("root", superuser=True)
    boss = make_member("boss")
    applicant = make_member("applicant", manager=boss)
    counsels = [make_member(f"counsel{n}") for n in (1, 2, 3)]
    Role.objects.create(name="法務").members.add(*counsels)
    legal, deputy = make_member("legal"), make_member("deputy")

    # the administrator deploys the sub-process, then the process, through the definition form
    add_url = reverse("workflow:processdefinition_add")
    for name in ("sub_review.bpmn", "contract_full.bpmn"):
        response = post(browser(admin), add_url, add_url, {"name": "", "kind": "custom", "fallback_assignee": "", "active": "on", "xml": bpmn(name)})
        assert response.status_code == 200 and response.redirect_chain, name
    assert ProcessDefinition.objects.get(key="contract_approval").task_rules["counsel"]["countersign"] == {"mode": "quorum", "quorum": "2", "sequential": False}

    from qinglan.workflow import services

    instance = services.start(definition_key="contract_approval", initiator=applicant, title="供貨合約", data={"amount": 800000})
    page_url = reverse("workflow:instance", args=[instance.pk])
    open_ids = set(WorkTask.objects.filter(instance=instance, status=TaskStatus.OPEN).values_list("bpmn_id", flat=True))
    assert open_ids == {"counsel", "manager"}  # both branches at once

    # the applicant urges; every signer and the manager are told
    post(browser(applicant), page_url, reverse("workflow:instance_action", args=[instance.pk, "urge"]), {"comment": "客戶在等"})
    assert set(Notification.objects.filter(event="workflow.urged").values_list("user__username", flat=True)) == {"boss", "counsel1", "counsel2", "counsel3"}

    # two of the three counsels approve from their inboxes: the third is no longer asked
    for counsel in counsels[:2]:
        client = browser(counsel)
        (task_pk,) = inbox_tasks(client)
        page = post(client, page_url, reverse("workflow:task_complete", args=[task_pk]), {"outcome": "approve", "comment": "可"}).content.decode()
        assert "已核准" in page
    assert inbox_tasks(browser(counsels[2])) == []

    # the manager (relative assignee) approves; the sub-process's step opens for legal
    (task_pk,) = inbox_tasks(browser(boss))
    post(browser(boss), page_url, reverse("workflow:task_complete", args=[task_pk]), {"outcome": "approve"})
    (legal_pk,) = inbox_tasks(browser(legal))

    # legal delegates to the deputy, who returns it to the step before (the join's branches)
    post(browser(legal), page_url, reverse("workflow:task_action", args=[legal_pk, "delegate"]), {"member": "deputy", "comment": "請代理"})
    assert inbox_tasks(browser(legal)) == [] and inbox_tasks(browser(deputy)) == [legal_pk]
    page = post(browser(deputy), page_url, reverse("workflow:task_action", args=[legal_pk, "return"]), {"to": "previous", "comment": "金額要主管再確認"}).content.decode()
    assert "已退回" in page
    (again,) = inbox_tasks(browser(boss))
    post(browser(boss), page_url, reverse("workflow:task_complete", args=[again]), {"outcome": "approve", "comment": "確認"})

    # and on to the end
    (legal_pk,) = inbox_tasks(browser(legal))
    post(browser(legal), page_url, reverse("workflow:task_complete", args=[legal_pk]), {"outcome": "approve"})
    instance = ProcessInstance.objects.get(pk=instance.pk)
    assert instance.status == InstanceStatus.APPROVED
    trail = browser(applicant).get(page_url).content.decode()
    for word in ("已委派", "已退回", "已催辦", "會簽已決", "已核准"):
        assert word in trail, word
