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
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils import translation
from django.utils.translation import gettext as _
from SpiffWorkflow.exceptions import SpiffWorkflowException

from qinglan.core.permissions import may

from . import assignees, binding, engine
from .choices import CountersignMode, EventKind, InstanceStatus, Outcome, ProcessKind, TaskKind, SHIPPED_NAMES, TaskStatus, shown_name
from .expressions import ExpressionError
from .models import ProcessDefinition, ProcessInstance, TaskEvent, WorkTask

PROCESSES_DIR = Path(__file__).resolve().parent / "processes"
# {process ID: BPMN file}: the fixed processes modules ship (register_fixed_process)
FIXED_PROCESSES = {
    "leave_request": PROCESSES_DIR / "leave_request.bpmn",
    "expense_reimbursement": PROCESSES_DIR / "expense_claim.bpmn",  # started from its form on the start page
}
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
    definition.form_fields = parsed.form_fields
    definition.starters = parsed.starters
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


def copy_xml(definition):
    """(XML, new process ID) of a copy of `definition` (a template an administrator adapts): the
    same drawing, steps and form under the first free ID `<key>_copy`, `<key>_copy2`…; deploying
    it makes a new process, the original unchanged."""
    from lxml import etree

    taken = set(ProcessDefinition.objects.filter(key__startswith=f"{definition.key}_copy").values_list("key", flat=True).distinct())
    new_key = next(key for key in (f"{definition.key}_copy{n if n > 1 else ''}" for n in range(1, len(taken) + 2)) if key not in taken)
    root = engine._read_xml(definition.xml)
    for element in root.iter(f"{{{engine.BPMN_NS}}}process"):
        if element.get("id") == definition.key:
            element.set("id", new_key)
    for element in root.iter():
        if isinstance(element.tag, str) and element.get("bpmnElement") == definition.key:
            element.set("bpmnElement", new_key)
        if isinstance(element.tag, str) and element.get("processRef") == definition.key:
            element.set("processRef", new_key)
    return etree.tostring(root, encoding="unicode"), new_key


def register_fixed_process(key, path, *, names=None):
    """Ship the BPMN file at `path` (a module's own folder) as the fixed process `key` (its
    process ID). Call it from the module's AppConfig.ready(); ensure_fixed_processes() deploys
    it once per change of the file, and start() / submit_for_approval() deploy it on first use
    when no version of it is deployed yet. Registering the same key again with the same file
    does nothing; another file raises ImproperlyConfigured. `names`: {name as written in the
    file: translated name} of the process and its steps, shown in the member's language."""
    path = Path(path).resolve()
    if not key or not isinstance(key, str):
        raise ImproperlyConfigured("register_fixed_process: the key is the BPMN process ID (a non-empty string).")
    if not path.is_file():
        raise ImproperlyConfigured(f"register_fixed_process({key!r}): there is no file {path}.")
    known = FIXED_PROCESSES.get(key)
    if known is not None and Path(known).resolve() != path:
        raise ImproperlyConfigured(f"register_fixed_process({key!r}): already registered with {known}.")
    FIXED_PROCESSES[key] = path
    SHIPPED_NAMES.update(names or {})


def unregister_fixed_process(key):
    """Forget a registered fixed process (tests); its deployed versions stay."""
    FIXED_PROCESSES.pop(key, None)


def fixed_process_xml(key):
    return Path(FIXED_PROCESSES[key]).read_text(encoding="utf-8")


def ensure_fixed_process(key, *, _seen=None):
    """Deploy the registered fixed process `key` when its file differs from every deployed
    version of it (first the fixed processes it calls); returns the new definition or None."""
    seen = _seen if _seen is not None else set()
    if key in seen:
        return None
    seen.add(key)
    xml = fixed_process_xml(key)
    try:
        calls = engine.called_processes(xml)
    except engine.DefinitionError as error:
        raise ImproperlyConfigured(f"The fixed process {key!r} ({FIXED_PROCESSES[key]}) is refused: {error}") from None
    for called in calls:
        if called in FIXED_PROCESSES:
            ensure_fixed_process(called, _seen=seen)
    if ProcessDefinition.objects.filter(key=key, xml=xml).exists():
        return None
    try:
        with transaction.atomic():
            definition = deploy(xml=xml, kind=ProcessKind.FIXED)
            if definition.key != key:
                raise ImproperlyConfigured(
                    f"The fixed process {key!r} ({FIXED_PROCESSES[key]}) holds the process {definition.key!r}; its ID must be the key."
                )
    except IntegrityError:
        # deployed at the same moment by another request: theirs is the version
        if ProcessDefinition.objects.filter(key=key, xml=xml).exists():
            return None
        raise
    except ValidationError as error:
        raise ImproperlyConfigured(f"The fixed process {key!r} ({FIXED_PROCESSES[key]}) is refused: {'; '.join(error.messages)}") from None
    return definition


def ensure_fixed_processes():
    """Deploy the processes shipped with the modules (register_fixed_process), once per change
    of their file; returns the definitions deployed now."""
    deployed, seen = [], set()
    for key in list(FIXED_PROCESSES):
        definition = ensure_fixed_process(key, _seen=seen)
        if definition is not None:
            deployed.append(definition)
    return deployed


def _active_definition(key):
    """The latest active version of `key`; a registered fixed process that has never been
    deployed in this database is deployed first (a fresh install, a test database)."""
    definition = latest_definition(key)
    if definition is None and key in FIXED_PROCESSES and not ProcessDefinition.objects.filter(key=key).exists():
        ensure_fixed_process(key)
        definition = latest_definition(key)
    return definition


# ---- starting a process from its form ------------------------------------------------------------


def may_start(definition, user):
    """May `user` start `definition` from the start page: its starters rule (qinglan:starters:
    role:<name> or department:<code or ID>, a department counting its sub-departments) names
    them, or it names nobody (everyone may)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    rules = assignees.split_rules(definition.starters)
    if not rules or user.is_superuser:
        return True
    from qinglan.org.models import Role

    for rule in rules:
        prefix, _sep, value = rule.partition(":")
        if prefix == "role":
            role = Role.objects.filter(name=value).first()
            if role is not None and assignees.role_members(role).filter(pk=user.pk).exists():
                return True
        elif prefix == "department" and user.department_id is not None:
            department = assignees._department(value)
            if department is not None and user.department.path.startswith(department.path):
                return True
    return False


def deploy_new_fixed_processes():
    """Deploy the registered fixed processes that have no version in this database yet (a fresh
    install): the start page lists those with a form from the first visit."""
    deployed = set(ProcessDefinition.objects.filter(key__in=list(FIXED_PROCESSES)).values_list("key", flat=True).distinct())
    for key in FIXED_PROCESSES:
        if key not in deployed:
            ensure_fixed_process(key)


def _started_from_a_form(definition, bound):
    """May `definition` be started from the start page at all: a predefined or custom process,
    or a fixed one that declares a form (the expense claim; the leave request keeps its own
    page), and not bound to a business record (those start when the record is submitted)."""
    return definition.key not in bound and (definition.kind != ProcessKind.FIXED or bool(definition.form_fields))


def startable_definitions(user):
    """The latest active version of each process `user` may start from the start page
    (_started_from_a_form) whose starters rule lets them."""
    bound = binding.bound_process_keys()
    latest = {}
    rows = ProcessDefinition.objects.filter(active=True).exclude(key__in=bound).defer("xml", "task_rules").order_by("key", "-version")
    for definition in rows:
        latest.setdefault(definition.key, definition)
    shown = [definition for definition in latest.values() if _started_from_a_form(definition, bound) and may_start(definition, user)]
    return sorted(shown, key=lambda definition: str(shown_name(definition.name)))


def startable_definition(key, user):
    """The latest active version of `key` for the start page, or None when `user` may not
    start it from there."""
    return next((definition for definition in startable_definitions(user) if definition.key == key), None)


@transaction.atomic
def start_with_form(*, definition, user, data, files=None, title=""):
    """Start `definition` as `user` from its form: `data` and `files` (a POST) are validated
    against the declared fields (ValidationError with the field errors, in the member's language,
    and nothing started when they do not hold); the values become the process data and the
    attachments files of the instance."""
    from . import processforms

    if not may_start(definition, user) or not _started_from_a_form(definition, binding.bound_process_keys()):
        raise PermissionDenied(_("You may not start this process."))
    if not definition.active:
        raise ValidationError(_("There is no active process “%(key)s”.") % {"key": definition.key})
    form = processforms.ProcessForm(definition.form_fields, data, files)
    if not form.is_valid():
        raise ValidationError(form.errors.as_data())
    values, uploads = {}, {}
    for entry in definition.form_fields:
        value = form.cleaned_data.get(entry["name"])
        if entry["type"] == "attachment":
            if value:
                uploads[entry["name"]] = (value, _check_upload(value))
                values[entry["name"]] = {"name": uploads[entry["name"]][1], "size": value.size}
            else:
                values[entry["name"]] = None
        else:
            values[entry["name"]] = processforms.to_data(entry, value)
    title = title or _("%(process)s: %(member)s") % {"process": shown_name(definition.name), "member": user}
    instance = start(definition_key=definition.key, initiator=user, data=values, title=str(title)[:200], definition=definition)
    if uploads:
        for name, (upload, filename) in uploads.items():
            instance.data[name] = _save_form_file(instance, user, upload, filename)
        ProcessInstance.objects.filter(pk=instance.pk).update(data=instance.data)
    return instance


def called_definition(instance, key):
    """The version of the called process `key` the instance runs (fixed when it started), read
    once per instance object."""
    cache = instance.__dict__.setdefault("_called_definitions", {})
    if key not in cache:
        cache[key] = ProcessDefinition.objects.defer("xml").get(pk=instance.called[key])
    return cache[key]


def step_definition(instance, task):
    """The definition whose step rules and form a task row's step follows: the process its call
    activity runs, when the step is inside a called process, else the instance's own."""
    if task.process_key and task.process_key in instance.called:
        return called_definition(instance, task.process_key)
    return instance.definition


def form_sections(instance, user):
    """[(definition, {field name: "readonly" or "hidden"})] of the process forms of the instance
    as `user` sees them: its own process's first, then the form of each called process (call
    activity) it has reached — a called process's steps follow only its own form and its own
    per-step fields, never the caller's (the values go between them by name, as the engine hands
    the data to the called process and back). The initiator and administrators see every field;
    a member with steps in the instance (open or done, delegated included) sees, in the form of
    each process they have a step in, a field unless each of their steps there hides it, and
    nothing of the forms of the processes they have no step in; anyone else (a copy, a viewer
    of the record) sees the fields no step of their process hides."""
    from . import processforms

    keys = set(instance.tasks.exclude(process_key="").values_list("process_key", flat=True).distinct())
    definitions = [("", instance.definition)] + [
        (key, called_definition(instance, key)) for key in instance.called if key in keys
    ]
    definitions = [(key, definition) for key, definition in definitions if definition.form_fields]
    if not definitions:
        return []
    whole = is_administrator(user) or instance.initiator_id == user.pk
    steps = {}
    if not whole:
        for key, bpmn_id in instance.tasks.filter(assignees.open_tasks_q(user) | models_q_done_by(user)).values_list("process_key", "bpmn_id"):
            steps.setdefault(key, set()).add(bpmn_id)
    sections = []
    for key, definition in definitions:
        names = [entry["name"] for entry in definition.form_fields]
        rules = definition.task_rules

        def hidden_at(step, name):
            return rules.get(step, {}).get("fields", {}).get(name) == processforms.HIDDEN

        if whole:
            shown = set(names)
        elif steps:
            shown = {name for name in names if any(not hidden_at(step, name) for step in steps.get(key, ()))}
        else:
            shown = {name for name in names if not any(hidden_at(step, name) for step in rules)}
        sections.append((definition, {name: processforms.READONLY if name in shown else processforms.HIDDEN for name in names}))
    return sections


def field_modes(instance, user, sections=None):
    """{field name: "readonly" or "hidden"} over every form of the instance (form_sections, or
    the `sections` read already): a field is shown when one of the forms shows it to `user`."""
    from . import processforms

    modes = {}
    for _definition, section in form_sections(instance, user) if sections is None else sections:
        for name, mode in section.items():
            if modes.get(name) != processforms.READONLY:
                modes[name] = mode
    return modes


def _save_form_file(instance, user, upload, filename):
    """A file of a form field, kept as an attachment of the instance; its data value."""
    from qinglan.extras.models import Attachment

    attachment = Attachment(
        record=instance, uploaded_by=user, name=filename, size=upload.size,
        mime_type=mimetypes.guess_type(filename)[0] or "application/octet-stream",
    )
    attachment.file.save(filename, upload, save=False)
    attachment.save()
    return {"name": filename, "size": upload.size, "attachment": attachment.pk}


# ---- instances -------------------------------------------------------------------------------


def _event(instance, kind, *, actor=None, task=None, comment=""):
    return TaskEvent.objects.create(instance=instance, kind=kind, actor=actor, task=task, comment=comment)


def _domain_event(instance, verb, *, user=None):
    """``workflow.processinstance.started|finished|withdrawn`` for the modules whose records
    go through approval: the data names the process, the outcome and the business record, so a
    subscriber moves its record's status through its own services."""
    from qinglan.core.events import queue_event

    record_type = f"{instance.content_type.app_label}.{instance.content_type.model}" if instance.content_type_id else ""
    queue_event(
        f"workflow.processinstance.{verb}", record=instance, user=user,
        data={"definition": instance.definition.key, "status": instance.status, "record_type": record_type, "record_id": instance.object_id},
    )


def _engine_failure(error):
    return ValidationError(engine.engine_error_message(error))


def _notify(member, title, body, instance, event, *, mail=False):
    """An in-app notification in the member's language; with `mail`, also a mail (sent by the
    worker once the transaction has committed) when the member has an address."""
    from qinglan.extras.services import notify

    if member is None or not member.is_active:
        return
    with translation.override(member.language or settings.LANGUAGE_CODE):
        title_text, body_text = str(title())[:200], str(body() if callable(body) else body)
        notify(user=member, title=title_text, body=body_text, url=instance.get_page_url(), event=event)
        if mail and member.email:
            from . import tasks

            transaction.on_commit(lambda: tasks.send_mail(member.email, title_text, body_text))


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
    process_key = engine.process_id_of(spiff_task)
    fields = {
        "instance": instance, "spiff_task_id": str(spiff_task.id), "bpmn_id": bpmn_id, "name": name, "activation": instance.revision,
        "process_key": process_key if process_key in instance.called else "",
    }
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
        outcome, comment = last.order_by("-completed", "-id").values_list("outcome", "comment").first() or ("", "")
        rejected = outcome == Outcome.REJECT
        instance.status = InstanceStatus.REJECTED if rejected else InstanceStatus.APPROVED
        instance.finished = now
        _event(instance, EventKind.FINISHED, actor=actor, comment=instance.get_status_display())
        _domain_event(instance, "finished", user=actor)
        instance.settle_record = (actor, comment if rejected else "")


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
    settle = instance.__dict__.pop("settle_record", None)
    if settle is not None:
        _settle_record(instance, user=settle[0], reason=settle[1])


def _settle_record(instance, *, user, reason):
    """The instance has just ended (its final status written, so the record is no longer
    locked): the binding of its record calls the module back, in this transaction — a refusal
    (ValidationError) undoes the action that ended it."""
    bound = binding.binding_of_instance(instance)
    if bound is None:
        return
    callback = {
        InstanceStatus.APPROVED: bound.on_approved, InstanceStatus.REJECTED: bound.on_rejected, InstanceStatus.WITHDRAWN: bound.on_withdrawn,
    }.get(instance.status)
    if callback is None:
        return
    record = bound.model._base_manager.filter(pk=instance.object_id).first()
    if record is None:
        _event(instance, EventKind.COMMENTED, comment=_("The record of this process no longer exists; nothing was done with it."))
        return
    if instance.status == InstanceStatus.APPROVED:
        callback(record, user)
    else:
        callback(record, user, reason)


def _load(instance):
    try:
        return engine.load(instance.state)
    except (SpiffWorkflowException, ExpressionError, ValueError, KeyError) as error:
        raise _engine_failure(error) from None


@transaction.atomic
def start(*, definition_key, initiator, record=None, data=None, title="", definition=None):
    """Start the latest active version of process `definition_key` (or the version
    `definition`) for `initiator`, optionally about a business `record` (its owner, when it
    has one, becomes ``record_owner`` in the data), run it until it waits for people and assign
    their tasks. A registered fixed process that was never deployed here is deployed first."""
    if definition is not None:
        definition = ProcessDefinition.objects.get(pk=definition.pk)  # with its XML, whatever the caller loaded
    else:
        definition = _active_definition(definition_key)
    if definition is None:
        raise ValidationError(_("There is no active process “%(key)s”.") % {"key": definition_key})
    data = dict(data or {})
    owner = getattr(getattr(record, "owner", None), "username", None) if record is not None else None
    if owner and "record_owner" not in data:
        data["record_owner"] = owner
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
    _domain_event(instance, "started", user=initiator)
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


FORM_PREFIX = "field"  # the inputs of a step's editable fields are named field-<name>


def editable_fields(instance, task):
    """The declared form fields `task`'s step lets its approver change (qinglan:fields): of the
    form of the process the step is in (a called process's own form for its steps)."""
    from . import processforms

    if task.kind != TaskKind.STEP:
        return []
    definition = step_definition(instance, task)
    modes = definition.task_rules.get(task.bpmn_id, {}).get("fields", {})
    return [entry for entry in definition.form_fields if modes.get(entry["name"]) == processforms.EDITABLE]


def step_form(instance, task, data=None, files=None):
    """The form of the fields the approver may change at `task`'s step, filled with the
    instance's values; None when the step lets them change nothing."""
    from . import processforms

    entries = editable_fields(instance, task)
    if not entries:
        return None
    return processforms.ProcessForm(entries, data, files, values=instance.data, prefix=FORM_PREFIX)


def resubmit_fields(instance):
    """The declared form fields the initiator may correct while the instance is returned to
    them: every one. The definition has no step of the initiator's (a returned request is
    revised outside the drawing), so no qinglan:fields rule hides a field from them, and they see
    the whole form anyway (field_modes). None when the instance is about a business record: its
    data comes from the record, not from a form."""
    if instance.content_type_id:
        return []
    return list(instance.definition.form_fields)


def resubmit_form(instance, data=None, files=None):
    """The process form the initiator corrects on resubmit, filled with the instance's current
    values; None when there is nothing to correct."""
    from . import processforms

    entries = resubmit_fields(instance)
    if not entries:
        return None
    return processforms.ProcessForm(entries, data, files, values=instance.data, prefix=FORM_PREFIX)


def _submitted_fields(form_data, form_files):
    start = f"{FORM_PREFIX}-"
    return {key[len(start):] for key in [*(form_data or {}), *(form_files or {})] if key.startswith(start)}


def _form_edits(instance, task, user, form_data, form_files):
    """Check the approver's changes of the form at `task`'s step: a field the step does not let
    them change is refused, the values are validated like the start form; returns
    {name: (entry, old value, new value)} of what changed, writing nothing."""
    editable = {entry["name"] for entry in editable_fields(instance, task)}
    refusal = _("These fields cannot be changed at this step: %(fields)s.")
    form = step_form(instance, task, form_data, form_files)
    return _checked_edits(instance, step_definition(instance, task).form_fields, editable, refusal, form, form_data, form_files)


def _checked_edits(instance, form_fields, editable, refusal, form, form_data, form_files):
    """{name: (entry, old value, new value)} of what `form` (the fields of `form_fields` named
    `editable`) changes; a posted field outside them is refused with `refusal`, a bad value with
    the field's errors; nothing is written."""
    from . import processforms

    entries = {entry["name"]: entry for entry in form_fields}
    refused = sorted(name for name in _submitted_fields(form_data, form_files) if name not in editable)
    if refused:
        labels = ", ".join(str(shown_name(entries[name]["label"])) if name in entries else name for name in refused)
        raise ValidationError(refusal % {"fields": labels})
    if form is None:
        return {}
    if not form.is_valid():
        messages = [f"{form.fields[name].label}: {' '.join(errors)}" for name, errors in form.errors.items()]
        raise ValidationError(messages)
    changed = {}
    for name in [name for name in entries if name in editable]:  # in the form's order
        entry, old, value = entries[name], instance.data.get(name), form.cleaned_data.get(name)
        if entry["type"] == "attachment":
            if value:
                changed[name] = (entry, old, value)  # saved once everything else holds
            continue
        new = processforms.to_data(entry, value)
        if new != old:
            changed[name] = (entry, old, new)
    return changed


def _apply_edits(instance, task, user, edits):
    """Store the approver's changes in the instance data and say in the trail what changed."""
    from . import processforms

    if not edits:
        return
    data = dict(instance.data)
    lines = {}
    members = processforms.members_named(
        value for entry, old, new in edits.values() if entry["type"] == "member" for value in (old, new) if value
    )
    for name, (entry, old, new) in edits.items():
        if entry["type"] == "attachment":
            new = _save_form_file(instance, user, new, _check_upload(new))
        data[name] = new
        label = shown_name(entry["label"])
        lines[name] = f"{label}: {processforms.shown_value(entry, old, members)} → {processforms.shown_value(entry, new, members)}"
    instance.data = data
    ProcessInstance.objects.filter(pk=instance.pk).update(data=data)
    TaskEvent.objects.create(instance=instance, kind=EventKind.CHANGED, actor=user, task=task, comment="\n".join(lines.values()), changes=lines)


def _form_values(instance, definition=None):
    """The current values of the fields of the form of `definition` (the instance's own by
    default; a called process's for a step inside it), for the engine's data when a step
    completes (gateways after an approver's changes read the changed values)."""
    definition = definition or instance.definition
    return {entry["name"]: instance.data.get(entry["name"]) for entry in definition.form_fields}


@transaction.atomic
def complete(*, task, user, outcome, comment="", form_data=None, form_files=None):
    """Approve or reject an open task as `user`. The instance row is locked first, so when two
    members act on one task at once exactly one of them wins and the other is told so. In a
    countersign step the signature is counted; the step completes once the outcome is decided
    (the remaining signers' tasks are then cancelled) and otherwise the next signer's turn
    comes (sequential signing). On approval, `form_data` / `form_files` (a POST, inputs named
    field-<name>) change the form fields the step makes editable: validated, stored in the
    instance data and recorded in the trail; a field the step does not let them change is
    refused (ValidationError) and nothing is done."""
    if outcome not in (Outcome.APPROVE, Outcome.REJECT):
        raise ValidationError(_("Unknown outcome."))
    instance, task = _lock(task)
    _check_open(instance, task)
    if task.kind != TaskKind.STEP:
        raise ValidationError(_("This task is not a step to approve or reject."))
    _check_actor(task, user, _("This task is not yours to complete."))
    edits = _form_edits(instance, task, user, form_data, form_files) if outcome == Outcome.APPROVE and (form_data or form_files) else {}
    expected_revision = instance.revision
    workflow = _load(instance)
    now = timezone.now()
    _close_row(task, user, outcome=outcome, comment=comment, now=now)
    _apply_edits(instance, task, user, edits)
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
        _engine_complete(
            workflow, task, decision, user,
            {**_form_values(instance, step_definition(instance, task)), f"{task.bpmn_id}_approvals": tally["approvals"], f"{task.bpmn_id}_rejections": tally["rejections"]},
        )
    else:
        _engine_complete(workflow, task, outcome, user, _form_values(instance, step_definition(instance, task)))
    _sync_tasks(instance, workflow, actor=user)
    _save_state(instance, workflow, expected_revision=expected_revision)
    return task


@transaction.atomic
def withdraw(*, instance, user, comment=""):
    """The initiator takes back a running instance: its open tasks are cancelled."""
    instance = _lock_instance(instance)
    if instance.initiator_id != user.pk:
        raise PermissionDenied(_("Only the initiator may withdraw this process."))
    return _withdraw(instance, user, comment)


def _withdraw(instance, user, comment):
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
    _domain_event(instance, "withdrawn", user=user)
    instance.settle_record = (user, comment)
    _save_state(instance, workflow, expected_revision=expected_revision)
    return instance


# ---- actions on a task ------------------------------------------------------------------------


def is_administrator(user):
    return bool(user is not None and user.is_authenticated and user.is_active and user.is_superuser)


def _active_member(member):
    if member is None or not member.is_active:
        raise ValidationError(_("Choose an active member."))
    return member


def previous_step(instance, task, workflow):
    """The step approved last on the path that led to `task`'s step (not one on a parallel
    branch), or None."""
    rows = (
        instance.tasks.filter(kind=TaskKind.STEP, status=TaskStatus.DONE, outcome=Outcome.APPROVE)
        .exclude(spiff_task_id=task.spiff_task_id)
        .order_by("-completed", "-id")
    )
    current = UUID(task.spiff_task_id)
    for row in rows:
        earlier = UUID(row.spiff_task_id)
        if workflow.get_task_from_id(earlier) is not None and engine.leads_to(workflow, earlier, current):
            return row
    return None


@transaction.atomic
def return_task(*, task, user, to="previous", comment=""):
    """Send the instance back from an open step: to the step before it (it opens again for
    whoever the rule finds now), or to the initiator, who may resubmit or withdraw. The task is
    closed as returned, the rest of the step's tasks are cancelled, and the trail says so."""
    if to not in ("previous", "initiator"):
        raise ValidationError(_("Return to the previous step or to the initiator."))
    if not comment.strip():
        raise ValidationError(_("Say why you return it."))
    instance, task = _lock(task)
    _check_open(instance, task)
    if task.kind != TaskKind.STEP or instance.status != InstanceStatus.RUNNING:
        raise ValidationError(_("Only an open step of a running process can be returned."))
    _check_actor(task, user, _("Only whoever may act on this step may return it."))
    expected_revision = instance.revision
    workflow = _load(instance)
    now = timezone.now()
    if to == "previous":
        previous = previous_step(instance, task, workflow)
        if previous is None:
            raise ValidationError(_("There is no step before this one; return it to the initiator instead."))
        try:
            engine.return_to(workflow, UUID(previous.spiff_task_id))
        except (SpiffWorkflowException, ExpressionError) as error:
            raise _engine_failure(error) from None
        label = _("Returned to the step “%(step)s”: %(comment)s") % {"step": previous.label, "comment": comment}
    else:
        # the first step of this run (a resubmit with corrections runs it again from the start)
        steps = instance.tasks.filter(kind=TaskKind.STEP).order_by("created", "id").values_list("spiff_task_id", flat=True)
        first_id = next((UUID(step) for step in steps if engine.has_task(workflow, UUID(step))), None)
        if first_id is not None and not engine.is_ready(workflow, first_id):
            try:
                engine.return_to(workflow, first_id)
            except (SpiffWorkflowException, ExpressionError) as error:
                raise _engine_failure(error) from None
        instance.status = InstanceStatus.RETURNED
        label = _("Returned to the initiator: %(comment)s") % {"comment": comment}
    _close_row(task, user, outcome=Outcome.RETURN, comment=comment, now=now)
    _event(instance, EventKind.RETURNED, actor=user, task=task, comment=label)
    _sync_tasks(instance, workflow, actor=user, reason=label)
    if to == "initiator":
        WorkTask.objects.create(
            instance=instance, kind=TaskKind.RESUBMIT, spiff_task_id="", bpmn_id="", name="Revise and resubmit",
            assignee=instance.initiator, activation=instance.revision,
        )
        _notify(
            instance.initiator, lambda: _("Returned to you: %(title)s") % {"title": instance.title},
            lambda: _("%(member)s returned it: %(comment)s") % {"member": user, "comment": comment}, instance, "workflow.returned",
        )
    _save_state(instance, workflow, expected_revision=expected_revision)
    return task


@transaction.atomic
def resubmit(*, instance, user, comment="", form_data=None, form_files=None):
    """The initiator sends a returned instance on again, from the step it was returned to.
    `form_data` / `form_files` (a POST, inputs named field-<name>) correct the process form
    (resubmit_fields): validated like the start form (ValidationError, nothing done, when they
    do not hold), the changes stored in the instance data and recorded in the trail as "form
    data changed"; the process then runs again from its start with the new values, so every
    gateway on the way reads them. Without such inputs it goes on unchanged."""
    instance = _lock_instance(instance)
    if instance.initiator_id != user.pk:
        raise PermissionDenied(_("Only the initiator may resubmit this process."))
    if instance.status != InstanceStatus.RETURNED:
        raise ValidationError(_("This process is not waiting to be resubmitted."))
    edits = {}
    if _submitted_fields(form_data, form_files):
        editable = {entry["name"] for entry in resubmit_fields(instance)}
        refusal = _("These fields cannot be changed on resubmitting: %(fields)s.")
        form = resubmit_form(instance, form_data, form_files)
        edits = _checked_edits(instance, instance.definition.form_fields, editable, refusal, form, form_data, form_files)
    expected_revision = instance.revision
    workflow = _load(instance)
    now = timezone.now()
    resubmit_rows = list(instance.tasks.filter(kind=TaskKind.RESUBMIT, status=TaskStatus.OPEN))
    _apply_edits(instance, resubmit_rows[0] if resubmit_rows else None, user, edits)
    if edits:
        try:
            engine.restart_with(workflow, _form_values(instance))
        except (SpiffWorkflowException, ExpressionError) as error:
            raise _engine_failure(error) from None
    for row in resubmit_rows:
        _close_row(row, user, comment=comment, now=now)
    instance.status = InstanceStatus.RUNNING
    _event(instance, EventKind.RESUBMITTED, actor=user, comment=comment)
    _sync_tasks(instance, workflow, actor=user)
    _save_state(instance, workflow, expected_revision=expected_revision)
    return instance


@transaction.atomic
def delegate(*, task, user, to, comment=""):
    """Hand an open task to another member (任務委派): it leaves the delegator's inbox and
    appears in the delegate's; the trail keeps who delegated to whom. The assignee (or any
    member who may act on a task open to several) and administrators may delegate."""
    instance, task = _lock(task)
    _check_open(instance, task)
    if task.kind == TaskKind.RESUBMIT:
        raise ValidationError(_("A returned request is revised by its initiator and cannot be delegated."))
    if not (assignees.may_act(task, user) or is_administrator(user)):
        raise PermissionDenied(_("Only the assignee or an administrator may delegate this task."))
    to = _active_member(to)
    if to.pk == task.assignee_id or (task.assignee_id is None and to.pk == user.pk):
        raise ValidationError(_("The task is already theirs."))
    if task.countersign and signer_rows(task).filter(assignee=to).exists():
        raise ValidationError(_("%(member)s already signs this step.") % {"member": to})
    before = task.assignee or task.candidate_role or task.candidate_department or task.candidate_position or _("administrators")
    task.delegated_from = task.assignee or user
    task.assignee = to
    task.candidate_role = task.candidate_department = task.candidate_position = None
    task.for_administrators = False
    task.save(update_fields=("assignee", "delegated_from", "candidate_role", "candidate_department", "candidate_position", "for_administrators"))
    _event(instance, EventKind.DELEGATED, actor=user, task=task, comment=_("%(from)s → %(to)s. %(comment)s") % {"from": before, "to": to, "comment": comment})
    _notify(
        to, lambda: _("Delegated to you: %(step)s — %(title)s") % {"step": task.label, "title": instance.title},
        lambda: _("%(member)s delegated this task to you. %(comment)s") % {"member": user, "comment": comment}, instance, "workflow.delegated",
    )
    _bump(instance)
    return task


def _bump(instance):
    """Count an action that changes no engine state in the revision, so concurrent actions on the
    same instance still see each other."""
    written = ProcessInstance.objects.filter(pk=instance.pk, revision=instance.revision).update(revision=instance.revision + 1, last_updated=timezone.now())
    if written != 1:
        raise ValidationError(_("Someone else has just acted on this process; reload the page and try again."))
    instance.revision += 1


@transaction.atomic
def ask_assist(*, task, user, member, comment=""):
    """Ask another member to assist (協辦) on an open step: they get a side task whose comment is
    recorded in the trail. The step does not wait for it: its assignee may decide at any time,
    and assistance still open then is cancelled."""
    instance, task = _lock(task)
    _check_open(instance, task)
    if task.kind != TaskKind.STEP:
        raise ValidationError(_("Assistance is asked on a step."))
    _check_actor(task, user, _("Only whoever may act on this step may ask for assistance."))
    member = _active_member(member)
    if member.pk == user.pk:
        raise ValidationError(_("Ask someone other than yourself."))
    if task.assists.filter(assignee=member, status=TaskStatus.OPEN).exists():
        raise ValidationError(_("%(member)s has already been asked to assist on this step.") % {"member": member})
    assist = WorkTask.objects.create(
        instance=instance, kind=TaskKind.ASSIST, parent=task, spiff_task_id=task.spiff_task_id, bpmn_id=task.bpmn_id,
        name=task.name, assignee=member, activation=task.activation, comment=comment,
    )
    _event(instance, EventKind.ASSIST_ASKED, actor=user, task=assist, comment=_("%(member)s: %(comment)s") % {"member": member, "comment": comment})
    _notify(
        member, lambda: _("Please assist: %(step)s — %(title)s") % {"step": task.label, "title": instance.title},
        lambda: _("%(member)s asks for your opinion. %(comment)s") % {"member": user, "comment": comment}, instance, "workflow.assist",
    )
    _bump(instance)
    return assist


@transaction.atomic
def answer_assist(*, task, user, comment):
    """The assisting member gives their opinion; it is recorded on the trail of the step."""
    instance, task = _lock(task)
    _check_open(instance, task)
    if task.kind != TaskKind.ASSIST:
        raise ValidationError(_("This task is not a request for assistance."))
    _check_actor(task, user, _("Only the member asked may answer this request for assistance."))
    if not comment.strip():
        raise ValidationError(_("Write your opinion."))
    _close_row(task, user, comment=comment)
    _event(instance, EventKind.ASSISTED, actor=user, task=task, comment=comment)
    if task.parent is not None and task.parent.assignee is not None:
        _notify(
            task.parent.assignee, lambda: _("%(member)s assisted: %(title)s") % {"member": user, "title": instance.title},
            comment[:500], instance, "workflow.assisted",
        )
    _bump(instance)
    return task


@transaction.atomic
def add_signer(*, task, user, member, comment=""):
    """Add a signer (加簽) to the countersign step `task` belongs to: a signer who may act on it
    or an administrator may; the new signer signs in parallel, or last when they sign in turn."""
    instance, task = _lock(task)
    if not task.countersign or task.kind != TaskKind.STEP:
        raise ValidationError(_("Signers are added to countersign steps only."))
    if instance.status != InstanceStatus.RUNNING or not signer_rows(task).filter(status__in=LIVE).exists():
        raise ValidationError(_("This step has already been decided."))
    may = is_administrator(user) or signer_rows(task).filter(status=TaskStatus.OPEN, assignee=user).exists()
    if not may:
        raise PermissionDenied(_("Only a signer of this step or an administrator may add a signer."))
    member = _active_member(member)
    if signer_rows(task).filter(assignee=member).exists():
        raise ValidationError(_("%(member)s already signs this step.") % {"member": member})
    workflow = _load(instance)
    rule = _Rules(instance)(_spiff_task(workflow, task))
    sequential = rule["countersign"]["sequential"]
    last = signer_rows(task).order_by("-signer_order").first()
    now = timezone.now()
    row = WorkTask.objects.create(
        instance=instance, spiff_task_id=task.spiff_task_id, bpmn_id=task.bpmn_id, name=task.name, activation=task.activation,
        assignee=member, countersign=True, signer_order=last.signer_order + 1,
        status=TaskStatus.WAITING if sequential else TaskStatus.OPEN, due=None if sequential else _due(rule, now),
    )
    _event(instance, EventKind.SIGNER_ADDED, actor=user, task=row, comment=_("%(member)s. %(comment)s") % {"member": member, "comment": comment})
    if sequential:
        _open_next_signer(instance, row, rule, now=now)
    else:
        _event(instance, EventKind.ASSIGNED, task=row)
    _bump(instance)
    return row


def _who_may_act(task):
    if task.assignee_id is not None:
        return [task.assignee]
    if task.candidate_role_id is not None:
        return list(assignees.role_members(task.candidate_role)[:MAX_NOTIFIED])
    if task.candidate_department_id is not None:
        return list(assignees.department_members(task.candidate_department)[:MAX_NOTIFIED])
    if task.candidate_position_id is not None:
        return list(assignees.position_members(task.candidate_position)[:MAX_NOTIFIED])
    from qinglan.org.models import User

    return list(User.objects.filter(is_superuser=True, is_active=True)[:MAX_NOTIFIED])


@transaction.atomic
def urge(*, instance, user, comment=""):
    """Remind whoever the open steps wait on (催辦), by notification. The initiator and
    administrators may urge, once an hour per step."""
    instance = _lock_instance(instance)
    if instance.initiator_id != user.pk and not is_administrator(user):
        raise PermissionDenied(_("Only the initiator or an administrator may urge this process."))
    if instance.status != InstanceStatus.RUNNING:
        raise ValidationError(_("Only a running process can be urged."))
    now = timezone.now()
    steps = list(instance.tasks.filter(status=TaskStatus.OPEN, kind__in=(TaskKind.STEP, TaskKind.ASSIST)).select_related("assignee", "candidate_role"))
    urgeable = [task for task in steps if task.last_urged is None or task.last_urged + URGE_COOL_DOWN <= now]
    if not urgeable:
        if not steps:
            raise ValidationError(_("No step is waiting on anyone."))
        again = min(task.last_urged for task in steps) + URGE_COOL_DOWN
        raise ValidationError(_("It was urged a short while ago; you may urge again from %(time)s.") % {"time": timezone.localtime(again).strftime("%H:%M")})
    notified = []
    for task in urgeable:
        for member in _who_may_act(task):
            if member.pk in {m.pk for m in notified}:
                continue
            notified.append(member)
            _notify(
                member, lambda task=task: _("Reminder: %(step)s — %(title)s waits for you") % {"step": task.label, "title": instance.title},
                lambda: _("%(member)s urges: %(comment)s") % {"member": user, "comment": comment} if comment else _("%(member)s asks you to act on it soon.") % {"member": user},
                instance, "workflow.urged", mail=True,
            )
        task.last_urged = now
        task.save(update_fields=("last_urged",))
    _event(instance, EventKind.URGED, actor=user, comment=comment or ", ".join(str(member) for member in notified))
    _bump(instance)
    return notified


def _check_upload(upload):
    limit = settings.QINGLAN_MAX_UPLOAD_MB * 1024 * 1024
    if upload.size > limit:
        raise ValidationError(
            _("The file is too large (%(size)s MB); the limit is %(limit)s MB.") % {"size": round(upload.size / 1048576, 1), "limit": settings.QINGLAN_MAX_UPLOAD_MB}
        )
    name = upload.name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension in settings.QINGLAN_REFUSED_UPLOAD_EXTENSIONS:
        raise ValidationError(_("Files of type .%(ext)s are not accepted.") % {"ext": extension})
    if upload.size == 0:
        raise ValidationError(_("The file is empty."))
    return name[:200]


@transaction.atomic
def comment(*, instance, user, text, files=()):
    """A comment on an instance, with attachments (extras Attachment, on the comment's trail
    entry). Whoever may see the instance may comment, also after it finished."""
    from qinglan.extras.models import Attachment

    instance = _lock_instance(instance)
    if not may_view_instance(instance, user):
        raise PermissionDenied(_("You may not see this process."))
    if not text.strip() and not files:
        raise ValidationError(_("Write a comment or attach a file."))
    names = [_check_upload(upload) for upload in files]
    event = _event(instance, EventKind.COMMENTED, actor=user, comment=text.strip())
    for upload, name in zip(files, names):
        attachment = Attachment(
            record=event, uploaded_by=user, name=name, size=upload.size, mime_type=mimetypes.guess_type(name)[0] or "application/octet-stream"
        )
        attachment.file.save(name, upload, save=False)
        attachment.save()
    _bump(instance)
    return event


def shown_changes(event, modes):
    """The lines of a "form data changed" event about the fields `modes` (field_modes) does not
    hide from the member looking at it."""
    from . import processforms

    if not event.changes:
        return event.comment
    return "\n".join(line for name, line in event.changes.items() if modes.get(name) != processforms.HIDDEN)


def event_attachments(events):
    """{event pk: [Attachment]} for a page of trail entries."""
    from qinglan.extras.models import Attachment

    content_type = ContentType.objects.get_for_model(TaskEvent)
    found = {}
    for attachment in Attachment.objects.filter(content_type=content_type, object_id__in=[event.pk for event in events]).order_by("id"):
        found.setdefault(attachment.object_id, []).append(attachment)
    return found


def jump_targets(instance):
    """(step ID, name) of the steps of the instance's own process an administrator may jump to."""
    return [(bpmn_id, shown_name(rule.get("name") or bpmn_id)) for bpmn_id, rule in instance.definition.task_rules.items()]


def _step_rule(task):
    """The rule of a task row's step, in the process it is in (the instance's, or a called one)."""
    return step_definition(task.instance, task).task_rules.get(task.bpmn_id, {})


def countersign_summary(task):
    """How a countersign step stands: the mode, approvals needed, and the signatures so far."""
    countersign = _step_rule(task).get("countersign")
    if not task.countersign or countersign is None:
        return None
    tally = countersign_tally(task)
    return {**tally, "needed": engine.quorum_needed(countersign, tally["signers"]), "mode": CountersignMode(countersign["mode"]).label,
            "sequential": countersign["sequential"]}


@transaction.atomic
def jump(*, instance, user, step, reason):
    """An administrator moves a running (or returned) instance to the step `step` of its
    process, back or forward, with a reason the trail keeps; the open tasks are cancelled and
    the step opens for whoever its rule finds."""
    instance = _lock_instance(instance)
    if not is_administrator(user):
        raise PermissionDenied(_("Only an administrator may move a process to another step."))
    if not reason.strip():
        raise ValidationError(_("Give the reason for moving the process."))
    if instance.status not in (InstanceStatus.RUNNING, InstanceStatus.RETURNED):
        raise ValidationError(_("This process has already finished."))
    names = dict(jump_targets(instance))
    if step not in names:
        raise ValidationError(_("The process has no step “%(step)s”.") % {"step": step})
    expected_revision = instance.revision
    workflow = _load(instance)
    try:
        engine.jump_to(workflow, step)
    except engine.DefinitionError as error:
        raise ValidationError(str(error)) from None
    except (SpiffWorkflowException, ExpressionError) as error:
        raise _engine_failure(error) from None
    now = timezone.now()
    for row in instance.tasks.filter(kind=TaskKind.RESUBMIT, status=TaskStatus.OPEN):
        row.status, row.completed = TaskStatus.CANCELLED, now
        row.save(update_fields=("status", "completed"))
    instance.status = InstanceStatus.RUNNING
    label = _("Moved to the step “%(step)s”: %(reason)s") % {"step": names[step], "reason": reason}
    # the step jumped to opens afresh, even when it is the one open now
    for row in instance.tasks.filter(kind=TaskKind.STEP, status__in=LIVE, bpmn_id=step):
        row.status, row.completed = TaskStatus.CANCELLED, now
        row.save(update_fields=("status", "completed"))
    _event(instance, EventKind.JUMPED, actor=user, comment=label)
    _sync_tasks(instance, workflow, actor=user, reason=label)
    _save_state(instance, workflow, expected_revision=expected_revision)
    return instance


# ---- deadlines and timers ------------------------------------------------------------------------

ESCALATION_BATCH_SIZE = 200


def _escalation_targets(task):
    """The assignee's manager; for a task open to several (or whose assignee has no manager),
    the initiator's manager; failing that, the administrators."""
    from qinglan.org.models import User

    for member in (task.assignee, task.instance.initiator):
        manager = getattr(member, "manager", None)
        if manager is not None and manager.is_active and manager.pk != getattr(task.assignee, "pk", None):
            return [manager]
    return list(User.objects.filter(is_superuser=True, is_active=True)[:MAX_NOTIFIED])


def escalate_overdue(*, now=None, batch_size=ESCALATION_BATCH_SIZE):
    """Escalate every open step (or request for assistance) past its deadline once: the
    assignee's manager is notified and the trail says so. Rows another run holds are skipped,
    so two workers never escalate a task twice. Returns the number of tasks escalated."""
    now = now or timezone.now()
    escalated = 0
    while True:
        with transaction.atomic():
            batch = list(
                WorkTask.objects.filter(status=TaskStatus.OPEN, due__lt=now, escalated__isnull=True)
                .exclude(kind=TaskKind.RESUBMIT)
                .select_related("assignee__manager", "instance__initiator__manager")
                .select_for_update(skip_locked=True, of=("self",))
                .order_by("due", "pk")[:batch_size]
            )
            if not batch:
                return escalated
            WorkTask.objects.filter(pk__in=[task.pk for task in batch]).update(escalated=now)
            for task in batch:
                targets = _escalation_targets(task)
                late = timezone.localtime(task.due).strftime("%Y-%m-%d %H:%M")
                _event(task.instance, EventKind.ESCALATED, task=task, comment=", ".join(str(member) for member in targets))
                for member in targets:
                    _notify(
                        member,
                        lambda task=task: _("Overdue: %(step)s — %(title)s") % {"step": task.label, "title": task.instance.title},
                        lambda task=task, late=late: _("%(assignee)s has not acted on it; it was due %(due)s.") % {
                            "assignee": task.assignee or _("nobody yet"), "due": late,
                        },
                        task.instance, "workflow.overdue", mail=True,
                    )
                escalated += 1


def overdue_tasks(user, *, now=None):
    """Open tasks past their deadline that `user` may act on or that wait on the members who
    report to them."""
    from django.db.models import Q

    now = now or timezone.now()
    return WorkTask.objects.filter(assignees.open_tasks_q(user) | Q(assignee__in=_reports(user)), status=TaskStatus.OPEN, due__lt=now)


def _reports(user):
    from qinglan.org.models import User

    return User.objects.filter(manager=user).values("pk")


OVERDUE_COUNT_LIMIT = 99


def _overdue_conditions(user):
    """The ways an overdue task reaches `user` (open_task_conditions, and the tasks of the
    members who report to them); no task is reached two ways (a task has one assignee or one
    kind of candidate)."""
    from django.db.models import Q

    return [*assignees.open_task_conditions(user), Q(assignee__in=_reports(user))]


def overdue_count(user, *, now=None):
    """(count, exact) of the overdue tasks of `user` (overdue_tasks), each way counted up to
    OVERDUE_COUNT_LIMIT along its index (workflow_task_overdue_*): a badge, not a report."""
    from qinglan.core.pagination import bounded_count

    now = now or timezone.now()
    total, exact = 0, True
    for condition in _overdue_conditions(user):
        count, branch_exact = bounded_count(
            WorkTask.objects.filter(condition, status=TaskStatus.OPEN, due__lt=now), limit=OVERDUE_COUNT_LIMIT - total
        )
        total, exact = total + count, exact and branch_exact
        if total >= OVERDUE_COUNT_LIMIT:
            return OVERDUE_COUNT_LIMIT, False
    return total, exact


def overdue_tasks_page(user, keys, *, size, after=None, before=None, rows=None, now=None):
    """One page of overdue_tasks(user) in the order of `keys` (due first), read like the open
    tab: the first size + 1 rows after the cursor along each way a task reaches them (each way
    an index range in due order), the members who report to them one more, and the page
    taken from those."""
    now = now or timezone.now()
    return _merged_page(
        _overdue_conditions(user), {"status": TaskStatus.OPEN, "due__lt": now}, keys, size=size, after=after, before=before, rows=rows
    )


def _merged_page(conditions, common, keys, *, size, after, before, rows):
    from qinglan.core.pagination import keyset_page

    candidates = set()
    for condition in conditions:
        candidates.update(_branch_pks(WorkTask.objects.filter(condition, **common), keys, size=size + 1, after=after, before=before))
    queryset = WorkTask.objects.filter(pk__in=sorted(candidates))
    return keyset_page(rows(queryset) if rows else queryset, keys, size=size, after=after, before=before)


def _branch_pks(queryset, keys, *, size, after, before):
    """The IDs of the `size` rows of `queryset` keyset_page would read after (or before) the
    cursor, as plain values: the page's candidates need no model instances (building them was
    a fifth of the inbox's rows time)."""
    from qinglan.core import pagination

    cursor, reverse = (before, True) if before else (after, False)
    values = pagination.decode_cursor(cursor, keys) if cursor else None
    narrowed = pagination._filter_after(queryset, keys, values, reverse) if values is not None else None
    if narrowed is None:  # no cursor, or a forged one: the first rows, as keyset_page does
        narrowed, reverse = queryset, False
    return list(narrowed.order_by(*pagination.order_expressions(keys, reverse=reverse)).values_list("pk", flat=True)[:size])


def fire_due_timers(*, now=None):
    """Run on every running instance whose earliest timer is due (the periodic job calls this
    every minute); an instance another worker holds is left to it. Returns how many ran."""
    now = now or timezone.now()
    fired = 0
    pks = list(ProcessInstance.objects.filter(status=InstanceStatus.RUNNING, next_timer__lte=now).order_by("next_timer").values_list("pk", flat=True)[:500])
    for pk in pks:
        try:
            fired += _fire_timers_of(pk, now)
        except ValidationError as error:
            # the module bound to its record refused the outcome: the timer's step is undone,
            # the trail says why, and the instance is not woken again every minute
            with transaction.atomic():
                instance = ProcessInstance.objects.get(pk=pk)
                _event(instance, EventKind.TIMER, comment=" ".join(error.messages))
                ProcessInstance.objects.filter(pk=pk).update(next_timer=None)
    return fired


@transaction.atomic
def _fire_timers_of(pk, now):
    instance = (
        ProcessInstance.objects.select_for_update(skip_locked=True)
        .select_related("definition", "initiator")
        .filter(pk=pk, status=InstanceStatus.RUNNING, next_timer__lte=now)
        .first()
    )
    if instance is None:
        return 0
    expected_revision = instance.revision
    workflow = _load(instance)
    before = {str(task.id) for task in engine.ready_user_tasks(workflow)}
    try:
        engine.fire_timers(workflow)
    except (SpiffWorkflowException, ExpressionError) as error:
        _event(instance, EventKind.TIMER, comment=engine.engine_error_message(error))
        ProcessInstance.objects.filter(pk=pk).update(next_timer=None)  # not again every minute; the trail says why
        return 0
    after = {str(task.id) for task in engine.ready_user_tasks(workflow)}
    if before != after or workflow.is_completed():
        _event(instance, EventKind.TIMER)
    _sync_tasks(instance, workflow, reason=_("A timer moved the process on."))
    _save_state(instance, workflow, expected_revision=expected_revision)
    return 1


# ---- queries -------------------------------------------------------------------------------


def open_tasks(user):
    """The open tasks `user` may act on (assigned to them, or open to one of their roles)."""
    return WorkTask.objects.filter(assignees.open_tasks_q(user), status=TaskStatus.OPEN)


def open_tasks_page(user, keys, *, size, after=None, before=None, rows=None):
    """One inbox page (core.pagination.keyset_page) of the open tasks `user` may act on: the
    page's candidates are the first size + 1 rows after (or before) the cursor along each way a
    task reaches them (assignees.open_task_conditions, each an index range in the page's
    order), and the page is taken from those; `rows(queryset)` adds what the page shows."""
    return _merged_page(
        assignees.open_task_conditions(user), {"status": TaskStatus.OPEN}, keys, size=size, after=after, before=before, rows=rows
    )


def open_task_count(user):
    """How many open tasks `user` may act on; counted once per request (the menu's badge and
    the inbox's tab both show it), kept on the request's user object."""
    count = getattr(user, "_workflow_open_task_count", None)
    if count is None:
        count = open_tasks(user).count()
        user._workflow_open_task_count = count
    return count


def may_view_instance(instance, user):
    """The initiator, anyone who has or had a step of it, and members whose grants show it."""
    if not user.is_authenticated:
        return False
    if user.is_superuser or instance.initiator_id == user.pk:
        return True
    if instance.tasks.filter(assignees.open_tasks_q(user) | models_q_done_by(user)).exists():
        return True
    if instance.copies.filter(member=user).exists():
        return True
    if may_view_record_of(instance, user):
        return True
    return may(user, "view", instance)


def may_view_record_of(instance, user):
    """Whoever may view the business record of an instance may follow its approval."""
    if not instance.content_type_id:
        return False
    from qinglan.core.registry import registry

    model = instance.content_type.model_class()
    resource = registry.get(model) if model is not None else None
    if resource is None:
        return False
    return model._default_manager.restrict(user, "view").filter(pk=instance.object_id).exists()


def models_q_done_by(user):
    from django.db.models import Q

    return Q(completed_by=user) | Q(assignee=user) | Q(delegated_from=user)


# ---- business records bound to processes (binding.py) ------------------------------------------

PENDING = (InstanceStatus.RUNNING, InstanceStatus.RETURNED)


def record_instances(record):
    """The instances about `record`, newest first."""
    return ProcessInstance.objects.filter(
        content_type=ContentType.objects.get_for_model(record), object_id=str(record.pk)
    ).select_related("definition", "initiator").order_by("-started", "-id")


def pending_instance(record):
    """The instance `record` waits on (running, or returned to its initiator), or None."""
    if record is None or record.pk is None:
        return None
    return record_instances(record).filter(status__in=PENDING).first()


def in_approval(record):
    return pending_instance(record) is not None


def approval_needed(*, record, action="submit", process_key=None, data=None):
    """The binding whose process `action` on `record` starts now (the first bound one whose
    condition holds), or None when no approval is needed."""
    candidates = binding.bindings_for(record, action)
    if process_key is not None:
        candidates = [b for b in candidates if b.process_key == process_key]
        if not candidates:
            raise ValidationError(
                _("No process “%(key)s” is bound to “%(action)s” of %(model)s.") % {"key": process_key, "action": action, "model": record._meta.verbose_name}
            )
    for bound in candidates:
        if bound.applies(record, bound.variables(record, data)):
            return bound
    return None


@transaction.atomic
def submit_for_approval(*, record, user, action="submit", process_key=None, data=None, title=""):
    """Start the process bound to `action` on `record` when its condition holds, about the
    record, initiated by `user`; returns the instance, or None when no bound process applies
    (the module then goes on without approval). The record's row is locked first, so one record
    never has two approvals at once; a record already waiting for approval is refused.
    `data` (JSON values) goes over the binding's data(record) as the process variables."""
    if record is None or record.pk is None:
        raise ValidationError(_("Save the record before submitting it for approval."))
    if not binding.bindings_for(record):
        raise ValidationError(_("No process is bound to %(model)s.") % {"model": record._meta.verbose_name_plural})
    locked = type(record)._base_manager.select_for_update().filter(pk=record.pk).first()
    if locked is None:
        raise ValidationError(_("This record no longer exists."))
    pending = pending_instance(record)
    if pending is not None:
        raise ValidationError(binding.lock_sentence(pending))
    bound = approval_needed(record=record, action=action, process_key=process_key, data=data)
    if bound is None:
        return None
    if title:
        shown_title = title
    elif bound.title is not None:
        shown_title = bound.title(record)
    else:
        definition = _active_definition(bound.process_key)
        process = shown_name(definition.name) if definition is not None else bound.process_key
        shown_title = _("%(process)s: %(record)s") % {"process": process, "record": record}
    return start(definition_key=bound.process_key, initiator=user, record=record, data=bound.variables(record, data), title=str(shown_title)[:200])


@transaction.atomic
def withdraw_approval(*, record, user, comment=""):
    """Take back the approval `record` waits on, as its initiator, an administrator, or a
    member who may change the record (e.g. when the module cancels the record); the binding's
    on_withdrawn runs as for any withdrawal. Returns the instance, or None when none was pending."""
    pending = pending_instance(record)
    if pending is None:
        return None
    instance = _lock_instance(pending)
    allowed = instance.initiator_id == user.pk or is_administrator(user) or may(user, "change", record)
    if not allowed:
        raise PermissionDenied(_("Only the initiator, an administrator or whoever may change the record may withdraw its approval."))
    return _withdraw(instance, user, comment)


def diagram_state(instance):
    """{"done", "active", "pending"}: the BPMN IDs of the instance's own process that are
    completed, waiting now (open steps, timers, called processes running) and still ahead, for
    the markers of its diagram; "done" also holds the sequence flows the instance went along
    (a step reached from a completed one, as the engine's task tree records it)."""
    from SpiffWorkflow.util.task import TaskState

    state = {"done": set(), "active": set(), "pending": set()}
    try:
        workflow = engine.load(instance.state) if instance.state else None
    except Exception:  # noqa: BLE001 — a diagram without markers rather than a broken page
        workflow = None
    taken = set()  # (source, target) of the sequence flows the instance went along
    if workflow is not None:
        # a task cancelled after its predecessor completed was reached too: a parallel join
        # merges the branch that arrived first into the last one and cancels its own task
        reached = TaskState.COMPLETED | TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR | TaskState.CANCELLED
        for task in workflow.get_tasks():
            if task.workflow is not workflow:
                continue  # a called process's own steps are not on this drawing
            bpmn_id = getattr(task.task_spec, "bpmn_id", None)
            if not bpmn_id:
                continue
            if task.state & reached:
                source = task.parent
                while source is not None and not getattr(source.task_spec, "bpmn_id", None):
                    source = source.parent  # the engine's own joins and splits are not drawn
                if source is not None and source.state == TaskState.COMPLETED:
                    taken.add((source.task_spec.bpmn_id, bpmn_id))
            if task.state == TaskState.COMPLETED:
                state["done"].add(bpmn_id)
            elif task.state in (TaskState.READY, TaskState.WAITING, TaskState.STARTED):
                state["active"].add(bpmn_id)
            elif task.state in (TaskState.FUTURE, TaskState.LIKELY, TaskState.MAYBE):
                state["pending"].add(bpmn_id)
    live = instance.tasks.filter(status__in=LIVE, kind=TaskKind.STEP, process_key="").values_list("bpmn_id", flat=True)
    state["active"].update(live)
    if instance.status != InstanceStatus.RUNNING and instance.status != InstanceStatus.RETURNED:
        state["active"].clear()
        state["pending"].clear()
    state["done"] -= state["active"]
    state["pending"] -= state["active"] | state["done"]
    state["done"] |= _taken_flows(instance.definition.xml, taken)
    return {key: sorted(value) for key, value in state.items()}


def shown_xml(xml):
    """The BPMN XML with the names of the shipped processes' shapes (SHIPPED_NAMES) in the
    member's language, for the drawing; anything else as written."""
    from lxml import etree

    try:
        root = engine._read_xml(xml)
    except engine.DefinitionError:
        return xml
    changed = False
    for element in root.iter():
        name = element.get("name") if isinstance(element.tag, str) else None
        if name and name in SHIPPED_NAMES:
            shown = str(SHIPPED_NAMES[name])
            if shown != name:
                element.set("name", shown)
                changed = True
    return etree.tostring(root, encoding="unicode") if changed else xml


def _taken_flows(xml, taken):
    """The IDs of the sequence flows from source to target for the pairs in `taken`."""
    if not taken:
        return set()
    try:
        root = engine._read_xml(xml)
    except engine.DefinitionError:
        return set()
    return {
        flow.get("id") for flow in root.iter(f"{{{engine.BPMN_NS}}}sequenceFlow")
        if flow.get("id") and (flow.get("sourceRef"), flow.get("targetRef")) in taken
    }
