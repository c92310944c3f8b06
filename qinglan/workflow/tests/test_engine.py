"""The engine service: deployment checks and versions, running the shipped leave request,
assignee rules and their fallback, gateways on data, restricted conditions, restart."""

import gc
import os

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from qinglan.core.testing import make_department, make_member
from qinglan.org.models import Group, Role
from qinglan.workflow import engine, expressions, services
from qinglan.workflow.choices import InstanceStatus, ProcessKind, TaskStatus
from qinglan.workflow.models import ProcessDefinition, ProcessInstance, TaskEvent, WorkTask

from .factories import bpmn

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    """業務部 (head: boss) > 北區 (head: lead); applicant in 北區 reports to lead."""
    sales = make_department("業務部")
    north = make_department("北區", parent=sales)
    boss = make_member("boss", department=sales)
    lead = make_member("lead", department=north)
    applicant = make_member("applicant", department=north, manager=lead)
    sales.head = boss
    sales.save()
    north.head = lead
    north.save()
    make_member("admin", superuser=True)
    return {"sales": sales, "north": north, "boss": boss, "lead": lead, "applicant": applicant}


def open_rows(instance):
    return list(instance.tasks.filter(status=TaskStatus.OPEN).order_by("id"))


# ---- deployment ------------------------------------------------------------------------------


def test_deploy_reads_key_rules_and_numbers_versions():
    first = services.deploy(xml=bpmn("amount_gateway.bpmn"))
    assert (first.key, first.version, first.name, first.fallback_assignee) == ("expense_claim", 1, "Expense claim", "member:boss")
    assert first.task_rules["director"] == {"name": "Director", "assignee": "member:director"}
    second = services.deploy(xml=bpmn("amount_gateway.bpmn").replace('name="Director"', 'name="Finance director"'))
    assert second.version == 2 and first.version == 1
    assert services.latest_definition("expense_claim") == second


def test_a_running_instance_keeps_its_version():
    make_member("clerk")
    starter = make_member("starter")
    old = services.deploy(xml=bpmn("amount_gateway.bpmn"))
    instance = services.start(definition_key="expense_claim", initiator=starter, data={"amount": 10, "category": "travel"})
    services.deploy(xml=bpmn("amount_gateway.bpmn").replace('name="Clerk"', 'name="Clerk (new)"'))
    instance.refresh_from_db()
    assert instance.definition == old
    assert open_rows(instance)[0].name == "Clerk"


def test_a_deployed_version_cannot_be_edited():
    definition = services.deploy(xml=bpmn("amount_gateway.bpmn"))
    definition.xml = bpmn("parallel.bpmn")
    with pytest.raises(ValidationError):
        services.check_unchanged(definition=definition)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("malformed.bpmn", "not well-formed XML"),
        ("invalid_schema.bpmn", "not valid BPMN 2.0"),
        ("script_task.bpmn", "script tasks"),
        ("dangling_flow.bpmn", "nowhere"),
        ("malicious_condition.bpmn", "calls something other than"),
    ],
)
def test_bad_files_are_refused_and_nothing_is_deployed(name, reason):
    with pytest.raises(ValidationError) as error:
        services.deploy(xml=bpmn(name))
    assert reason in " ".join(error.value.messages)
    assert not ProcessDefinition.objects.exists()


def test_refusals_are_translated():
    from django.utils import translation

    with translation.override("zh-hant"), pytest.raises(ValidationError) as error:
        services.deploy(xml=bpmn("script_task.bpmn"))
    assert "腳本" in " ".join(error.value.messages)


def test_not_bpmn_and_entities_are_refused():
    for xml in ("<html/>", '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>', "", "not xml"):
        with pytest.raises(ValidationError):
            services.deploy(xml=xml)
    assert not ProcessDefinition.objects.exists()


# ---- the shipped leave request ----------------------------------------------------------------


def leave(applicant, days):
    services.ensure_fixed_processes()
    return services.start(definition_key="leave_request", initiator=applicant, data={"leave_type": "annual", "days": days, "reason": "休假"})


def test_fixed_process_is_deployed_once():
    services.ensure_fixed_processes()
    services.ensure_fixed_processes()
    definition = ProcessDefinition.objects.get(key="leave_request")
    assert (definition.kind, definition.version) == (ProcessKind.FIXED, 1)


def test_short_leave_needs_the_manager_only(org):
    instance = leave(org["applicant"], 2)
    (task,) = open_rows(instance)
    assert (task.bpmn_id, task.assignee) == ("manager_approval", org["lead"])
    services.complete(task=task, user=org["lead"], outcome="approve", comment="好")
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.APPROVED and instance.finished is not None
    assert instance.revision == 2
    assert list(instance.events.values_list("kind", flat=True)) == ["started", "assigned", "approved", "finished"]


def test_long_leave_also_needs_the_department_head(org):
    instance = leave(org["applicant"], 5)
    services.complete(task=open_rows(instance)[0], user=org["lead"], outcome="approve")
    (task,) = open_rows(instance)
    # lead heads 北區 and is the manager; the applicant is not the head, so 北區's head (lead)
    # would approve twice — the rule asks the head of the applicant's own department.
    assert task.bpmn_id == "head_approval" and task.assignee == org["lead"]
    services.complete(task=task, user=org["lead"], outcome="approve")
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.APPROVED
    assert instance.tasks.filter(status=TaskStatus.DONE).count() == 2


def test_a_head_applying_goes_to_the_department_above(org):
    instance = leave(org["lead"], 5)
    (task,) = open_rows(instance)
    assert task.for_administrators  # lead has no manager: fallback to administrators
    services.complete(task=task, user=make_member("root", superuser=True), outcome="approve")
    (task,) = open_rows(instance)
    assert task.assignee == org["boss"]  # lead heads 北區 himself: its parent's head


def test_rejection_ends_the_instance(org):
    instance = leave(org["applicant"], 5)
    services.complete(task=open_rows(instance)[0], user=org["lead"], outcome="reject", comment="人手不足")
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.REJECTED
    assert not open_rows(instance)
    assert TaskEvent.objects.filter(instance=instance, kind="rejected", comment="人手不足").exists()


def test_only_the_assignee_may_act_and_only_once(org):
    instance = leave(org["applicant"], 1)
    (task,) = open_rows(instance)
    with pytest.raises(PermissionDenied):
        services.complete(task=task, user=org["applicant"], outcome="approve")
    services.complete(task=task, user=org["lead"], outcome="approve")
    with pytest.raises(ValidationError) as error:
        services.complete(task=task, user=org["lead"], outcome="approve")
    assert "already been completed" in " ".join(error.value.messages)


def test_the_initiator_may_withdraw(org):
    instance = leave(org["applicant"], 5)
    with pytest.raises(PermissionDenied):
        services.withdraw(instance=instance, user=org["lead"])
    services.withdraw(instance=instance, user=org["applicant"], comment="不請了")
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.WITHDRAWN
    assert instance.tasks.get().status == TaskStatus.CANCELLED
    with pytest.raises(ValidationError):
        services.complete(task=instance.tasks.get(), user=org["lead"], outcome="approve")


# ---- assignees --------------------------------------------------------------------------------


def test_assignee_rules_and_fallback(org):
    auditor = make_member("auditor")
    clerk_direct, clerk_by_group = make_member("clerk1"), make_member("clerk2")
    role = Role.objects.create(name="會計")
    role.members.add(clerk_direct)
    group = Group.objects.create(name="財務組")
    group.members.add(clerk_by_group)
    role.groups.add(group)
    services.deploy(xml=bpmn("assignees.bpmn"))
    instance = services.start(definition_key="assignee_rules", initiator=org["applicant"])

    (task,) = open_rows(instance)
    assert task.assignee == auditor
    services.complete(task=task, user=auditor, outcome="approve")

    (task,) = open_rows(instance)
    assert task.assignee is None and task.candidate_role == role
    assert set(services.open_tasks(clerk_by_group)) == {task} == set(services.open_tasks(clerk_direct))
    assert not services.open_tasks(auditor).exists()
    services.complete(task=task, user=clerk_by_group, outcome="approve")
    task.refresh_from_db()
    assert task.assignee == clerk_by_group and task.completed_by == clerk_by_group

    (task,) = open_rows(instance)
    assert task.assignee == org["lead"]  # the initiator's manager
    services.complete(task=task, user=org["lead"], outcome="approve")

    (task,) = open_rows(instance)
    assert task.assignee == org["lead"]  # head of the initiator's department
    services.complete(task=task, user=org["lead"], outcome="approve")

    (task,) = open_rows(instance)
    assert task.assignee is None and task.for_administrators  # nobody found, no fallback: administrators
    assert TaskEvent.objects.filter(task=task, kind="assigned").exclude(comment="").exists()
    assert list(services.open_tasks(ProcessInstance.objects.none().model.initiator.field.related_model.objects.get(username="admin"))) == [task]
    with pytest.raises(PermissionDenied):
        services.complete(task=task, user=org["boss"], outcome="approve")


def test_process_fallback_member(org):
    make_member("director", is_active=False)  # the rule names an inactive member
    services.deploy(xml=bpmn("amount_gateway.bpmn"))
    instance = services.start(definition_key="expense_claim", initiator=org["applicant"], data={"amount": 20000, "category": "travel"})
    (task,) = open_rows(instance)
    assert (task.bpmn_id, task.assignee) == ("director", org["boss"])  # qinglan:fallback="member:boss"


# ---- gateways and conditions ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "step"),
    [
        ({"amount": 20000, "category": "travel"}, "director"),
        ({"amount": 20000, "category": "office"}, "clerk"),
        ({"amount": 500, "category": "travel"}, "clerk"),
    ],
)
def test_exclusive_gateway_on_data(data, step):
    make_member("director")
    make_member("clerk")
    services.deploy(xml=bpmn("amount_gateway.bpmn"))
    instance = services.start(definition_key="expense_claim", initiator=make_member("starter"), data=data)
    assert [row.bpmn_id for row in open_rows(instance)] == [step]


def test_parallel_branches_join(org):
    legal, finance = make_member("legal"), make_member("finance")
    services.deploy(xml=bpmn("parallel.bpmn"))
    instance = services.start(definition_key="two_signatures", initiator=org["applicant"])
    rows = {row.bpmn_id: row for row in open_rows(instance)}
    assert set(rows) == {"legal", "finance"}
    services.complete(task=rows["legal"], user=legal, outcome="approve")
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.RUNNING
    services.complete(task=rows["finance"], user=finance, outcome="approve")
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.APPROVED


def test_a_missing_field_in_a_condition_is_a_clear_error_and_changes_nothing():
    make_member("director")
    services.deploy(xml=bpmn("amount_gateway.bpmn"))
    with pytest.raises(ValidationError) as error:
        services.start(definition_key="expense_claim", initiator=make_member("starter"), data={"category": "travel"})
    assert "amount" in " ".join(error.value.messages)


@pytest.mark.parametrize(
    "expression",
    [
        "__import__('os').system('touch /tmp/qinglan-pwned')",
        "().__class__.__bases__[0].__subclasses__()",
        "open('/etc/passwd').read()",
        "eval('1')",
        "[x for x in range(10)]",
        "(lambda: 1)()",
        "9 ** 9 ** 9",
        "'a' * 100000000",
        "_secret",
        "days.real",
    ],
)
def test_dangerous_conditions_are_refused(expression):
    with pytest.raises(expressions.ExpressionError):
        expressions.evaluate(expression, {"days": 3})


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("days > 3", False),
        ("days >= 3 and outcome == 'approve'", True),
        ("outcome in ['approve', 'accept'] or days > 10", True),
        ("len(reason) > 2", True),
        ("max(days, 5) - 1", 4),
        ("items[0] == 'a'", True),
        ("not (days < 1)", True),
        ("'long' if days > 2 else 'short'", "long"),
        ("amount / 2 == 1.5", True),
        ("note is null", True),
    ],
)
def test_allowed_conditions(expression, value):
    assert expressions.evaluate(expression, {"days": 3, "outcome": "approve", "reason": "搬家了", "items": ["a"], "amount": 3, "note": None}) == value


def test_runtime_refuses_a_malicious_condition_the_deployment_check_missed(tmp_path):
    """A definition written to the database by other means (bypassing deploy) still cannot run
    Python: the engine's own evaluator refuses it and the instance is not created."""
    marker = tmp_path / "pwned"
    xml = bpmn("malicious_condition.bpmn").replace("/tmp/qinglan-pwned", str(marker))
    ProcessDefinition.objects.create(key="malicious", version=1, name="x", xml=xml, task_rules={"approve": {"name": "Approve", "assignee": "initiator"}})
    with pytest.raises(ValidationError) as error:
        services.start(definition_key="malicious", initiator=make_member("starter"))
    assert "calls something other than" in " ".join(error.value.messages)
    assert not marker.exists()
    assert not ProcessInstance.objects.exists()


def test_scripts_are_never_executed():
    environment = engine.RestrictedEnvironment()
    with pytest.raises(expressions.ExpressionError):
        environment.execute("import os", {})


# ---- restart ------------------------------------------------------------------------------------


def test_an_instance_resumes_from_the_database_alone(org):
    instance = leave(org["applicant"], 5)
    services.complete(task=open_rows(instance)[0], user=org["lead"], outcome="approve")
    pk = instance.pk
    del instance
    gc.collect()  # nothing of the running workflow is kept in Python between requests
    instance = ProcessInstance.objects.get(pk=pk)
    workflow = engine.load(instance.state)
    assert [task.task_spec.bpmn_id for task in engine.ready_user_tasks(workflow)] == ["head_approval"]
    assert isinstance(workflow.script_engine, engine.RestrictedScriptEngine)
    del workflow
    services.complete(task=WorkTask.objects.get(instance_id=pk, status=TaskStatus.OPEN), user=org["lead"], outcome="approve")
    assert ProcessInstance.objects.get(pk=pk).status == InstanceStatus.APPROVED


def test_no_file_was_touched():
    assert not os.path.exists("/tmp/qinglan-pwned")
