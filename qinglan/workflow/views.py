"""Pages of the workflow module: my tasks (inbox), starting a leave request, an instance with
its steps, audit trail and the Approve / Reject / Withdraw buttons."""

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from qinglan.core.forms import StyledFormMixin
from qinglan.core.pagination import SortKey, keyset_page

from . import assignees, processforms, reports, services
from .choices import EventKind, InstanceStatus, LeaveType, Outcome, TaskKind, TaskStatus, shown_name
from .models import CopyRecipient, ProcessInstance, TaskEvent, WorkTask

PAGE_SIZE = 25
TABS = {
    "open": [SortKey("created", descending=True), SortKey("pk", descending=True)],
    "done": [SortKey("completed", descending=True, nullable=True), SortKey("pk", descending=True)],
    "started": [SortKey("started", descending=True), SortKey("pk", descending=True)],
    "overdue": [SortKey("due"), SortKey("pk")],
    "copied": [SortKey("created", descending=True), SortKey("pk", descending=True)],
}


def _error_text(error):
    return " ".join(error.messages) if isinstance(error, ValidationError) else str(error)


# what a list row of instances never shows: the engine state, the data, the drawing
INSTANCE_UNSHOWN = ("state", "data", "called", "definition__xml", "definition__task_rules", "definition__form_fields")


def task_rows(tasks):
    """Task rows as the inbox shows them: with their instance and its initiator (joined),
    without the instance's engine state and data (large, and not shown); the process's name,
    the assignee and the candidate role, department or position are looked up by their IDs
    (PostgreSQL took 14 ms to plan the eight-table join those would make, more than the
    lookups and the rows together)."""
    from django.db.models import Prefetch

    from .models import ProcessDefinition

    return tasks.select_related("instance", "instance__initiator").defer(*(f"instance__{field}" for field in INSTANCE_UNSHOWN[:3])).prefetch_related(
        Prefetch("instance__definition", queryset=ProcessDefinition.objects.only("id", "name", "version")),
        "assignee", "candidate_role", "candidate_department", "candidate_position",
    )


class InboxView(View):
    template_name = "workflow/inbox.html"

    def get(self, request):
        tab = request.GET.get("tab") if request.GET.get("tab") in TABS else "open"
        user = request.user
        if tab == "open":
            queryset = None
        elif tab == "overdue":
            queryset = None
        elif tab == "done":
            queryset = task_rows(WorkTask.objects.filter(completed_by=user, status=TaskStatus.DONE))
        elif tab == "copied":
            queryset = CopyRecipient.objects.filter(member=user).select_related("instance", "instance__definition", "instance__initiator").defer(
                *(f"instance__{field}" for field in INSTANCE_UNSHOWN)
            )
        else:
            queryset = ProcessInstance.objects.filter(initiator=user).select_related("definition").defer(*INSTANCE_UNSHOWN)
        after, before = request.GET.get("after"), request.GET.get("before")
        if tab == "open":
            page = services.open_tasks_page(user, TABS[tab], size=PAGE_SIZE, after=after, before=before, rows=task_rows)
        elif tab == "overdue":
            page = services.overdue_tasks_page(user, TABS[tab], size=PAGE_SIZE, after=after, before=before, rows=task_rows)
        else:
            page = keyset_page(queryset, TABS[tab], size=PAGE_SIZE, after=after, before=before)
        context = {
            "tab": tab,
            "page": page,
            "query": f"tab={tab}",
            "open_count": services.open_task_count(user),
            "overdue_count": services.overdue_count(user),
        }
        return render(request, self.template_name, context)


class LeaveRequestForm(StyledFormMixin, forms.Form):
    leave_type = forms.ChoiceField(label=gettext_lazy("type of leave"), choices=LeaveType.choices)
    date_from = forms.DateField(label=gettext_lazy("first day"), widget=forms.DateInput)
    date_to = forms.DateField(label=gettext_lazy("last day"), widget=forms.DateInput)
    days = forms.DecimalField(label=gettext_lazy("days"), min_value=Decimal("0.5"), max_value=Decimal("365"), decimal_places=1, max_digits=4)
    reason = forms.CharField(label=gettext_lazy("reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=1000)

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            self.add_error("date_to", _("The leave cannot end before it starts."))
        return data

    def process_data(self):
        data = self.cleaned_data
        days = float(data["days"])
        return {
            "leave_type": data["leave_type"],
            "date_from": data["date_from"].isoformat(),
            "date_to": data["date_to"].isoformat(),
            "days": int(days) if days.is_integer() else days,
            "reason": data["reason"],
        }


class StartLeaveView(View):
    template_name = "workflow/start_leave.html"

    def get(self, request):
        return render(request, self.template_name, {"form": LeaveRequestForm()})

    def post(self, request):
        form = LeaveRequestForm(request.POST)
        if form.is_valid():
            services.ensure_fixed_processes()
            data = form.process_data()
            title = _("Leave request: %(member)s, %(days)s days from %(date)s") % {"member": request.user, "days": data["days"], "date": data["date_from"]}
            try:
                instance = services.start(definition_key="leave_request", initiator=request.user, data=data, title=title)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("Your leave request was submitted."))
                return redirect(instance.get_page_url())
        return render(request, self.template_name, {"form": form}, status=400)


class StartProcessView(View):
    """Start a process: the processes the member may start (their starters rule), and the form
    of the chosen one, validated on the server; nothing is started on bad input."""

    template_name = "workflow/start_process.html"

    def _context(self, request, definition=None, form=None):
        return {
            "definitions": [(d, shown_name(d.name)) for d in services.startable_definitions(request.user)],
            "definition": definition,
            "definition_name": shown_name(definition.name) if definition else "",
            "form": form,
            "members": member_choices() if form is not None and any(e["type"] == "member" for e in form.entries) else [],
        }

    def _definition(self, request, key):
        definition = services.startable_definition(key, request.user)
        if definition is None:
            raise Http404
        return definition

    def dispatch(self, request, *args, **kwargs):
        services.deploy_new_fixed_processes()  # the shipped expense claim, on a fresh install
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, key=None):
        if key is None:
            return render(request, self.template_name, self._context(request))
        definition = self._definition(request, key)
        return render(request, self.template_name, self._context(request, definition, processforms.ProcessForm(definition.form_fields)))

    def post(self, request, key):
        definition = self._definition(request, key)
        form = processforms.ProcessForm(definition.form_fields, request.POST, request.FILES)
        if form.is_valid():
            try:
                instance = services.start_with_form(definition=definition, user=request.user, data=request.POST, files=request.FILES)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("“%(process)s” was started.") % {"process": shown_name(definition.name)})
                return redirect(instance.get_page_url())
        return render(request, self.template_name, self._context(request, definition, form), status=400)


class FormFileView(View):
    """A file of a process form's attachment field, for whoever may see the instance and the field."""

    def get(self, request, pk, field):
        from django.contrib.contenttypes.models import ContentType

        from qinglan.extras.models import Attachment

        instance = get_object_or_404(ProcessInstance.objects.select_related("definition", "initiator"), pk=pk)
        if not services.may_view_instance(instance, request.user):
            raise Http404
        value = instance.data.get(field)
        if not isinstance(value, dict) or services.field_modes(instance, request.user).get(field, processforms.HIDDEN) == processforms.HIDDEN:
            raise Http404
        attachment = get_object_or_404(
            Attachment, pk=value.get("attachment"), content_type=ContentType.objects.get_for_model(ProcessInstance), object_id=instance.pk
        )
        try:
            handle = attachment.file.open("rb")
        except FileNotFoundError:
            raise Http404 from None
        response = FileResponse(handle, as_attachment=True, filename=attachment.name, content_type="application/octet-stream")
        response["X-Content-Type-Options"] = "nosniff"
        return response


LEAVE_LABELS = {
    "item": gettext_lazy("item"),
    "amount": gettext_lazy("amount"),
    "record_owner": gettext_lazy("record owner"),
    "leave_type": gettext_lazy("type of leave"),
    "date_from": gettext_lazy("first day"),
    "date_to": gettext_lazy("last day"),
    "days": gettext_lazy("days"),
    "reason": gettext_lazy("reason"),
}


MEMBER_CHOICES_LIMIT = 500


def member_choices():
    """Active members for the delegate / assist / add-signer boxes (a datalist of usernames)."""
    from qinglan.org.models import User

    return User.objects.filter(is_active=True).order_by("username").only("username", "display_name", "first_name", "last_name")[:MEMBER_CHOICES_LIMIT]


def find_member(value):
    from qinglan.org.models import User

    value = (value or "").strip()
    member = User.objects.filter(username=value, is_active=True).first()
    if member is None:
        raise ValidationError(_("There is no active member “%(name)s”.") % {"name": value})
    return member


def _shown_value(name, value, leave_types):
    if name == "leave_type":
        return leave_types.get(value, value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:,}"  # grouped by thousands, as amounts are written in Chinese too
    return value


def _field_rows(instance, entries, modes, members):
    rows = []
    for entry in entries:
        name = entry["name"]
        if modes.get(name) == processforms.HIDDEN:
            continue
        value = instance.data.get(name)
        link = reverse("workflow:form_file", args=[instance.pk, name]) if entry["type"] == "attachment" and isinstance(value, dict) and value.get("attachment") else None
        rows.append((shown_name(entry["label"]), processforms.shown_value(entry, value, members), name, link))
    return rows


def form_data_rows(instance, user, sections=None):
    """((label, value, field name, attachment link or None) rows of the instance's own data,
    [(called process key, its name, rows)] of the forms of the processes its call activities
    ran) as the member sees them (services.form_sections): the declared form fields in their
    order, those hidden from them left out, then any other data of the instance (a leave
    request's, a bound record's)."""
    sections = services.form_sections(instance, user) if sections is None else sections
    entries = [entry for definition, _modes in sections for entry in definition.form_fields]
    members = processforms.member_names(entries, instance.data)
    rows, called = [], []
    for definition, modes in sections:
        shown = _field_rows(instance, definition.form_fields, modes, members)
        if definition.pk == instance.definition_id:
            rows.extend(shown)
        elif shown:
            called.append((definition.key, shown_name(definition.name), shown))
    declared = {entry["name"] for entry in entries} | {
        entry["name"] for key in instance.called for entry in services.called_definition(instance, key).form_fields
    }
    leave_types = dict(LeaveType.choices)
    for name, value in instance.data.items():
        if name not in declared:
            rows.append((LEAVE_LABELS.get(name, name), _shown_value(name, value, leave_types), name, None))
    return rows, called


class InstanceView(View):
    template_name = "workflow/instance.html"

    def get_instance(self, pk):
        instance = get_object_or_404(ProcessInstance.objects.select_related("definition", "initiator"), pk=pk)
        if not services.may_view_instance(instance, self.request.user):
            raise Http404
        return instance

    def get(self, request, pk):
        instance = self.get_instance(pk)
        user = request.user
        tasks = list(
            instance.tasks.select_related("assignee", "candidate_role", "candidate_department", "candidate_position", "completed_by", "delegated_from")
            .order_by("created", "signer_order", "id")
        )
        actionable = [task for task in tasks if task.status == TaskStatus.OPEN and assignees.may_act(task, user)]
        running = instance.status == InstanceStatus.RUNNING
        sections = services.form_sections(instance, user)
        data, called_data = form_data_rows(instance, user, sections)
        modes = services.field_modes(instance, user, sections)
        events = list(instance.events.select_related("actor", "task"))
        attachments = services.event_attachments(events)
        for event in events:
            event.attachments = attachments.get(event.pk, [])
            if event.kind == EventKind.CHANGED:
                event.comment = services.shown_changes(event, modes)
        is_admin = services.is_administrator(user)
        resubmit = instance.status == InstanceStatus.RETURNED and instance.initiator_id == user.pk
        resubmit_form = services.resubmit_form(instance) if resubmit else None
        for task in actionable:
            task.summary = services.countersign_summary(task) if task.countersign else None
            task.edit_form = services.step_form(instance, task)
        context = {
            "instance": instance,
            "tasks": [task for task in tasks if task.kind != TaskKind.RESUBMIT or task.status != TaskStatus.CANCELLED],
            "step_forms": [task for task in actionable if task.kind == TaskKind.STEP],
            "assist_forms": [task for task in actionable if task.kind == TaskKind.ASSIST],
            "resubmit": resubmit,
            "resubmit_form": resubmit_form,
            "delegable": [task for task in tasks if task.status == TaskStatus.OPEN and task.kind != TaskKind.RESUBMIT and is_admin and task not in actionable],
            "events": events,
            "data": data,
            "called_data": called_data,
            "can_withdraw": instance.initiator_id == user.pk and instance.status in (InstanceStatus.RUNNING, InstanceStatus.RETURNED),
            "can_urge": running and (instance.initiator_id == user.pk or is_admin),
            "can_jump": is_admin and instance.status in (InstanceStatus.RUNNING, InstanceStatus.RETURNED),
            "jump_targets": services.jump_targets(instance) if is_admin else [],
            "members": member_choices() if actionable or is_admin or resubmit_form else [],
            "record_link": _record_link(instance, user),
            "diagram": {"xml": services.shown_xml(instance.definition.xml), **services.diagram_state(instance)} if "BPMNDiagram" in instance.definition.xml else None,
        }
        return render(request, self.template_name, context)


def _record_link(instance, user):
    """The business record the instance is about, linked when the member may open it."""
    if not instance.content_type_id:
        return None
    from qinglan.core.detail import link_to

    model = instance.content_type.model_class()
    record = model._base_manager.filter(pk=instance.object_id).first() if model is not None else None
    if record is None:
        return None
    return {"type": model._meta.verbose_name, "html": link_to(record, user)}


class Refused(Exception):
    def __init__(self, response):
        self.response = response


def _act(request, instance_pk, action, success):
    """Run a service for a POST: a refusal of who may act answers 403 with a page that says
    why (raised as Refused), a refusal of what is asked comes back to the page as a message."""
    try:
        action()
    except PermissionDenied as error:
        back = reverse("workflow:instance", args=[instance_pk])
        if not services.may_view_instance(ProcessInstance.objects.get(pk=instance_pk), request.user):
            back = reverse("workflow:inbox")
        raise Refused(render(request, "workflow/refused.html", {"message": str(error), "back": back}, status=403)) from None
    except ValidationError as error:
        messages.error(request, _error_text(error))
        return False
    messages.success(request, success)
    return True


class ActionView(View):
    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        except Refused as refused:
            return refused.response


def _comment(request):
    return request.POST.get("comment", "").strip()[:2000]


class CompleteTaskView(ActionView):
    def post(self, request, pk):
        task = get_object_or_404(WorkTask, pk=pk)
        outcome = request.POST.get("outcome")
        if outcome not in (Outcome.APPROVE, Outcome.REJECT):
            messages.error(request, _("Choose approve or reject."))
            return redirect("workflow:instance", task.instance_id)
        done = _act(
            request, task.instance_id,
            lambda: services.complete(
                task=task, user=request.user, outcome=outcome, comment=_comment(request), form_data=request.POST, form_files=request.FILES,
            ),
            _("Approved.") if outcome == Outcome.APPROVE else _("Rejected."),
        )
        return redirect("workflow:inbox") if done else redirect("workflow:instance", task.instance_id)


class TaskActionView(ActionView):
    """Return, delegate, ask to assist, answer a request for assistance, add a signer."""

    def post(self, request, pk, action):
        task = get_object_or_404(WorkTask, pk=pk)
        user = request.user
        comment = _comment(request)

        def member():
            return find_member(request.POST.get("member"))

        actions = {
            "return": (
                lambda: services.return_task(task=task, user=user, to=request.POST.get("to", "previous"), comment=comment),
                _("Returned."),
            ),
            "delegate": (lambda: services.delegate(task=task, user=user, to=member(), comment=comment), _("The task was delegated.")),
            "assist": (lambda: services.ask_assist(task=task, user=user, member=member(), comment=comment), _("Assistance was asked.")),
            "answer": (lambda: services.answer_assist(task=task, user=user, comment=comment), _("Your opinion was recorded.")),
            "add_signer": (lambda: services.add_signer(task=task, user=user, member=member(), comment=comment), _("The signer was added.")),
        }
        if action not in actions:
            raise Http404
        run, success = actions[action]
        _act(request, task.instance_id, run, success)
        return redirect("workflow:instance", task.instance_id)


class InstanceActionView(ActionView):
    """Withdraw, resubmit, urge, comment (with files) and an administrator's jump."""

    def post(self, request, pk, action):
        instance = get_object_or_404(ProcessInstance, pk=pk)
        user = request.user
        if not services.may_view_instance(instance, user):
            raise Http404
        comment = _comment(request)
        actions = {
            "withdraw": (lambda: services.withdraw(instance=instance, user=user, comment=comment), _("The process was withdrawn.")),
            "resubmit": (
                lambda: services.resubmit(instance=instance, user=user, comment=comment, form_data=request.POST, form_files=request.FILES),
                _("Resubmitted."),
            ),
            "urge": (lambda: services.urge(instance=instance, user=user, comment=comment), _("The assignees were reminded.")),
            "comment": (
                lambda: services.comment(instance=instance, user=user, text=comment, files=request.FILES.getlist("files")[:10]),
                _("Your comment was added."),
            ),
            "jump": (
                lambda: services.jump(instance=instance, user=user, step=request.POST.get("step", ""), reason=request.POST.get("reason", "").strip()[:2000]),
                _("The process was moved."),
            ),
        }
        if action not in actions:
            raise Http404
        run, success = actions[action]
        _act(request, instance.pk, run, success)
        return redirect("workflow:instance", instance.pk)


class EventAttachmentView(View):
    """A file attached to a comment on an instance, for whoever may see the instance."""

    def get(self, request, pk):
        from django.contrib.contenttypes.models import ContentType

        from qinglan.extras.models import Attachment

        attachment = get_object_or_404(Attachment, pk=pk, content_type=ContentType.objects.get_for_model(TaskEvent))
        event = get_object_or_404(TaskEvent.objects.select_related("instance"), pk=attachment.object_id)
        if not services.may_view_instance(event.instance, request.user):
            raise Http404
        try:
            handle = attachment.file.open("rb")
        except FileNotFoundError:
            raise Http404 from None
        response = FileResponse(handle, as_attachment=True, filename=attachment.name, content_type="application/octet-stream")
        response["X-Content-Type-Options"] = "nosniff"
        return response


# ---- reports -----------------------------------------------------------------------------------


class ReportView(View):
    """A workflow report: for members who may view process instances, over those in their scope."""

    def dispatch(self, request, *args, **kwargs):
        from qinglan.core.permissions import has_permission

        if not has_permission(request.user, ProcessInstance, "view"):
            raise PermissionDenied(_("You have no permission to do this."))
        return super().dispatch(request, *args, **kwargs)


class DurationReportView(ReportView):
    """Average and longest duration per process (start to decision) and per step (task opened to
    completed), over the instances started in the chosen days."""

    template_name = "workflow/report_durations.html"

    def get(self, request):
        instances = reports.instances_in_scope(request.user)
        form = reports.PeriodForm(request.GET or None, instances=instances)
        context = {"form": form, "processes": [], "steps": [], "limit": reports.MAX_ROWS}
        if request.GET and not form.is_valid():
            return render(request, self.template_name, context, status=400)
        if form.is_bound:
            instances = form.narrow(instances)
        processes, steps = reports.process_durations(instances), reports.step_durations(instances)
        for row in processes + steps:
            row["average_text"], row["longest_text"] = reports.duration_text(row["average"]), reports.duration_text(row["longest"])
        context.update({
            "processes": processes[: reports.MAX_ROWS], "steps": steps[: reports.MAX_ROWS],
            "more": len(processes) > reports.MAX_ROWS or len(steps) > reports.MAX_ROWS,
        })
        return render(request, self.template_name, context)


class OverdueReportView(ReportView):
    """Open steps past their deadline, by member and by department, and the most overdue ones
    (narrowed to one member or department when chosen)."""

    template_name = "workflow/report_overdue.html"

    def get(self, request):
        from django.utils import timezone

        form = reports.OverdueForm(request.GET or None)
        context = {"form": form, "members": [], "departments": [], "tasks": [], "total": 0, "limit": reports.MAX_ROWS}
        if request.GET and not form.is_valid():
            return render(request, self.template_name, context, status=400)
        now = timezone.now()
        tasks = reports.overdue_tasks(request.user, now=now)
        members, departments = reports.overdue_by_member(tasks, now=now), reports.overdue_by_department(tasks, now=now)
        listed = tasks
        chosen = form.cleaned_data if form.is_bound else {}
        if chosen.get("member"):
            listed = listed.filter(assignee_id=chosen["member"])
        if chosen.get("department"):
            listed = listed.filter(Q(assignee__department_id=chosen["department"]) | Q(assignee__isnull=True, candidate_department_id=chosen["department"]))
        listed = list(
            listed.select_related("instance", "instance__initiator", "assignee", "candidate_role", "candidate_department", "candidate_position")
            .order_by("due", "id")[: reports.OVERDUE_LIST]
        )
        for task in listed:
            task.late = reports.duration_text(now - task.due)
        context.update({
            "members": members[: reports.MAX_ROWS], "departments": departments[: reports.MAX_ROWS], "tasks": listed,
            "total": sum(row["count"] for row in departments), "chosen": chosen, "list_limit": reports.OVERDUE_LIST,
            "more": len(members) > reports.MAX_ROWS or len(departments) > reports.MAX_ROWS,
        })
        return render(request, self.template_name, context)
