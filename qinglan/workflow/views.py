"""Pages of the workflow module: my tasks (inbox), starting a leave request, an instance with
its steps, audit trail and the Approve / Reject / Withdraw buttons."""

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from qinglan.core.forms import StyledFormMixin
from qinglan.core.pagination import SortKey, keyset_page

from . import assignees, services
from .choices import InstanceStatus, LeaveType, Outcome, TaskStatus
from .models import ProcessInstance, WorkTask

PAGE_SIZE = 25
TABS = {
    "open": [SortKey("created", descending=True), SortKey("pk", descending=True)],
    "done": [SortKey("completed", descending=True, nullable=True), SortKey("pk", descending=True)],
    "started": [SortKey("started", descending=True), SortKey("pk", descending=True)],
}


def _error_text(error):
    return " ".join(error.messages) if isinstance(error, ValidationError) else str(error)


class InboxView(View):
    template_name = "workflow/inbox.html"

    def get(self, request):
        tab = request.GET.get("tab") if request.GET.get("tab") in TABS else "open"
        user = request.user
        if tab == "open":
            queryset = services.open_tasks(user).select_related("instance", "instance__initiator", "assignee", "candidate_role")
        elif tab == "done":
            queryset = WorkTask.objects.filter(completed_by=user, status=TaskStatus.DONE).select_related("instance", "instance__initiator")
        else:
            queryset = ProcessInstance.objects.filter(initiator=user).select_related("definition")
        page = keyset_page(queryset, TABS[tab], size=PAGE_SIZE, after=request.GET.get("after"), before=request.GET.get("before"))
        context = {
            "tab": tab,
            "page": page,
            "query": f"tab={tab}",
            "open_count": services.open_task_count(user),
        }
        return render(request, self.template_name, context)


class LeaveRequestForm(StyledFormMixin, forms.Form):
    leave_type = forms.ChoiceField(label=gettext_lazy("type of leave"), choices=LeaveType.choices)
    date_from = forms.DateField(label=gettext_lazy("from"), widget=forms.DateInput)
    date_to = forms.DateField(label=gettext_lazy("to"), widget=forms.DateInput)
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


LEAVE_LABELS = {
    "leave_type": gettext_lazy("type of leave"),
    "date_from": gettext_lazy("from"),
    "date_to": gettext_lazy("to"),
    "days": gettext_lazy("days"),
    "reason": gettext_lazy("reason"),
}


class InstanceView(View):
    template_name = "workflow/instance.html"

    def get_instance(self, pk):
        instance = get_object_or_404(ProcessInstance.objects.select_related("definition", "initiator"), pk=pk)
        if not services.may_view_instance(instance, self.request.user):
            raise Http404
        return instance

    def get(self, request, pk):
        instance = self.get_instance(pk)
        tasks = list(instance.tasks.select_related("assignee", "candidate_role", "completed_by").order_by("created", "id"))
        actionable = [task for task in tasks if task.status == TaskStatus.OPEN and assignees.may_act(task, request.user)]
        leave_types = dict(LeaveType.choices)
        data = [
            (LEAVE_LABELS.get(name, name), leave_types.get(value, value) if name == "leave_type" else value)
            for name, value in instance.data.items()
        ]
        context = {
            "instance": instance,
            "tasks": tasks,
            "actionable": actionable,
            "events": instance.events.select_related("actor", "task"),
            "data": data,
            "can_withdraw": instance.initiator_id == request.user.pk and instance.status == InstanceStatus.RUNNING,
        }
        return render(request, self.template_name, context)


class CompleteTaskView(View):
    def post(self, request, pk):
        task = get_object_or_404(WorkTask, pk=pk)
        outcome = request.POST.get("outcome")
        if outcome not in Outcome.values:
            messages.error(request, _("Choose approve or reject."))
            return redirect("workflow:instance", task.instance_id)
        try:
            services.complete(task=task, user=request.user, outcome=outcome, comment=request.POST.get("comment", "").strip()[:2000])
        except PermissionDenied as error:
            raise PermissionDenied(str(error) or _("This task is not yours to complete.")) from None
        except ValidationError as error:
            messages.error(request, _error_text(error))
            return redirect("workflow:instance", task.instance_id)
        messages.success(request, _("Approved.") if outcome == Outcome.APPROVE else _("Rejected."))
        return redirect("workflow:inbox")


class WithdrawView(View):
    def post(self, request, pk):
        instance = get_object_or_404(ProcessInstance, pk=pk)
        if not services.may_view_instance(instance, request.user):
            raise Http404
        try:
            services.withdraw(instance=instance, user=request.user, comment=request.POST.get("comment", "").strip()[:2000])
        except PermissionDenied as error:
            raise PermissionDenied(str(error)) from None
        except ValidationError as error:
            messages.error(request, _error_text(error))
        else:
            messages.success(request, _("The process was withdrawn."))
        return redirect("workflow:instance", instance.pk)
