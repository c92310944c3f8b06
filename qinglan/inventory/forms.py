"""The line form of documents that may be entered by a partner's item code (material
mapping): a line names the product, or only the supplier's or customer's code for it."""

from django import forms
from django.core.exceptions import ValidationError

from . import services


class PartyCodeLineForm(forms.ModelForm):
    """The product is not required when the partner's code is given: it is looked up in the
    material mappings of the partner chosen on the document (the field `party_field` of the
    parent form, posted with the lines, or the saved document's). `code_field` names the
    line's code field."""

    party_field = "partner"
    code_field = "party_code"
    parent_field = "document"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "product" in self.fields and self.code_field in self.fields:
            self.fields["product"].required = False

    def party_id(self):
        posted = self.data.get(self.party_field) if self.data else None
        if posted and str(posted).isdigit():
            return int(posted)
        parent = getattr(self.instance, f"{self.parent_field}_id", None) and getattr(self.instance, self.parent_field)
        return getattr(parent, f"{self.party_field}_id", None) if parent is not None else None

    def clean(self):
        data = super().clean()
        code = (data.get(self.code_field) or "").strip()
        if not code:
            if "product" in self.fields and not data.get("product") and not self.errors and self.has_changed():
                self.add_error("product", forms.Field.default_error_messages["required"])
            return data
        try:
            product, variant, unit = services.resolve_party_code(
                party_id=self.party_id(), code=code, product=data.get("product"), variant=data.get("variant"), unit=data.get("unit"),
            )
        except ValidationError as error:
            self.add_error(self.code_field, error)
            return data
        data["product"], data[self.code_field] = product, code
        self.instance.product = product
        if "variant" in self.fields or variant is not None:
            data["variant"] = variant
            self.instance.variant = variant
        if unit is not None and not data.get("unit"):
            data["unit"] = unit
            self.instance.unit = unit
        return data
