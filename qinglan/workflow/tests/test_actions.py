"""Actions on a task: return (to the previous step, to the initiator), resubmit, delegate, ask to
assist, add a signer, urge with its cool-down, comment with attachments, an administrator's
jump; who may do each, through the services and through the pages (with CSRF checks)."""

import datetime
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from qinglan.core.testing import make_department, make_member
from qinglan.extras.models import Notification
from qinglan.org.models import Role
from qinglan.workflow import services
from qinglan.workflow.choices import InstanceStatus, TaskKind, TaskStatus
from qinglan.workflow.models import ProcessInstance, TaskEvent, WorkTask

from .factories import bpmn

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    """業務部 (head: boss) > 北區 (head: lead); applicant in 北區 reports to lead."""
    sales = make_department("業務部")
    north = make_department("北區", parent=sales)
    boss = make_member("boss", department=sales)
    lead = make_member("lead", department=north)
    applicant = make_member("applicant", department=north, manager=lead)
    sales.head = boss
    sales.save()
    north.head = lead
    north.save()
    return {
        "boss": boss, "lead": lead, "applicant": applicant, "other": make_member("other", department=north),
        "root": make_member("root", superuser=True),
    }


def leave(applicant, days=5):
    services.ensure_fixed_processes()
    return services.start(definition_key="leave_request", initiator=applicant, data={"leave_type": "annual", "days": days, "reason": "休假"})


def open_step(instance):
    return WorkTask.objects.get(instance=instance, status=TaskStatus.OPEN, kind=TaskKind.STEP)


def reload(instance):
    return ProcessInstance.objects.get(pk=instance.pk)


# ---- return and resubmit -----------------------------------------------------------------------


def test_return_to_the_previous_step_opens_it_again(org):
    instance = leave(org["applicant"])
    services.complete(task=open_step(instance), user=org["lead"], outcome="approve")
    head_task = open_step(instance)
    assert head_task.bpmn_id == "head_approval"
    services.return_task(task=head_task, user=org["lead"], to="previous", comment="請補附件")
    again = open_step(instance)
    assert (again.bpmn_id, again.assignee, again.status) == ("manager_approval", org["lead"], TaskStatus.OPEN)
    head_task.refresh_from_db()
    assert (head_task.status, head_task.outcome) == (TaskStatus.DONE, "return")
    assert TaskEvent.objects.filter(instance=instance, kind="returned", comment__contains="請補附件").exists()
    # and on from there as usual
    services.complete(task=again, user=org["lead"], outcome="approve")
    services.complete(task=open_step(instance), user=org["lead"], outcome="approve")
    assert reload(instance).status == InstanceStatus.APPROVED
    steps = list(instance.tasks.filter(kind=TaskKind.STEP).order_by("id").values_list("bpmn_id", "outcome"))
    assert steps == [("manager_approval", "approve"), ("head_approval", "return"), ("manager_approval", "approve"), ("head_approval", "approve")]


def test_the_first_step_has_no_previous_step(org):
    instance = leave(org["applicant"])
    with pytest.raises(ValidationError) as error:
        services.return_task(task=open_step(instance), user=org["lead"], to="previous", comment="?")
    assert "return it to the initiator" in " ".join(error.value.messages)


def test_return_to_the_initiator_and_resubmit(org):
    instance = leave(org["applicant"])
    services.complete(task=open_step(instance), user=org["lead"], outcome="approve")
    services.return_task(task=open_step(instance), user=org["lead"], to="initiator", comment="日期寫錯")
    instance = reload(instance)
    assert instance.status == InstanceStatus.RETURNED
    assert not WorkTask.objects.filter(instance=instance, status=TaskStatus.OPEN, kind=TaskKind.STEP).exists()
    (resubmit,) = services.open_tasks(org["applicant"])
    assert resubmit.kind == TaskKind.RESUBMIT
    assert Notification.objects.filter(user=org["applicant"], event="workflow.returned").exists()
    with pytest.raises(PermissionDenied):
        services.resubmit(instance=instance, user=org["lead"])
    services.resubmit(instance=instance, user=org["applicant"], comment="已更正")
    instance = reload(instance)
    assert instance.status == InstanceStatus.RUNNING
    step = open_step(instance)
    assert step.bpmn_id == "manager_approval" and step.assignee == org["lead"]  # the process starts over
    assert not services.open_tasks(org["applicant"]).exists()
    assert list(instance.events.filter(kind__in=["returned", "resubmitted"]).values_list("kind", flat=True)) == ["returned", "resubmitted"]


def test_a_returned_request_may_be_withdrawn(org):
    instance = leave(org["applicant"])
    services.return_task(task=open_step(instance), user=org["lead"], to="initiator", comment="不需要")
    services.withdraw(instance=instance, user=org["applicant"])
    assert reload(instance).status == InstanceStatus.WITHDRAWN
    assert not services.open_tasks(org["applicant"]).exists()


def test_only_the_assignee_returns_and_says_why(org):
    instance = leave(org["applicant"])
    task = open_step(instance)
    with pytest.raises(PermissionDenied), translation.override("zh-hant"):
        try:
            services.return_task(task=task, user=org["other"], to="initiator", comment="x")
        except PermissionDenied as error:
            assert "退回" in str(error)  # refused in the member's language
            raise
    with pytest.raises(ValidationError):
        services.return_task(task=task, user=org["lead"], to="initiator", comment=" ")


# ---- delegate --------------------------------------------------------------------------------


def test_delegate_moves_the_task_to_the_delegates_inbox(org):
    instance = leave(org["applicant"])
    task = open_step(instance)
    with pytest.raises(PermissionDenied):
        services.delegate(task=task, user=org["other"], to=org["other"])
    services.delegate(task=task, user=org["lead"], to=org["other"], comment="我出差")
    task.refresh_from_db()
    assert (task.assignee, task.delegated_from) == (org["other"], org["lead"])
    assert list(services.open_tasks(org["other"])) == [task] and not services.open_tasks(org["lead"]).exists()
    assert Notification.objects.filter(user=org["other"], event="workflow.delegated").exists()
    event = TaskEvent.objects.get(instance=instance, kind="delegated")
    assert "lead" in event.comment and "other" in event.comment and event.actor == org["lead"]
    with pytest.raises(PermissionDenied):
        services.complete(task=task, user=org["lead"], outcome="approve")
    services.complete(task=task, user=org["other"], outcome="approve")
    assert services.may_view_instance(instance, org["lead"])  # the delegator still sees what became of it


def test_an_administrator_reassigns_a_task(org):
    instance = leave(org["applicant"])
    task = open_step(instance)
    services.delegate(task=task, user=org["root"], to=org["boss"])
    task.refresh_from_db()
    assert task.assignee == org["boss"]
    with pytest.raises(ValidationError):
        services.delegate(task=task, user=org["boss"], to=org["boss"])


# ---- assist ----------------------------------------------------------------------------------


def test_assistance_is_recorded_and_the_step_does_not_wait_for_it(org):
    instance = leave(org["applicant"])
    task = open_step(instance)
    assist = services.ask_assist(task=task, user=org["lead"], member=org["other"], comment="人力夠嗎？")
    services.ask_assist(task=task, user=org["lead"], member=org["boss"], comment="你看呢？")
    assert list(services.open_tasks(org["other"])) == [assist] and assist.kind == TaskKind.ASSIST
    with pytest.raises(ValidationError):  # an assistant answers; they do not approve
        services.complete(task=assist, user=org["other"], outcome="approve")
    with pytest.raises(PermissionDenied):
        services.answer_assist(task=assist, user=org["boss"], comment="x")
    services.answer_assist(task=assist, user=org["other"], comment="人力足夠")
    assert TaskEvent.objects.filter(instance=instance, kind="assisted", actor=org["other"], comment="人力足夠").exists()
    # lead decides while boss has not answered: boss's request is cancelled
    services.complete(task=task, user=org["lead"], outcome="approve")
    boss_assist = WorkTask.objects.get(instance=instance, kind=TaskKind.ASSIST, assignee=org["boss"])
    assert boss_assist.status == TaskStatus.CANCELLED
    assert not services.open_tasks(org["boss"]).filter(kind=TaskKind.ASSIST).exists()


def test_only_who_may_act_asks_for_assistance(org):
    instance = leave(org["applicant"])
    with pytest.raises(PermissionDenied):
        services.ask_assist(task=open_step(instance), user=org["applicant"], member=org["other"])


# ---- add a signer ----------------------------------------------------------------------------


def countersign(org, **attributes):
    directors = [make_member(f"director{n}") for n in (1, 2)]
    role = Role.objects.create(name="董事")
    role.members.add(*directors)
    settings = " ".join(f'qinglan:{name}="{value}"' for name, value in attributes.items())
    services.deploy(xml=bpmn("countersign.bpmn").replace('qinglan:countersign="all"', settings))
    instance = services.start(definition_key="board_approval", initiator=org["applicant"])
    return instance, directors


def signers(instance):
    return list(instance.tasks.filter(bpmn_id="board").order_by("signer_order"))


def test_a_signer_adds_a_signer_who_must_sign_too(org):
    instance, directors = countersign(org, countersign="all")
    first = signers(instance)[0]
    with pytest.raises(PermissionDenied):
        services.add_signer(task=first, user=org["other"], member=org["boss"])
    added = services.add_signer(task=first, user=directors[0], member=org["boss"], comment="金額大")
    assert (added.status, added.assignee, added.signer_order) == (TaskStatus.OPEN, org["boss"], 2)
    with pytest.raises(ValidationError):
        services.add_signer(task=first, user=directors[0], member=directors[1])  # already signs
    for row, member in zip(signers(instance)[:2], directors):
        services.complete(task=row, user=member, outcome="approve")
    assert not instance.tasks.filter(bpmn_id="after").exists()  # waits for the added signer
    services.complete(task=added, user=org["boss"], outcome="approve")
    assert instance.tasks.filter(bpmn_id="after", status=TaskStatus.OPEN).exists()
    assert TaskEvent.objects.filter(instance=instance, kind="signer_added", actor=directors[0]).exists()


def test_an_added_signer_signs_last_in_turn(org):
    instance, directors = countersign(org, countersign="all", signing="sequential")
    added = services.add_signer(task=signers(instance)[0], user=org["root"], member=org["boss"])
    assert added.status == TaskStatus.WAITING
    services.complete(task=signers(instance)[0], user=directors[0], outcome="approve")
    services.complete(task=signers(instance)[1], user=directors[1], outcome="approve")
    added.refresh_from_db()
    assert added.status == TaskStatus.OPEN


def test_signers_are_added_to_countersign_steps_only(org):
    instance = leave(org["applicant"])
    with pytest.raises(ValidationError):
        services.add_signer(task=open_step(instance), user=org["lead"], member=org["boss"])


# ---- urge ------------------------------------------------------------------------------------


def test_urge_notifies_the_assignees_once_an_hour(org, mailoutbox, django_capture_on_commit_callbacks):
    org["lead"].email = "lead@example.com"
    org["lead"].save()
    instance = leave(org["applicant"])
    with pytest.raises(PermissionDenied):
        services.urge(instance=instance, user=org["other"])
    with django_capture_on_commit_callbacks(execute=True):
        notified = services.urge(instance=instance, user=org["applicant"], comment="下週就要出發")
    assert notified == [org["lead"]]
    (mail,) = mailoutbox  # and by mail, in the member's language
    assert mail.to == ["lead@example.com"] and "催辦" in mail.subject and "下週就要出發" in mail.body
    note = Notification.objects.get(user=org["lead"], event="workflow.urged")
    assert "下週就要出發" in note.body and note.url == instance.get_page_url()
    with pytest.raises(ValidationError) as error:
        services.urge(instance=instance, user=org["applicant"])
    assert "urge again from" in " ".join(error.value.messages)
    assert Notification.objects.filter(user=org["lead"], event="workflow.urged").count() == 1
    # an hour later it may be urged again
    WorkTask.objects.filter(instance=instance).update(last_urged=timezone.now() - datetime.timedelta(hours=1, minutes=1))
    services.urge(instance=instance, user=org["root"])
    assert Notification.objects.filter(user=org["lead"], event="workflow.urged").count() == 2
    assert instance.events.filter(kind="urged").count() == 2


# ---- jump ------------------------------------------------------------------------------------


def test_an_administrator_jumps_forward_and_back_with_a_reason(org):
    instance = leave(org["applicant"])
    with pytest.raises(PermissionDenied):
        services.jump(instance=instance, user=org["lead"], step="head_approval", reason="趕時間")
    with pytest.raises(ValidationError):
        services.jump(instance=instance, user=org["root"], step="head_approval", reason="")
    services.jump(instance=instance, user=org["root"], step="head_approval", reason="經理休假")
    assert open_step(instance).bpmn_id == "head_approval"
    assert instance.tasks.get(bpmn_id="manager_approval").status == TaskStatus.CANCELLED
    assert TaskEvent.objects.filter(instance=instance, kind="jumped", comment__contains="經理休假").exists()
    services.jump(instance=instance, user=org["root"], step="manager_approval", reason="還是要經理簽")
    assert open_step(instance).bpmn_id == "manager_approval"
    services.complete(task=open_step(instance), user=org["lead"], outcome="approve")
    services.complete(task=open_step(instance), user=org["lead"], outcome="approve")
    assert reload(instance).status == InstanceStatus.APPROVED
    with pytest.raises(ValidationError):
        services.jump(instance=instance, user=org["root"], step="manager_approval", reason="x")


def test_jump_to_a_step_the_process_does_not_have(org):
    instance = leave(org["applicant"])
    with pytest.raises(ValidationError):
        services.jump(instance=instance, user=org["root"], step="nowhere", reason="x")


# ---- through the pages, with CSRF checks ----------------------------------------------------------


def csrf_client(member):
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    return client


def post_from_page(client, page_url, url, data, **extra):
    """POST as the browser does: the CSRF token is the one the page holds."""
    page = client.get(page_url).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    return client.post(url, {**data, "csrfmiddlewaretoken": token}, **extra)


def test_return_delegate_and_assist_through_the_page(org):
    instance = leave(org["applicant"], days=1)
    task = open_step(instance)
    page_url = reverse("workflow:instance", args=[instance.pk])
    lead = csrf_client(org["lead"])
    page = lead.get(page_url).content.decode()
    assert 'data-testid="return-form"' in page and 'data-testid="delegate-form"' in page and 'data-testid="add-signer-form"' not in page
    # without the token: refused
    assert lead.post(reverse("workflow:task_action", args=[task.pk, "delegate"]), {"member": "other"}).status_code == 403
    response = post_from_page(lead, page_url, reverse("workflow:task_action", args=[task.pk, "assist"]), {"member": "boss", "comment": "意見？"})
    assert response.status_code == 302
    boss = csrf_client(org["boss"])
    assist = WorkTask.objects.get(kind=TaskKind.ASSIST)
    assert 'data-testid="assist-answer-form"' in boss.get(page_url).content.decode()
    post_from_page(boss, page_url, reverse("workflow:task_action", args=[assist.pk, "answer"]), {"comment": "同意"})
    post_from_page(lead, page_url, reverse("workflow:task_action", args=[task.pk, "delegate"]), {"member": "other", "comment": "請代簽"})
    task.refresh_from_db()
    assert task.assignee == org["other"]
    other = csrf_client(org["other"])
    inbox = other.get(reverse("workflow:inbox")).content.decode()
    assert f'data-task="{task.pk}"' in inbox
    response = post_from_page(
        other, page_url, reverse("workflow:task_action", args=[task.pk, "return"]), {"to": "initiator", "comment": "請補資料"}, follow=True
    )
    assert "已退回。" in response.content.decode()  # members without a language of their own read Traditional Chinese
    assert reload(instance).status == InstanceStatus.RETURNED
    applicant = csrf_client(org["applicant"])
    assert 'data-testid="resubmit-form"' in applicant.get(page_url).content.decode()
    post_from_page(applicant, page_url, reverse("workflow:instance_action", args=[instance.pk, "resubmit"]), {"comment": "補好了"})
    assert reload(instance).status == InstanceStatus.RUNNING
    # a refusal comes back as a message on the page, in the member's language
    org["lead"].language = "zh-hant"
    org["lead"].save()
    response = post_from_page(
        lead, page_url, reverse("workflow:task_action", args=[open_step(instance).pk, "delegate"]), {"member": "nobody"}, follow=True
    )
    assert "沒有在職成員" in response.content.decode()


def test_a_stranger_is_refused_every_action(org):
    instance = leave(org["applicant"])
    task = open_step(instance)
    stranger = make_member("stranger")
    client = Client()
    client.force_login(stranger)
    for action in ("return", "delegate", "assist", "add_signer", "answer"):
        response = client.post(reverse("workflow:task_action", args=[task.pk, action]), {"member": "boss", "comment": "x", "to": "initiator"})
        assert response.status_code in (403, 302), action
    for action in ("urge", "comment", "jump", "resubmit", "withdraw"):
        assert client.post(reverse("workflow:instance_action", args=[instance.pk, action]), {"comment": "x"}).status_code == 404, action
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN and task.assignee == org["lead"]
    assert list(instance.events.values_list("kind", flat=True)) == ["started", "assigned"]


def test_comment_with_attachments_and_who_may_download_them(org):
    instance = leave(org["applicant"])
    page_url = reverse("workflow:instance", args=[instance.pk])
    applicant = csrf_client(org["applicant"])
    upload = SimpleUploadedFile("診斷證明.pdf", b"%PDF-1.4 test", content_type="application/pdf")
    response = post_from_page(
        applicant, page_url, reverse("workflow:instance_action", args=[instance.pk, "comment"]), {"comment": "附上證明", "files": upload}
    )
    assert response.status_code == 302
    event = TaskEvent.objects.get(instance=instance, kind="commented")
    assert event.comment == "附上證明" and event.actor == org["applicant"]
    page = csrf_client(org["lead"]).get(page_url).content.decode()
    assert "診斷證明.pdf" in page
    attachment_url = re.search(r'href="(/[^"]+/attachments/\d+/)" data-testid="attachment"', page).group(1)
    download = csrf_client(org["lead"]).get(attachment_url)
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"%PDF-1.4 test"
    assert csrf_client(org["other"]).get(attachment_url).status_code == 404
    # a refused file type: nothing is written
    bad = SimpleUploadedFile("run.exe", b"MZ", content_type="application/octet-stream")
    with pytest.raises(ValidationError):
        services.comment(instance=instance, user=org["applicant"], text="x", files=[bad])
    assert TaskEvent.objects.filter(instance=instance, kind="commented").count() == 1
    with pytest.raises(PermissionDenied):
        services.comment(instance=instance, user=org["other"], text="我也要說")


def test_urge_and_jump_through_the_page(org):
    instance = leave(org["applicant"])
    page_url = reverse("workflow:instance", args=[instance.pk])
    applicant = csrf_client(org["applicant"])
    assert 'data-testid="urge"' in applicant.get(page_url).content.decode()
    post_from_page(applicant, page_url, reverse("workflow:instance_action", args=[instance.pk, "urge"]), {})
    response = post_from_page(applicant, page_url, reverse("workflow:instance_action", args=[instance.pk, "urge"]), {}, follow=True)
    assert "起可以再催辦" in response.content.decode()
    assert 'data-testid="jump-form"' not in applicant.get(page_url).content.decode()
    root = csrf_client(org["root"])
    assert 'data-testid="jump-form"' in root.get(page_url).content.decode()
    post_from_page(root, page_url, reverse("workflow:instance_action", args=[instance.pk, "jump"]), {"step": "head_approval", "reason": "主管休假"})
    assert open_step(instance).bpmn_id == "head_approval"


def test_return_to_a_countersign_step_asks_every_signer_again(org):
    instance, directors = countersign(org, countersign="all")
    for row, member in zip(signers(instance), directors):
        services.complete(task=row, user=member, outcome="approve")
    after = WorkTask.objects.get(instance=instance, bpmn_id="after", status=TaskStatus.OPEN)
    services.return_task(task=after, user=after.assignee, to="previous", comment="請再確認金額")
    fresh = list(instance.tasks.filter(bpmn_id="board", status=TaskStatus.OPEN).order_by("signer_order"))
    assert [row.assignee for row in fresh] == directors
    assert len({row.activation for row in fresh}) == 1 and fresh[0].activation != signers(instance)[0].activation
    services.complete(task=fresh[0], user=directors[0], outcome="approve")
    assert not instance.tasks.filter(bpmn_id="after", status=TaskStatus.OPEN).exists()  # the earlier signatures do not count
    services.complete(task=fresh[1], user=directors[1], outcome="approve")
    assert instance.tasks.filter(bpmn_id="after", status=TaskStatus.OPEN).exists()


def test_a_refusal_of_who_may_act_says_why_in_the_members_language(org):
    instance = leave(org["applicant"])
    task = open_step(instance)
    other = Client()
    other.force_login(org["other"])  # a colleague without a language of their own: Traditional Chinese
    response = other.post(reverse("workflow:task_action", args=[task.pk, "delegate"]), {"member": "boss"})
    assert response.status_code == 403
    page = response.content.decode()
    assert "只有處理人或管理員可以委派這項任務" in page and 'href="/workflow/tasks/"' in page
    applicant = Client()
    applicant.force_login(org["applicant"])  # may see the request, may not return it
    response = applicant.post(reverse("workflow:task_action", args=[task.pk, "return"]), {"to": "initiator", "comment": "x"})
    assert response.status_code == 403 and "只有可處理這個步驟的人可以退回它" in response.content.decode()
    assert f'href="{instance.get_page_url()}"' in response.content.decode()
