"""Forms of the catalogue that build on the generated resource forms: attribute values as
typed inputs (one per attribute of the chosen category), attribute options one per line."""

import json
import re

from django import forms
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from qinglan.core.forms import resource_form_factory

from .choices import AttributeType


class AttributeInputs(forms.Widget):
    """One input per attribute (text, number with its unit, choice list, yes/no, date),
    posted as ``<name>__<code>``. The inputs follow the category (or product) chosen in the
    same form: htmx fetches them again when that field changes."""

    template_name = "products/attribute_inputs.html"

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.attribute_list = []
        self.source = "category"  # the field whose change reloads the inputs
        self.kind = "product"
        self.chosen = False  # whether the category (or product) is chosen yet

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        stored = value if isinstance(value, dict) else {}
        rows = []
        for attribute in self.attribute_list:
            current = stored.get(attribute.code)
            if attribute.type == AttributeType.BOOLEAN and isinstance(current, bool):
                current = "1" if current else "0"
            rows.append(
                {
                    "attribute": attribute,
                    "input_name": f"{name}__{attribute.code}",
                    "input_id": f"id_{name}__{attribute.code}",
                    "value": "" if current is None else str(current),
                }
            )
        context["widget"].update(
            {
                "rows": rows,
                "reload_url": reverse("products:attribute_inputs"),
                "source": self.source,
                "kind": self.kind,
                "chosen": self.chosen,
            }
        )
        return context

    def value_from_datadict(self, data, files, name):
        prefix = f"{name}__"
        if not any(key.startswith(prefix) for key in data) and name in data:
            return data.get(name)  # a whole object (API, import), not typed inputs
        return {key[len(prefix):]: data.get(key) for key in data if key.startswith(prefix)}

    def value_omitted_from_data(self, data, files, name):
        return False


_PAIR_SPLIT = re.compile(r"[;\n；]+")


class AttributeValuesField(forms.JSONField):
    """Attribute values as an object {code: value}: from the typed inputs, from JSON (the API,
    an exported file) or from ``code=value; code=value`` text typed into a spreadsheet. The
    values are checked by type in Product.clean / ProductVariant.clean."""

    default_error_messages = {"invalid": _("Write attribute values as code=value; code=value, or as a JSON object.")}

    def to_python(self, value):
        if value in (None, "", {}):
            return {}
        if isinstance(value, dict):
            return {str(key): item for key, item in value.items()}
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("{"):
                try:
                    parsed = json.loads(text)
                except json.JSONDecodeError:
                    raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
                if isinstance(parsed, dict):
                    return parsed
                raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
            result = {}
            for part in _PAIR_SPLIT.split(text):
                if not part.strip():
                    continue
                code, equals, item = part.partition("=")
                if not equals:
                    raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
                result[code.strip()] = item.strip()
            return result
        raise forms.ValidationError(self.error_messages["invalid"], code="invalid")

    def prepare_value(self, value):
        if isinstance(self.widget, AttributeInputs):
            return value
        if isinstance(value, dict):
            return json.dumps(value, ensure_ascii=False)
        return value

    def bound_data(self, data, initial):
        if self.disabled:
            return initial
        if isinstance(data, dict) or data in (None, ""):
            return data or {}
        try:
            return self.to_python(data)
        except forms.ValidationError:
            return data  # shown again as typed, with the error

    def has_changed(self, initial, data):
        return (initial or {}) != (self.to_python(data) if not isinstance(data, dict) else data)


def _chosen(form, name, model):
    """The record chosen in `form`'s field `name`: posted, given as initial value, or stored."""
    value = None
    if form.is_bound:
        value = form.data.get(name)
    if value in (None, ""):
        value = form.initial.get(name)
    if value in (None, "") and form.instance.pk:
        value = getattr(form.instance, f"{name}_id", None)
    value = getattr(value, "pk", value)
    if value in (None, "") or not str(value).isdigit():
        return None
    return model._default_manager.filter(pk=value).first()


def _use_inputs(form, attributes, *, source, kind, chosen):
    field = form.fields["attributes"]
    if form.purpose == "ui":
        widget = AttributeInputs()
        widget.attribute_list = attributes
        widget.source, widget.kind, widget.chosen = source, kind, chosen
        field.widget = widget
        field.label = ""  # the inputs sit in their own "Attributes" card, each with its name
    else:
        field.widget = forms.Textarea(attrs={"rows": 3, "class": "form-control"})
        field.help_text = _("Attribute code → value, as a JSON object or as code=value; code=value.")


def product_form(resource):
    from . import services
    from .models import Category

    base = resource_form_factory(resource)

    class ProductForm(base):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            category = _chosen(self, "category", Category)
            _use_inputs(self, services.attributes_for(category, for_variants=False), source="category", kind="product", chosen=category is not None)

    return ProductForm


def variant_form(resource):
    from . import services
    from .models import Product

    base = resource_form_factory(resource)

    class VariantForm(base):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            product = _chosen(self, "product", Product)
            attributes = services.attributes_for(product.category, for_variants=True) if product else []
            _use_inputs(self, attributes, source="product", kind="variant", chosen=product is not None)

    return VariantForm


class OptionsField(forms.Field):
    """A choice list's options: one per line on the page; a list (API) or a text with one per
    line or separated by commas (import)."""

    widget = forms.Textarea(attrs={"rows": 4})

    def to_python(self, value):
        if value in (None, ""):
            return []
        if isinstance(value, (list, tuple)):
            items = [str(item) for item in value]
        else:
            text = str(value)
            if text.strip().startswith("["):
                try:
                    parsed = json.loads(text)
                except json.JSONDecodeError:
                    parsed = None
                if isinstance(parsed, list):
                    return [str(item).strip() for item in parsed if str(item).strip()]
            items = re.split(r"\r?\n", text) if "\n" in text else re.split(r"[,，、]", text)
        return [item.strip() for item in items if item.strip()]

    def prepare_value(self, value):
        if isinstance(value, (list, tuple)):
            return "\n".join(str(item) for item in value)
        if isinstance(value, str) and value.startswith("["):
            try:
                return "\n".join(json.loads(value))
            except (json.JSONDecodeError, TypeError):
                return value
        return value


def attribute_form(resource):
    base = resource_form_factory(resource)

    class AttributeForm(base):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            old = self.fields["options"]
            self.fields["options"] = OptionsField(label=old.label, help_text=old.help_text, required=False)
            self.fields["options"].widget.attrs["class"] = "form-control"

    return AttributeForm
