"""The instance page draws its process with the completed, active and pending steps marked."""

import json

import pytest
from django.test import Client

from qinglan.core.testing import make_member
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
    services.ensure_fixed_processes()
    applicant = make_member("applicant", language="en")
    instance = services.start(definition_key="leave_request", initiator=applicant, data={"leave_type": "annual", "days": 1, "reason": "x"})
    client = Client()
    client.force_login(applicant)
    assert 'data-testid="instance-diagram"' not in client.get(instance.get_page_url()).content.decode()
