"""The issue's "Done when" in Chromium, in Chinese: an administrator imports in the designer a
sub-process and a process with a parallel branch, a quorum countersign, a relative assignee
(the initiator's manager) and a call to the sub-process, reads the imported properties in the
side panel, changes a deadline and a gateway's condition there and deploys both; the applicant starts it from the start page (an empty form refused
in Chinese) and urges; members complete it from their inboxes (the menu counts their tasks),
with a delegation and a return on the way, the sub-process's step showing only its own form;
a watcher finds it under "copied to me"; the instance's drawing then marks every step and every
sequence flow it went along as done, and the trail says who did what in Chinese."""

import pytest

from qinglan.core.testing import PASSWORD, make_member

from .conftest import log_in

pytestmark = pytest.mark.browser

BPMN_DIR = __import__("pathlib").Path(__file__).resolve().parents[2] / "qinglan" / "workflow" / "tests" / "bpmn"


def chinese(open_page, username, locale="zh-TW"):
    return log_in(open_page(locale=locale), username, PASSWORD)


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
    button = form.locator('button[value="approve"]')
    assert "核准" in button.inner_text()
    with page.expect_navigation():
        button.click()


def import_and_deploy(page, filename, element):
    """Import a BPMN file in the designer, check it is drawn, deploy it."""
    page.goto("/workflow/designer/")
    page.wait_for_selector('.djs-element[data-element-id="start"]')
    with page.expect_response(lambda response: "/designer/check/" in response.url):
        page.set_input_files('[data-testid="designer-file"]', str(BPMN_DIR / filename))
    page.wait_for_selector(f'.djs-element[data-element-id="{element}"]')
    return page


def select(page, element, *, connection=False):
    page.locator("#designer-canvas").click(position={"x": 5, "y": 5})  # nothing selected first
    if connection:
        # a thin line under labels: the click goes to its hit area, as a member's click on the line does
        page.locator(f'.djs-element[data-element-id="{element}"] .djs-hit').dispatch_event("click")
    else:
        page.locator(f'.djs-element[data-element-id="{element}"]').click()


def deploy(page):
    with page.expect_response(lambda response: "/designer/deploy/" in response.url):
        page.locator('[data-testid="designer-deploy"]').click()
    page.wait_for_selector('[data-testid="designer-status"][data-deployed]')


def test_done_when_a_process_with_every_kind_of_step_is_completed_from_the_inboxes(open_page, admin):
    from qinglan.org.models import Role
    from qinglan.workflow.choices import InstanceStatus, TaskStatus
    from qinglan.workflow.models import ProcessDefinition, ProcessInstance, WorkTask

    boss = make_member("boss", display_name="王經理", language="zh-hant")
    make_member("applicant", manager=boss, display_name="申請人", language="zh-hant")
    counsels = [make_member(f"counsel{n}", display_name=f"法務{n}", language="zh-hant") for n in (1, 2, 3)]
    Role.objects.create(name="法務").members.add(*counsels)
    make_member("legal", display_name="法務主管", language="zh-hant")
    make_member("deputy", display_name="代理人", language="zh-hans")
    make_member("watcher", display_name="關注者", language="zh-hant")
    admin.language = "zh-hant"
    admin.save(update_fields=["language"])

    # the administrator imports the sub-process, then the process calling it, in the designer
    page = chinese(open_page, admin.username)
    import_and_deploy(page, "sub_review_drawn.bpmn", "legal_check")
    deploy(page)
    import_and_deploy(page, "contract_drawn.bpmn", "counsel")
    # the side panel shows the imported countersign, quorum and relative assignee; the
    # administrator gives the manager two days and lowers the amount legal reviews from
    select(page, "counsel")
    assert page.locator('[data-testid="designer-countersign"]').input_value() == "quorum"
    assert page.locator('[data-testid="designer-quorum"]').input_value() == "2"
    select(page, "manager")
    assert page.locator('[data-testid="designer-assignee"]').input_value() == "manager"
    page.locator("#p-due").fill("P2D")
    page.locator("#p-due").press("Tab")
    select(page, "f8", connection=True)
    condition = page.locator('[data-testid="designer-condition"]')
    assert condition.input_value() == "amount > 1000000"
    condition.fill("amount > 500000")
    condition.press("Tab")
    deploy(page)
    definition = ProcessDefinition.objects.get(key="contract_approval")
    assert definition.task_rules["counsel"]["countersign"] == {"mode": "quorum", "quorum": "2", "sequential": False}
    assert definition.task_rules["manager"]["due"] == "P2D" and "500000" in definition.xml and "1000000" not in definition.xml
    assert definition.deployed_by == admin and "bpmndi:BPMNShape" in definition.xml
    assert ProcessDefinition.objects.get(key="sub_review").form_fields[0]["name"] == "opinion"

    # the applicant starts it from the start page: an empty form is refused in Chinese
    applicant_page = chinese(open_page, "applicant")
    applicant_page.goto("/workflow/start/")
    with applicant_page.expect_navigation():
        applicant_page.locator('[data-process="contract_approval"]').click()
    with applicant_page.expect_navigation():
        applicant_page.locator('[data-testid="start-submit"]').click()
    assert "此欄位為必填" in applicant_page.content() and not ProcessInstance.objects.exists()
    applicant_page.locator('[data-field="summary"] input').fill("供貨合約")
    applicant_page.locator('[data-field="amount"] input').fill("800000")
    with applicant_page.expect_navigation():
        applicant_page.locator('[data-testid="start-submit"]').click()
    instance = ProcessInstance.objects.get()
    assert applicant_page.url.endswith(instance.get_page_url()) and instance.data == {"summary": "供貨合約", "amount": 800000}

    # the applicant urges the open steps (both branches at once)
    urge = applicant_page.locator('[data-testid="urge"]')
    assert "催辦" in urge.inner_text()
    with applicant_page.expect_navigation():
        urge.click()
    assert set(WorkTask.objects.filter(instance=instance, status=TaskStatus.OPEN).values_list("bpmn_id", flat=True)) == {"counsel", "manager"}

    # two of the three counsels sign from their inboxes (the menu counts the task); the quorum is reached
    for counsel in ("counsel1", "counsel2"):
        counsel_page = chinese(open_page, counsel)
        assert counsel_page.locator('[data-menu="workflow.inbox"] [data-menu-badge]').inner_text() == "1"
        open_inbox_task(counsel_page)
        assert "2" in counsel_page.locator('[data-testid="countersign-summary"]').inner_text()
        approve(counsel_page, "可")
    third = chinese(open_page, "counsel3")
    third.goto("/workflow/tasks/")
    assert third.locator("tr[data-task]").count() == 0
    assert third.locator('[data-menu="workflow.inbox"] [data-menu-badge]').count() == 0

    # the watcher was copied when the manager's step opened
    watcher_page = chinese(open_page, "watcher")
    watcher_page.goto("/workflow/tasks/?tab=copied")
    assert "抄送給我" in watcher_page.content() and instance.title in watcher_page.content()

    # the manager (relative assignee) approves; the sub-process's step goes to legal
    boss_page = chinese(open_page, "boss")
    open_inbox_task(boss_page)
    approve(boss_page)

    # legal delegates to the deputy (in Simplified Chinese), who returns it to the step before
    legal_page = chinese(open_page, "legal")
    open_inbox_task(legal_page)
    assert legal_page.locator('textarea[name="field-opinion"]').count() == 1  # the sub-process's own form
    assert legal_page.locator('[data-field="summary"]').count() == 0  # not the caller's
    legal_page.locator('[data-testid="task-form"] summary').first.click()
    form = legal_page.locator('[data-testid="delegate-form"]').first
    assert "委派" in form.inner_text()
    form.locator('input[name="member"]').fill("deputy")
    form.locator('input[name="comment"]').fill("請代理")
    with legal_page.expect_navigation():
        form.locator('button[type="submit"]').click()
    deputy_page = chinese(open_page, "deputy", locale="zh-CN")
    open_inbox_task(deputy_page)
    deputy_page.locator('[data-testid="task-form"] summary').first.click()
    form = deputy_page.locator('[data-testid="return-form"]').first
    assert "退回" in form.inner_text()
    form.locator('select[name="to"]').select_option("previous")
    form.locator('input[name="comment"]').fill("金额要主管再确认")
    with deputy_page.expect_navigation():
        form.locator('button[type="submit"]').click()

    # the manager approves again, and legal finishes it with its opinion
    open_inbox_task(boss_page)
    approve(boss_page, "確認")
    open_inbox_task(legal_page)
    legal_page.locator('textarea[name="field-opinion"]').fill("條款無誤")
    approve(legal_page)
    instance = ProcessInstance.objects.get(pk=instance.pk)
    assert instance.status == InstanceStatus.APPROVED and instance.data["opinion"] == "條款無誤"

    # the applicant's view: the trail in Chinese, both forms, and the drawing with every step and flow done
    applicant_page.goto(instance.get_page_url())
    applicant_page.wait_for_selector('[data-testid="instance-diagram"][data-ready="true"]')
    trail = applicant_page.locator('[data-event]').all_inner_texts()
    for word in ("已委派", "已退回", "已催辦", "會簽已決", "核准", "抄送"):
        assert any(word in entry for entry in trail), word
    assert "條款無誤" in applicant_page.locator('[data-testid="called-form"][data-process="sub_review"]').inner_text()
    done = set(applicant_page.eval_on_selector_all(".djs-element.ql-done", "nodes => nodes.map(n => n.dataset.elementId)"))
    assert {"start", "split", "counsel", "manager", "join", "by_amount", "review", "end"} <= done
    assert {"f1", "f2", "f3", "f4", "f5", "f6", "f8", "f7"} <= done and "f9" not in done  # the changed condition held
    assert applicant_page.locator(".djs-element.ql-active").count() == 0
    # the manager had no step in the sub-process: its form is not theirs
    boss_page.goto(instance.get_page_url())
    assert "條款無誤" not in boss_page.content() and "800,000" in boss_page.content()
    for seen in (page, applicant_page, boss_page, legal_page, deputy_page):
        errors = [error for error in seen.watch.console_errors if "status of 400" not in error]  # the refused empty form
        assert not seen.watch.page_errors and not errors, (seen.watch.page_errors, errors)
