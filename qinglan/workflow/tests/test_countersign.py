"""Countersign (會簽): all / any / quorum (n of m, percentage), parallel and sequential signing,
signers from roles, departments and positions; and the assignee rules added with it."""

import gc

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from qinglan.core.testing import make_department, make_member
from qinglan.org.models import Position, Role
from qinglan.workflow import services
from qinglan.workflow.choices import InstanceStatus, TaskStatus
from qinglan.workflow.models import ProcessInstance, TaskEvent, WorkTask

from .factories import bpmn

pytestmark = pytest.mark.django_db


def board_process(**attributes):
    xml = bpmn("countersign.bpmn")
    settings = " ".join(f'qinglan:{name}="{value}"' for name, value in attributes.items())
    return xml.replace('qinglan:countersign="all"', settings)


@pytest.fixture
def board():
    """Four directors holding the role 董事; the applicant reports to `lead`."""
    directors = [make_member(f"director{n}", language="en") for n in range(1, 5)]
    role = Role.objects.create(name="董事")
    role.members.add(*directors)
    lead = make_member("lead")
    applicant = make_member("applicant", manager=lead)
    return {"directors": directors, "lead": lead, "applicant": applicant}


def start(board, **attributes):
    services.deploy(xml=board_process(**attributes))
    return services.start(definition_key="board_approval", initiator=board["applicant"])


def rows(instance, **filters):
    return list(instance.tasks.filter(bpmn_id="board", **filters).order_by("signer_order", "id"))


def status(instance):
    return ProcessInstance.objects.get(pk=instance.pk).status


def test_all_must_approve_in_parallel(board):
    instance = start(board, countersign="all")
    signers = rows(instance)
    assert [row.assignee for row in signers] == board["directors"]
    assert {row.status for row in signers} == {TaskStatus.OPEN} and all(row.countersign for row in signers)
    for member in board["directors"]:
        assert services.open_tasks(member).count() == 1  # each signer sees their own task
    for row, member in zip(signers[:3], board["directors"][:3]):
        services.complete(task=row, user=member, outcome="approve")
        assert not instance.tasks.filter(bpmn_id="after").exists()
    services.complete(task=signers[3], user=board["directors"][3], outcome="approve")
    (after,) = instance.tasks.filter(bpmn_id="after")
    assert after.assignee == board["lead"]
    assert TaskEvent.objects.filter(instance=instance, kind="decided", comment__contains="4 of 4").exists()


def test_a_rejection_under_all_ends_the_step_as_rejected(board):
    instance = start(board, countersign="all")
    signers = rows(instance)
    services.complete(task=signers[0], user=board["directors"][0], outcome="approve")
    services.complete(task=signers[1], user=board["directors"][1], outcome="reject", comment="風險太高")
    assert status(instance) == InstanceStatus.REJECTED
    assert [row.status for row in rows(instance)] == ["done", "done", "cancelled", "cancelled"]
    cancelled = TaskEvent.objects.filter(instance=instance, kind="cancelled")
    assert cancelled.count() == 2 and "1 of 4 approved, 1 rejected" in cancelled.first().comment
    # a cancelled signer is told the task is no longer open
    with pytest.raises(ValidationError) as error:
        services.complete(task=signers[2], user=board["directors"][2], outcome="approve")
    assert "no longer open" in " ".join(error.value.messages)


def test_any_one_approves(board):
    instance = start(board, countersign="any")
    signers = rows(instance)
    services.complete(task=signers[2], user=board["directors"][2], outcome="reject")
    assert status(instance) == InstanceStatus.RUNNING  # a rejection decides nothing under "any"
    services.complete(task=signers[0], user=board["directors"][0], outcome="approve")
    assert [row.status for row in rows(instance)] == ["done", "cancelled", "done", "cancelled"]
    assert instance.tasks.filter(bpmn_id="after", status=TaskStatus.OPEN).exists()


def test_any_rejected_by_everyone(board):
    instance = start(board, countersign="any")
    for row, member in zip(rows(instance), board["directors"]):
        services.complete(task=row, user=member, outcome="reject")
    assert status(instance) == InstanceStatus.REJECTED


def test_quorum_of_n_completes_as_soon_as_decided(board):
    instance = start(board, countersign="quorum", quorum="2")
    signers = rows(instance)
    services.complete(task=signers[0], user=board["directors"][0], outcome="approve")
    assert status(instance) == InstanceStatus.RUNNING
    services.complete(task=signers[3], user=board["directors"][3], outcome="approve")
    assert [row.status for row in rows(instance)] == ["done", "cancelled", "cancelled", "done"]
    assert instance.tasks.filter(bpmn_id="after", status=TaskStatus.OPEN).exists()


def test_quorum_that_can_no_longer_be_reached_rejects(board):
    instance = start(board, countersign="quorum", quorum="3")
    signers = rows(instance)
    services.complete(task=signers[0], user=board["directors"][0], outcome="reject")
    assert status(instance) == InstanceStatus.RUNNING  # 3 of the other 3 may still approve
    services.complete(task=signers[1], user=board["directors"][1], outcome="reject")
    assert status(instance) == InstanceStatus.REJECTED
    assert [row.status for row in rows(instance)] == ["done", "done", "cancelled", "cancelled"]


def test_quorum_as_a_percentage(board):
    instance = start(board, countersign="quorum", quorum="75%")  # 75 % of 4: 3 approvals
    signers = rows(instance)
    for row, member in zip(signers[:2], board["directors"][:2]):
        services.complete(task=row, user=member, outcome="approve")
    assert status(instance) == InstanceStatus.RUNNING and not instance.tasks.filter(bpmn_id="after").exists()
    services.complete(task=signers[2], user=board["directors"][2], outcome="approve")
    assert instance.tasks.filter(bpmn_id="after", status=TaskStatus.OPEN).exists()
    assert rows(instance)[3].status == TaskStatus.CANCELLED


def test_sequential_signing_one_after_another_survives_a_restart(board):
    instance = start(board, countersign="all", signing="sequential")
    assert [row.status for row in rows(instance)] == ["open", "waiting", "waiting", "waiting"]
    assert not services.open_tasks(board["directors"][1]).exists()
    with pytest.raises(ValidationError):  # not their turn yet
        services.complete(task=rows(instance)[1], user=board["directors"][1], outcome="approve")
    services.complete(task=rows(instance)[0], user=board["directors"][0], outcome="approve")
    assert [row.status for row in rows(instance)] == ["done", "open", "waiting", "waiting"]
    pk = instance.pk
    del instance
    gc.collect()  # nothing but the database carries the signatures between requests
    instance = ProcessInstance.objects.get(pk=pk)
    for order in (1, 2, 3):
        services.complete(task=rows(instance)[order], user=board["directors"][order], outcome="approve")
    assert instance.tasks.filter(bpmn_id="after", status=TaskStatus.OPEN).exists()


def test_only_a_signer_signs_and_only_once(board):
    instance = start(board, countersign="all")
    signers = rows(instance)
    with pytest.raises(PermissionDenied):
        services.complete(task=signers[0], user=board["directors"][1], outcome="approve")
    services.complete(task=signers[0], user=board["directors"][0], outcome="approve")
    with pytest.raises(ValidationError):
        services.complete(task=signers[0], user=board["directors"][0], outcome="approve")


def test_signers_from_several_rules_departments_and_positions_each_once(board):
    legal = make_department("法務部", code="LEGAL")
    counsel = Position.objects.create(name="法務專員")
    first = make_member("counsel1", department=legal, position=counsel)
    second = make_member("counsel2", department=legal)
    make_member("gone", department=legal, is_active=False)
    services.deploy(xml=board_process(countersign="all").replace("role:董事", "department:LEGAL, position:法務專員, member:director1"))
    instance = services.start(definition_key="board_approval", initiator=board["applicant"])
    assert [row.assignee for row in rows(instance)] == [first, second, board["directors"][0]]


def test_a_countersign_rule_that_finds_nobody_falls_back(board):
    services.deploy(xml=board_process(countersign="all").replace("role:董事", "role:不存在"))
    root = make_member("root", superuser=True)
    instance = services.start(definition_key="board_approval", initiator=board["applicant"])
    (row,) = rows(instance)
    assert row.for_administrators and not row.countersign
    services.complete(task=row, user=root, outcome="approve")
    assert instance.tasks.filter(bpmn_id="after").exists()


@pytest.mark.parametrize(
    ("attributes", "reason"),
    [
        ({"countersign": "most"}, "countersign must be all, any or quorum"),
        ({"countersign": "quorum"}, "a quorum is a number of signers"),
        ({"countersign": "quorum", "quorum": "150%"}, "a quorum is a number of signers"),
        ({"countersign": "any", "quorum": "2"}, "only for countersign"),
        ({"countersign": "all", "signing": "random"}, "signing must be parallel or sequential"),
    ],
)
def test_bad_countersign_settings_are_refused(attributes, reason):
    with pytest.raises(ValidationError) as error:
        services.deploy(xml=board_process(**attributes))
    assert reason in " ".join(error.value.messages)


def test_several_rules_only_on_a_countersign_step():
    with pytest.raises(ValidationError) as error:
        services.deploy(xml=bpmn("countersign.bpmn").replace('qinglan:countersign="all"', "").replace("role:董事", "role:董事, member:x"))
    assert "only a countersign step may list several" in " ".join(error.value.messages)


# ---- the assignee rules added with countersign ---------------------------------------------------


def test_department_previous_approver_record_owner_field_and_position():
    finance = make_department("財務部", code="FIN")
    cashier = make_member("cashier", department=finance)
    cashier_boss = make_member("cfo")
    cashier.manager = cashier_boss
    cashier.save()
    owner = make_member("owner")
    reviewer = make_member("reviewer")
    counsel = make_member("counsel", position=Position.objects.create(name="法務專員"))
    applicant = make_member("applicant")
    services.deploy(xml=bpmn("relative_assignees.bpmn"))
    instance = services.start(
        definition_key="more_assignees", initiator=applicant, data={"record_owner": owner.pk, "reviewer": "reviewer"}
    )

    def step():
        return WorkTask.objects.get(instance=instance, status=TaskStatus.OPEN)

    task = step()
    assert task.bpmn_id == "by_department" and task.assignee is None and task.candidate_department == finance
    assert list(services.open_tasks(cashier)) == [task] and not services.open_tasks(applicant).exists()
    with pytest.raises(PermissionDenied):
        services.complete(task=task, user=applicant, outcome="approve")
    services.complete(task=task, user=cashier, outcome="approve")

    task = step()
    assert (task.bpmn_id, task.assignee) == ("by_previous", cashier_boss)  # the manager of who approved before
    services.complete(task=task, user=cashier_boss, outcome="approve")

    task = step()
    assert (task.bpmn_id, task.assignee) == ("by_owner", owner)  # record_owner given as a member's ID
    services.complete(task=task, user=owner, outcome="approve")

    task = step()
    assert (task.bpmn_id, task.assignee) == ("by_field", reviewer)  # the form field names a username
    services.complete(task=task, user=reviewer, outcome="approve")

    task = step()
    assert task.bpmn_id == "by_position" and task.candidate_position.name == "法務專員"
    assert list(services.open_tasks(counsel)) == [task]
    services.complete(task=task, user=counsel, outcome="approve")
    assert status(instance) == InstanceStatus.APPROVED


def test_record_owner_comes_from_the_record(board):
    from qinglan.customers.models import Customer

    owner = make_member("salesperson")
    customer = Customer.objects.create(name="青藍貿易", owner=owner)
    services.deploy(xml=bpmn("assignees.bpmn").replace('qinglan:assignee="member:auditor"', 'qinglan:assignee="record_owner"'))
    instance = services.start(definition_key="assignee_rules", initiator=board["applicant"], record=customer)
    assert instance.data["record_owner"] == "salesperson" and instance.record == customer
    assert WorkTask.objects.get(instance=instance, status=TaskStatus.OPEN).assignee == owner


def test_a_field_naming_nobody_falls_back():
    make_member("root", superuser=True)
    services.deploy(xml=bpmn("relative_assignees.bpmn").replace("department:FIN", "field:reviewer"))
    instance = services.start(definition_key="more_assignees", initiator=make_member("applicant"), data={"reviewer": "no-such-member"})
    assert WorkTask.objects.get(instance=instance, status=TaskStatus.OPEN).for_administrators


def test_a_signer_sees_how_the_countersign_stands_on_the_page(board):
    from django.test import Client
    from django.urls import reverse

    instance = start(board, countersign="quorum", quorum="50%")
    services.complete(task=rows(instance)[0], user=board["directors"][0], outcome="approve")
    client = Client()
    client.force_login(board["directors"][1])
    page = client.get(reverse("workflow:instance", args=[instance.pk])).content.decode()
    assert 'data-testid="countersign-summary"' in page
    assert "2 of 4 approvals decide it; so far 1 approved, 0 rejected, 3 to sign" in " ".join(page.split())
    assert 'data-testid="add-signer-form"' in page


def test_modules_hear_when_the_approval_of_their_record_ends(board, django_capture_on_commit_callbacks):
    """A module binds its record to a process by subscribing to the instance's domain events."""
    from qinglan.core import events
    from qinglan.customers.models import Customer

    heard = []
    handler = events.subscribe("workflow.processinstance.*")(heard.append)
    try:
        customer = Customer.objects.create(name="青藍貿易", owner=board["lead"])
        services.deploy(xml=board_process(countersign="any"))
        with django_capture_on_commit_callbacks(execute=True):
            instance = services.start(definition_key="board_approval", initiator=board["applicant"], record=customer)
        with django_capture_on_commit_callbacks(execute=True):
            services.complete(task=rows(instance)[0], user=board["directors"][0], outcome="reject")
            services.complete(task=rows(instance)[1], user=board["directors"][1], outcome="reject")
            for row, member in zip(rows(instance)[2:], board["directors"][2:]):
                services.complete(task=row, user=member, outcome="reject")
    finally:
        events._subscribers.remove(("workflow.processinstance.*", handler))
    assert [event["event"] for event in heard] == ["workflow.processinstance.started", "workflow.processinstance.finished"]
    finished = heard[-1]
    assert finished["data"] == {"definition": "board_approval", "status": "rejected", "record_type": "customers.customer", "record_id": str(customer.pk)}
    assert finished["object_id"] == instance.pk
