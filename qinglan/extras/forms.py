
from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from qinglan.core.forms import ResourceForm, StyledFormMixin
from qinglan.org.forms import resource_content_types

from .models import Comment, FieldDef, Webhook


class FieldDefForm(ResourceForm):
    choices = forms.CharField(
        label=_("choices"), required=False, widget=forms.Textarea(attrs={"rows": 4}), help_text=_("One option per line.")
    )
    default = forms.CharField(label=_("default value"), required=False)

    class Meta:
        model = FieldDef
        fields = (
            "content_type", "name", "label", "type", "required", "help_text", "order",
            "choices", "dictionary", "reference_type", "default", "show_in_list", "filterable",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        types = resource_content_types()
        for name in ("content_type", "reference_type"):
            self.fields[name].queryset = self.fields[name].queryset.filter(pk__in=[ct.pk for ct in types])
            self.fields[name].label_from_instance = lambda ct: str(ct.model_class()._meta.verbose_name_plural)
        # Stored as JSON, shown one option per line (a new definition's empty list as nothing, not "[]").
        self.initial["choices"] = "\n".join(str(choice) for choice in self.instance.choices or [])
        self.initial["default"] = "" if self.instance.default is None else self.instance.default

    def clean_choices(self):
        lines = [line.strip() for line in (self.cleaned_data.get("choices") or "").splitlines()]
        return [line for line in dict.fromkeys(lines) if line]

    def clean_default(self):
        value = self.cleaned_data.get("default")
        return value if value not in ("", None) else None


class WebhookForm(ResourceForm):
    events = forms.CharField(
        label=_("events"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_('One event per line, e.g. "org.user.created", "org.*" or "*".'),
    )

    class Meta:
        model = Webhook
        fields = ("name", "url", "events", "content_types", "secret", "owner", "active")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        types = resource_content_types()
        self.fields["content_types"].queryset = self.fields["content_types"].queryset.filter(pk__in=[ct.pk for ct in types])
        self.fields["content_types"].label_from_instance = lambda ct: str(ct.model_class()._meta.verbose_name_plural)
        self.fields["content_types"].required = False
        if self.instance.pk:
            self.initial["events"] = "\n".join(self.instance.events or [])

    def clean_events(self):
        value = self.cleaned_data.get("events")
        if isinstance(value, list):
            return value
        lines = [line.strip() for line in (value or "").splitlines() if line.strip()]
        if not lines:
            raise forms.ValidationError(_("Name at least one event."))
        return lines


class CommentForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = Comment
        fields = ("text",)
        widgets = {"text": forms.Textarea(attrs={"rows": 3, "placeholder": _("Write a comment; @username mentions a member.")})}


class AttachmentForm(StyledFormMixin, forms.Form):
    file = forms.FileField(label=_("file"))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.QINGLAN_MAX_UPLOAD_MB * 1024 * 1024
        if upload.size > limit:
            raise forms.ValidationError(
                _("The file is too large (%(size)s MB); the limit is %(limit)s MB."),
                params={"size": round(upload.size / 1048576, 1), "limit": settings.QINGLAN_MAX_UPLOAD_MB},
            )
        name = upload.name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
        extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        if extension in settings.QINGLAN_REFUSED_UPLOAD_EXTENSIONS:
            raise forms.ValidationError(_("Files of type .%(ext)s are not accepted."), params={"ext": extension})
        if upload.size == 0:
            raise forms.ValidationError(_("The file is empty."))
        return upload
