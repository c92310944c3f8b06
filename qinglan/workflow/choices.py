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
    FAILED = "failed", pgettext_lazy("process status", "failed")


class TaskStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("task status", "open")
    DONE = "done", pgettext_lazy("task status", "done")
    CANCELLED = "cancelled", pgettext_lazy("task status", "cancelled")


class Outcome(models.TextChoices):
    APPROVE = "approve", pgettext_lazy("task outcome", "approved")
    REJECT = "reject", pgettext_lazy("task outcome", "rejected")


class EventKind(models.TextChoices):
    STARTED = "started", pgettext_lazy("process event", "started")
    ASSIGNED = "assigned", pgettext_lazy("process event", "task assigned")
    APPROVED = "approved", pgettext_lazy("process event", "approved")
    REJECTED = "rejected", pgettext_lazy("process event", "rejected")
    WITHDRAWN = "withdrawn", pgettext_lazy("process event", "withdrawn")
    FINISHED = "finished", pgettext_lazy("process event", "finished")


class LeaveType(models.TextChoices):
    ANNUAL = "annual", _("annual leave")
    SICK = "sick", _("sick leave")
    PERSONAL = "personal", _("personal leave")
    OTHER = "other", _("other leave")
