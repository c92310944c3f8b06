"""The customer form: the generated resource form plus the duplicate check, so the add and
edit pages, the API and imports (which all validate through this form) warn alike."""

from django import forms
from django.forms import modelform_factory
from django.utils.translation import gettext_lazy as _

from qinglan.core.forms import ResourceForm

from .duplicates import check_customer
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
        if self.instance.pk and not set(CHECKED_FIELDS) & set(self.changed_data):
            return cleaned  # an edit that leaves name, tax ID, phones and e-mail alone
        values = {name: cleaned.get(name) for name in CHECKED_FIELDS}
        if not any(values.values()):
            return cleaned
        matches = check_customer(values, user=self.user, exclude_pk=self.instance.pk, imported_rows=self.imported_rows)
        blocking = [match for match in matches if match.blocking]
        warnings = [match for match in matches if not match.blocking]
        for match in blocking:
            if match.import_row is not None:
                self.add_error("tax_id", match.text())
            elif match.visible:
                self.add_error("tax_id", _("A customer with this tax ID already exists: %(name)s (%(code)s).") % {
                    "name": match.customer.name, "code": match.customer.code,
                })
            else:
                self.add_error("tax_id", match.hidden_text())
        confirmed = cleaned.get("confirm_duplicates") and self.purpose != "import"
        if warnings and not confirmed:
            self.duplicates = warnings
            if self.purpose == "ui":
                self.add_error(None, _("This customer may already exist. Check the customers listed below; if it is a different one, tick “Save anyway” and save again."))
            else:
                for match in warnings:
                    self.add_error(None, match.text())
        self.duplicates_blocking = blocking
        return cleaned


def customer_form(resource):
    """The customer resource's form class (fields from its fieldsets, like the generated one)."""
    return modelform_factory(resource.model, form=CustomerForm, fields=list(resource.form_fields()))
