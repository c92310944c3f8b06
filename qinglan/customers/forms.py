"""The customer form: the generated resource form plus the duplicate check, so the add and
edit pages, the API and imports (which all validate through this form) warn alike."""

from django import forms
from django.forms import modelform_factory
from django.utils.translation import gettext_lazy as _

from qinglan.core.forms import ResourceForm

from .duplicates import check_customer, problems
from .normalize import email_key, tax_id_key

CHECKED_FIELDS = ("name", "tax_id", "phone", "mobile", "email")


class CustomerForm(ResourceForm):
    confirm_duplicates = forms.BooleanField(
        label=_("Save anyway: this is a different customer from the ones listed"), required=False,
    )
    # Shown above the fields by core/object_edit.html when the form sets it.
    notice_template = "customers/duplicate_warning.html"
    # Set by the generic import to {pk: row number} of the records it wrote in this run, so a
    # row that repeats an earlier row of the same file says so (instead of naming a record that
    # a check rolls back).
    imported_rows = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.duplicates = []
        self.fields["confirm_duplicates"].widget.attrs["class"] = "form-check-input"

    def clean_tax_id(self):
        return tax_id_key(self.cleaned_data.get("tax_id"))

    def clean_email(self):
        return email_key(self.cleaned_data.get("email"))

    def clean(self):
        cleaned = super().clean()
        if self.batch_checks:
            return cleaned  # an import checks its new rows a chunk at a time (CustomerResource.check_created)
        if self.instance.pk and not set(CHECKED_FIELDS) & set(self.changed_data):
            return cleaned  # an edit that leaves name, tax ID, phones and e-mail alone
        values = {name: cleaned.get(name) for name in CHECKED_FIELDS}
        if not any(values.values()):
            return cleaned
        matches = check_customer(values, user=self.user, exclude_pk=self.instance.pk, imported_rows=self.imported_rows)
        confirmed = bool(cleaned.get("confirm_duplicates"))
        self.duplicates = [match for match in matches if not match.blocking]
        self.duplicates_blocking = [match for match in matches if match.blocking]
        for field, message in problems(matches, confirmed=confirmed):
            if field or self.purpose != "ui":
                self.add_error(field or None, message)
        if self.duplicates and not confirmed and self.purpose == "ui":
            self.add_error(None, _("This customer may already exist. Check the customers listed below; if it is a different one, tick “Save anyway” and save again."))
        return cleaned


def customer_form(resource):
    """The customer resource's form class (fields from its fieldsets, like the generated one)."""
    return modelform_factory(resource.model, form=CustomerForm, fields=list(resource.form_fields()))
