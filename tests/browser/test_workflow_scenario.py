"""The issue's "Done when" in Chromium: an administrator deploys, through the definition form, a
sub-process and a process with a parallel branch, a quorum countersign, a relative assignee
(the initiator's manager) and a call to the sub-process; the applicant urges; members complete
it from their inboxes, with a delegation and a return on the way; the instance's drawing then
marks every step and every sequence flow it went along as done."""

import pytest

from qinglan.core.testing import PASSWORD, make_member

from .conftest import log_in

pytestmark = pytest.mark.browser


def bpmn(name):
    from qinglan.workflow.tests.factories import bpmn as read

    return read(name)


def open_inbox_task(page):
    """From the inbox, open the one task waiting there (its instance page)."""
    page.goto("/workflow/tasks/")
    rows = page.locator("tr[data-task]")
    assert rows.count() == 1, rows.all_inner_texts()
    with page.expect_navigation():
        rows.first.locator("a").first.click()
    page.wait_for_selector('[data-testid="task-form"]')


def approve(page, comment=""):
    form = page.locator('[data-testid="task-form"]').first
    if comment:
        form.locator('textarea[name="comment"]').fill(comment)
    with page.expect_navigation():
        form.locator('button[value="approve"]').click()


def test_done_when_a_process_with_every_kind_of_step_is_completed_from_the_inboxes(open_page, admin):
    from qinglan.org.models import Role
    from qinglan.workflow import services
    from qinglan.workflow.choices import InstanceStatus, TaskStatus
    from qinglan.workflow.models import ProcessDefinition, ProcessInstance, WorkTask

    boss = make_member("boss", display_name="Boss")
    applicant = make_member("applicant", manager=boss, display_name="Applicant")
    counsels = [make_member(f"counsel{n}") for n in (1, 2, 3)]
    Role.objects.create(name="法務").members.add(*counsels)
    make_member("legal")
    make_member("deputy")

    # the administrator deploys the sub-process, then the process calling it
    page = log_in(open_page(), admin.username, PASSWORD)
    for name in ("sub_review.bpmn", "contract_drawn.bpmn"):
        page.goto("/workflow/processdefinition/add/")
        page.locator('textarea[name="xml"]').fill(bpmn(name))
        with page.expect_navigation():
            page.get_by_role("button", name="Save", exact=True).click()
        assert "/add/" not in page.url, page.locator(".invalid-feedback, .alert-danger").all_inner_texts()
    definition = ProcessDefinition.objects.get(key="contract_approval")
    assert definition.task_rules["counsel"]["countersign"]["mode"] == "quorum"

    instance = services.start(definition_key="contract_approval", initiator=applicant, title="供貨合約", data={"amount": 800000})
    instance_url = f"/workflow/instance/{instance.pk}/"

    # the applicant urges the open steps (both branches at once)
    applicant_page = log_in(open_page(), "applicant", PASSWORD)
    applicant_page.goto(instance_url)
    with applicant_page.expect_navigation():
        applicant_page.locator('[data-testid="urge"]').click()
    assert set(WorkTask.objects.filter(instance=instance, status=TaskStatus.OPEN).values_list("bpmn_id", flat=True)) == {"counsel", "manager"}

    # two of the three counsels sign from their inboxes; the quorum is reached
    for counsel in ("counsel1", "counsel2"):
        counsel_page = log_in(open_page(), counsel, PASSWORD)
        open_inbox_task(counsel_page)
        assert "2" in counsel_page.locator('[data-testid="countersign-summary"]').inner_text()
        approve(counsel_page, "可")
    third = log_in(open_page(), "counsel3", PASSWORD)
    third.goto("/workflow/tasks/")
    assert third.locator("tr[data-task]").count() == 0

    # the manager (relative assignee) approves; the sub-process's step goes to legal
    boss_page = log_in(open_page(), "boss", PASSWORD)
    open_inbox_task(boss_page)
    approve(boss_page)

    # legal delegates to the deputy, who returns it to the step before
    legal_page = log_in(open_page(), "legal", PASSWORD)
    open_inbox_task(legal_page)
    legal_page.locator('[data-testid="task-form"] summary').first.click()
    form = legal_page.locator('[data-testid="delegate-form"]').first
    form.locator('input[name="member"]').fill("deputy")
    form.locator('input[name="comment"]').fill("請代理")
    with legal_page.expect_navigation():
        form.locator('button[type="submit"]').click()
    deputy_page = log_in(open_page(), "deputy", PASSWORD)
    open_inbox_task(deputy_page)
    deputy_page.locator('[data-testid="task-form"] summary').first.click()
    form = deputy_page.locator('[data-testid="return-form"]').first
    form.locator('select[name="to"]').select_option("previous")
    form.locator('input[name="comment"]').fill("金額要主管再確認")
    with deputy_page.expect_navigation():
        form.locator('button[type="submit"]').click()

    # the manager approves again, and legal finishes it
    open_inbox_task(boss_page)
    approve(boss_page, "確認")
    open_inbox_task(legal_page)
    approve(legal_page)
    instance = ProcessInstance.objects.get(pk=instance.pk)
    assert instance.status == InstanceStatus.APPROVED

    # the applicant's view: the trail, and the drawing with every step and flow done
    applicant_page.goto(instance_url)
    applicant_page.wait_for_selector('[data-testid="instance-diagram"][data-ready="true"]')
    trail = applicant_page.content()
    for word in ("delegated", "returned", "urged", "countersign decided", "approved"):
        assert word in trail.lower(), word
    done = set(applicant_page.eval_on_selector_all(".djs-element.ql-done", "nodes => nodes.map(n => n.dataset.elementId)"))
    assert {"start", "split", "counsel", "manager", "join", "review", "end"} <= done
    assert {"f1", "f2", "f3", "f4", "f5", "f6", "f7"} <= done
    assert applicant_page.locator(".djs-element.ql-active").count() == 0
    assert not applicant_page.watch.page_errors and not applicant_page.watch.console_errors
