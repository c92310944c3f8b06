import json
import zoneinfo
from functools import cache

from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.contenttypes.models import ContentType
from django.db.models import Case, When
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from qinglan.core.forms import ResourceForm, TreeForm
from qinglan.core.menu import all_menu_items, content_type_title, resource_sort_key
from qinglan.core.permissions import ACTION_LABELS, ACTIONS, validate_constraints
from qinglan.core.registry import registry

from .models import Department, Role, RolePermission, User


class DepartmentForm(TreeForm):
    parent = forms.ModelChoiceField(queryset=None, required=False, label=_("parent department"))

    class Meta:
        model = Department
        fields = ("name", "code", "head", "phone", "description")


class MemberForm(ResourceForm):
    password = forms.CharField(
        label=_("password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Leave empty to keep the current password. New members need one."),
    )

    class Meta:
        model = User
        fields = (
            "username", "display_name", "first_name", "last_name", "employee_number", "email", "phone", "mobile", "avatar",
            "department", "position", "manager", "is_active",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["password"].widget.attrs["class"] = "form-control"
        if not self.instance.pk and self.purpose == "ui":
            self.fields["password"].required = True
            self.fields["password"].help_text = ""
        self.fields["avatar"].widget.attrs["accept"] = "image/png,image/jpeg,image/gif,image/webp"

    def clean_password(self):
        password = self.cleaned_data.get("password")
        if password:
            password_validation.validate_password(password, self.instance)
        return password

    def save(self, commit=True):
        user = super().save(commit=False)
        if self.cleaned_data.get("password"):
            user.set_password(self.cleaned_data["password"])
        elif not user.pk:
            user.set_unusable_password()  # imported or API-created members set theirs by password reset
        if commit:
            user.save()
            self.save_m2m()
        return user


class RoleForm(ResourceForm):
    hidden_menus = forms.MultipleChoiceField(
        label=_("hidden menu items"), required=False, widget=forms.CheckboxSelectMultiple, choices=()
    )

    class Meta:
        model = Role
        fields = ("name", "description", "members", "groups", "hidden_menus")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["hidden_menus"].choices = all_menu_items()


def resource_content_types():
    """The content types of the registered resources, in menu order."""
    resources = sorted(registry, key=resource_sort_key)
    types = ContentType.objects.get_for_models(*[resource.model for resource in resources])
    return [types[resource.model] for resource in resources]


class RolePermissionForm(forms.ModelForm):
    actions = forms.MultipleChoiceField(
        label=_("actions"), choices=[(a, ACTION_LABELS[a]) for a in ACTIONS], widget=forms.CheckboxSelectMultiple, required=True
    )
    constraints = forms.CharField(
        label=_("constraints"), required=False, widget=forms.Textarea(attrs={"rows": 1}), help_text=RolePermission._meta.get_field("constraints").help_text
    )

    class Meta:
        model = RolePermission
        fields = ("content_type", "actions", "scope", "constraints")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        in_menu_order = [ct.pk for ct in resource_content_types()]
        self.fields["content_type"].queryset = ContentType.objects.filter(pk__in=in_menu_order).order_by(
            Case(*[When(pk=pk, then=position) for position, pk in enumerate(in_menu_order)])
        )
        self.fields["content_type"].label_from_instance = content_type_title
        # Wide enough for "<menu group> · <resource>" and the longest data scope, unclipped.
        self.fields["content_type"].widget.attrs["style"] = "min-width: 14rem"
        self.fields["scope"].widget.attrs["style"] = "min-width: 12rem"
        if self.instance.pk and self.instance.constraints is not None:
            self.initial["constraints"] = json.dumps(self.instance.constraints, ensure_ascii=False)

    def clean_constraints(self):
        text = (self.cleaned_data.get("constraints") or "").strip()
        if not text:
            return None
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(_("Not valid JSON: %(error)s"), params={"error": exc.msg}) from exc
        content_type = self.cleaned_data.get("content_type")
        if content_type is not None:
            validate_constraints(content_type.model_class(), value)
        return value


# Offered first in the member's time zone choice: where Qinglan's users mostly work.
COMMON_TIME_ZONES = ("Asia/Taipei", "Asia/Shanghai", "Asia/Hong_Kong")
# Names the tz database ships that are no place one lives in.
_NOT_TIME_ZONES = {"Factory", "localtime", "posixrules", "posix", "right"}


@cache
def time_zone_names():
    """Every zoneinfo name, sorted, the common ones first."""
    names = sorted(name for name in zoneinfo.available_timezones() if name not in _NOT_TIME_ZONES)
    common = [name for name in COMMON_TIME_ZONES if name in names]
    return [*common, *(name for name in names if name not in common)]


def time_zone_choices():
    """Choices of the time zone select, worded in the language of the request."""
    names = time_zone_names()
    common = [(name, name) for name in names if name in COMMON_TIME_ZONES]
    others = [(name, name) for name in names if name not in COMMON_TIME_ZONES]
    return [
        ("", gettext("Default (%(zone)s)") % {"zone": settings.TIME_ZONE}),
        (gettext("Common time zones"), common),
        (gettext("All other time zones"), others),
    ]


class TimeZoneField(forms.ChoiceField):
    """A zoneinfo name (e.g. Asia/Taipei), chosen from a list; anything else is refused."""

    default_error_messages = {"invalid_choice": _("“%(value)s” is not a time zone. Choose one from the list.")}

    def __init__(self, **kwargs):
        kwargs.setdefault("choices", time_zone_choices)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
