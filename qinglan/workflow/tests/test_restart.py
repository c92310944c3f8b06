"""Engine restart mid-process, for real: an instance of the acceptance process (parallel branch,
quorum countersign, relative assignee, call activity; real BPMN files) is started here, then a
new Python process — nothing of this one in its memory, as after a restart of the server —
picks it up from the database alone and moves it on (the second signature decides the
countersign, the manager approves, the join opens the called process's step); this process
then reads what the other one wrote and finishes it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from qinglan.core.testing import make_member
from qinglan.org.models import Role
from qinglan.workflow import services
from qinglan.workflow.choices import EventKind, InstanceStatus, TaskStatus
from qinglan.workflow.models import ProcessInstance, TaskEvent, WorkTask

from .factories import bpmn

ROOT = Path(__file__).resolve().parents[3]

# run by a fresh interpreter: approve the open steps named on the command line, print the open steps
OTHER_PROCESS = r"""
import json, os, sys
import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qinglan.settings")
from django.conf import settings

settings.DATABASES["default"]["NAME"] = sys.argv[1]  # the test database, before anything connects
django.setup()
from qinglan.org.models import User
from qinglan.workflow import services
from qinglan.workflow.models import WorkTask

instance_pk = int(sys.argv[2])
for pair in sys.argv[3:]:
    username, step = pair.split(":")
    member = User.objects.get(username=username)
    task = WorkTask.objects.get(instance_id=instance_pk, bpmn_id=step, assignee=member, status="open")
    services.complete(task=task, user=member, outcome="approve", comment="restarted")
rows = WorkTask.objects.filter(instance_id=instance_pk, status="open").order_by("id")
print(json.dumps([[row.bpmn_id, row.process_key, row.assignee.username] for row in rows]))
"""


def in_another_process(instance, *approvals):
    result = subprocess.run(
        [sys.executable, "-c", OTHER_PROCESS, str(connection.settings_dict["NAME"]), str(instance.pk), *approvals],
        cwd=ROOT, env={**os.environ}, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.django_db(transaction=True)
def test_a_new_process_picks_the_instance_up_from_the_database_and_this_one_finishes_it():
    boss = make_member("boss")
    applicant = make_member("applicant", manager=boss)
    counsels = [make_member(f"counsel{n}") for n in (1, 2, 3)]
    Role.objects.create(name="法務").members.add(*counsels)
    legal = make_member("legal")
    services.deploy(xml=bpmn("sub_review.bpmn"))
    services.deploy(xml=bpmn("contract_full.bpmn"))
    instance = services.start(definition_key="contract_approval", initiator=applicant, data={"amount": 800000})
    first = WorkTask.objects.get(instance=instance, bpmn_id="counsel", assignee=counsels[0])
    services.complete(task=first, user=counsels[0], outcome="approve")

    # the server restarts: another process moves the instance on from what the database holds
    assert in_another_process(instance, "counsel2:counsel", "boss:manager") == [["legal_check", "sub_review", "legal"]]

    instance = ProcessInstance.objects.get(pk=instance.pk)
    assert instance.status == InstanceStatus.RUNNING and instance.revision == 4
    assert WorkTask.objects.get(instance=instance, assignee=counsels[2], bpmn_id="counsel").status == TaskStatus.CANCELLED
    assert TaskEvent.objects.filter(instance=instance, kind=EventKind.DECIDED).count() == 1
    services.complete(task=WorkTask.objects.get(instance=instance, status=TaskStatus.OPEN), user=legal, outcome="approve")
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.APPROVED
    assert list(instance.events.filter(kind=EventKind.APPROVED).values_list("actor__username", "comment")) == [
        ("counsel1", ""), ("counsel2", "restarted"), ("boss", "restarted"), ("legal", ""),
    ]
