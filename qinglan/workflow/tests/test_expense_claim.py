"""The expense claim (費用報銷), a fixed process shipped with the workflow module: listed on the
"Start a process" page from a fresh install, its form (kind, amount, date, description,
receipt) in the member's language and validated on the server; the manager approves and may
correct the amount, above 10,000 the department head approves too, finance (the department FIN)
last; a rejection ends it. Through the pages, with the shipped BPMN file."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from qinglan.core.testing import client_for, make_department, make_member
from qinglan.workflow.choices import InstanceStatus, ProcessKind, TaskStatus
from qinglan.workflow.models import ProcessDefinition, ProcessInstance, TaskEvent, WorkTask

pytestmark = pytest.mark.django_db

URL = reverse("workflow:start_process", args=["expense_reimbursement"])
CLAIM = {"category": "travel", "amount": "8600", "spent_on": "2026-11-20", "description": "台中客戶拜訪高鐵及住宿"}


@pytest.fixture
def company():
    sales = make_department("業務部", code="SALES")
    finance_department = make_department("財務部", code="FIN")
    head = make_member("head", department=sales, language="zh-hant")
    sales.head = head
    sales.save()
    lead = make_member("lead", department=sales, manager=head, language="en")
    clerk = make_member("clerk", department=sales, manager=lead, language="zh-hant")
    finance = make_member("finance", department=finance_department, language="zh-hans")
    return {"head": head, "lead": lead, "clerk": clerk, "finance": finance}


def open_task(instance):
    return WorkTask.objects.get(instance=instance, status=TaskStatus.OPEN)


def approve(member, task, **fields):
    return client_for(member).post(reverse("workflow:task_complete", args=[task.pk]), {"outcome": "approve", **fields})


def test_the_start_page_offers_the_expense_claim_in_the_members_language(company):
    assert not ProcessDefinition.objects.filter(key="expense_reimbursement").exists()  # a fresh install
    clerk = client_for(company["clerk"])
    page = clerk.get(reverse("workflow:start")).content.decode()
    definition = ProcessDefinition.objects.get(key="expense_reimbursement")
    assert definition.kind == ProcessKind.FIXED and 'data-process="expense_reimbursement"' in page and "費用報銷" in page
    assert 'data-process="leave_request"' not in page  # a fixed process without a form keeps its own page
    form = clerk.get(URL).content.decode()
    for label in ("費用類別", "差旅費", "餐費及交際費", "金額", "支出日期", "說明", "收據"):
        assert label in form, label
    english = client_for(company["lead"]).get(URL).content.decode()
    assert "Kind of expense" in english and "Meals and entertainment" in english
    # an empty or wrong form is refused in the member's language and starts nothing
    response = clerk.post(URL, {**CLAIM, "amount": "很多", "category": "cars", "description": ""})
    assert response.status_code == 400
    page = response.content.decode()
    assert "此欄位為必填" in page and "輸入一個數字" in page and "請選擇有效的選項" in page
    assert not ProcessInstance.objects.exists()


def test_a_small_claim_goes_to_the_manager_then_finance(company):
    receipt = SimpleUploadedFile("收據.pdf", b"%PDF-1.4 receipt", content_type="application/pdf")
    response = client_for(company["clerk"]).post(URL, {**CLAIM, "receipt": receipt})
    instance = ProcessInstance.objects.get()
    assert response.status_code == 302 and instance.data["amount"] == 8600 and instance.data["receipt"]["name"] == "收據.pdf"
    manager_step = open_task(instance)
    assert (manager_step.bpmn_id, manager_step.assignee) == ("manager_approval", company["lead"])
    page = client_for(company["lead"]).get(instance.get_page_url()).content.decode()
    assert "Manager approval" in page and "Travel" in page and 'name="field-amount"' in page and 'name="field-category"' not in page
    approve(company["lead"], manager_step, **{"field-amount": "8600"})
    finance_step = open_task(instance)
    assert (finance_step.bpmn_id, finance_step.candidate_department.code) == ("finance_review", "FIN")
    page = client_for(company["finance"]).get(instance.get_page_url()).content.decode()
    assert "财务审核" in page and "差旅费" in page and "收据.pdf" not in page and "收據.pdf" in page  # the file keeps its name
    download = client_for(company["finance"]).get(reverse("workflow:form_file", args=[instance.pk, "receipt"]))
    assert b"".join(download.streaming_content) == b"%PDF-1.4 receipt"
    approve(company["finance"], finance_step)
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.APPROVED


def test_a_large_claim_also_needs_the_department_head_and_a_rejection_ends_it(company):
    client_for(company["clerk"]).post(URL, {**CLAIM, "category": "meals", "amount": "9000"})
    instance = ProcessInstance.objects.get()
    # the manager corrects the amount above 10,000: the gateway reads the corrected amount
    approve(company["lead"], open_task(instance), **{"field-amount": "12500"})
    head_step = open_task(instance)
    assert (head_step.bpmn_id, head_step.assignee) == ("head_approval", company["head"])
    change = TaskEvent.objects.get(instance=instance, kind="changed")
    assert change.comment == "Amount: 9,000 → 12,500"  # in the language of the manager who changed it
    client_for(company["head"]).post(reverse("workflow:task_complete", args=[head_step.pk]), {"outcome": "reject", "comment": "超出標準"})
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.REJECTED and not WorkTask.objects.filter(instance=instance, bpmn_id="finance_review").exists()
    page = client_for(company["clerk"]).get(instance.get_page_url()).content.decode()
    assert "金額" in page and "12,500" in page and "餐費及交際費" in page and "部門主管審核" in page
