from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class ProcessKind(models.TextChoices):
    FIXED = "fixed", pgettext_lazy("process kind", "fixed")
    PREDEFINED = "predefined", pgettext_lazy("process kind", "predefined")
    CUSTOM = "custom", pgettext_lazy("process kind", "custom")


class InstanceStatus(models.TextChoices):
    RUNNING = "running", pgettext_lazy("process status", "running")
    APPROVED = "approved", pgettext_lazy("process status", "approved")
    REJECTED = "rejected", pgettext_lazy("process status", "rejected")
    WITHDRAWN = "withdrawn", pgettext_lazy("process status", "withdrawn")
    RETURNED = "returned", pgettext_lazy("process status", "returned to the initiator")
    FAILED = "failed", pgettext_lazy("process status", "failed")


class TaskStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("task status", "open")
    WAITING = "waiting", pgettext_lazy("task status", "waiting for their turn")
    DONE = "done", pgettext_lazy("task status", "done")
    CANCELLED = "cancelled", pgettext_lazy("task status", "cancelled")


class TaskKind(models.TextChoices):
    STEP = "step", pgettext_lazy("task kind", "step")
    ASSIST = "assist", pgettext_lazy("task kind", "assist")
    RESUBMIT = "resubmit", pgettext_lazy("task kind", "resubmit")


class CountersignMode(models.TextChoices):
    ALL = "all", pgettext_lazy("countersign", "all must approve")
    ANY = "any", pgettext_lazy("countersign", "any one approves")
    QUORUM = "quorum", pgettext_lazy("countersign", "quorum")


class Outcome(models.TextChoices):
    APPROVE = "approve", pgettext_lazy("task outcome", "approved")
    REJECT = "reject", pgettext_lazy("task outcome", "rejected")
    RETURN = "return", pgettext_lazy("task outcome", "returned")


class EventKind(models.TextChoices):
    STARTED = "started", pgettext_lazy("process event", "started")
    ASSIGNED = "assigned", pgettext_lazy("process event", "task assigned")
    APPROVED = "approved", pgettext_lazy("process event", "approved")
    REJECTED = "rejected", pgettext_lazy("process event", "rejected")
    WITHDRAWN = "withdrawn", pgettext_lazy("process event", "withdrawn")
    FINISHED = "finished", pgettext_lazy("process event", "finished")
    CANCELLED = "cancelled", pgettext_lazy("process event", "task cancelled")
    DECIDED = "decided", pgettext_lazy("process event", "countersign decided")
    RETURNED = "returned", pgettext_lazy("process event", "returned")
    RESUBMITTED = "resubmitted", pgettext_lazy("process event", "resubmitted")
    DELEGATED = "delegated", pgettext_lazy("process event", "delegated")
    ASSIST_ASKED = "assist_asked", pgettext_lazy("process event", "assistance asked")
    ASSISTED = "assisted", pgettext_lazy("process event", "assisted")
    SIGNER_ADDED = "signer_added", pgettext_lazy("process event", "signer added")
    URGED = "urged", pgettext_lazy("process event", "urged")
    COMMENTED = "commented", pgettext_lazy("process event", "comment")
    JUMPED = "jumped", pgettext_lazy("process event", "jumped")
    ESCALATED = "escalated", pgettext_lazy("process event", "escalated")
    TIMER = "timer", pgettext_lazy("process event", "timer fired")
    COPIED = "copied", pgettext_lazy("process event", "copied")
    CHANGED = "changed", pgettext_lazy("process event", "form data changed")


class LeaveType(models.TextChoices):
    ANNUAL = "annual", _("annual leave")
    SICK = "sick", _("sick leave")
    PERSONAL = "personal", _("personal leave")
    OTHER = "other", _("other leave")


# The names of the shipped processes and of their steps, events, gateways and flows are English
# in the BPMN files and shown in the member's language (in the inbox, on the instance's drawing);
# names written by administrators are shown as written. The modules' fixed processes add theirs
# through register_fixed_process(names=); the common ones are here.
SHIPPED_NAMES = {
    "Leave request": _("Leave request"),
    "Manager approval": _("Manager approval"),
    "Department head approval": _("Department head approval"),
    "Revise and resubmit": _("Revise and resubmit"),  # the initiator's task when a request is returned to them
    "Submitted": pgettext_lazy("process shape", "Submitted"),
    "Approved": pgettext_lazy("process shape", "Approved"),
    "Rejected": pgettext_lazy("process shape", "Rejected"),
    "Approved?": pgettext_lazy("process shape", "Approved?"),
    "Approved? More than 3 days?": pgettext_lazy("process shape", "Approved? More than 3 days?"),
    "Approved? Amount?": pgettext_lazy("process shape", "Approved? Amount?"),
    "More than 3 days": pgettext_lazy("process shape", "More than 3 days"),
    "3 days or less": pgettext_lazy("process shape", "3 days or less"),
    # the expense claim (processes/expense_claim.bpmn): its name, step and form
    "Expense claim": _("Expense claim"),
    "Finance review": _("Finance review"),
    "Kind of expense": _("Kind of expense"),
    "Travel": pgettext_lazy("expense", "Travel"),
    "Meals and entertainment": pgettext_lazy("expense", "Meals and entertainment"),
    "Office supplies": pgettext_lazy("expense", "Office supplies"),
    "Other expense": pgettext_lazy("expense", "Other expense"),
    "Amount": pgettext_lazy("expense", "Amount"),
    "Date of the expense": pgettext_lazy("expense", "Date of the expense"),
    "Description": pgettext_lazy("expense", "Description"),
    "Receipt": pgettext_lazy("expense", "Receipt"),
}


def shown_name(name):
    return SHIPPED_NAMES.get(name, name)
