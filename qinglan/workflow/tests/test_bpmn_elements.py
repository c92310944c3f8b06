"""The BPMN elements run through the engine with persistence: inclusive gateways and joins,
intermediate and boundary timers (fired by the periodic job), call activities (sub-processes by
key, pinned to the version deployed when the instance started), embedded sub-processes; and
what deployment still refuses, with the reason."""

import datetime
import time

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from qinglan.core.testing import make_member
from qinglan.workflow import services, tasks
from qinglan.workflow.choices import InstanceStatus, TaskStatus
from qinglan.workflow.models import ProcessDefinition, ProcessInstance, TaskEvent, WorkTask

from .factories import bpmn

pytestmark = pytest.mark.django_db


def open_steps(instance):
    return sorted(WorkTask.objects.filter(instance=instance, status=TaskStatus.OPEN).values_list("bpmn_id", flat=True))


def step(instance, bpmn_id):
    return WorkTask.objects.get(instance=instance, status=TaskStatus.OPEN, bpmn_id=bpmn_id)


def reload(instance):
    return ProcessInstance.objects.get(pk=instance.pk)


# ---- inclusive gateways -----------------------------------------------------------------------


@pytest.fixture
def reviewers():
    return {name: make_member(name) for name in ("finance", "legal", "clerk", "applicant")}


def test_inclusive_gateway_takes_every_true_branch_and_joins_them(reviewers):
    services.deploy(xml=bpmn("inclusive.bpmn"))
    instance = services.start(definition_key="contract_review", initiator=reviewers["applicant"], data={"amount": 200000, "has_penalty_clause": True})
    assert open_steps(instance) == ["finance", "legal"]
    services.complete(task=step(instance, "finance"), user=reviewers["finance"], outcome="approve")
    assert open_steps(instance) == ["legal"]  # the join waits for the other branch taken
    services.complete(task=step(instance, "legal"), user=reviewers["legal"], outcome="approve")
    assert open_steps(instance) == ["sign"]
    services.complete(task=step(instance, "sign"), user=reviewers["applicant"], outcome="approve")
    assert reload(instance).status == InstanceStatus.APPROVED


def test_inclusive_gateway_with_one_true_branch_or_the_default(reviewers):
    services.deploy(xml=bpmn("inclusive.bpmn"))
    one = services.start(definition_key="contract_review", initiator=reviewers["applicant"], data={"amount": 200000, "has_penalty_clause": False})
    assert open_steps(one) == ["finance"]
    services.complete(task=step(one, "finance"), user=reviewers["finance"], outcome="approve")
    assert open_steps(one) == ["sign"]  # the join does not wait for branches never taken
    default = services.start(definition_key="contract_review", initiator=reviewers["applicant"], data={"amount": 10, "has_penalty_clause": False})
    assert open_steps(default) == ["clerk"]


# ---- timers -----------------------------------------------------------------------------------


@pytest.fixture
def timer_people():
    return {name: make_member(name) for name in ("clerk", "supervisor", "applicant")}


def test_an_intermediate_timer_waits_then_the_periodic_job_moves_the_instance_on(timer_people):
    services.deploy(xml=bpmn("timers.bpmn"))
    instance = services.start(definition_key="cooling_off", initiator=timer_people["applicant"], data={"cooling_off": "PT1S", "review_limit": "P1D"})
    instance = reload(instance)
    assert open_steps(instance) == [] and instance.status == InstanceStatus.RUNNING
    assert instance.next_timer is not None and instance.next_timer <= timezone.now() + datetime.timedelta(seconds=1)
    assert tasks.fire_due_timers.call_local() == 0  # not due yet
    time.sleep(1.1)
    assert tasks.fire_due_timers.call_local() == 1
    assert open_steps(instance) == ["review"]
    assert TaskEvent.objects.filter(instance=instance, kind="timer").exists()
    instance = reload(instance)
    assert instance.next_timer > timezone.now() + datetime.timedelta(hours=23)  # the boundary timer of the review, a day on
    services.complete(task=step(instance, "review"), user=timer_people["clerk"], outcome="approve")
    instance = reload(instance)
    assert instance.status == InstanceStatus.APPROVED and instance.next_timer is None


def test_a_boundary_timer_takes_the_step_away_when_it_lasts_too_long(timer_people):
    services.deploy(xml=bpmn("timers.bpmn"))
    instance = services.start(definition_key="cooling_off", initiator=timer_people["applicant"], data={"cooling_off": "PT0S", "review_limit": "PT1S"})
    review = step(instance, "review")  # a cooling-off of nothing has passed at once
    assert services.fire_due_timers() == 0
    time.sleep(1.1)
    assert services.fire_due_timers() == 1
    review.refresh_from_db()
    assert review.status == TaskStatus.CANCELLED
    assert open_steps(instance) == ["supervisor"]
    assert TaskEvent.objects.filter(task=review, kind="cancelled", comment="A timer moved the process on.").exists()
    services.complete(task=step(instance, "supervisor"), user=timer_people["supervisor"], outcome="approve")
    assert reload(instance).status == InstanceStatus.APPROVED


def test_a_plain_timer_written_as_other_modelers_do_and_not_yet_due(timer_people):
    definition = services.deploy(xml=bpmn("plain_timer.bpmn"))  # <timeDuration>P3D</timeDuration>, non-interrupting
    assert definition.version == 1
    instance = reload(services.start(definition_key="plain_timer", initiator=timer_people["applicant"]))
    assert open_steps(instance) == ["review"]
    assert instance.next_timer > timezone.now() + datetime.timedelta(days=2, hours=23)
    assert services.fire_due_timers(now=timezone.now()) == 0


# ---- call activities -------------------------------------------------------------------------


@pytest.fixture
def purchasing():
    boss = make_member("boss")
    return {"boss": boss, "applicant": make_member("applicant", manager=boss), "legal": make_member("legal"), "buyer": make_member("buyer")}


def test_a_call_activity_needs_its_process_deployed_first(purchasing):
    with pytest.raises(ValidationError) as error:
        services.deploy(xml=bpmn("call_activity.bpmn"))
    assert "sub_review" in " ".join(error.value.messages) and "not deployed" in " ".join(error.value.messages)
    assert not ProcessDefinition.objects.exists()


def test_a_call_activity_runs_the_sub_process_with_its_own_assignees(purchasing):
    sub = services.deploy(xml=bpmn("sub_review.bpmn"))
    services.deploy(xml=bpmn("call_activity.bpmn"))
    instance = services.start(definition_key="purchase", initiator=purchasing["applicant"], data={"amount": 5000})
    assert instance.called == {"sub_review": sub.pk}
    services.complete(task=step(instance, "manager"), user=purchasing["boss"], outcome="approve")
    legal = step(instance, "legal_check")
    assert legal.assignee == purchasing["legal"] and legal.name == "Legal check"
    # a new version of the sub-process does not change the running instance
    services.deploy(xml=bpmn("sub_review.bpmn").replace("member:legal", "member:buyer").replace('name="Legal check"', 'name="New check"'))
    services.complete(task=legal, user=purchasing["legal"], outcome="approve")
    assert open_steps(instance) == ["buyer"]
    services.complete(task=step(instance, "buyer"), user=purchasing["buyer"], outcome="approve")
    assert reload(instance).status == InstanceStatus.APPROVED
    # a new instance runs the new version
    newer = services.start(definition_key="purchase", initiator=purchasing["applicant"])
    services.complete(task=step(newer, "manager"), user=purchasing["boss"], outcome="approve")
    assert step(newer, "legal_check").assignee == purchasing["buyer"]


def test_a_rejection_in_the_sub_process_comes_back_to_the_caller(purchasing):
    services.deploy(xml=bpmn("sub_review.bpmn"))
    services.deploy(xml=bpmn("call_activity.bpmn"))
    instance = services.start(definition_key="purchase", initiator=purchasing["applicant"])
    services.complete(task=step(instance, "manager"), user=purchasing["boss"], outcome="approve")
    services.complete(task=step(instance, "legal_check"), user=purchasing["legal"], outcome="reject")
    assert reload(instance).status == InstanceStatus.REJECTED


def test_return_from_a_sub_process_step_to_the_step_before_the_call(purchasing):
    services.deploy(xml=bpmn("sub_review.bpmn"))
    services.deploy(xml=bpmn("call_activity.bpmn"))
    instance = services.start(definition_key="purchase", initiator=purchasing["applicant"])
    services.complete(task=step(instance, "manager"), user=purchasing["boss"], outcome="approve")
    services.return_task(task=step(instance, "legal_check"), user=purchasing["legal"], to="previous", comment="金額不對")
    assert open_steps(instance) == ["manager"]
    services.complete(task=step(instance, "manager"), user=purchasing["boss"], outcome="approve")
    assert open_steps(instance) == ["legal_check"]


def test_a_process_calling_itself_is_refused():
    services.deploy(xml=bpmn("sub_review.bpmn"))
    xml = bpmn("call_activity.bpmn").replace('calledElement="sub_review"', 'calledElement="purchase"')
    with pytest.raises(ValidationError) as error:
        services.deploy(xml=xml)
    assert "calls itself" in " ".join(error.value.messages)


# ---- embedded sub-processes --------------------------------------------------------------------


EMBEDDED = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:qinglan="urn:qinglan:bpmn" id="defs" targetNamespace="urn:qinglan:tests">
  <bpmn:process id="embedded" name="Embedded" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="checks" />
    <bpmn:subProcess id="checks" name="Checks">
      <bpmn:startEvent id="checks_start" />
      <bpmn:sequenceFlow id="c1" sourceRef="checks_start" targetRef="inner" />
      <bpmn:userTask id="inner" name="Inner check" qinglan:assignee="member:clerk" />
      <bpmn:sequenceFlow id="c2" sourceRef="inner" targetRef="checks_end" />
      <bpmn:endEvent id="checks_end" />
    </bpmn:subProcess>
    <bpmn:sequenceFlow id="f2" sourceRef="checks" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>"""


def test_an_embedded_sub_process_uses_the_rules_of_its_file():
    clerk = make_member("clerk")
    services.deploy(xml=EMBEDDED)
    instance = services.start(definition_key="embedded", initiator=make_member("applicant"))
    task = step(instance, "inner")
    assert task.assignee == clerk
    services.complete(task=task, user=clerk, outcome="approve")
    assert reload(instance).status == InstanceStatus.APPROVED


# ---- still refused -------------------------------------------------------------------------------


def _refused(xml):
    with pytest.raises(ValidationError) as error:
        services.deploy(xml=xml)
    assert not ProcessDefinition.objects.filter(key__in=["cooling_off", "waits_for_message", "plain_timer"]).exists()
    return " ".join(error.value.messages)


@pytest.mark.parametrize(
    ("name", "change", "reason"),
    [
        ("message_event.bpmn", None, "message events"),
        ("timers.bpmn", ("<bpmn:timeDuration>cooling_off</bpmn:timeDuration>", "<bpmn:timeDuration>P1X</bpmn:timeDuration>"), "not an ISO 8601"),
        ("timers.bpmn", ("<bpmn:timeDuration>cooling_off</bpmn:timeDuration>", "<bpmn:timeCycle>R3/PT1H</bpmn:timeCycle>"), "only a non-interrupting boundary timer may repeat"),
        ("timers.bpmn", ("<bpmn:timeDuration>cooling_off</bpmn:timeDuration>", "<bpmn:timeDuration>__import__('os')</bpmn:timeDuration>"), "calls something other than"),
        ("timers.bpmn", ('attachedToRef="review"', 'attachedToRef="wait"'), "must be attached to a user task"),
        ("plain_timer.bpmn", ("<bpmn:userTask id=\"review\"", "<bpmn:userTask id=\"review\" qinglan:due=\"P1M\""), "not an ISO 8601 duration in weeks"),
        (
            "parallel.bpmn",
            ('<bpmn:userTask id="legal" name="Legal" qinglan:assignee="member:legal" />',
             '<bpmn:userTask id="legal" name="Legal" qinglan:assignee="member:legal"><bpmn:multiInstanceLoopCharacteristics /></bpmn:userTask>'),
            "use qinglan:countersign",
        ),
    ],
)
def test_unsupported_elements_are_refused_with_the_reason(name, change, reason):
    xml = bpmn(name)
    if change:
        assert change[0] in xml
        xml = xml.replace(*change)
    assert reason in _refused(xml)
