"""Steps inside a called process (call activity) follow that process's own form — its declared
fields and its per-step visibility — never the caller's, through the pages members use; the data
still goes to the called process and back by name, as the engine hands it over. Real BPMN files:
form_with_sub.bpmn calls sub_quality.bpmn, both with a step "review" of different fields."""

import pytest
from django.urls import reverse

from qinglan.core.testing import client_for, make_member
from qinglan.workflow import services
from qinglan.workflow.choices import InstanceStatus, TaskStatus
from qinglan.workflow.models import ProcessInstance, TaskEvent, WorkTask

from .factories import bpmn

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    return {
        name: make_member(name, language=language)
        for name, language in (
            ("applicant", "en"), ("boss", "en"), ("inspector", "en"), ("qa_lead", "en"), ("director", "en"), ("watcher", "zh-hant"),
        )
    }


@pytest.fixture
def definitions(people):
    sub = services.deploy(xml=bpmn("sub_quality.bpmn"))
    parent = services.deploy(xml=bpmn("form_with_sub.bpmn"))
    return {"sub": sub, "parent": parent}


def open_task(instance):
    return WorkTask.objects.get(instance=instance, status=TaskStatus.OPEN)


def complete_url(task):
    return reverse("workflow:task_complete", args=[task.pk])


def start(people, definitions):
    response = client_for(people["applicant"]).post(
        reverse("workflow:start_process", args=["equipment_checked"]), {"item": "示波器", "amount": "12000", "note": "申請人的備註"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return ProcessInstance.objects.get(definition=definitions["parent"])


def through_the_managers_review(people, definitions):
    instance = start(people, definitions)
    review = open_task(instance)
    assert (review.bpmn_id, review.process_key, review.assignee) == ("review", "", people["boss"])
    page = client_for(people["boss"]).get(instance.get_page_url()).content.decode()
    assert 'name="field-note"' in page and 'name="field-inspection"' not in page and 'name="field-verdict"' not in page
    response = client_for(people["boss"]).post(complete_url(review), {"outcome": "approve", "field-note": "主管改過的備註"})
    assert response.status_code == 302
    instance.refresh_from_db()
    return instance


def test_a_step_of_the_called_process_shows_and_edits_only_its_own_form(people, definitions):
    instance = through_the_managers_review(people, definitions)
    inspection = open_task(instance)
    # the called process's step "review", not the caller's step of the same ID
    assert (inspection.bpmn_id, inspection.process_key, inspection.assignee) == ("review", "sub_quality", people["inspector"])
    inspector = client_for(people["inspector"])
    page = inspector.get(instance.get_page_url()).content.decode()
    assert 'name="field-inspection"' in page and 'name="field-verdict"' in page
    assert 'name="field-note"' not in page  # editable at the caller's "review", not here
    # the caller's form is not theirs: neither its item nor its note is shown
    assert "示波器" not in page and "主管改過的備註" not in page and 'data-field="item"' not in page
    # the called process's form: its amount came from the caller by name; its lab note is hidden at this step
    assert 'data-testid="called-form" data-process="sub_quality"' in page and "Quality check" in page
    assert "Checked amount" in page and "12,000" in page and 'data-field="lab_note"' not in page

    # a field of the caller's form posted here is refused by name, and nothing is done
    response = inspector.post(complete_url(inspection), {"outcome": "approve", "field-note": "偷改", "field-verdict": "pass"}, follow=True)
    assert "These fields cannot be changed at this step: note." in response.content.decode()
    # a value the called process's form does not allow: refused with its own label
    response = inspector.post(complete_url(inspection), {"outcome": "approve", "field-verdict": "maybe"}, follow=True)
    assert "Verdict: Select a valid choice." in response.content.decode()
    instance.refresh_from_db()
    inspection.refresh_from_db()
    assert inspection.status == TaskStatus.OPEN and instance.data["note"] == "主管改過的備註" and "verdict" not in instance.data
    assert not TaskEvent.objects.filter(instance=instance, kind="changed", task=inspection).exists()

    response = inspector.post(
        complete_url(inspection), {"outcome": "approve", "field-inspection": "外觀完好", "field-verdict": "pass", "comment": "合格"}
    )
    assert response.status_code == 302
    instance.refresh_from_db()
    assert (instance.data["inspection"], instance.data["verdict"]) == ("外觀完好", "pass")
    change = TaskEvent.objects.get(instance=instance, kind="changed", task=inspection)
    assert change.comment == "Inspection: — → 外觀完好\nVerdict: — → Passed"

    # the QA lead's step of the called process: the verdict shown, the inspection hidden
    qa = open_task(instance)
    assert (qa.bpmn_id, qa.process_key) == ("qa", "sub_quality")
    page = client_for(people["qa_lead"]).get(instance.get_page_url()).content.decode()
    assert "Passed" in page and "外觀完好" not in page and 'name="field-' not in page and "示波器" not in page
    client_for(people["qa_lead"]).post(complete_url(qa), {"outcome": "approve"})

    # back in the caller: its gateway read the verdict handed back; the director sees the
    # caller's form (the note hidden at their step) and not the called process's
    instance.refresh_from_db()
    final = open_task(instance)
    assert (final.bpmn_id, final.process_key, final.assignee) == ("final", "", people["director"])
    page = client_for(people["director"]).get(instance.get_page_url()).content.decode()
    assert "示波器" in page and "12,000" in page and "主管改過的備註" not in page
    assert 'data-testid="called-form"' not in page and "外觀完好" not in page
    client_for(people["director"]).post(complete_url(final), {"outcome": "approve"})
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.APPROVED

    # the initiator sees both forms whole
    page = client_for(people["applicant"]).get(instance.get_page_url()).content.decode()
    assert "示波器" in page and "主管改過的備註" in page and 'data-process="sub_quality"' in page and "外觀完好" in page
    assert 'data-field="lab_note"' in page


def test_the_verdict_of_the_called_process_decides_the_callers_gateway(people, definitions):
    instance = through_the_managers_review(people, definitions)
    client_for(people["inspector"]).post(complete_url(open_task(instance)), {"outcome": "approve", "field-verdict": "fail"})
    client_for(people["qa_lead"]).post(complete_url(open_task(instance)), {"outcome": "approve"})
    instance.refresh_from_db()
    assert instance.status != InstanceStatus.RUNNING and not WorkTask.objects.filter(instance=instance, bpmn_id="final").exists()


def test_a_copy_reader_sees_each_form_as_its_steps_allow(people, definitions):
    """A member with no step (here: a viewer through a copy) sees the fields no step of their
    process hides, in each form; the lab note is hidden at every step of the called process."""
    from qinglan.workflow.models import CopyRecipient

    instance = through_the_managers_review(people, definitions)
    client_for(people["inspector"]).post(
        complete_url(open_task(instance)), {"outcome": "approve", "field-inspection": "外觀完好", "field-verdict": "pass"}
    )
    instance.refresh_from_db()
    instance.data = {**instance.data, "lab_note": "實驗室內部"}
    instance.save(update_fields=["data"])
    CopyRecipient.objects.create(instance=instance, member=people["watcher"])
    page = client_for(people["watcher"]).get(instance.get_page_url()).content.decode()
    assert "示波器" in page and "12,000" in page  # no step of the caller hides them
    assert "主管改過的備註" not in page  # the director's step hides the note, in the data and in the trail
    assert "子流程「Quality check」" in page  # the called form's heading, in their language
    assert "Passed" in page and "外觀完好" not in page and "實驗室內部" not in page  # the QA step hides the inspection
