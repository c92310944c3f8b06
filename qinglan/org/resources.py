from django.utils.translation import gettext_lazy as _

from qinglan.core.registry import register
from qinglan.core.resources import Child, Panel, Resource

from . import forms
from .models import (
    CompanyProfile,
    Currency,
    Department,
    Dictionary,
    DictionaryItem,
    ExchangeRate,
    Group,
    NumberSequence,
    Position,
    Role,
    RolePermission,
    User,
)


@register(Department)
class DepartmentResource(Resource):
    columns = ("name", "code", "head", "phone")
    filters = ("head",)
    search = {"name": 100, "code": 100}
    form = forms.DepartmentForm
    fieldsets = ((_("Department"), ("name", "code", "head", "phone", "description")),)
    panels = (
        Panel(_("Department"), ("name", "code", "head", "phone", "description")),
        Panel(_("Place in the organisation"), template="org/department_tree_panel.html"),
    )
    ordering = ("path",)
    owner_field = "head"
    department_field = "self"
    menu_group = "org"
    menu_order = 10
    icon = "bi-diagram-3"
    import_lookups = {"head": "username"}


@register(User)
class MemberResource(Resource):
    columns = ("username", "display_name", "department", "position", "email", "mobile", "is_active")
    filters = ("department", "position", "is_active", "manager")
    search = {"username": 100, "display_name": 100, "email": 200, "mobile": 200, "employee_number": 100}
    form = forms.MemberForm
    fieldsets = (
        (_("Member"), ("username", "display_name", "first_name", "last_name", "employee_number", "email", "phone", "mobile", "avatar")),
        (_("Organisation"), ("department", "position", "manager", "is_active")),
    )
    bulk_edit_fields = ("department", "position", "manager", "is_active")
    export_fields = ("id", "username", "display_name", "first_name", "last_name", "employee_number", "email", "phone", "mobile", "department", "position", "manager", "is_active", "date_joined", "last_login")
    import_fields = ("username", "display_name", "first_name", "last_name", "employee_number", "email", "phone", "mobile", "department", "position", "manager", "is_active")
    import_lookups = {"department": "name", "position": "name", "manager": "username"}
    ordering = ("username",)
    owner_field = "self"
    department_field = "department"
    menu_group = "org"
    menu_order = 20
    menu_label = _("Members")
    icon = "bi-people"


@register(Position)
class PositionResource(Resource):
    columns = ("name", "level", "description")
    search = {"name": 100}
    fieldsets = ((_("Position"), ("name", "level", "description")),)
    menu_group = "org"
    menu_order = 30
    icon = "bi-person-badge"


@register(Group)
class GroupResource(Resource):
    columns = ("name", "description")
    search = {"name": 100}
    fieldsets = ((_("Group"), ("name", "description", "members")),)
    menu_group = "org"
    menu_order = 40
    icon = "bi-collection"


@register(Role)
class RoleResource(Resource):
    columns = ("name", "description")
    search = {"name": 100}
    form = forms.RoleForm
    fieldsets = ((_("Role"), ("name", "description", "members", "groups", "hidden_menus")),)
    children = {
        "permissions": Child(
            RolePermission, fields=("content_type", "actions", "scope", "constraints"), form=forms.RolePermissionForm, label=_("Permissions")
        )
    }
    panels = (
        Panel(_("Role"), ("name", "description", "members", "groups")),
    )
    menu_group = "org"
    menu_order = 50
    icon = "bi-shield-lock"


@register(CompanyProfile)
class CompanyProfileResource(Resource):
    columns = ("name", "short_name", "tax_id", "phone", "base_currency")
    fieldsets = ((_("Company"), ("name", "short_name", "tax_id", "address", "phone", "email", "website", "base_currency", "credit_control", "quote_discount_limit", "logo")),)
    menu_group = "settings"
    menu_order = 10
    icon = "bi-building"


@register(Dictionary)
class DictionaryResource(Resource):
    columns = ("code", "name", "description")
    search = {"code": 100, "name": 100}
    fieldsets = ((_("Dictionary"), ("code", "name", "description")),)
    children = {"items": Child(DictionaryItem, fields=("value", "label", "order", "active"), label=_("Options"))}
    menu_group = "settings"
    menu_order = 20
    icon = "bi-list-ul"


@register(Currency)
class CurrencyResource(Resource):
    columns = ("code", "name", "symbol", "decimal_places", "active")
    filters = ("active",)
    search = {"code": 100, "name": 100}
    fieldsets = ((_("Currency"), ("code", "name", "symbol", "decimal_places", "active")),)
    children = {"rates": Child(ExchangeRate, fields=("date", "rate"), label=_("Exchange rates"))}
    menu_group = "settings"
    menu_order = 30
    icon = "bi-currency-exchange"


@register(NumberSequence)
class NumberSequenceResource(Resource):
    columns = ("code", "name", "prefix", "padding", "next_value")
    search = {"code": 100, "name": 100}
    fieldsets = ((_("Number sequence"), ("code", "name", "prefix", "padding", "reset_yearly", "next_value")),)
    menu_group = "settings"
    menu_order = 40
    icon = "bi-123"
