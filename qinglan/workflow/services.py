"""The workflow service other modules call: deploy a BPMN definition, start an instance, complete
a task, withdraw an instance. Every state change is one transaction that writes the engine's
serialized state, the task rows and the audit trail together, so an instance survives any
restart and is never half-written."""

from pathlib import Path
from uuid import UUID

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from SpiffWorkflow.exceptions import SpiffWorkflowException

from . import assignees, engine
from .choices import EventKind, InstanceStatus, Outcome, ProcessKind, TaskStatus
from .expressions import ExpressionError
from .models import ProcessDefinition, ProcessInstance, TaskEvent, WorkTask

PROCESSES_DIR = Path(__file__).resolve().parent / "processes"
FIXED_PROCESSES = {"leave_request": "leave_request.bpmn"}
OUTCOME_EVENTS = {Outcome.APPROVE: EventKind.APPROVED, Outcome.REJECT: EventKind.REJECTED}


# ---- definitions -------------------------------------------------------------------------


def prepare_definition(*, definition, user=None):
    """Check `definition.xml` and fill in what is derived from it (key, version, task rules) on
    an unsaved definition; raises ValidationError (on the ``xml`` field) and changes nothing
    when the file is refused."""
    try:
        parsed = engine.read_definition(definition.xml)
    except engine.DefinitionError as error:
        raise ValidationError({"xml": str(error)}) from None
    latest = ProcessDefinition.objects.select_for_update().filter(key=parsed.process_id).aggregate(v=Max("version"))["v"]
    definition.key = parsed.process_id
    definition.version = (latest or 0) + 1
    definition.name = definition.name or parsed.name
    definition.task_rules = parsed.task_rules
    definition.fallback_assignee = definition.fallback_assignee or parsed.fallback
    if definition.fallback_assignee:
        try:
            assignees.check_fallback(definition.fallback_assignee)
        except ValueError as error:
            raise ValidationError({"fallback_assignee": str(error)}) from None
    if user is not None and getattr(user, "is_authenticated", False):
        definition.deployed_by = user
    return definition


def check_unchanged(*, definition):
    """A deployed version is immutable: only its name and whether it is active may change."""
    before = ProcessDefinition.objects.filter(pk=definition.pk).values("xml", "fallback_assignee", "kind").first()
    if before is None:
        return
    if before["xml"] != definition.xml or before["fallback_assignee"] != definition.fallback_assignee or before["kind"] != definition.kind:
        raise ValidationError(
            {"xml": _("A deployed version cannot be changed; add the changed file as a new definition and it becomes the next version.")}
        )


@transaction.atomic
def deploy(*, xml, user=None, name="", kind=ProcessKind.CUSTOM, fallback_assignee="", active=True):
    """Deploy a BPMN 2.0 file as the next version of its process; raises ValidationError with
    the reason and deploys nothing when the file is malformed or not supported."""
    definition = ProcessDefinition(xml=xml, name=name, kind=kind, fallback_assignee=fallback_assignee, active=active)
    prepare_definition(definition=definition, user=user)
    definition.save()
    return definition


def latest_definition(key):
    return ProcessDefinition.objects.filter(key=key, active=True).order_by("-version").first()


def ensure_fixed_processes():
    """Deploy the processes shipped with the module, once per change of their file."""
    deployed = []
    for key, filename in FIXED_PROCESSES.items():
        xml = (PROCESSES_DIR / filename).read_text(encoding="utf-8")
        if not ProcessDefinition.objects.filter(key=key, xml=xml).exists():
            deployed.append(deploy(xml=xml, kind=ProcessKind.FIXED))
    return deployed


# ---- instances -------------------------------------------------------------------------------


def _event(instance, kind, *, actor=None, task=None, comment=""):
    return TaskEvent.objects.create(instance=instance, kind=kind, actor=actor, task=task, comment=comment)


def _engine_failure(error):
    return ValidationError(engine.engine_error_message(error))


def _sync_tasks(instance, workflow, *, actor=None):
    """Open a WorkTask row for every user task the engine now waits on, cancel the rows of
    tasks it no longer waits on, and finish the instance when the workflow is complete."""
    ready = {str(task.id): task for task in engine.ready_user_tasks(workflow)}
    for row in instance.tasks.filter(status=TaskStatus.OPEN):
        if row.spiff_task_id not in ready:
            row.status = TaskStatus.CANCELLED
            row.completed = timezone.now()
            row.save(update_fields=("status", "completed"))
    known = set(instance.tasks.filter(spiff_task_id__in=list(ready)).values_list("spiff_task_id", flat=True))
    rules = instance.definition.task_rules
    for task_id, task in ready.items():
        if task_id in known:
            continue
        bpmn_id = task.task_spec.bpmn_id
        rule = rules.get(bpmn_id, {})
        assignment = assignees.resolve(rule.get("assignee", ""), initiator=instance.initiator, fallback=instance.definition.fallback_assignee)
        row = WorkTask.objects.create(
            instance=instance, spiff_task_id=task_id, bpmn_id=bpmn_id, name=rule.get("name") or task.task_spec.bpmn_name or bpmn_id,
            assignee=assignment.assignee, candidate_role=assignment.role, for_administrators=assignment.for_administrators,
        )
        _event(instance, EventKind.ASSIGNED, task=row, comment=_("fallback: the step's rule found nobody") if assignment.fallback else "")
    if workflow.is_completed():
        rejected = instance.tasks.filter(status=TaskStatus.DONE).order_by("-completed", "-id").values_list("outcome", flat=True).first() == Outcome.REJECT
        instance.status = InstanceStatus.REJECTED if rejected else InstanceStatus.APPROVED
        instance.finished = timezone.now()
        _event(instance, EventKind.FINISHED, actor=actor, comment=instance.get_status_display())


def _save_state(instance, workflow, *, expected_revision):
    """Write the engine state with revision + 1, provided nobody wrote it since we read it."""
    state = engine.dump(workflow)
    written = ProcessInstance.objects.filter(pk=instance.pk, revision=expected_revision).update(
        state=state, revision=expected_revision + 1, status=instance.status, finished=instance.finished, last_updated=timezone.now()
    )
    if written != 1:
        raise ValidationError(_("Someone else has just acted on this process; reload the page and try again."))
    instance.state = state
    instance.revision = expected_revision + 1


@transaction.atomic
def start(*, key, initiator, record=None, data=None, title=""):
    """Start the latest active version of process `key` for `initiator` (optionally about a
    business `record`), run it until it waits for people and assign their tasks."""
    definition = latest_definition(key)
    if definition is None:
        raise ValidationError(_("There is no active process “%(key)s”.") % {"key": key})
    data = dict(data or {})
    instance = ProcessInstance.objects.create(
        definition=definition, title=title or definition.name, initiator=initiator, data=data,
        content_type=ContentType.objects.get_for_model(record) if record is not None else None,
        object_id=str(record.pk) if record is not None else "",
    )
    try:
        workflow = engine.new_workflow(definition.xml, definition.key, {**data, "initiator": initiator.username})
        engine.run(workflow)
    except (SpiffWorkflowException, ExpressionError) as error:
        raise _engine_failure(error) from None
    _event(instance, EventKind.STARTED, actor=initiator)
    _sync_tasks(instance, workflow, actor=initiator)
    _save_state(instance, workflow, expected_revision=0)
    return instance


@transaction.atomic
def complete(*, task, user, outcome, comment=""):
    """Approve or reject an open task as `user`. The instance row is locked first, so when two
    members act on one task at once exactly one of them wins and the other is told so."""
    if outcome not in Outcome.values:
        raise ValidationError(_("Unknown outcome."))
    task_pk = task.pk if isinstance(task, WorkTask) else task
    instance_pk = WorkTask.objects.filter(pk=task_pk).values_list("instance_id", flat=True).first()
    if instance_pk is None:
        raise ValidationError(_("This task no longer exists."))
    instance = ProcessInstance.objects.select_for_update().select_related("definition", "initiator").get(pk=instance_pk)
    task = WorkTask.objects.select_related("completed_by").get(pk=task_pk)
    if task.status != TaskStatus.OPEN or instance.status != InstanceStatus.RUNNING:
        if task.status == TaskStatus.DONE and task.completed_by is not None:
            raise ValidationError(_("This task has already been completed by %(member)s.") % {"member": task.completed_by})
        raise ValidationError(_("This task is no longer open."))
    if not assignees.may_act(task, user):
        raise PermissionDenied(_("This task is not yours to complete."))
    expected_revision = instance.revision
    try:
        workflow = engine.load(instance.state)
        engine.complete_user_task(
            workflow, UUID(task.spiff_task_id),
            {"outcome": outcome, f"{task.bpmn_id}_outcome": outcome, f"{task.bpmn_id}_by": user.username},
        )
    except (SpiffWorkflowException, ExpressionError) as error:
        raise _engine_failure(error) from None
    task.status = TaskStatus.DONE
    task.outcome = outcome
    task.comment = comment
    task.completed = timezone.now()
    task.completed_by = user
    if task.assignee_id is None:
        task.assignee = user  # a role's task is now this member's
    task.save()
    _event(instance, OUTCOME_EVENTS[outcome], actor=user, task=task, comment=comment)
    _sync_tasks(instance, workflow, actor=user)
    _save_state(instance, workflow, expected_revision=expected_revision)
    return task


@transaction.atomic
def withdraw(*, instance, user, comment=""):
    """The initiator takes back a running instance: its open tasks are cancelled."""
    instance = ProcessInstance.objects.select_for_update().get(pk=instance.pk)
    if instance.initiator_id != user.pk:
        raise PermissionDenied(_("Only the initiator may withdraw this process."))
    if instance.status != InstanceStatus.RUNNING:
        raise ValidationError(_("This process has already finished."))
    expected_revision = instance.revision
    workflow = engine.load(instance.state)
    engine.cancel(workflow)
    now = timezone.now()
    instance.tasks.filter(status=TaskStatus.OPEN).update(status=TaskStatus.CANCELLED, completed=now)
    instance.status = InstanceStatus.WITHDRAWN
    instance.finished = now
    _event(instance, EventKind.WITHDRAWN, actor=user, comment=comment)
    _save_state(instance, workflow, expected_revision=expected_revision)
    return instance


# ---- queries -------------------------------------------------------------------------------


def open_tasks(user):
    """The open tasks `user` may act on (assigned to them, or open to one of their roles)."""
    return WorkTask.objects.filter(assignees.open_tasks_q(user), status=TaskStatus.OPEN)


def open_task_count(user):
    return open_tasks(user).count()


def may_view_instance(instance, user):
    """The initiator, anyone who has or had a step of it, and members whose grants show it."""
    if not user.is_authenticated:
        return False
    if user.is_superuser or instance.initiator_id == user.pk:
        return True
    if instance.tasks.filter(assignees.open_tasks_q(user) | models_q_done_by(user)).exists():
        return True
    return ProcessInstance.objects.restrict(user, "view").filter(pk=instance.pk).exists()


def models_q_done_by(user):
    from django.db.models import Q

    return Q(completed_by=user) | Q(assignee=user)
