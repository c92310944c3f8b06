"""Workflow engine (業務流程 · 審批流程): deployed BPMN definitions, running instances with their
serialized SpiffWorkflow state, indexed task rows for inboxes, and the audit trail."""

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from qinglan.core.models import BaseModel
from qinglan.core.permissions import RestrictedQuerySet

from .choices import EventKind, InstanceStatus, Outcome, ProcessKind, TaskKind, TaskStatus, shown_name


class ProcessDefinition(BaseModel):
    """One deployed version of a BPMN process. A version never changes once deployed: an
    upload with the same key becomes the next version, and running instances keep theirs."""

    key = models.CharField(_("key"), max_length=100, editable=False, help_text=_("The BPMN process ID."))
    version = models.PositiveIntegerField(_("version"), editable=False)
    name = models.CharField(_("name"), max_length=200, blank=True, help_text=_("Empty: the name of the process in the file."))
    kind = models.CharField(_("kind"), max_length=12, choices=ProcessKind.choices, default=ProcessKind.CUSTOM)
    xml = models.TextField(_("BPMN 2.0 XML"))
    fallback_assignee = models.CharField(
        _("fallback assignee"), max_length=150, blank=True,
        help_text=_("Who gets a task whose assignee rule finds nobody: member:<username> or role:<name>; empty means the administrators."),
    )
    # {BPMN id of a user task: {"name": …, "assignee": rule}} read from the XML at deployment
    task_rules = models.JSONField(_("task rules"), default=dict, editable=False)
    # the start form declared in the file (qinglan:formField): [{"name", "label", "type", "required", "help", "options"}]
    form_fields = models.JSONField(_("form fields"), default=list, editable=False)
    starters = models.CharField(
        _("who may start it"), max_length=500, blank=True, editable=False,
        help_text=_("role:<name> or department:<code> rules from the file; empty: everyone."),
    )
    active = models.BooleanField(_("active"), default=True, help_text=_("Inactive versions start no new instances."))
    deployed_by = models.ForeignKey(
        "org.User", verbose_name=_("deployed by"), on_delete=models.SET_NULL, null=True, blank=True, editable=False, related_name="+"
    )

    class Meta:
        ordering = ("key", "-version")
        verbose_name = _("process definition")
        verbose_name_plural = _("process definitions")
        constraints = [models.UniqueConstraint(fields=("key", "version"), name="workflow_unique_key_version")]

    def __str__(self):
        return f"{shown_name(self.name)} v{self.version}" if self.version else str(shown_name(self.name))


class ProcessInstance(BaseModel):
    definition = models.ForeignKey(ProcessDefinition, verbose_name=_("process"), on_delete=models.PROTECT, related_name="instances")
    title = models.CharField(_("title"), max_length=200)
    initiator = models.ForeignKey("org.User", verbose_name=_("initiator"), on_delete=models.PROTECT, related_name="started_processes")
    status = models.CharField(_("status"), max_length=12, choices=InstanceStatus.choices, default=InstanceStatus.RUNNING)
    content_type = models.ForeignKey(
        ContentType, verbose_name=_("record type"), on_delete=models.PROTECT, null=True, blank=True, editable=False, related_name="+"
    )
    object_id = models.CharField(_("record ID"), max_length=64, blank=True, editable=False)
    record = GenericForeignKey("content_type", "object_id")
    data = models.JSONField(_("data"), default=dict, editable=False)  # the form data the process started with
    # SpiffWorkflow's serialized workflow, as JSON text: task data is stored as changes from the
    # parent task and restored in the order of the tasks, which PostgreSQL's jsonb (it sorts
    # object keys) would not keep.
    state = models.TextField(_("engine state"), blank=True, editable=False)
    revision = models.PositiveIntegerField(_("revision"), default=0, editable=False)
    # {process ID: definition pk} of the processes its call activities run, as they were when it started
    called = models.JSONField(_("called processes"), default=dict, editable=False)
    # when its earliest timer is due: the periodic job wakes exactly these instances
    next_timer = models.DateTimeField(_("next timer"), null=True, blank=True, editable=False, db_index=True)
    started = models.DateTimeField(_("started"), auto_now_add=True)
    finished = models.DateTimeField(_("finished"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ("-started", "-id")
        verbose_name = _("process instance")
        verbose_name_plural = _("process instances")
        indexes = [
            models.Index(fields=("initiator", "status", "-started"), name="workflow_inst_initiator"),
            models.Index(fields=("content_type", "object_id"), name="workflow_inst_record"),
        ]

    def __str__(self):
        return self.title

    def get_page_url(self):
        return reverse("workflow:instance", args=[self.pk])


class WorkTask(models.Model):
    """A user task of an instance, as a row the inboxes query: who may act, and what they did."""

    instance = models.ForeignKey(ProcessInstance, verbose_name=_("process instance"), on_delete=models.CASCADE, related_name="tasks")
    spiff_task_id = models.CharField(_("engine task ID"), max_length=36)
    bpmn_id = models.CharField(_("step ID"), max_length=100)
    # the ID of the called process (call activity) the step belongs to; empty: the instance's own
    # process. The step follows that process's rules and form, not the caller's.
    process_key = models.CharField(_("called process"), max_length=100, blank=True, default="", editable=False)
    name = models.CharField(_("step"), max_length=200)
    assignee = models.ForeignKey(
        "org.User", verbose_name=_("assignee"), on_delete=models.SET_NULL, null=True, blank=True, related_name="workflow_tasks"
    )
    candidate_role = models.ForeignKey(
        "org.Role", verbose_name=_("candidate role"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    candidate_department = models.ForeignKey(
        "org.Department", verbose_name=_("candidate department"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    candidate_position = models.ForeignKey(
        "org.Position", verbose_name=_("candidate position"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    for_administrators = models.BooleanField(_("for administrators"), default=False)  # the fallback when a rule found nobody
    kind = models.CharField(_("kind"), max_length=12, choices=TaskKind.choices, default=TaskKind.STEP)
    # A countersign step has one row per signer under one engine task; signer_order is their
    # place in a sequential countersign (and the order they are shown in)
    countersign = models.BooleanField(_("countersign"), default=False)
    signer_order = models.PositiveSmallIntegerField(_("signer order"), default=0)
    # the instance's revision when the step opened: the rows of one visit to a step (a step
    # returned to and opened again keeps its engine task ID)
    activation = models.PositiveIntegerField(_("activation"), default=0)
    parent = models.ForeignKey(
        "self", verbose_name=_("main task"), on_delete=models.CASCADE, null=True, blank=True, related_name="assists"
    )  # an assist task: the step it helps
    delegated_from = models.ForeignKey(
        "org.User", verbose_name=_("delegated by"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    due = models.DateTimeField(_("due"), null=True, blank=True)
    escalated = models.DateTimeField(_("escalated"), null=True, blank=True)
    last_urged = models.DateTimeField(_("last urged"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    completed = models.DateTimeField(_("completed"), null=True, blank=True)
    completed_by = models.ForeignKey(
        "org.User", verbose_name=_("completed by"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = models.Manager.from_queryset(RestrictedQuerySet)()

    class Meta:
        ordering = ("-created", "-id")
        verbose_name = _("process task")
        verbose_name_plural = _("process tasks")
        indexes = [
            models.Index(fields=("assignee", "status", "-created", "-id"), name="workflow_task_assignee"),
            models.Index(fields=("candidate_role", "status", "-created", "-id"), name="workflow_task_role"),
            models.Index(fields=("completed_by", "-completed", "-id"), name="workflow_task_done"),
            models.Index(fields=("status", "for_administrators"), name="workflow_task_admins"),
            models.Index(fields=("candidate_department", "status"), name="workflow_task_department"),
            models.Index(fields=("candidate_position", "status"), name="workflow_task_position"),
            models.Index(fields=("status", "due"), name="workflow_task_due"),
            # the overdue tab and its count, one range per way a task reaches the member, in due order
            models.Index(
                fields=("assignee", "due", "id"), name="workflow_task_overdue_assignee", condition=Q(status="open", due__isnull=False)
            ),
            models.Index(
                fields=("candidate_role", "due", "id"), name="workflow_task_overdue_role", condition=Q(status="open", due__isnull=False)
            ),
        ]

    def __str__(self):
        return str(self.label)

    @property
    def label(self):
        """The step's name, in the member's language for the shipped processes."""
        return shown_name(self.name)

    @property
    def is_overdue(self):
        from django.utils import timezone

        return self.status == TaskStatus.OPEN and self.due is not None and self.due < timezone.now()


class TaskEvent(models.Model):
    """The audit trail of an instance: who did what, when."""

    instance = models.ForeignKey(ProcessInstance, verbose_name=_("process instance"), on_delete=models.CASCADE, related_name="events")
    task = models.ForeignKey(WorkTask, verbose_name=_("task"), on_delete=models.CASCADE, null=True, blank=True, related_name="events")
    actor = models.ForeignKey("org.User", verbose_name=_("by"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    kind = models.CharField(_("event"), max_length=20, choices=EventKind.choices)
    comment = models.TextField(_("comment"), blank=True)
    # a form data change: {field name: "label: old → new"}, so a member is shown only the lines
    # of the fields they may see (the comment holds every line)
    changes = models.JSONField(_("changes"), default=dict, blank=True, editable=False)
    at = models.DateTimeField(_("at"), auto_now_add=True)

    objects = models.Manager.from_queryset(RestrictedQuerySet)()

    class Meta:
        ordering = ("at", "id")
        verbose_name = _("process event")
        verbose_name_plural = _("process events")

    def __str__(self):
        return self.get_kind_display()

    def get_absolute_url(self):
        return self.instance.get_page_url()


class CopyRecipient(models.Model):
    """A member who gets a copy of an instance (抄送) when a step with copy rules opens: they may
    read it and find it under "Copied to me" in their inbox, but act on nothing."""

    instance = models.ForeignKey(ProcessInstance, verbose_name=_("process instance"), on_delete=models.CASCADE, related_name="copies")
    member = models.ForeignKey("org.User", verbose_name=_("member"), on_delete=models.CASCADE, related_name="workflow_copies")
    step = models.CharField(_("step"), max_length=200, blank=True)
    created = models.DateTimeField(_("copied"), auto_now_add=True)

    class Meta:
        ordering = ("-created", "-id")
        verbose_name = _("copy recipient")
        verbose_name_plural = _("copy recipients")
        constraints = [models.UniqueConstraint(fields=("instance", "member"), name="workflow_unique_copy")]
        indexes = [models.Index(fields=("member", "-created", "-id"), name="workflow_copy_member")]

    def __str__(self):
        return f"{self.member} · {self.instance}"
