"""The workflow service other modules call: deploy a BPMN definition, start an instance, and
every action on it — approve or reject (countersign included), return, delegate, ask for
assistance, add a signer, urge, comment, jump, withdraw, timers and deadlines. Every state
change is one transaction that locks the instance row, writes the engine's serialized state
with the next revision, the task rows and the audit trail together, so an instance survives
any restart, is never half-written, and two people acting at once are served one after the
other (the second is told when the first made their action pointless)."""

import datetime
import mimetypes
from pathlib import Path
from uuid import UUID

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils import translation
from django.utils.translation import gettext as _
from SpiffWorkflow.exceptions import SpiffWorkflowException

from . import assignees, engine
from .choices import EventKind, InstanceStatus, Outcome, ProcessKind, TaskKind, TaskStatus
from .expressions import ExpressionError
from .models import ProcessDefinition, ProcessInstance, TaskEvent, WorkTask

PROCESSES_DIR = Path(__file__).resolve().parent / "processes"
FIXED_PROCESSES = {"leave_request": "leave_request.bpmn"}
OUTCOME_EVENTS = {Outcome.APPROVE: EventKind.APPROVED, Outcome.REJECT: EventKind.REJECTED}
LIVE = (TaskStatus.OPEN, TaskStatus.WAITING)
URGE_COOL_DOWN = datetime.timedelta(hours=1)
MAX_NOTIFIED = 100  # an urge to a large role tells this many of its members


# ---- definitions -------------------------------------------------------------------------


def prepare_definition(*, definition, user=None):
    """Check `definition.xml` and fill in what is derived from it (key, version, task rules) on
    an unsaved definition; raises ValidationError (on the ``xml`` field) and changes nothing
    when the file is refused."""
    try:
        called = {key: d.xml for key, d in called_definitions(engine.called_processes(definition.xml)).items()}
        parsed = engine.read_definition(definition.xml, called=called)
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


def called_definitions(keys):
    """{process ID: latest active definition} for the processes `keys` and those they call in
    turn; a process that is not deployed is left out (deployment then says which)."""
    found, pending = {}, list(keys)
    while pending:
        key = pending.pop()
        if key in found:
            continue
        definition = latest_definition(key)
        if definition is None:
            continue
        found[key] = definition
        pending.extend(engine.called_processes(definition.xml))
    return found


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


def _notify(member, title, body, instance, event):
    from qinglan.extras.services import notify

    if member is None or not member.is_active:
        return
    with translation.override(member.language or settings.LANGUAGE_CODE):
        notify(user=member, title=str(title())[:200], body=str(body() if callable(body) else body), url=instance.get_page_url(), event=event)


class _Rules:
    """The step rules of an instance's own process and of the processes its call activities
    run, looked up by the process a task belongs to."""

    def __init__(self, instance):
        self.instance = instance
        self.by_definition = {}

    def __call__(self, spiff_task):
        pk = self.instance.called.get(engine.process_id_of(spiff_task))
        if pk is None:
            rules = self.instance.definition.task_rules
        else:
            if pk not in self.by_definition:
                self.by_definition[pk] = ProcessDefinition.objects.get(pk=pk).task_rules
            rules = self.by_definition[pk]
        return rules.get(spiff_task.task_spec.bpmn_id, {})


def _previous_approver(instance):
    row = instance.tasks.filter(kind=TaskKind.STEP, status=TaskStatus.DONE).exclude(completed_by=None).order_by("-completed", "-id").first()
    return row.completed_by if row is not None else None


def _due(rule, now):
    return now + engine.parse_duration(rule["due"]) if rule.get("due") else None


def _open_step(instance, spiff_task, rule, *, now):
    """The task rows of a step the engine now waits on: one for a plain step, one per signer of
    a countersign step (the first only, when they sign one after another)."""
    bpmn_id = spiff_task.task_spec.bpmn_id
    name = rule.get("name") or spiff_task.task_spec.bpmn_name or bpmn_id
    context = assignees.Context(initiator=instance.initiator, data=dict(spiff_task.data), previous_approver=_previous_approver(instance))
    fields = {"instance": instance, "spiff_task_id": str(spiff_task.id), "bpmn_id": bpmn_id, "name": name, "activation": instance.revision}
    countersign = rule.get("countersign")
    if countersign:
        signers = assignees.signers(rule.get("assignee", ""), context=context)
        if signers:
            for order, member in enumerate(signers):
                waiting = countersign["sequential"] and order > 0
                row = WorkTask.objects.create(
                    **fields, assignee=member, countersign=True, signer_order=order,
                    status=TaskStatus.WAITING if waiting else TaskStatus.OPEN, due=None if waiting else _due(rule, now),
                )
                if not waiting:
                    _event(instance, EventKind.ASSIGNED, task=row)
            _copy_to(instance, rule, context, name)
            return
        assignment = assignees.fallback_assignment(instance.definition.fallback_assignee)
    else:
        assignment = assignees.resolve(rule.get("assignee", ""), context=context, fallback=instance.definition.fallback_assignee)
    row = WorkTask.objects.create(
        **fields, assignee=assignment.assignee, candidate_role=assignment.role, candidate_department=assignment.department,
        candidate_position=assignment.position, for_administrators=assignment.for_administrators, due=_due(rule, now),
    )
    _event(instance, EventKind.ASSIGNED, task=row, comment=_("fallback: the step's rule found nobody") if assignment.fallback else "")
    _copy_to(instance, rule, context, name)


def _copy_to(instance, rule, context, step_name):
    """Members named by the step's copy rules get a copy (抄送): listed in their inbox, notified."""
    from .models import CopyRecipient

    if not rule.get("cc"):
        return
    members = assignees.signers(rule["cc"], context=context)
    for member in members:
        _copy, created = CopyRecipient.objects.get_or_create(instance=instance, member=member, defaults={"step": step_name})
        if created:
            _notify(
                member, lambda: _("Copied to you: %(title)s") % {"title": instance.title},
                lambda: _("At the step “%(step)s”, for your information.") % {"step": step_name}, instance, "workflow.copied",
            )
    if members:
        _event(instance, EventKind.COPIED, comment=", ".join(str(member) for member in members))


def _cancel_rows(instance, rows, *, now, reason=""):
    for row in rows:
        row.status = TaskStatus.CANCELLED
        row.completed = now
        row.save(update_fields=("status", "completed"))
        _event(instance, EventKind.CANCELLED, task=row, comment=reason)


def _sync_tasks(instance, workflow, *, actor=None, reason=""):
    """Open task rows for every user task the engine now waits on, cancel the rows of tasks it
    no longer waits on (with `reason` in the trail), and finish the instance when the workflow
    is complete. An instance returned to its initiator opens nothing until it is resubmitted."""
    now = timezone.now()
    ready = {str(task.id): task for task in engine.ready_user_tasks(workflow)}
    live = list(instance.tasks.filter(status__in=LIVE).exclude(kind=TaskKind.RESUBMIT).order_by("id"))
    returned = instance.status == InstanceStatus.RETURNED
    _cancel_rows(instance, [row for row in live if returned or row.spiff_task_id not in ready], now=now, reason=reason)
    if not returned:
        known = {row.spiff_task_id for row in live if row.kind == TaskKind.STEP and row.spiff_task_id in ready}
        rules = _Rules(instance)
        for task_id, task in ready.items():
            if task_id not in known:
                _open_step(instance, task, rules(task), now=now)
    if workflow.is_completed() and instance.status == InstanceStatus.RUNNING:
        last = instance.tasks.filter(status=TaskStatus.DONE, kind=TaskKind.STEP).exclude(outcome=Outcome.RETURN)
        rejected = last.order_by("-completed", "-id").values_list("outcome", flat=True).first() == Outcome.REJECT
        instance.status = InstanceStatus.REJECTED if rejected else InstanceStatus.APPROVED
        instance.finished = now
        _event(instance, EventKind.FINISHED, actor=actor, comment=instance.get_status_display())


def _save_state(instance, workflow, *, expected_revision):
    """Write the engine state with revision + 1, provided nobody wrote it since we read it."""
    state = engine.dump(workflow)
    written = ProcessInstance.objects.filter(pk=instance.pk, revision=expected_revision).update(
        state=state, revision=expected_revision + 1, status=instance.status, finished=instance.finished,
        next_timer=engine.next_timer(workflow) if instance.status == InstanceStatus.RUNNING else None, last_updated=timezone.now(),
    )
    if written != 1:
        raise ValidationError(_("Someone else has just acted on this process; reload the page and try again."))
    instance.state = state
    instance.revision = expected_revision + 1


def _load(instance):
    try:
        return engine.load(instance.state)
    except (SpiffWorkflowException, ExpressionError, ValueError, KeyError) as error:
        raise _engine_failure(error) from None


@transaction.atomic
def start(*, definition_key, initiator, record=None, data=None, title=""):
    """Start the latest active version of process `definition_key` for `initiator`, optionally
    about a business `record` (its owner, when it has one, becomes ``record_owner`` in the
    data), run it until it waits for people and assign their tasks."""
    definition = latest_definition(definition_key)
    if definition is None:
        raise ValidationError(_("There is no active process “%(key)s”.") % {"key": definition_key})
    data = dict(data or {})
    owner = getattr(record, "owner", None) if record is not None else None
    if owner is not None and "record_owner" not in data:
        data["record_owner"] = owner.username
    called = called_definitions(engine.called_processes(definition.xml))
    instance = ProcessInstance.objects.create(
        definition=definition, title=title or definition.name, initiator=initiator, data=data,
        called={key: called_definition.pk for key, called_definition in called.items()},
        content_type=ContentType.objects.get_for_model(record) if record is not None else None,
        object_id=str(record.pk) if record is not None else "",
    )
    try:
        workflow = engine.new_workflow(
            definition.xml, definition.key, {**data, "initiator": initiator.username}, called={key: d.xml for key, d in called.items()}
        )
        engine.run(workflow)
    except (SpiffWorkflowException, ExpressionError, engine.DefinitionError) as error:
        raise _engine_failure(error) from None
    _event(instance, EventKind.STARTED, actor=initiator)
    _sync_tasks(instance, workflow, actor=initiator)
    _save_state(instance, workflow, expected_revision=0)
    return instance


def _lock(task):
    """The instance of `task` locked for update, and the task row read after the lock."""
    task_pk = task.pk if isinstance(task, WorkTask) else task
    instance_pk = WorkTask.objects.filter(pk=task_pk).values_list("instance_id", flat=True).first()
    if instance_pk is None:
        raise ValidationError(_("This task no longer exists."))
    instance = ProcessInstance.objects.select_for_update().select_related("definition", "initiator").get(pk=instance_pk)
    task = WorkTask.objects.select_related("completed_by", "assignee").get(pk=task_pk)
    return instance, task


def _lock_instance(instance):
    pk = instance.pk if isinstance(instance, ProcessInstance) else instance
    return ProcessInstance.objects.select_for_update().select_related("definition", "initiator").get(pk=pk)


def _check_open(instance, task):
    if task.status != TaskStatus.OPEN or instance.status not in (InstanceStatus.RUNNING, InstanceStatus.RETURNED):
        if task.status == TaskStatus.DONE and task.completed_by is not None:
            raise ValidationError(_("This task has already been completed by %(member)s.") % {"member": task.completed_by})
        raise ValidationError(_("This task is no longer open."))


def _check_actor(task, user, message):
    if not assignees.may_act(task, user):
        raise PermissionDenied(message)


def _close_row(task, user, *, outcome="", comment="", now=None):
    task.status = TaskStatus.DONE
    task.outcome = outcome
    task.comment = comment
    task.completed = now or timezone.now()
    task.completed_by = user
    if task.assignee_id is None:
        task.assignee = user  # a role's task is now this member's
    task.save()


def signer_rows(task):
    """The rows of the signers of the countersign step `task` belongs to (this visit to it)."""
    return WorkTask.objects.filter(
        instance_id=task.instance_id, spiff_task_id=task.spiff_task_id, activation=task.activation, kind=TaskKind.STEP, countersign=True
    ).exclude(status=TaskStatus.CANCELLED)


def countersign_tally(task):
    rows = list(signer_rows(task))
    return {
        "approvals": sum(1 for row in rows if row.status == TaskStatus.DONE and row.outcome == Outcome.APPROVE),
        "rejections": sum(1 for row in rows if row.status == TaskStatus.DONE and row.outcome == Outcome.REJECT),
        "pending": sum(1 for row in rows if row.status in LIVE),
        "signers": len(rows),
    }


def _countersign_decision(countersign, tally):
    """approve, reject, or None while the signatures so far decide nothing."""
    needed = engine.quorum_needed(countersign, tally["signers"])
    if tally["approvals"] >= needed:
        return Outcome.APPROVE
    if tally["approvals"] + tally["pending"] < needed:
        return Outcome.REJECT
    return None


def _open_next_signer(instance, task, rule, *, now):
    waiting = signer_rows(task).filter(status=TaskStatus.WAITING).order_by("signer_order", "id").first()
    if waiting is not None and not signer_rows(task).filter(status=TaskStatus.OPEN).exists():
        waiting.status = TaskStatus.OPEN
        waiting.created = now
        waiting.due = _due(rule, now)
        waiting.save(update_fields=("status", "created", "due"))
        _event(instance, EventKind.ASSIGNED, task=waiting)


def _spiff_task(workflow, task):
    spiff_task = workflow.get_task_from_id(UUID(task.spiff_task_id))
    if spiff_task is None:
        raise ValidationError(_("This task is no longer open."))
    return spiff_task


def _engine_complete(workflow, task, outcome, user, extra=None):
    try:
        engine.complete_user_task(
            workflow, UUID(task.spiff_task_id),
            {"outcome": outcome, f"{task.bpmn_id}_outcome": outcome, f"{task.bpmn_id}_by": user.username, **(extra or {})},
        )
    except (SpiffWorkflowException, ExpressionError) as error:
        raise _engine_failure(error) from None


@transaction.atomic
def complete(*, task, user, outcome, comment=""):
    """Approve or reject an open task as `user`. The instance row is locked first, so when two
    members act on one task at once exactly one of them wins and the other is told so. In a
    countersign step the signature is counted; the step completes once the outcome is decided
    (the remaining signers' tasks are then cancelled) and otherwise the next signer's turn
    comes (sequential signing)."""
    if outcome not in (Outcome.APPROVE, Outcome.REJECT):
        raise ValidationError(_("Unknown outcome."))
    instance, task = _lock(task)
    _check_open(instance, task)
    if task.kind != TaskKind.STEP:
        raise ValidationError(_("This task is not a step to approve or reject."))
    _check_actor(task, user, _("This task is not yours to complete."))
    expected_revision = instance.revision
    workflow = _load(instance)
    now = timezone.now()
    _close_row(task, user, outcome=outcome, comment=comment, now=now)
    _event(instance, OUTCOME_EVENTS[outcome], actor=user, task=task, comment=comment)
    if task.countersign:
        rule = _Rules(instance)(_spiff_task(workflow, task))
        tally = countersign_tally(task)
        decision = _countersign_decision(rule["countersign"], tally)
        if decision is None:
            _open_next_signer(instance, task, rule, now=now)
            _save_state(instance, workflow, expected_revision=expected_revision)
            return task
        summary = _("%(outcome)s: %(approvals)d of %(signers)d approved, %(rejections)d rejected.") % {
            "outcome": Outcome(decision).label, **tally,
        }
        _cancel_rows(instance, list(signer_rows(task).filter(status__in=LIVE)), now=now, reason=summary)
        _event(instance, EventKind.DECIDED, actor=user, task=task, comment=summary)
        _engine_complete(workflow, task, decision, user, {f"{task.bpmn_id}_approvals": tally["approvals"], f"{task.bpmn_id}_rejections": tally["rejections"]})
    else:
        _engine_complete(workflow, task, outcome, user)
    _sync_tasks(instance, workflow, actor=user)
    _save_state(instance, workflow, expected_revision=expected_revision)
    return task


@transaction.atomic
def withdraw(*, instance, user, comment=""):
    """The initiator takes back a running instance: its open tasks are cancelled."""
    instance = _lock_instance(instance)
    if instance.initiator_id != user.pk:
        raise PermissionDenied(_("Only the initiator may withdraw this process."))
    if instance.status not in (InstanceStatus.RUNNING, InstanceStatus.RETURNED):
        raise ValidationError(_("This process has already finished."))
    expected_revision = instance.revision
    workflow = _load(instance)
    engine.cancel(workflow)
    now = timezone.now()
    instance.tasks.filter(status__in=LIVE).update(status=TaskStatus.CANCELLED, completed=now)
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
