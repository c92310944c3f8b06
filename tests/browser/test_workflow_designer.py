"""An administrator draws a process in the designer (bpmn-js in Chromium): appends a step to the
start event, makes it a user task, gives it an assignee rule in Qinglan's side panel, ends the
process, names it and deploys it; a wrong rule is refused with the reason and nothing deployed;
the deployed version starts instances whose step goes to the rule's member."""

import pytest

from qinglan.core.testing import make_department, make_member

from .conftest import log_in

pytestmark = pytest.mark.browser


def blank(page):
    """A click on empty canvas: nothing selected, the process's own properties in the panel."""
    page.locator("#designer-canvas").click(position={"x": 40, "y": 400})


def select(page, shape):
    blank(page)
    shape.click()


def test_draw_a_process_and_deploy_it(open_page, admin):
    from qinglan.core.testing import PASSWORD
    from qinglan.workflow import services
    from qinglan.workflow.choices import TaskStatus
    from qinglan.workflow.models import ProcessDefinition, WorkTask

    page = log_in(open_page(), admin.username, PASSWORD)
    page.goto("/workflow/designer/")
    page.wait_for_selector('.djs-element[data-element-id="start"]')
    page.locator('.djs-element[data-element-id="start"]').click()
    page.locator('.djs-context-pad .entry[data-action="append.append-task"]').click()
    page.keyboard.type("Manager approval")
    blank(page)  # ends the label editing
    task = page.locator(".djs-element.djs-shape", has_text="Manager approval")
    select(page, task)
    page.locator('.djs-context-pad .entry[data-action="replace"]').click()
    page.locator('.djs-popup [data-id="replace-with-user-task"]').click()  # and it stays selected
    assert "UserTask" in page.locator('[data-testid="designer-selected"]').inner_text()
    page.locator('[data-testid="designer-assignee"]').fill("boss")
    page.locator('[data-testid="designer-assignee"]').press("Tab")
    page.locator('[data-testid="designer-countersign"]').select_option("quorum")
    assert page.locator('[data-testid="designer-quorum"]').is_visible()
    page.locator('[data-testid="designer-countersign"]').select_option("")
    assert not page.locator('[data-testid="designer-quorum"]').is_visible()
    select(page, task)
    page.locator('.djs-context-pad .entry[data-action="append.end-event"]').click()
    blank(page)
    assert "Process" in page.locator('[data-testid="designer-selected"]').inner_text()
    page.fill("#p-process-id", "designed_leave")
    page.locator("#p-process-id").press("Tab")
    page.fill("#deploy-name", "畫出來的請假")

    # a rule the engine does not know: refused with the reason, nothing deployed
    with page.expect_response(lambda response: "/designer/deploy/" in response.url):
        page.locator('[data-testid="designer-deploy"]').click()
    status = page.locator('[data-testid="designer-status"]')
    assert "unknown assignee rule “boss”" in status.inner_text()
    assert not ProcessDefinition.objects.filter(key="designed_leave").exists()

    select(page, task)
    page.locator('[data-testid="designer-assignee"]').fill("manager")
    page.locator('[data-testid="designer-assignee"]').press("Tab")
    with page.expect_response(lambda response: "/designer/deploy/" in response.url):
        page.locator('[data-testid="designer-deploy"]').click()
    page.wait_for_selector('[data-testid="designer-status"][data-deployed]')
    definition = ProcessDefinition.objects.get(key="designed_leave")
    assert (definition.version, definition.name, definition.deployed_by) == (1, "畫出來的請假", admin)
    [(step, rule)] = definition.task_rules.items()
    assert rule == {"name": "Manager approval", "assignee": "manager"}
    assert 'qinglan:assignee="manager"' in definition.xml and "bpmndi:BPMNShape" in definition.xml

    # the drawing runs: the step goes to the initiator's manager
    boss = make_member("boss")
    applicant = make_member("applicant", department=make_department("業務部"), manager=boss)
    instance = services.start(definition_key="designed_leave", initiator=applicant)
    assert WorkTask.objects.get(instance=instance, status=TaskStatus.OPEN).assignee == boss
    # the refused deployment answered 400, which Chromium logs; nothing else went wrong
    assert [error for error in page.watch.console_errors if "status of 400" not in error] == []
    assert page.watch.page_errors == []
