"""Two members acting on one task at the same moment: exactly one wins (PostgreSQL row locks)."""

import threading

import pytest
from django.core.exceptions import ValidationError
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
