"""Binding business records to processes: a module declares, once, that an action on its
records ("submit") starts a process when a condition holds, and what its own services do with
the record when the process ends. docs/workflow.md, "Binding a record to a process", is the
reference; in short::

    from qinglan.workflow import binding, services as workflow

    binding.bind(
        "sales.SalesOrder", action="submit", process_key="sales_order_credit",
        condition=lambda order: sales_services.credit_problem(order) is not None,
        data=lambda order: {"amount": order.total_base, "customer": order.customer.name},
        on_approved=lambda order, user: sales_services.approved_by_workflow(order=order, user=user),
        on_rejected=lambda order, user, reason: sales_services.rejected_by_workflow(order=order, user=user, reason=reason),
        on_withdrawn=lambda order, user, reason: sales_services.withdrawn_from_workflow(order=order, user=user),
    )
    instance = workflow.submit_for_approval(record=order, user=user)  # None: no approval needed

While a bound record has a running (or returned) instance it is locked for the generic edit,
bulk edit, import, API and delete paths (core.resources.add_edit_lock), and its page shows the
approval (core.detail.add_panel). The registry is code, filled when the apps are ready: it
holds no data, so every process reads the same bindings."""

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from uuid import UUID

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import expressions

_bindings = {}  # "app_label.modelname" of the concrete model -> [Binding], in the order bound


@dataclass(frozen=True)
class Binding:
    label: str
    model: type
    action: str
    process_key: str
    condition: object = None  # None (always), callable(record) -> bool, or an expression over the data
    data: object = None  # None or callable(record) -> dict: the process variables taken from the record
    on_approved: object = None  # callable(record, user)
    on_rejected: object = None  # callable(record, user, reason)
    on_withdrawn: object = None  # callable(record, user, reason)
    lock: bool = True
    title: object = None  # None or callable(record) -> str

    def variables(self, record, extra=None):
        """The process data for `record`: the binding's data(record), then `extra` over it, as
        plain JSON values (decimals become numbers, dates ISO text)."""
        values = dict(self.data(record) or {}) if self.data is not None else {}
        values.update(extra or {})
        return {str(key): plain(value) for key, value in values.items()}

    def applies(self, record, variables):
        """Whether submitting `record` needs this process; an expression that cannot be
        evaluated raises ValidationError with the reason."""
        if self.condition is None:
            return True
        if callable(self.condition):
            return bool(self.condition(record))
        try:
            return bool(expressions.evaluate(self.condition, variables))
        except expressions.ExpressionError as error:
            from django.core.exceptions import ValidationError

            raise ValidationError(str(error)) from None


def plain(value):
    """A value as JSON keeps it, for process data."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [plain(item) for item in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _model(model):
    if isinstance(model, str):
        try:
            model = apps.get_model(model)
        except (LookupError, ValueError) as error:
            raise ImproperlyConfigured(f"workflow.binding: no model {model!r} ({error})") from None
    if not (isinstance(model, type) and issubclass(model, models.Model)):
        raise ImproperlyConfigured(f"workflow.binding: {model!r} is not a model")
    return model._meta.concrete_model


def label_of(model_or_record):
    model = model_or_record if isinstance(model_or_record, type) else type(model_or_record)
    return model._meta.concrete_model._meta.label_lower


def bind(
    model, *, process_key, action="submit", condition=None, data=None, on_approved=None, on_rejected=None, on_withdrawn=None,
    lock=True, title=None,
):
    """Declare that `action` on records of `model` (a model or "app_label.ModelName") starts the
    process `process_key` when `condition` holds. Binding the same model and process again
    replaces the earlier binding (so a module may bind in its AppConfig.ready()). Returns the
    Binding."""
    model = _model(model)
    if not isinstance(action, str) or not action.strip():
        raise ImproperlyConfigured("workflow.binding: the action is a non-empty name such as 'submit'")
    if not isinstance(process_key, str) or not process_key.strip():
        raise ImproperlyConfigured("workflow.binding: process_key is the BPMN process ID")
    if isinstance(condition, str):
        try:
            expressions.check(condition)
        except expressions.ExpressionError as error:
            raise ImproperlyConfigured(f"workflow.binding: condition {condition!r}: {error}") from None
    elif condition is not None and not callable(condition):
        raise ImproperlyConfigured("workflow.binding: condition is None, a callable(record) or an expression")
    for name, value in (("data", data), ("on_approved", on_approved), ("on_rejected", on_rejected), ("on_withdrawn", on_withdrawn), ("title", title)):
        if value is not None and not callable(value):
            raise ImproperlyConfigured(f"workflow.binding: {name} must be callable")
    label = model._meta.label_lower
    binding = Binding(
        label=label, model=model, action=action.strip(), process_key=process_key.strip(), condition=condition, data=data,
        on_approved=on_approved, on_rejected=on_rejected, on_withdrawn=on_withdrawn, lock=lock, title=title,
    )
    found = _bindings.setdefault(label, [])
    found[:] = [b for b in found if b.process_key != binding.process_key]
    found.append(binding)
    _add_panel(model)
    return binding


def unbind(model, *, process_key=None, action=None):
    """Remove the bindings of `model` (of one process, or one action); returns how many.
    Instances already running keep their record; their end no longer calls back."""
    label = _model(model)._meta.label_lower
    found = _bindings.get(label, [])
    kept = [b for b in found if (process_key is not None and b.process_key != process_key) or (action is not None and b.action != action)]
    removed = len(found) - len(kept)
    if kept:
        _bindings[label] = kept
    else:
        _bindings.pop(label, None)
    return removed


def bindings_for(model_or_record, action=None):
    """The bindings of a model (or of a record's model), of one action when given, in order."""
    found = _bindings.get(label_of(model_or_record), [])
    return [b for b in found if action is None or b.action == action]


def bound_process_keys():
    """The process IDs bound to some model's action: they start from their records only."""
    return {b.process_key for found in _bindings.values() for b in found}


def is_bound(model_or_record):
    return label_of(model_or_record) in _bindings


def binding_of_instance(instance):
    """The binding that started `instance` (its record's model and its process), or None."""
    if not instance.content_type_id:
        return None
    label = f"{instance.content_type.app_label}.{instance.content_type.model}"
    key = instance.definition.key
    return next((b for b in _bindings.get(label, []) if b.process_key == key), None)


def record_lock(record, action):
    """core.resources.add_edit_lock: a bound record waiting for approval cannot be changed or
    deleted until the process ends (approved, rejected or withdrawn)."""
    if record is None or record.pk is None:
        return None
    bound = _bindings.get(label_of(record))
    if not bound or not any(b.lock for b in bound):
        return None
    from . import services

    instance = services.pending_instance(record)
    if instance is None:
        return None
    binding = next((b for b in bound if b.process_key == instance.definition.key), None)
    if binding is not None and not binding.lock:
        return None
    return lock_sentence(instance)


def lock_sentence(instance):
    from .choices import InstanceStatus, shown_name

    if instance.status == InstanceStatus.RETURNED:
        return _("Waiting for approval in the process “%(process)s”, returned to %(member)s to revise; it cannot be changed until the approval ends.") % {
            "process": shown_name(instance.definition.name), "member": instance.initiator,
        }
    steps = ", ".join(dict.fromkeys(str(task.label) for task in instance.tasks.filter(status="open", kind="step").order_by("id")[:5]))
    return _("Waiting for approval in the process “%(process)s” (step: %(steps)s); it cannot be changed until the approval ends.") % {
        "process": shown_name(instance.definition.name), "steps": steps or "—",
    }


RECORD_PANEL_TEMPLATE = "workflow/record_approval_panel.html"


def _add_panel(model):
    """The approval panel on the record's page, once per model (every resource of it)."""
    from qinglan.core import detail
    from qinglan.core.registry import registry
    from qinglan.core.resources import Panel

    for resource in registry:
        if resource.model._meta.concrete_model is not model:
            continue
        panels = detail._extra_panels.get(resource.model, [])
        if any(panel.template == RECORD_PANEL_TEMPLATE for panel in panels):
            continue
        detail.add_panel(resource.model, Panel(gettext_lazy("Approval"), template=RECORD_PANEL_TEMPLATE, side=True))
