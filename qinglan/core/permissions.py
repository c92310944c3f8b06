"""restrict(user, action): the one permission choke point.

A member may act on a record when one of their roles (directly or through a group)
grants the action on the record's resource, with a data scope (own / department /
department and below / all) and optional JSON constraints, e.g.
``{"status": "open", "owner": "$user"}`` or a list of such dicts (any may match).
Superusers see everything; inactive or anonymous users nothing.
"""

from django.core.exceptions import FieldError, ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

ACTIONS = ("view", "add", "change", "delete", "export", "import", "approve")
READ_ACTIONS = ("view", "export")
ACTION_LABELS = {
    "view": _("view"),
    "add": _("add"),
    "change": _("change"),
    "delete": _("delete"),
    "export": _("export"),
    "import": _("import"),
    "approve": _("approve"),
}


class Scope(models.TextChoices):
    OWN = "own", _("own records")
    DEPARTMENT = "department", _("own department")
    SUBTREE = "subtree", _("department and below")
    ALL = "all", _("all records")


def _grants_by_type(user):
    """{content_type_id: [(actions, scope, constraints), …]} for a member, memoised on the
    user object (which lives for one request)."""
    cache = getattr(user, "_qinglan_grants", None)
    if cache is None:
        from qinglan.org.models import RolePermission

        cache = {}
        rows = (
            RolePermission.objects.filter(Q(role__members=user) | Q(role__groups__members=user))
            .values_list("content_type_id", "actions", "scope", "constraints")
            .distinct()
        )
        for content_type_id, actions, scope, constraints in rows:
            cache.setdefault(content_type_id, []).append((set(actions or ()), scope, constraints))
        user._qinglan_grants = cache
    return cache


def forget_grants(user):
    if hasattr(user, "_qinglan_grants"):
        del user._qinglan_grants


def grants(user, model, action):
    from django.contrib.contenttypes.models import ContentType

    content_type = ContentType.objects.get_for_model(model)
    return [(scope, constraints) for actions, scope, constraints in _grants_by_type(user).get(content_type.pk, ()) if action in actions]


def has_permission(user, model, action):
    """May the member do `action` on at least some records of `model`?"""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if action not in READ_ACTIONS:
        from .registry import registry

        resource = registry.get(model)
        if resource is not None and resource.read_only:
            return False
    if user.is_superuser:
        return True
    return bool(grants(user, model, action))


def _substitute(value, user):
    if value == "$user":
        return user.pk
    if value == "$department":
        return getattr(user, "department_id", None)
    if isinstance(value, list):
        return [_substitute(item, user) for item in value]
    return value


def constraints_q(constraints, user):
    if not constraints:
        return Q()
    groups = constraints if isinstance(constraints, list) else [constraints]
    combined = Q(pk__in=[])
    for group in groups:
        combined |= Q(**{key: _substitute(value, user) for key, value in group.items()})
    return combined


def validate_constraints(model, constraints):
    """Raise ValidationError unless the constraints form a valid filter on the model."""
    if constraints in (None, "", {}, []):
        return
    groups = constraints if isinstance(constraints, list) else [constraints]
    if not all(isinstance(group, dict) for group in groups):
        raise ValidationError(_("Constraints must be an object or a list of objects."))
    try:
        str(model._default_manager.filter(constraints_q(groups, _PlaceholderUser())).query)
    except (FieldError, ValueError, TypeError, ValidationError) as exc:
        raise ValidationError(_("Invalid constraints: %(error)s"), params={"error": exc}) from exc


class _PlaceholderUser:
    pk = 0
    department_id = 0


def scope_q(model, user, scope, action="view"):
    from .registry import registry

    resource = registry.get(model)
    if resource is None:
        return Q()
    return resource.scope(user, scope, action)


class RestrictedQuerySet(models.QuerySet):
    def restrict(self, user, action="view"):
        """Only the records `user` may `action`."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self
        from .registry import registry

        parents = registry.parents_of(self.model)
        if parents:  # a line goes with its record: the lines of the records one may `action`
            allowed = Q()
            for model, fk_name in parents:
                allowed |= Q(**{f"{fk_name}__in": model.objects.restrict(user, action).values("pk")})
            return self.filter(allowed)
        allowed = grants(user, self.model, action)
        if not allowed:
            return self.none()
        combined = None
        for scope, constraints in allowed:
            if scope == Scope.ALL and not constraints:
                return self
            part = scope_q(self.model, user, scope, action) & constraints_q(constraints, user)
            combined = part if combined is None else combined | part
        return self.filter(combined)


def unrestricted(user, model, action):
    """Does a grant of the member cover every record of `model` for `action` (superuser, or a
    scope of all records without constraints)? Then asking about one record needs no query."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    from .registry import registry

    if registry.parents_of(model):
        return False
    return any(scope == Scope.ALL and not constraints for scope, constraints in grants(user, model, action))


def may(user, action, record):
    """May `user` do `action` on `record`? The one spelling of "is this record among those
    restrict() lets the member act on"; no query when a grant covers every record."""
    model = record._meta.model  # not type(record): a lazy request.user is a SimpleLazyObject
    if unrestricted(user, model, action):
        return True
    return model._default_manager.restrict(user, action).filter(pk=record.pk).exists()


def restrict(user, action, queryset):
    """Functional spelling of queryset.restrict(user, action) for models outside core."""
    return queryset.restrict(user, action)
