"""Process forms declared in the BPMN file (qinglan:formField): read at deployment (and refused
with the reason when wrong), exported as they came, listed on the start page for the members
its starters rule names, validated on the server (errors in the member's language, nothing
started), turned into the process data the gateways and field: assignees read; and per step
(qinglan:fields) hidden, read-only or editable on the instance page."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import translation

from qinglan.core.testing import make_department, make_member
from qinglan.org.models import Role
from qinglan.workflow import services
from qinglan.workflow.choices import InstanceStatus, ProcessKind, TaskStatus
from qinglan.workflow.models import ProcessDefinition, ProcessInstance, TaskEvent, WorkTask

from .factories import bpmn

pytestmark = pytest.mark.django_db


def client_for(member):
    client = Client()
    client.force_login(member)
    return client


@pytest.fixture
def people():
    boss = make_member("boss")
    director = make_member("director")
    lead = make_member("lead", language="en")
    research = make_department("研發部", code="RND")
    lab = make_department("實驗室", parent=research)
    buyer = make_member("buyer", manager=lead, language="en")
    Role.objects.create(name="buyers").members.add(buyer)
    scientist = make_member("scientist", department=lab, manager=lead, language="zh-hant")
    outsider = make_member("outsider", department=make_department("業務部"), manager=lead)
    reviewer = make_member("reviewer", language="en")
    return {"boss": boss, "director": director, "lead": lead, "buyer": buyer, "scientist": scientist, "outsider": outsider, "reviewer": reviewer}


@pytest.fixture
def definition(people):
    return services.deploy(xml=bpmn("form_request.bpmn"), kind=ProcessKind.CUSTOM)


GOOD = {
    "item": "示波器", "amount": "2500.50", "quantity": "2", "category": "it", "reviewer": "reviewer",
    "urgent": "yes", "needed_by": "2027-01-15", "note": "只給研發看",
}


def start_url(definition):
    return reverse("workflow:start_process", args=[definition.key])


def test_deployment_reads_the_form_and_export_keeps_it(definition, people):
    assert [entry["name"] for entry in definition.form_fields] == [
        "item", "amount", "quantity", "category", "reviewer", "urgent", "needed_by", "note", "quote",
    ]
    category = definition.form_fields[3]
    assert category == {
        "name": "category", "label": "Category", "type": "choice", "required": True, "help": "",
        "options": [{"value": "it", "label": "IT equipment"}, {"value": "furniture", "label": "Furniture"}],
    }
    assert definition.starters == "role:buyers, department:RND"
    assert definition.task_rules["manager_approval"]["fields"] == {"amount": "editable", "note": "hidden", "quote": "editable"}
    exported = client_for(people["boss"] if people["boss"].is_superuser else make_member("root", superuser=True)).get(
        reverse("workflow:definition_xml", args=[definition.pk])
    ).content.decode()
    assert '<qinglan:option value="furniture" label="Furniture" />' in exported
    # the exported file deploys again as the next version with the same form
    again = services.deploy(xml=exported)
    assert (again.version, again.form_fields, again.starters) == (2, definition.form_fields, definition.starters)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('type="decimal"', 'type="money"'), "the type “money” is not one of"),
        (('name="quantity"', 'name="amount"'), "two fields named “amount”"),
        (('name="quantity"', 'name="outcome"'), "is not outcome, initiator or record_owner"),
        (('name="quantity"', 'name="2nd"'), "a field name starts with a letter"),
        (('<qinglan:option value="it" label="IT equipment" />', ""), None),  # one option left is fine
        (('type="choice" required="true">', 'type="text" required="true">'), "only a choice has options"),
        (('qinglan:fields="amount:editable, urgent:editable"', 'qinglan:fields="price:editable"'), "the form has no field “price”"),
        (('qinglan:fields="amount:editable, urgent:editable"', 'qinglan:fields="amount:writable"'), "hidden, readonly or editable, not “writable”"),
        (('qinglan:starters="role:buyers, department:RND"', 'qinglan:starters="member:buyer"'), "is not role:<role name> or department:<code or ID>"),
    ],
)
def test_a_wrong_form_is_refused_with_the_reason(people, change, message):
    xml = bpmn("form_request.bpmn").replace(*change)
    if message is None:
        assert services.deploy(xml=xml).form_fields[3]["options"] == [{"value": "furniture", "label": "Furniture"}]
        return
    with pytest.raises(ValidationError) as error:
        services.deploy(xml=xml)
    assert message in " ".join(error.value.messages)
    assert not ProcessDefinition.objects.exists()


def test_a_choice_needs_options(people):
    xml = bpmn("form_request.bpmn").replace('<qinglan:option value="it" label="IT equipment" />', "").replace(
        '<qinglan:option value="furniture" label="Furniture" />', ""
    )
    with pytest.raises(ValidationError, match="a choice needs options"):
        services.deploy(xml=xml)


def test_the_start_page_lists_what_the_member_may_start(definition, people):
    services.ensure_fixed_processes()
    open_to_all = services.deploy(xml=bpmn("amount_gateway.bpmn"), kind=ProcessKind.PREDEFINED)
    for member in (people["buyer"], people["scientist"]):  # by role; by a department above theirs
        page = client_for(member).get(reverse("workflow:start")).content.decode()
        assert f'data-process="{definition.key}"' in page and f'data-process="{open_to_all.key}"' in page
        assert 'data-process="leave_request"' not in page  # a fixed process keeps its own page
        assert client_for(member).get(start_url(definition)).status_code == 200
    outsider = client_for(people["outsider"])
    page = outsider.get(reverse("workflow:start")).content.decode()
    assert f'data-process="{definition.key}"' not in page and f'data-process="{open_to_all.key}"' in page
    assert outsider.get(start_url(definition)).status_code == 404
    assert outsider.post(start_url(definition), GOOD).status_code == 404
    with translation.override("en"), pytest.raises(PermissionDenied, match="You may not start this process"):
        services.start_with_form(definition=definition, user=people["outsider"], data=GOOD)
    assert not ProcessInstance.objects.exists()
    # an inactive version is not offered
    ProcessDefinition.objects.filter(key=definition.key).update(active=False)
    assert client_for(people["buyer"]).get(start_url(definition)).status_code == 404


def test_bad_input_is_refused_in_the_members_language_and_starts_nothing(definition, people):
    response = client_for(people["scientist"]).post(
        start_url(definition), {**GOOD, "item": "", "amount": "很多", "category": "cars", "reviewer": "nobody", "needed_by": "2027-02-30"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "此欄位為必填" in page  # Django's "This field is required." in Traditional Chinese
    assert "輸入一個數字" in page and "輸入有效的日期" in page  # "Enter a number.", "Enter a valid date."
    assert "There is no active member" not in page and "沒有在職成員「nobody」" in page
    response = client_for(people["buyer"]).post(start_url(definition), {**GOOD, "quantity": "1.5", "reviewer": "nobody"})
    assert response.status_code == 400 and "There is no active member “nobody”." in response.content.decode()
    assert "Enter a whole number." in response.content.decode()
    assert not ProcessInstance.objects.exists() and not WorkTask.objects.exists()


def test_the_form_starts_the_process_with_its_data(definition, people):
    buyer = client_for(people["buyer"])
    quote = SimpleUploadedFile("報價單.pdf", b"%PDF-1.4 quote", content_type="application/pdf")
    response = buyer.post(start_url(definition), {**GOOD, "quote": quote})
    instance = ProcessInstance.objects.get()
    assert response.status_code == 302 and response["Location"] == instance.get_page_url()
    data = dict(instance.data)
    file_value = data.pop("quote")
    assert data == {
        "item": "示波器", "amount": 2500.5, "quantity": 2, "category": "it", "reviewer": "reviewer",
        "urgent": True, "needed_by": "2027-01-15", "note": "只給研發看",
    }
    assert file_value["name"] == "報價單.pdf" and file_value["size"] == 14
    assert instance.title == "Equipment request: buyer" and instance.initiator == people["buyer"]
    # the gateway read the amount; the field: assignee the reviewer named in the form
    [task] = WorkTask.objects.filter(instance=instance, status=TaskStatus.OPEN)
    assert (task.bpmn_id, task.assignee) == ("review", people["reviewer"])
    page = buyer.get(instance.get_page_url()).content.decode()
    assert "IT equipment" in page and "2,500.5" in page and 'data-field="note"' in page
    download = buyer.get(reverse("workflow:form_file", args=[instance.pk, "quote"]))
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"%PDF-1.4 quote"
    assert client_for(people["outsider"]).get(reverse("workflow:form_file", args=[instance.pk, "quote"])).status_code == 404


def test_a_small_amount_goes_to_the_manager(definition, people):
    instance = services.start_with_form(definition=definition, user=people["buyer"], data={**GOOD, "amount": "800", "reviewer": ""})
    [task] = WorkTask.objects.filter(instance=instance, status=TaskStatus.OPEN)
    assert (task.bpmn_id, task.assignee, instance.data["amount"], instance.data["reviewer"]) == ("manager_approval", people["lead"], 800, "")
    assert instance.status == InstanceStatus.RUNNING and TaskEvent.objects.filter(instance=instance, kind="started").exists()


# ---- per-step field visibility --------------------------------------------------------------------


def started(definition, people, **values):
    return services.start_with_form(definition=definition, user=people["buyer"], data={**GOOD, **values})


def open_task(instance):
    return WorkTask.objects.get(instance=instance, status=TaskStatus.OPEN)


def test_each_step_shows_the_form_as_it_says(definition, people):
    instance = started(definition, people, amount="900", reviewer="")
    task = open_task(instance)  # the manager's step: amount and quote editable, note hidden
    lead = client_for(people["lead"])
    page = lead.get(instance.get_page_url()).content.decode()
    assert 'name="field-amount"' in page and 'name="field-quote"' in page
    assert 'name="field-item"' not in page and 'data-field="item"' in page  # read-only: shown, not an input
    assert 'data-field="note"' not in page and "只給研發看" not in page  # hidden from this step
    # the initiator sees everything and edits nothing
    page = client_for(people["buyer"]).get(instance.get_page_url()).content.decode()
    assert "只給研發看" in page and 'name="field-amount"' not in page
    assert task.assignee == people["lead"]


def test_an_approver_changes_an_editable_field_on_approve(definition, people):
    instance = started(definition, people, amount="900", reviewer="")
    task = open_task(instance)
    response = client_for(people["lead"]).post(
        reverse("workflow:task_complete", args=[task.pk]),
        {"outcome": "approve", "comment": "改價", "field-amount": "60000", "field-quote": ""},
    )
    assert response.status_code == 302
    instance.refresh_from_db()
    assert instance.data["amount"] == 60000 and instance.data["item"] == "示波器"
    # the gateway after the step read the changed amount: the director's step opened
    assert open_task(instance).bpmn_id == "director"
    change = TaskEvent.objects.get(instance=instance, kind="changed")
    assert (change.actor, change.task_id, change.comment) == (people["lead"], task.pk, "Amount: 900 → 60,000")
    page = client_for(people["buyer"]).get(instance.get_page_url()).content.decode()
    assert "Amount: 900 → 60,000" in page and "Form data changed" in page


def test_an_editable_file_is_replaced_and_the_old_one_kept(definition, people):
    instance = started(definition, people, amount="900", reviewer="")
    task = open_task(instance)
    new_quote = SimpleUploadedFile("new.pdf", b"%PDF new", content_type="application/pdf")
    client_for(people["lead"]).post(
        reverse("workflow:task_complete", args=[task.pk]), {"outcome": "approve", "field-amount": "900", "field-quote": new_quote}
    )
    instance.refresh_from_db()
    assert instance.data["quote"]["name"] == "new.pdf" and instance.status == InstanceStatus.APPROVED
    download = client_for(people["buyer"]).get(reverse("workflow:form_file", args=[instance.pk, "quote"]))
    assert b"".join(download.streaming_content) == b"%PDF new"
    assert TaskEvent.objects.get(instance=instance, kind="changed").comment == "Quotation: — → new.pdf"


def test_a_read_only_field_posted_is_refused_and_unchanged(definition, people):
    instance = started(definition, people, amount="900", reviewer="")
    task = open_task(instance)
    lead = client_for(people["lead"])
    response = lead.post(
        reverse("workflow:task_complete", args=[task.pk]),
        {"outcome": "approve", "field-amount": "950", "field-item": "金條", "field-note": "看得到"},
        follow=True,
    )
    assert "These fields cannot be changed at this step: Item, Private note." in response.content.decode()
    instance.refresh_from_db()
    task.refresh_from_db()
    assert (instance.data["item"], instance.data["note"], instance.data["amount"]) == ("示波器", "只給研發看", 900)
    assert task.status == TaskStatus.OPEN and not TaskEvent.objects.filter(instance=instance, kind="changed").exists()
    # a bad value of an editable field: refused with the reason, nothing done
    response = lead.post(reverse("workflow:task_complete", args=[task.pk]), {"outcome": "approve", "field-amount": "abc"}, follow=True)
    assert "Amount: Enter a number." in response.content.decode()
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN
    # rejecting ignores the edits
    lead.post(reverse("workflow:task_complete", args=[task.pk]), {"outcome": "reject", "field-amount": "1"})
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.REJECTED and instance.data["amount"] == 900


def test_the_service_refuses_a_field_not_editable_at_the_step(definition, people):
    instance = started(definition, people, amount="5000")  # the reviewer's step: amount and urgent editable
    task = open_task(instance)
    assert task.bpmn_id == "review"
    with pytest.raises(ValidationError, match="cannot be changed at this step: Category"):
        services.complete(task=task, user=people["reviewer"], outcome="approve", form_data={"field-category": "furniture"})
    services.complete(task=task, user=people["reviewer"], outcome="approve", form_data={"field-amount": "5000", "field-urgent": "no"})
    instance.refresh_from_db()
    assert instance.data["urgent"] is False and instance.data["category"] == "it"
    assert TaskEvent.objects.get(instance=instance, kind="changed").comment == "Urgent: Yes → No"
    # the note the manager's step hides: not on their page, not as a file either
    lead_page = client_for(people["lead"]).get(instance.get_page_url()).content.decode()
    assert "只給研發看" not in lead_page and "Urgent" in lead_page
    # the reviewer (their step showed every field) still sees it
    assert "只給研發看" in client_for(people["reviewer"]).get(instance.get_page_url()).content.decode()


# ---- the initiator corrects the form of a request returned to them ---------------------------------


def returned_to_buyer(definition, people, **values):
    instance = started(definition, people, amount="800", reviewer="", **values)
    task = open_task(instance)  # the manager's step (a small amount)
    services.return_task(task=task, user=people["lead"], to="initiator", comment="金額不對")
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.RETURNED
    return instance


def resubmit_post(**changes):
    values = {**GOOD, "amount": "800", "reviewer": "", **changes}
    return {"comment": "已更正", **{f"field-{name}": value for name, value in values.items()}}


def test_the_initiator_corrects_the_form_on_resubmit(definition, people):
    instance = returned_to_buyer(definition, people)
    buyer = client_for(people["buyer"])
    page = buyer.get(instance.get_page_url()).content.decode()
    assert 'data-testid="resubmit-fields"' in page and 'enctype="multipart/form-data"' in page
    for name in ("item", "amount", "category", "reviewer", "urgent", "needed_by", "note", "quote"):
        assert f'name="field-{name}"' in page  # every field, the private note too: the initiator wrote it
    assert 'name="field-amount" value="800"' in page and 'value="示波器"' in page
    # the lead, who returned it, sees no such form
    assert 'data-testid="resubmit-fields"' not in client_for(people["lead"]).get(instance.get_page_url()).content.decode()

    response = buyer.post(
        reverse("workflow:instance_action", args=[instance.pk, "resubmit"]), resubmit_post(amount="5000", reviewer="reviewer"), follow=True
    )
    assert "Resubmitted." in response.content.decode()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.RUNNING
    assert (instance.data["amount"], instance.data["reviewer"], instance.data["item"]) == (5000, "reviewer", "示波器")
    # the gateway before the first step read the new amount: the reviewer named in the form has it now
    task = open_task(instance)
    assert (task.bpmn_id, task.assignee) == ("review", people["reviewer"])
    change = TaskEvent.objects.get(instance=instance, kind="changed")
    assert change.actor == people["buyer"]
    assert change.comment.splitlines() == ["Amount: 800 → 5,000", f"Reviewer: — → {people['reviewer']}"]
    kinds = list(instance.events.order_by("id").values_list("kind", flat=True))
    assert kinds.index("changed") < kinds.index("resubmitted")
    page = buyer.get(instance.get_page_url()).content.decode()
    assert "Amount: 800 → 5,000" in page and "Form data changed" in page
    # and on: the reviewer approves, the manager's step comes, the data stays corrected
    services.complete(task=task, user=people["reviewer"], outcome="approve")
    assert open_task(instance).bpmn_id == "manager_approval"


def test_resubmitting_without_changes_goes_on_from_the_returned_step(definition, people):
    instance = returned_to_buyer(definition, people)
    client_for(people["buyer"]).post(reverse("workflow:instance_action", args=[instance.pk, "resubmit"]), resubmit_post())
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.RUNNING and open_task(instance).bpmn_id == "manager_approval"
    assert not TaskEvent.objects.filter(instance=instance, kind="changed").exists()


def test_a_bad_correction_is_refused_and_nothing_changes(definition, people):
    instance = returned_to_buyer(definition, people)
    before = (dict(instance.data), instance.revision)
    buyer = client_for(people["buyer"])
    url = reverse("workflow:instance_action", args=[instance.pk, "resubmit"])
    response = buyer.post(url, resubmit_post(amount="abc", item=""), follow=True)
    text = response.content.decode()
    assert "Amount: Enter a number." in text and "Item: This field is required." in text
    response = buyer.post(url, {**resubmit_post(amount="5000"), "field-bogus": "x"}, follow=True)
    assert "These fields cannot be changed on resubmitting: bogus." in response.content.decode()
    # in the member's language
    people["buyer"].language = "zh-hant"
    people["buyer"].save()
    response = buyer.post(url, resubmit_post(category="gold"), follow=True)
    assert "Category: " in response.content.decode() and "選擇有效的選項" in response.content.decode()
    instance.refresh_from_db()
    assert (dict(instance.data), instance.revision, instance.status) == (*before, InstanceStatus.RETURNED)
    assert not TaskEvent.objects.filter(instance=instance, kind__in=["changed", "resubmitted"]).exists()
    assert WorkTask.objects.get(instance=instance, kind="resubmit").status == TaskStatus.OPEN


def test_only_the_initiator_corrects_and_resubmits(definition, people):
    instance = returned_to_buyer(definition, people)
    before = (dict(instance.data), instance.revision)
    url = reverse("workflow:instance_action", args=[instance.pk, "resubmit"])
    response = client_for(people["lead"]).post(url, resubmit_post(amount="5000"))
    assert response.status_code == 403 and "Only the initiator may resubmit this process." in response.content.decode()
    assert client_for(people["outsider"]).post(url, resubmit_post(amount="5000")).status_code == 404
    instance.refresh_from_db()
    assert (dict(instance.data), instance.revision, instance.status) == (*before, InstanceStatus.RETURNED)
    assert not TaskEvent.objects.filter(instance=instance, kind="changed").exists()


def test_a_corrected_request_can_be_returned_and_corrected_again(definition, people):
    instance = returned_to_buyer(definition, people)
    url = reverse("workflow:instance_action", args=[instance.pk, "resubmit"])
    buyer = client_for(people["buyer"])
    buyer.post(url, resubmit_post(amount="5000", reviewer="reviewer"))
    task = open_task(instance)
    assert task.bpmn_id == "review"
    # the reviewer returns it too (the first step of this run is theirs); the buyer lowers the amount
    client_for(people["reviewer"]).post(reverse("workflow:task_action", args=[task.pk, "return"]), {"to": "initiator", "comment": "太貴"})
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.RETURNED
    buyer.post(url, resubmit_post(amount="700", reviewer="reviewer"))
    instance.refresh_from_db()
    assert (instance.status, instance.data["amount"], open_task(instance).bpmn_id) == (InstanceStatus.RUNNING, 700, "manager_approval")
    assert list(instance.events.filter(kind="changed").order_by("id").values_list("comment", flat=True)) == [
        f"Amount: 800 → 5,000\nReviewer: — → {people['reviewer']}", "Amount: 5,000 → 700",
    ]
    services.complete(task=open_task(instance), user=people["lead"], outcome="approve")
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.APPROVED
