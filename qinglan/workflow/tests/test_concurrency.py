"""Two members acting on one task at the same moment: exactly one wins (PostgreSQL row locks)."""

import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import translation

from qinglan.core.testing import make_member
from qinglan.org.models import Role
from qinglan.workflow import services
from qinglan.workflow.choices import InstanceStatus, TaskStatus
from qinglan.workflow.models import ProcessInstance, TaskEvent, WorkTask

from .factories import bpmn

ROLE_PROCESS = bpmn("amount_gateway.bpmn").replace('qinglan:assignee="member:clerk"', 'qinglan:assignee="role:出納"')


def act_at_once(task, members, outcomes):
    start = threading.Barrier(len(members))
    results = []

    def act(member, outcome):
        translation.activate("en")  # a new thread starts in the default language
        try:
            start.wait()
            services.complete(task=task.pk, user=member, outcome=outcome)
            results.append("won")
        except ValidationError as error:
            results.append(" ".join(error.messages))
        finally:
            connection.close()

    threads = [threading.Thread(target=act, args=pair) for pair in zip(members, outcomes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL (SQLite serialises every writer)")
def test_two_members_completing_one_task_at_once():
    members = [make_member(f"cashier{n}") for n in range(2)]
    role = Role.objects.create(name="出納")
    role.members.add(*members)
    services.deploy(xml=ROLE_PROCESS)
    starter = make_member("starter")
    for round_ in range(5):
        instance = services.start(definition_key="expense_claim", initiator=starter, data={"amount": 1, "category": "office"})
        task = WorkTask.objects.get(instance=instance, status=TaskStatus.OPEN)
        results = act_at_once(task, members, ["approve", "reject"])
        assert results.count("won") == 1 and len(results) == 2, (round_, results)
        assert "already been completed" in [r for r in results if r != "won"][0]
        instance = ProcessInstance.objects.get(pk=instance.pk)
        assert instance.status in (InstanceStatus.APPROVED, InstanceStatus.REJECTED)
        assert instance.revision == 2
        assert TaskEvent.objects.filter(instance=instance, kind__in=["approved", "rejected"]).count() == 1


def at_once(*actions):
    """Run the actions in threads released together; each result is "won" or the refusal."""
    start = threading.Barrier(len(actions))
    results = [None] * len(actions)

    def run(index, action):
        translation.activate("en")
        try:
            start.wait()
            action()
            results[index] = "won"
        except (ValidationError, PermissionDenied) as error:
            results[index] = " ".join(getattr(error, "messages", [str(error)]))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def board(mode, size=2):
    signers = [make_member(f"director{n}") for n in range(size)]
    role = Role.objects.create(name="董事")
    role.members.add(*signers)
    make_member("lead")
    services.deploy(xml=bpmn("countersign.bpmn").replace('qinglan:countersign="all"', f'qinglan:countersign="{mode}"'))
    return signers, make_member("applicant", manager=make_member("manager"))


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL (SQLite serialises every writer)")
def test_two_signers_of_an_all_countersign_at_once_both_count_and_the_step_completes_once():
    signers, applicant = board("all")
    for round_ in range(3):
        instance = services.start(definition_key="board_approval", initiator=applicant)
        rows = list(WorkTask.objects.filter(instance=instance, bpmn_id="board").order_by("signer_order"))
        results = at_once(*(lambda row=row, member=member: services.complete(task=row.pk, user=member, outcome="approve") for row, member in zip(rows, signers)))
        assert results == ["won", "won"], (round_, results)
        assert WorkTask.objects.filter(instance=instance, bpmn_id="after").count() == 1
        assert TaskEvent.objects.filter(instance=instance, kind="decided").count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL (SQLite serialises every writer)")
def test_two_signers_of_an_any_countersign_at_once_one_decides():
    signers, applicant = board("any")
    instance = services.start(definition_key="board_approval", initiator=applicant)
    rows = list(WorkTask.objects.filter(instance=instance, bpmn_id="board").order_by("signer_order"))
    results = at_once(*(lambda row=row, member=member: services.complete(task=row.pk, user=member, outcome="approve") for row, member in zip(rows, signers)))
    assert results.count("won") == 1 and "no longer open" in [r for r in results if r != "won"][0]
    assert WorkTask.objects.filter(instance=instance, bpmn_id="after").count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL (SQLite serialises every writer)")
def test_delegating_and_approving_one_task_at_once():
    """The assignee approves while an administrator reassigns the task: one of them wins, and
    the task is either done by the assignee or open for the delegate, never both."""
    clerk, other = make_member("clerk"), make_member("other")
    root = make_member("root", superuser=True)
    services.deploy(xml=bpmn("amount_gateway.bpmn"))
    for round_ in range(3):
        instance = services.start(definition_key="expense_claim", initiator=make_member(f"starter{round_}"), data={"amount": 1, "category": "office"})
        task = WorkTask.objects.get(instance=instance, status=TaskStatus.OPEN)
        results = at_once(
            lambda: services.complete(task=task.pk, user=clerk, outcome="approve"),
            lambda: services.delegate(task=task.pk, user=root, to=other),
        )
        task.refresh_from_db()
        if results[0] == "won":
            assert results[1] != "won" and task.status == TaskStatus.DONE and task.assignee == clerk, (round_, results)
        else:
            assert results[1] == "won" and task.status == TaskStatus.OPEN and task.assignee == other, (round_, results)
            assert "not yours" in results[0]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL (SQLite serialises every writer)")
def test_two_urges_at_once_notify_once():
    from qinglan.extras.models import Notification

    make_member("clerk")
    starter = make_member("starter")
    root = make_member("root", superuser=True)
    services.deploy(xml=bpmn("amount_gateway.bpmn"))
    instance = services.start(definition_key="expense_claim", initiator=starter, data={"amount": 1, "category": "office"})
    results = at_once(lambda: services.urge(instance=instance.pk, user=starter), lambda: services.urge(instance=instance.pk, user=root))
    assert results.count("won") == 1 and "urge again" in [r for r in results if r != "won"][0]
    assert Notification.objects.filter(event="workflow.urged").count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL (SQLite serialises every writer)")
def test_two_workers_escalating_at_once_escalate_each_task_once():
    import datetime

    from django.utils import timezone

    from qinglan.extras.models import Notification

    boss = make_member("boss")
    make_member("clerk", manager=boss)
    make_member("observer")
    services.deploy(xml=bpmn("deadline.bpmn"))
    starter = make_member("starter")
    for _n in range(6):
        services.start(definition_key="deadline", initiator=starter)
    later = timezone.now() + datetime.timedelta(hours=5)
    counts = []
    results = at_once(*(lambda: counts.append(services.escalate_overdue(now=later, batch_size=2)) for _worker in range(2)))
    assert results == ["won", "won"] and sum(counts) == 6, counts
    assert Notification.objects.filter(user=boss, event="workflow.overdue").count() == 6
    assert TaskEvent.objects.filter(kind="escalated").count() == 6
