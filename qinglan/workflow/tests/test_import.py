"""Importing process files: BPMN from other modelers (Camunda, Signavio) converted where a plain
equivalent exists and checked like any deployment, XPDL 2.x packages converted to BPMN, and what
cannot run refused with the reason and nothing deployed; the designer's check, deploy and export
endpoints, for administrators only."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from qinglan.core.testing import make_member
from qinglan.org.models import Role
from qinglan.workflow import engine, importers, services, xpdl
from qinglan.workflow.choices import InstanceStatus, TaskStatus
from qinglan.workflow.models import ProcessDefinition, WorkTask

from .factories import bpmn

pytestmark = pytest.mark.django_db
XPDL_DIR = Path(__file__).resolve().parent / "xpdl"


def xpdl_file(name):
    return (XPDL_DIR / name).read_bytes()


@pytest.fixture
def admin_client():
    admin = make_member("designer-admin", superuser=True, language="en")
    client = Client()
    client.force_login(admin)
    return admin, client


def test_a_camunda_file_imports_cleanly_and_runs():
    xml, notes = importers.prepare_bpmn(bpmn("camunda_modeler.bpmn"))
    assert "Condition “${amount > 30000 && abroad}” became “amount > 30000 and abroad”." in notes
    assert "Step “Manager”: assignee rule member:lead." in notes and "Step “Finance”: assignee rule role:財務." in notes
    definition = services.deploy(xml=xml)
    assert definition.key == "travel_request"
    assert definition.task_rules["Task_finance"]["assignee"] == "role:財務"
    lead, clerk = make_member("lead"), make_member("clerk")
    Role.objects.create(name="財務").members.add(clerk)
    instance = services.start(definition_key="travel_request", initiator=make_member("traveller"), data={"amount": 50000, "abroad": True})
    services.complete(task=WorkTask.objects.get(instance=instance, status=TaskStatus.OPEN), user=lead, outcome="approve")
    task = WorkTask.objects.get(instance=instance, status=TaskStatus.OPEN)
    assert task.candidate_role.name == "財務"
    services.complete(task=task, user=clerk, outcome="approve")
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.APPROVED


def test_a_signavio_pool_is_unwrapped():
    xml, notes = importers.prepare_bpmn(bpmn("signavio_pool.bpmn"))
    assert "The pool “公司” was removed; its process is kept." in notes
    assert "The process was not marked executable; it is now." in notes
    assert 'bpmnElement="sid-process"' in xml and "sid-pool_gui" not in xml and "sid-lane_gui" not in xml
    assert services.deploy(xml=xml).key == "sid-process"


def test_foreign_files_that_cannot_run_are_refused_with_the_reason():
    two_pools = bpmn("signavio_pool.bpmn").replace(
        '<participant id="sid-pool" name="公司" processRef="sid-process" />',
        '<participant id="sid-pool" name="公司" processRef="sid-process" /><participant id="sid-other" name="客戶" processRef="sid-process2" />',
    )
    with pytest.raises(engine.DefinitionError, match="several pools"):
        importers.prepare_bpmn(two_pools)
    for name, reason in (("script_task.bpmn", "script tasks"), ("message_event.bpmn", "message events"), ("malformed.bpmn", "not well-formed")):
        with pytest.raises(engine.DefinitionError, match=reason):
            importers.check(bpmn(name))
    assert not ProcessDefinition.objects.exists()


def test_xpdl_21_with_routes_participants_conditions_and_a_subflow():
    xml, notes = xpdl.to_bpmn(xpdl_file("purchase_21.xpdl"))
    assert "The package also holds: 合約審查; import each one by its ID, the called ones first." in notes
    # the called process first, then the main one (nothing deployed before the sub-flow exists)
    with pytest.raises(engine.DefinitionError, match="calls the process “contract_review”, which is not deployed"):
        engine.read_definition(xml, called={})
    sub_xml, _notes = xpdl.to_bpmn(xpdl_file("purchase_21.xpdl"), process_id="contract_review")
    sub = services.deploy(xml=sub_xml)
    assert sub.key == "contract_review" and sub.task_rules["legal"]["assignee"] == "role:法務"
    definition = services.deploy(xml=xml)
    rules = definition.task_rules
    assert rules["mgr_review"]["assignee"] == "role:採購主管"
    assert rules["gm_review"]["assignee"] == "member:gm"
    assert rules["finance_check"]["assignee"] == "department:finance"
    assert rules["budget_check"]["assignee"] == "department_head"
    assert "amount &gt; 100000 and not (amount == 0)" in definition.xml
    assert 'default="t4"' in definition.xml and "<bpmn:parallelGateway" in definition.xml
    assert 'calledElement="contract_review"' in definition.xml
    assert 'x="160" y="120"' in definition.xml  # the editor's own positions kept
    # and it runs: a large amount goes to the general manager, then both branches join
    Role.objects.create(name="採購主管").members.add(make_member("buyer_boss"))
    instance = services.start(definition_key="purchase_request_xpdl", initiator=make_member("buyer"), data={"amount": 200000})
    step = WorkTask.objects.get(instance=instance, status=TaskStatus.OPEN)
    assert step.bpmn_id == "mgr_review"
    services.complete(task=step, user=step.candidate_role.members.first(), outcome="approve")
    assert WorkTask.objects.get(instance=instance, status=TaskStatus.OPEN).bpmn_id == "gm_review"


def test_xpdl_with_splits_on_activities_and_without_events():
    xml, notes = xpdl.to_bpmn(xpdl_file("expense_10style.xpdl"))
    definition = services.deploy(xml=xml)
    assert definition.key == "expense-claim_2019"
    assert set(definition.task_rules) == {"_1", "_2", "_3"}
    assert definition.task_rules["_1"]["assignee"] == "manager" and definition.task_rules["_2"]["assignee"] == "role:出納"
    assert "<bpmn:startEvent" in xml and "<bpmn:endEvent" in xml and "<bpmn:exclusiveGateway" in xml
    assert "BPMNShape" in xml  # laid out, so the designer can draw it


def test_xpdl_that_cannot_be_converted_is_refused_and_nothing_deployed(admin_client):
    _admin, client = admin_client
    with pytest.raises(engine.DefinitionError, match="“過帳程式” is a script task"):
        xpdl.to_bpmn(xpdl_file("with_script.xpdl"))
    with pytest.raises(engine.DefinitionError, match="not an XPDL file"):
        xpdl.to_bpmn(b'<?xml version="1.0"?><Package xmlns="urn:other"/>')
    with pytest.raises(engine.DefinitionError, match="not well-formed"):
        xpdl.to_bpmn(b"<Package xmlns='http://www.wfmc.org/2008/XPDL2.1'>")
    bad_condition = xpdl_file("expense_10style.xpdl").replace(b"amount &lt;= 5000", b"__import__('os').system('x')")
    with pytest.raises(engine.DefinitionError, match="transition “a” cannot be converted"):
        xpdl.to_bpmn(bad_condition)
    response = client.post(reverse("workflow:designer_check"), {"file": SimpleUploadedFile("auto.xpdl", xpdl_file("with_script.xpdl"))})
    assert response.status_code == 400 and "script task" in response.json()["error"]
    assert not ProcessDefinition.objects.exists()


def test_designer_pages_check_deploy_and_export(admin_client):
    admin, client = admin_client
    page = client.get(reverse("workflow:designer"))
    assert page.status_code == 200 and b"bpmn-modeler.production.min.js" in page.content
    response = client.post(reverse("workflow:designer_check"), {"file": SimpleUploadedFile("travel.bpmn", bpmn("camunda_modeler.bpmn").encode())})
    data = response.json()
    assert data["ok"] and data["key"] == "travel_request" and "role:財務" in data["xml"]
    response = client.post(reverse("workflow:designer_check"), {"file": SimpleUploadedFile("p.xpdl", xpdl_file("expense_10style.xpdl"))})
    assert response.json()["ok"] and response.json()["name"] == "費用報銷"
    # deploying: a new version each time; a refused drawing deploys nothing and says why
    first = client.post(reverse("workflow:designer_deploy"), {"xml": data["xml"], "name": "出差申請", "kind": "predefined"}).json()
    second = client.post(reverse("workflow:designer_deploy"), {"xml": data["xml"], "name": "", "kind": "custom"}).json()
    assert first["ok"] and second["ok"]
    versions = list(ProcessDefinition.objects.filter(key="travel_request").order_by("version").values_list("version", "name", "kind", "deployed_by"))
    assert versions == [(1, "出差申請", "predefined", admin.pk), (2, "Travel request", "custom", admin.pk)]
    refused = client.post(reverse("workflow:designer_deploy"), {"xml": bpmn("dangling_flow.bpmn"), "kind": "custom"})
    assert refused.status_code == 400 and "points to" in refused.json()["error"]
    assert ProcessDefinition.objects.count() == 2
    definition = ProcessDefinition.objects.get(key="travel_request", version=1)
    assert client.get(reverse("workflow:designer_edit", args=[definition.pk])).status_code == 200
    export = client.get(reverse("workflow:definition_xml", args=[definition.pk]))
    assert export["Content-Disposition"] == 'attachment; filename="travel_request-v1.bpmn"' and export.content.decode() == definition.xml
    detail = client.get(definition.get_absolute_url()).content.decode()
    assert reverse("workflow:designer_edit", args=[definition.pk]) in detail and reverse("workflow:definition_xml", args=[definition.pk]) in detail


def test_only_members_who_may_add_definitions_use_the_designer():
    member = make_member("plain", language="en")
    client = Client()
    client.force_login(member)
    assert client.get(reverse("workflow:designer")).status_code == 403
    assert client.post(reverse("workflow:designer_deploy"), {"xml": bpmn("amount_gateway.bpmn")}).status_code == 403
    assert client.post(reverse("workflow:designer_check"), {"xml": bpmn("amount_gateway.bpmn")}).status_code == 403
    assert not ProcessDefinition.objects.exists()
