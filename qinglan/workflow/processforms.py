"""Process forms: the form an administrator declares for a process in the designer
(``qinglan:formField`` elements, read by engine.read_definition into
``ProcessDefinition.form_fields``), built as a Django form, validated on the server and turned
into process data — plain JSON values the gateways' conditions and ``field:<name>`` assignees
read — and shown back on the instance page, each step seeing the fields as its
``qinglan:fields`` says (hidden, read-only or editable)."""

import datetime
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from qinglan.core.forms import BLANK_CHOICE_LABEL, style_field

from .choices import shown_name

HIDDEN, READONLY, EDITABLE = "hidden", "readonly", "editable"
MAX_NUMBER = 10**15
YES, NO = "yes", "no"


class MemberField(forms.CharField):
    """A member named by username (typed, with the active members offered in a datalist)."""

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return ""
        from qinglan.org.models import User

        if not User.objects.filter(username=value, is_active=True).exists():
            raise ValidationError(_("There is no active member “%(name)s”.") % {"name": value})
        return value


def _yes_no(value):
    return {YES: True, NO: False}.get(value)


def form_field(entry, *, has_file=False):
    """The Django form field of one declared field (`has_file`: an attachment is already
    there, so leaving the box empty keeps it)."""
    kind = entry["type"]
    # a shipped process's labels are English in its file, shown in the member's language
    common = {"label": shown_name(entry["label"]), "required": bool(entry.get("required")), "help_text": shown_name(entry.get("help", ""))}
    if kind == "longtext":
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=4000, **common)
    if kind == "number":
        return forms.IntegerField(min_value=-MAX_NUMBER, max_value=MAX_NUMBER, **common)
    if kind == "decimal":
        return forms.DecimalField(max_digits=19, decimal_places=4, min_value=-MAX_NUMBER, max_value=MAX_NUMBER, **common)
    if kind == "date":
        return forms.DateField(widget=forms.DateInput, **common)
    if kind == "choice":
        choices = [(option["value"], shown_name(option["label"])) for option in entry["options"]]
        return forms.ChoiceField(choices=[("", BLANK_CHOICE_LABEL), *choices], **common)
    if kind == "member":
        return MemberField(max_length=150, widget=forms.TextInput(attrs={"list": "workflow-members", "autocomplete": "off"}), **common)
    if kind == "yesno":
        return forms.TypedChoiceField(
            choices=[("", BLANK_CHOICE_LABEL), (YES, gettext_lazy("Yes")), (NO, gettext_lazy("No"))], coerce=_yes_no, empty_value=None, **common
        )
    if kind == "attachment":
        if has_file:
            common["required"] = False
        return forms.FileField(max_length=200, **common)
    return forms.CharField(max_length=200, **common)


class ProcessForm(forms.Form):
    """The form of `entries` (declared fields, in their order); `values`: the instance data the
    fields start from (a step editing them)."""

    def __init__(self, entries, *args, values=None, **kwargs):
        self.entries = list(entries)
        values = values or {}
        initial = {entry["name"]: to_initial(entry, values.get(entry["name"])) for entry in self.entries if entry["type"] != "attachment"}
        super().__init__(*args, initial=initial, **kwargs)
        for entry in self.entries:
            field = form_field(entry, has_file=bool(values.get(entry["name"])))
            style_field(field)
            self.fields[entry["name"]] = field

    @property
    def has_files(self):
        return any(entry["type"] == "attachment" for entry in self.entries)


def to_initial(entry, value):
    if value is None:
        return None
    if entry["type"] == "yesno":
        return YES if value else NO
    return value


def to_data(entry, value):
    """A cleaned form value as plain JSON (attachments are saved by the service)."""
    kind = entry["type"]
    if value is None or value == "":
        return None if kind not in ("text", "longtext", "choice", "member") else ""
    if kind == "decimal":
        value = Decimal(value)
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def member_names(entries, values):
    """{username: member as shown} for the member fields of `values`."""
    return members_named(values.get(entry["name"]) for entry in entries if entry["type"] == "member" and values.get(entry["name"]))


def members_named(usernames):
    from qinglan.org.models import User

    usernames = set(usernames)
    if not usernames:
        return {}
    return {member.username: str(member) for member in User.objects.filter(username__in=usernames)}


def shown_value(entry, value, members=None):
    """How a field's value reads on the page."""
    if value is None or value == "":
        return "—"
    kind = entry["type"]
    if kind == "choice":
        return next((shown_name(option["label"]) for option in entry["options"] if option["value"] == value), value)
    if kind == "yesno":
        return _("Yes") if value else _("No")
    if kind == "member":
        return (members or {}).get(value, value)
    if kind in ("number", "decimal") and isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:,}"  # grouped by thousands, as amounts are written in Chinese too
    if kind == "attachment" and isinstance(value, dict):
        return value.get("name", "")
    return value


def modes_for(entries, step_modes):
    """{field name: mode} at a step: what its qinglan:fields says, read-only otherwise."""
    return {entry["name"]: (step_modes or {}).get(entry["name"], READONLY) for entry in entries}
