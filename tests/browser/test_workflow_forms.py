"""A process with a form designed in the designer, started from the "Start a process" page and
approved with an editable field, in Chromium: the administrator imports a drawing, adds two
form fields in the side panel (process level), makes one editable at the step (step level)
and deploys; the applicant is refused an empty form (nothing started) and then starts it; the
approver corrects the editable amount on approve; the change is in the data and the trail."""

import pytest

from qinglan.core.testing import PASSWORD, make_member

from .conftest import log_in

pytestmark = pytest.mark.browser

DRAWING = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:qinglan="urn:qinglan:bpmn" id="defs" targetNamespace="urn:qinglan:tests">
  <bpmn:process id="training_request" name="Training request" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="approval" />
    <bpmn:userTask id="approval" name="Boss approval" qinglan:assignee="member:boss"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="approval" targetRef="end" />
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="diagram">
    <bpmndi:BPMNPlane id="plane" bpmnElement="training_request">
      <bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="152" y="102" width="36" height="36" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="approval_di" bpmnElement="approval"><dc:Bounds x="240" y="80" width="100" height="80" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="end_di" bpmnElement="end"><dc:Bounds x="392" y="102" width="36" height="36" /></bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="f1_di" bpmnElement="f1"><di:waypoint x="188" y="120" /><di:waypoint x="240" y="120" /></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="f2_di" bpmnElement="f2"><di:waypoint x="340" y="120" /><di:waypoint x="392" y="120" /></bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""


def fill_field_card(card, *, name, label, kind, required):
    """Fill one field of the side panel's form editor; every change is written into the drawing
    (and the panel drawn again), so each input is found afresh."""
    for key, value in (("name", name), ("label", label)):
        box = card.locator(f'[data-ff="{key}"]')
        box.fill(value)
        box.press("Tab")
    card.locator('[data-ff="type"]').select_option(kind)
    if required:
        card.locator('[data-ff="required"]').check()


def test_a_designed_form_is_started_from_the_page_and_approved_with_an_editable_field(open_page, admin, tmp_path):
    from qinglan.workflow.choices import InstanceStatus
    from qinglan.workflow.models import ProcessDefinition, ProcessInstance, TaskEvent

    boss = make_member("boss", display_name="Boss", language="en")
    applicant = make_member("applicant", display_name="Applicant", language="zh-hant")

    # the administrator imports the drawing and designs the form in the side panel
    page = log_in(open_page(), admin.username, PASSWORD)
    page.goto("/workflow/designer/")
    page.wait_for_selector('.djs-element[data-element-id="start"]')
    drawing = tmp_path / "training.bpmn"
    drawing.write_text(DRAWING, encoding="utf-8")
    with page.expect_response(lambda response: "/designer/check/" in response.url):
        page.locator('[data-testid="designer-file"]').set_input_files(str(drawing))
    page.wait_for_selector('.djs-element[data-element-id="approval"]')
    page.locator("#designer-canvas").click(position={"x": 40, "y": 400})  # nothing selected: the process
    assert "Process" in page.locator('[data-testid="designer-selected"]').inner_text()
    fields = page.locator('[data-testid="designer-field"]')
    page.locator('[data-testid="designer-add-field"]').click()
    fill_field_card(fields.nth(0), name="amount", label="費用", kind="decimal", required=True)
    page.locator('[data-testid="designer-add-field"]').click()
    fill_field_card(fields.nth(1), name="course", label="課程", kind="text", required=True)
    assert fields.count() == 2
    fields.nth(1).locator("[data-ff-move='-1']").click()  # the course first
    assert fields.nth(0).locator('[data-ff="name"]').input_value() == "course"

    page.locator('.djs-element[data-element-id="approval"]').click()
    page.locator('[data-testid="designer-step-fields"] select[data-step-field="amount"]').select_option("editable")
    page.fill("#deploy-name", "教育訓練申請")
    with page.expect_response(lambda response: "/designer/deploy/" in response.url):
        page.locator('[data-testid="designer-deploy"]').click()
    page.wait_for_selector('[data-testid="designer-status"][data-deployed]')
    definition = ProcessDefinition.objects.get(key="training_request")
    assert [(f["name"], f["label"], f["type"], f["required"]) for f in definition.form_fields] == [
        ("course", "課程", "text", True), ("amount", "費用", "decimal", True),
    ]
    assert definition.task_rules["approval"]["fields"] == {"amount": "editable"}

    # the applicant (Chinese) starts it from the page; an empty form is refused, nothing started
    page = log_in(open_page(locale="zh-TW"), applicant.username, PASSWORD)
    page.goto("/workflow/start/")
    with page.expect_navigation():
        page.locator('[data-process="training_request"]').click()
    with page.expect_navigation():
        page.locator('[data-testid="start-submit"]').click()
    assert "此欄位為必填" in page.locator('[data-field="amount"] .invalid-feedback').inner_text()
    assert not ProcessInstance.objects.exists()
    page.fill("#id_course", "資安基礎")
    page.fill("#id_amount", "12000")
    with page.expect_navigation():
        page.locator('[data-testid="start-submit"]').click()
    instance = ProcessInstance.objects.get()
    assert instance.data == {"course": "資安基礎", "amount": 12000}
    assert "12,000" in page.locator('dd[data-field="amount"]').inner_text()

    # the approver corrects the amount on approve
    page = log_in(open_page(), boss.username, PASSWORD)
    page.goto("/workflow/tasks/")
    with page.expect_navigation():
        page.locator("tr[data-task] a").first.click()
    amount = page.locator('[data-testid="step-fields"] input[name="field-amount"]')
    assert amount.input_value() == "12000"
    assert page.locator('[data-testid="step-fields"] input[name="field-course"]').count() == 0  # read-only here
    amount.fill("9800")
    with page.expect_navigation():
        page.locator('[data-testid="task-form"] button[value="approve"]').click()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.APPROVED and instance.data == {"course": "資安基礎", "amount": 9800}
    assert TaskEvent.objects.get(instance=instance, kind="changed").comment == "費用: 12,000 → 9,800"
    for watched in (page,):
        assert watched.watch.page_errors == []
