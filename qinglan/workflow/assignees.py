"""Who acts on a step: the ``qinglan:assignee`` rule of a user task, resolved for one instance.

Rules (one per step; a countersign step may list several, separated by commas, and gets every
member they find as a signer):

==============================  ============================================================
``member:<username>``            that member
``role:<role name>``             any active member holding the role (directly or through a
                                 group); the task is open to all of them and the first to act
                                 takes it — in a countersign step each of them signs
``department:<id or code>``      the active members of that department (open to all of them,
                                 or each signs in a countersign step)
``position:<name>``              the active members holding that position (likewise)
``manager``                      the initiator's manager (the member's *manager* field)
``department_head``              the head of the initiator's department; when the initiator is
                                 that head, the head of the department above
``parent_department_head``       the head of the department above the initiator's
``previous_approver_manager``    the manager of the member who completed the previous step
``record_owner``                 the owner of the business record (instance data
                                 ``record_owner``: a username or a member's ID; services.start
                                 fills it from a record that has an owner)
``field:<name>``                 the member named in the form field ``<name>`` of the process
                                 data (a username or a member's ID)
``initiator``                    the initiator (e.g. to revise and resubmit)
(empty)                          nobody: the fallback below
==============================  ============================================================

When a rule finds nobody (no manager, a department without a head, an inactive member, a role
without members), the step goes to the process's fallback — ``member:<username>`` or
``role:<name>`` on the definition (or ``qinglan:fallback`` in the file) — and, when that finds
nobody either, to every administrator (superuser). A step is never left without someone who
can act on it."""

from dataclasses import dataclass, field

from django.db.models import Q
from django.utils.translation import gettext as _

RELATIVE_RULES = ("manager", "department_head", "parent_department_head", "previous_approver_manager", "record_owner", "initiator")
PREFIXES = ("member", "role", "department", "position", "field")
GROUP_PREFIXES = ("role", "department", "position")  # rules that may find several members
ABSOLUTE_FORMS = "member:<username>, role:<role name>, department:<ID or code>, position:<name>, field:<form field>"  # syntax, not translated


@dataclass
class Context:
    """What relative rules are resolved against."""

    initiator: object
    data: dict = field(default_factory=dict)  # the process data at the step (form fields, record_owner)
    previous_approver: object = None  # who completed the step before this one


@dataclass
class Assignment:
    assignee: object = None  # a member
    role: object = None
    department: object = None
    position: object = None
    for_administrators: bool = False
    fallback: bool = False  # the step's own rule found nobody


def _split(rule):
    prefix, _sep, value = rule.partition(":")
    return prefix.strip(), value.strip()


def split_rules(text):
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _check_one(rule):
    if rule in RELATIVE_RULES:
        return
    prefix, value = _split(rule)
    if prefix in PREFIXES and value:
        return
    raise ValueError(
        _("unknown assignee rule “%(rule)s”; use %(absolute)s or %(relative)s.")
        % {"rule": rule, "absolute": ABSOLUTE_FORMS, "relative": ", ".join(RELATIVE_RULES)}
    )


def check_rule(rule, *, several=False):
    """Raise ValueError (translated) unless `rule` is a known assignee rule (empty is allowed);
    `several`: a countersign step, which may list rules separated by commas."""
    rules = split_rules(rule)
    if len(rules) > 1 and not several:
        raise ValueError(_("only a countersign step may list several assignee rules (“%(rule)s”).") % {"rule": rule})
    for one in rules:
        _check_one(one)


def check_fallback(rule):
    if rule == "superusers":
        return
    prefix, value = _split(rule)
    if prefix in ("member", "role") and value:
        return
    raise ValueError(_("unknown fallback “%(rule)s”; use member:<username>, role:<role name> or superusers.") % {"rule": rule})


def _active(member):
    return member if member is not None and member.is_active else None


def role_members(role):
    from qinglan.org.models import User

    return User.objects.filter(Q(roles=role) | Q(member_groups__roles=role), is_active=True).distinct()


def department_members(department):
    from qinglan.org.models import User

    return User.objects.filter(department=department, is_active=True)


def position_members(position):
    from qinglan.org.models import User

    return User.objects.filter(position=position, is_active=True)


def _department(value):
    from qinglan.org.models import Department

    department = Department.objects.filter(code=value).first()
    if department is None and value.isdigit():
        department = Department.objects.filter(pk=int(value)).first()
    return department


def _member_named(value):
    """The active member a data value names: a username or a member's ID."""
    from qinglan.org.models import User

    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        member = User.objects.filter(pk=int(value), is_active=True).first()
        if member is not None:
            return member
    return User.objects.filter(username=str(value), is_active=True).first()


def _absolute(rule, context=None):
    from qinglan.org.models import Position, Role, User

    prefix, value = _split(rule)
    if prefix == "member":
        return Assignment(assignee=User.objects.filter(username=value, is_active=True).first())
    if prefix == "role":
        role = Role.objects.filter(name=value).first()
        if role is not None and role_members(role).exists():
            return Assignment(role=role)
    if prefix == "department":
        department = _department(value)
        if department is not None and department_members(department).exists():
            return Assignment(department=department)
    if prefix == "position":
        position = Position.objects.filter(name=value).first()
        if position is not None and position_members(position).exists():
            return Assignment(position=position)
    if prefix == "field" and context is not None:
        return Assignment(assignee=_member_named(context.data.get(value)))
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


def _relative(rule, context):
    initiator = context.initiator
    if rule == "manager":
        manager = _active(initiator.manager)
        return Assignment(assignee=manager if manager is not None and manager.pk != initiator.pk else None)
    if rule == "department_head":
        return Assignment(assignee=_department_head(initiator))
    if rule == "parent_department_head":
        return Assignment(assignee=_department_head(initiator, skip_own=True))
    if rule == "previous_approver_manager":
        previous = context.previous_approver
        return Assignment(assignee=_active(previous.manager) if previous is not None else None)
    if rule == "record_owner":
        return Assignment(assignee=_member_named(context.data.get("record_owner")))
    if rule == "initiator":
        return Assignment(assignee=_active(initiator))
    return Assignment()


def _found(assignment):
    return any(value is not None for value in (assignment.assignee, assignment.role, assignment.department, assignment.position))


def _one(rule, context):
    return _relative(rule, context) if rule in RELATIVE_RULES else _absolute(rule, context)


def fallback_assignment(fallback):
    if fallback and fallback != "superusers":
        assignment = _absolute(fallback)
        if _found(assignment):
            assignment.fallback = True
            return assignment
    return Assignment(for_administrators=True, fallback=True)


def resolve(rule, *, context, fallback=""):
    """The Assignment of a one-person step with `rule`."""
    rule = (rule or "").strip()
    assignment = _one(rule, context) if rule else Assignment()
    if _found(assignment):
        return assignment
    return fallback_assignment(fallback)


def members_of(assignment):
    """Every member an assignment names, in a stable order."""
    if assignment.assignee is not None:
        return [assignment.assignee]
    if assignment.role is not None:
        return list(role_members(assignment.role).order_by("username"))
    if assignment.department is not None:
        return list(department_members(assignment.department).order_by("username"))
    if assignment.position is not None:
        return list(position_members(assignment.position).order_by("username"))
    return []


def signers(rule, *, context):
    """The members who sign a countersign step, in the order of the rules (each once); empty
    when the rules find nobody (the caller then uses the fallback)."""
    found = []
    for one in split_rules(rule):
        for member in members_of(_one(one, context)):
            if member.pk not in {m.pk for m in found}:
                found.append(member)
    return found


def may_act(task, member):
    """May `member` approve or reject the open task `task`?"""
    if member is None or not member.is_authenticated or not member.is_active:
        return False
    if task.assignee_id is not None:
        return task.assignee_id == member.pk
    if task.candidate_role_id is not None:
        return role_members(task.candidate_role).filter(pk=member.pk).exists()
    if task.candidate_department_id is not None:
        return member.department_id == task.candidate_department_id
    if task.candidate_position_id is not None:
        return member.position_id == task.candidate_position_id
    if task.for_administrators:
        return member.is_superuser
    return False


def open_tasks_q(member):
    """The open tasks `member` may act on, as a condition on WorkTask."""
    condition = Q(assignee=member) | Q(assignee__isnull=True, candidate_role__in=_member_roles(member))
    if member.department_id is not None:
        condition |= Q(assignee__isnull=True, candidate_department=member.department_id)
    if member.position_id is not None:
        condition |= Q(assignee__isnull=True, candidate_position=member.position_id)
    if member.is_superuser:
        condition |= Q(
            assignee__isnull=True, candidate_role__isnull=True, candidate_department__isnull=True,
            candidate_position__isnull=True, for_administrators=True,
        )
    return condition


MAX_ROLE_BRANCHES = 8


def open_task_conditions(member):
    """open_tasks_q(member) as separate conditions, one per way a task reaches the member
    (assigned to them, offered to each of their roles, to their department, their position,
    the administrators): each is served by one index in its order, so a page of the inbox is
    the first rows of each merged, instead of sorting every open task the member may act on."""
    role_ids = sorted({row for row in _member_roles(member).values_list("role_id", flat=True)})
    conditions = [Q(assignee=member)]
    if len(role_ids) <= MAX_ROLE_BRANCHES:
        conditions += [Q(assignee__isnull=True, candidate_role=role_id) for role_id in role_ids]
    else:
        conditions.append(Q(assignee__isnull=True, candidate_role__in=role_ids))
    if member.department_id is not None:
        conditions.append(Q(assignee__isnull=True, candidate_department=member.department_id))
    if member.position_id is not None:
        conditions.append(Q(assignee__isnull=True, candidate_position=member.position_id))
    if member.is_superuser:
        conditions.append(Q(
            assignee__isnull=True, candidate_role__isnull=True, candidate_department__isnull=True,
            candidate_position__isnull=True, for_administrators=True,
        ))
    return conditions


def _member_roles(member):
    """The IDs of `member`'s roles (their own and their groups'), as a subquery: the inbox
    asks once, in its own query."""
    from qinglan.org.models import Role

    own = Role.members.through.objects.filter(user_id=member.pk).values("role_id")
    through_groups = Role.groups.through.objects.filter(group__members=member.pk).values("role_id")
    return own.union(through_groups)
