"""Workflow reports: how long processes and their steps take (average and longest), and the
overdue tasks by member and by department. Everything is read from the instances the member
may view (ProcessInstance.objects.restrict(user, "view")) and computed by the database."""

import datetime

from django import forms
from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Max, Min, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from qinglan.core.forms import StyledFormMixin

from .choices import InstanceStatus, TaskKind, TaskStatus, shown_name
from .models import ProcessDefinition, ProcessInstance, WorkTask

DECIDED = (InstanceStatus.APPROVED, InstanceStatus.REJECTED)
PENDING = (InstanceStatus.RUNNING, InstanceStatus.RETURNED)
MAX_ROWS = 200  # rows of a table; the report says when there are more
OVERDUE_LIST = 100


def duration_text(value):
    """A duration as a member reads it: "3 d 4 h", "5 h 12 min", "12 min", "< 1 min"."""
    if value is None:
        return "–"
    if not isinstance(value, datetime.timedelta):
        value = datetime.timedelta(microseconds=float(value))
    minutes = int(value.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    if hours:
        return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
    if minutes:
        return _("%(minutes)d min") % {"minutes": minutes}
    return _("< 1 min")


def _span(end, start):
    return ExpressionWrapper(F(end) - F(start), output_field=DurationField())


class PeriodForm(StyledFormMixin, forms.Form):
    """The instances a report covers: started within the dates, of one process or all."""

    process = forms.ChoiceField(label=_l("process"), required=False)
    started_from = forms.DateField(label=_l("started from"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    started_to = forms.DateField(label=_l("started until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, instances=None, **kwargs):
        super().__init__(*args, **kwargs)
        keys = set(instances.values_list("definition__key", flat=True).distinct()) if instances is not None else set()
        names = process_names(keys)
        self.fields["process"].choices = [("", _("all processes")), *sorted(((key, names[key]) for key in keys), key=lambda item: str(item[1]))]

    def clean(self):
        data = super().clean()
        start, end = data.get("started_from"), data.get("started_to")
        if start and end and start > end:
            raise forms.ValidationError(_("The first day is after the last day."))
        return data

    def narrow(self, instances):
        data = self.cleaned_data
        if data.get("process"):
            instances = instances.filter(definition__key=data["process"])
        zone = timezone.get_current_timezone()
        if data.get("started_from"):
            instances = instances.filter(started__gte=datetime.datetime.combine(data["started_from"], datetime.time.min, zone))
        if data.get("started_to"):
            instances = instances.filter(started__lt=datetime.datetime.combine(data["started_to"] + datetime.timedelta(days=1), datetime.time.min, zone))
        return instances


def process_names(keys):
    """{process key: the name of its latest version, in the member's language}."""
    names = {}
    for key, name in ProcessDefinition.objects.filter(key__in=keys).order_by("key", "version").values_list("key", "name"):
        names[key] = shown_name(name) or key
    return {key: names.get(key, key) for key in keys}


def instances_in_scope(user):
    return ProcessInstance.objects.restrict(user, "view")


def process_durations(instances):
    """Per process: instances started, still pending, decided (approved or rejected), and the
    average and longest time from start to decision; the slowest process first."""
    decided = Q(status__in=DECIDED, finished__isnull=False)
    rows = list(
        instances.values("definition__key").annotate(
            started_count=Count("id"),
            pending=Count("id", filter=Q(status__in=PENDING)),
            decided=Count("id", filter=decided),
            approved=Count("id", filter=Q(status=InstanceStatus.APPROVED)),
            average=Avg(_span("finished", "started"), filter=decided),
            longest=Max(_span("finished", "started"), filter=decided),
        ).order_by(F("average").desc(nulls_last=True), "definition__key")[: MAX_ROWS + 1]
    )
    names = process_names({row["definition__key"] for row in rows})
    for row in rows:
        row["key"] = row["definition__key"]
        row["name"] = names[row["key"]]
        # the longest one itself, to open it
        row["longest_instance"] = (
            instances.filter(decided, definition__key=row["key"]).order_by(F("finished") - F("started")).reverse().values_list("pk", flat=True).first()
            if row["decided"] else None
        )
    return rows


def step_durations(instances):
    """Per step of each process: tasks completed, open now, and the average and longest time
    from the task's creation to its completion (each signer of a countersign is one task)."""
    done = Q(status=TaskStatus.DONE, completed__isnull=False)
    rows = list(
        WorkTask.objects.filter(instance__in=instances.values("pk"), kind=TaskKind.STEP, status__in=(TaskStatus.DONE, TaskStatus.OPEN))
        .values("instance__definition__key", "bpmn_id")
        .annotate(
            step_name=Max("name"),
            completed_count=Count("id", filter=done),
            open_count=Count("id", filter=Q(status=TaskStatus.OPEN)),
            average=Avg(_span("completed", "created"), filter=done),
            longest=Max(_span("completed", "created"), filter=done),
        ).order_by("instance__definition__key", F("average").desc(nulls_last=True), "bpmn_id")[: MAX_ROWS + 1]
    )
    names = process_names({row["instance__definition__key"] for row in rows})
    for row in rows:
        row["key"] = row["instance__definition__key"]
        row["process"] = names[row["key"]]
        row["name"] = shown_name(row["step_name"]) or row["bpmn_id"]
    return rows


class OverdueForm(StyledFormMixin, forms.Form):
    member = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    department = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)


def overdue_tasks(user, *, now=None):
    """The open steps past their deadline on the instances `user` may view."""
    now = now or timezone.now()
    return WorkTask.objects.filter(
        instance__in=instances_in_scope(user).values("pk"), status=TaskStatus.OPEN, due__lt=now,
    ).exclude(kind=TaskKind.RESUBMIT)


def overdue_by_member(tasks, *, now=None):
    """Per member the task waits on (or the role / department / position / administrators
    when nobody has taken it): how many are overdue and the oldest deadline."""
    now = now or timezone.now()
    rows = list(
        tasks.values("assignee", "assignee__department", "candidate_role", "candidate_department", "candidate_position", "for_administrators")
        .annotate(count=Count("id"), oldest=Min("due"))
        .order_by("oldest", "assignee")[: MAX_ROWS + 1]
    )
    from qinglan.org.models import Department, Position, Role, User

    def names(model, key):
        ids = {row[key] for row in rows if row[key]}
        return {item.pk: item for item in model.objects.filter(pk__in=ids)} if ids else {}

    members, roles, departments, positions = names(User, "assignee"), names(Role, "candidate_role"), names(Department, "candidate_department"), names(Position, "candidate_position")
    member_departments = names(Department, "assignee__department")
    for row in rows:
        if row["assignee"]:
            row["label"], row["member"] = str(members[row["assignee"]]), row["assignee"]
            department = member_departments.get(row["assignee__department"])
        elif row["candidate_role"]:
            row["label"], row["member"], department = _("role %(role)s") % {"role": roles[row["candidate_role"]]}, None, None
        elif row["candidate_department"]:
            department = departments[row["candidate_department"]]
            row["label"], row["member"] = _("department %(department)s") % {"department": department}, None
        elif row["candidate_position"]:
            row["label"], row["member"], department = _("position %(position)s") % {"position": positions[row["candidate_position"]]}, None, None
        else:
            row["label"], row["member"], department = _("administrators"), None, None
        row["department"] = department
        row["late"] = duration_text(now - row["oldest"])
    return rows


def overdue_by_department(tasks, *, now=None):
    """Per department (the member's, or the department a task is offered to): overdue tasks,
    how many members they wait on, the oldest deadline."""
    now = now or timezone.now()
    rows = list(
        tasks.annotate(dept=Coalesce("assignee__department", "candidate_department"))
        .values("dept")
        .annotate(count=Count("id"), members=Count("assignee", distinct=True), oldest=Min("due"))
        .order_by("oldest", "dept")[: MAX_ROWS + 1]
    )
    from qinglan.org.models import Department

    departments = {d.pk: d for d in Department.objects.filter(pk__in=[row["dept"] for row in rows if row["dept"]])}
    for row in rows:
        row["department"] = departments.get(row["dept"])
        row["label"] = str(row["department"]) if row["department"] else _("(no department)")
        row["late"] = duration_text(now - row["oldest"])
    return rows
