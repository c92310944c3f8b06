"""The instance page draws its process with the completed, active and pending steps marked."""

import json

import pytest
from django.test import Client
from lxml import etree

from qinglan.core.testing import make_member
from qinglan.org.models import Department, Role
from qinglan.workflow import importers, services
from qinglan.workflow.choices import TaskStatus
from qinglan.workflow.models import WorkTask

from .factories import bpmn

pytestmark = pytest.mark.django_db


def test_the_diagram_marks_done_active_and_pending_steps():
    xml, _notes = importers.prepare_bpmn(bpmn("camunda_modeler.bpmn"))
    services.deploy(xml=xml)
    lead, traveller = make_member("lead", language="en"), make_member("traveller", language="en")
    instance = services.start(definition_key="travel_request", initiator=traveller, data={"amount": 50000, "abroad": True})
    state = services.diagram_state(instance)
    assert state["active"] == ["Task_manager"] and "StartEvent_1" in state["done"]
    assert {"Gateway_1", "EndEvent_1"} <= set(state["pending"])
    services.complete(task=WorkTask.objects.get(instance=instance, status=TaskStatus.OPEN), user=lead, outcome="approve")
    instance.refresh_from_db()
    state = services.diagram_state(instance)
    assert state["active"] == ["Task_finance"] and {"StartEvent_1", "Task_manager", "Gateway_1"} <= set(state["done"])

    client = Client()
    client.force_login(traveller)
    page = client.get(instance.get_page_url()).content.decode()
    assert 'data-testid="instance-diagram"' in page and "bpmn-navigated-viewer.production.min.js" in page
    data = json.loads(page.split('id="instance-diagram-data" type="application/json">')[1].split("</script>")[0])
    assert data["active"] == ["Task_finance"] and "BPMNDiagram" in data["xml"]

    services.withdraw(instance=instance, user=traveller)
    instance.refresh_from_db()
    state = services.diagram_state(instance)
    assert state["active"] == [] and state["pending"] == [] and "Task_manager" in state["done"]


def test_a_process_without_a_drawing_has_no_diagram():
    services.deploy(xml=bpmn("customer_credit.bpmn"))
    Role.objects.create(name="信用審核").members.add(make_member("reviewer"))
    applicant = make_member("applicant", language="en")
    instance = services.start(definition_key="customer_credit", initiator=applicant, data={"credit_limit": 5000})
    client = Client()
    client.force_login(applicant)
    assert 'data-testid="instance-diagram"' not in client.get(instance.get_page_url()).content.decode()


BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
BPMNDI = "{http://www.omg.org/spec/BPMN/20100524/DI}"
DRAWN = ("startEvent", "endEvent", "userTask", "exclusiveGateway", "sequenceFlow")


@pytest.mark.parametrize("filename", ["leave_request.bpmn", "purchase_request.bpmn", "expense_claim.bpmn"])
def test_the_shipped_processes_draw_every_element_and_stay_deployable(filename):
    xml = (services.PROCESSES_DIR / filename).read_text(encoding="utf-8")
    root = etree.fromstring(xml.encode())
    elements = {e.get("id") for tag in DRAWN for e in root.iter(f"{BPMN}{tag}")}
    shapes = {s.get("bpmnElement") for s in root.iter(f"{BPMNDI}BPMNShape")}
    edges = {e.get("bpmnElement") for e in root.iter(f"{BPMNDI}BPMNEdge")}
    assert elements and elements == shapes | edges and not shapes & edges
    for edge in root.iter(f"{BPMNDI}BPMNEdge"):
        assert len(edge.findall("{http://www.omg.org/spec/DD/20100524/DI}waypoint")) >= 2
    definition = services.deploy(xml=xml)
    assert definition.task_rules


def _diagram_data(page):
    return json.loads(page.split('id="instance-diagram-data" type="application/json">')[1].split("</script>")[0])


def test_a_leave_request_shows_its_drawing_with_the_steps_marked():
    applicant, lead, head = (make_member(name, language="en") for name in ("applicant", "lead", "head"))
    department = Department.objects.create(name="業務部", code="SALES", head=head)
    applicant.department, applicant.manager = department, lead
    applicant.save()
    instance = services.start(
        definition_key="leave_request", initiator=applicant, data={"leave_type": "annual", "days": 5, "reason": "旅遊"}
    )
    client = Client()
    client.force_login(applicant)
    page = client.get(instance.get_page_url()).content.decode()
    assert 'data-testid="instance-diagram"' in page
    data = _diagram_data(page)
    assert "submitted" in data["done"] and "to_manager" in data["done"]
    assert not {"manager_rejected", "short_leave", "needs_head"} & set(data["done"])
    assert data["active"] == ["manager_approval"]
    assert {"head_approval", "approved"} <= set(data["pending"]) and "BPMNDiagram" in data["xml"]

    services.complete(task=WorkTask.objects.get(instance=instance, status=TaskStatus.OPEN), user=lead, outcome="approve")
    data = _diagram_data(client.get(instance.get_page_url()).content.decode())
    assert data["active"] == ["head_approval"]
    assert {"submitted", "manager_approval", "manager_decision"} <= set(data["done"])

    services.complete(task=WorkTask.objects.get(instance=instance, status=TaskStatus.OPEN), user=head, outcome="approve")
    data = _diagram_data(client.get(instance.get_page_url()).content.decode())
    assert data["active"] == [] and data["pending"] == []
    assert {"head_approval", "head_decision", "approved"} <= set(data["done"]) and "rejected" not in data["done"]
    # the flows it went along are marked, the others are not
    assert {"to_manager", "to_manager_decision", "needs_head", "to_head_decision", "head_approved"} <= set(data["done"])
    assert not {"manager_rejected", "short_leave", "head_rejected"} & set(data["done"])


def test_a_rejected_leave_request_marks_the_rejection_path():
    applicant, lead = make_member("applicant", language="en"), make_member("lead", language="en")
    applicant.manager = lead
    applicant.save()
    instance = services.start(definition_key="leave_request", initiator=applicant, data={"leave_type": "annual", "days": 1, "reason": "x"})
    services.complete(task=WorkTask.objects.get(instance=instance, status=TaskStatus.OPEN), user=lead, outcome="reject")
    instance.refresh_from_db()
    done = set(services.diagram_state(instance)["done"])
    assert {"manager_decision", "manager_rejected", "rejected"} <= done
    assert not {"short_leave", "needs_head", "approved", "head_rejected"} & done


def test_both_branches_of_a_parallel_split_are_marked_as_they_go():
    services.deploy(xml=bpmn("parallel.bpmn"))
    legal, finance = make_member("legal", language="en"), make_member("finance", language="en")
    applicant = make_member("applicant", language="en")
    instance = services.start(definition_key="two_signatures", initiator=applicant)
    state = services.diagram_state(instance)
    assert {"f1", "f2", "f3"} <= set(state["done"]) and set(state["active"]) == {"legal", "finance"}
    services.complete(task=WorkTask.objects.get(instance=instance, bpmn_id="legal", status=TaskStatus.OPEN), user=legal, outcome="approve")
    instance.refresh_from_db()
    state = services.diagram_state(instance)
    assert "f4" in state["done"] and not {"f5", "f6"} & set(state["done"])
    services.complete(task=WorkTask.objects.get(instance=instance, bpmn_id="finance", status=TaskStatus.OPEN), user=finance, outcome="approve")
    instance.refresh_from_db()
    assert {"f1", "f2", "f3", "f4", "f5", "f6", "join", "end"} <= set(services.diagram_state(instance)["done"])
