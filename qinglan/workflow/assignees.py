"""Who acts on a step: the ``qinglan:assignee`` rule of a user task, resolved for one instance.

Rules (one per step):

==========================  ================================================================
``member:<username>``        that member
``role:<role name>``         any active member holding the role (directly or through a group);
                             the task is open to all of them and the first to act takes it
``manager``                  the initiator's manager (the member's *manager* field)
``department_head``          the head of the initiator's department; when the initiator is that
                             head, the head of the department above
``parent_department_head``   the head of the department above the initiator's
``initiator``                the initiator (e.g. to revise and resubmit)
(empty)                      nobody: the fallback below
==========================  ================================================================

When a rule finds nobody (no manager, a department without a head, an inactive member, a role
without members), the step goes to the process's fallback — ``member:<username>`` or
``role:<name>`` on the definition (or ``qinglan:fallback`` in the file) — and, when that finds
nobody either, to every administrator (superuser). A step is never left without someone who
can act on it."""

from dataclasses import dataclass

from django.db.models import Q
from django.utils.translation import gettext as _

RELATIVE_RULES = ("manager", "department_head", "parent_department_head", "initiator")
PREFIXES = ("member", "role")


@dataclass
class Assignment:
    assignee: object = None  # a member
    role: object = None
    for_administrators: bool = False
    fallback: bool = False  # the step's own rule found nobody


def _split(rule):
    prefix, _sep, value = rule.partition(":")
    return prefix.strip(), value.strip()


def check_rule(rule):
    """Raise ValueError (translated) unless `rule` is a known assignee rule (empty is allowed)."""
    if not rule or rule in RELATIVE_RULES:
        return
    prefix, value = _split(rule)
    if prefix in PREFIXES and value:
        return
    raise ValueError(
        _("unknown assignee rule “%(rule)s”; use member:<username>, role:<role name>, %(relative)s.")
        % {"rule": rule, "relative": ", ".join(RELATIVE_RULES)}
    )


def check_fallback(rule):
    if rule == "superusers":
        return
    prefix, value = _split(rule)
    if prefix in PREFIXES and value:
        return
    raise ValueError(_("unknown fallback “%(rule)s”; use member:<username>, role:<role name> or superusers.") % {"rule": rule})


def _active(member):
    return member if member is not None and member.is_active else None


def role_members(role):
    from qinglan.org.models import User

    return User.objects.filter(Q(roles=role) | Q(member_groups__roles=role), is_active=True).distinct()


def _absolute(rule):
    from qinglan.org.models import Role, User

    prefix, value = _split(rule)
    if prefix == "member":
        return Assignment(assignee=User.objects.filter(username=value, is_active=True).first())
    if prefix == "role":
        role = Role.objects.filter(name=value).first()
        if role is not None and role_members(role).exists():
            return Assignment(role=role)
    return Assignment()


def _department_head(initiator, *, skip_own=False):
    department = initiator.department
    if department is None:
        return None
    if skip_own:
        department = department.parent
    while department is not None:
        head = _active(department.head)
        if head is not None and head.pk != initiator.pk:
            return head
        department = department.parent  # the initiator heads it (or nobody does): ask above
    return None


def _relative(rule, initiator):
    if rule == "manager":
        manager = _active(initiator.manager)
        return Assignment(assignee=manager if manager is not None and manager.pk != initiator.pk else None)
    if rule == "department_head":
        return Assignment(assignee=_department_head(initiator))
    if rule == "parent_department_head":
        return Assignment(assignee=_department_head(initiator, skip_own=True))
    if rule == "initiator":
        return Assignment(assignee=_active(initiator))
    return Assignment()


def _found(assignment):
    return assignment.assignee is not None or assignment.role is not None


def resolve(rule, *, initiator, fallback=""):
    """The Assignment of a step with `rule` in an instance started by `initiator`."""
    rule = (rule or "").strip()
    assignment = _relative(rule, initiator) if rule in RELATIVE_RULES else (_absolute(rule) if rule else Assignment())
    if _found(assignment):
        return assignment
    if fallback and fallback != "superusers":
        assignment = _absolute(fallback)
        if _found(assignment):
            assignment.fallback = True
            return assignment
    return Assignment(for_administrators=True, fallback=True)


def may_act(task, member):
    """May `member` approve or reject the open task `task`?"""
    if member is None or not member.is_authenticated or not member.is_active:
        return False
    if task.assignee_id is not None:
        return task.assignee_id == member.pk
    if task.candidate_role_id is not None:
        return role_members(task.candidate_role).filter(pk=member.pk).exists()
    if task.for_administrators:
        return member.is_superuser
    return False


def open_tasks_q(member):
    """The open tasks `member` may act on, as a condition on WorkTask."""
    condition = Q(assignee=member) | Q(
        assignee__isnull=True, candidate_role__in=_member_role_ids(member)
    )
    if member.is_superuser:
        condition |= Q(assignee__isnull=True, candidate_role__isnull=True, for_administrators=True)
    return condition


def _member_role_ids(member):
    from qinglan.org.models import Role

    return list(Role.objects.filter(Q(members=member) | Q(groups__members=member)).values_list("pk", flat=True).distinct())
