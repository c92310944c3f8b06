"""Detail pages: panels declared by the resource, child tables, custom fields, and panels
other modules add to a resource without editing it (``add_panel``)."""

from django.db import models
from django.template.loader import render_to_string
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _

from .models import CustomFieldsMixin
from .permissions import may, unrestricted
from .registry import registry

_extra_panels = {}


def add_panel(model, panel):
    """Let another module show a panel on `model`'s detail page (e.g. orders on a customer),
    after the resource's own panels of the same column (`Panel(..., side=True)`: the side one)."""
    _extra_panels.setdefault(model, []).append(panel)


class DetailPanels(list):
    """The panels of a detail page, in order; `main` and `side` split them into the page's two
    columns. Without any side panel the page is laid out in one column."""

    @property
    def main(self):
        return [panel for panel in self if not panel["side"]]

    @property
    def side(self):
        return [panel for panel in self if panel["side"]]


def decimal_text(value, places):
    """A decimal as people read it: digits grouped by thousands; money (two places or fewer)
    with its places, finer quantities and rates without trailing zeros (10.0000 → 10)."""
    text = f"{value:,.{places}f}"
    return text.rstrip("0").rstrip(".") if places > 2 and "." in text else text


def field_value_html(record, field, user):
    value = getattr(record, field.name, None)
    if isinstance(field, models.ManyToManyField):
        items = list(value.all()[:50])
        return format_html_join(", ", "{}", ((link_to(item, user),) for item in items)) if items else "—"
    if value in (None, ""):
        return "—"
    # get_<field>_display(): Django's for choices, or a model's own wording of a value
    # (e.g. a role permission's resource and actions).
    display = getattr(record, f"get_{field.name}_display", None)
    if callable(display):
        return display() or "—"
    if isinstance(field, models.ForeignKey):
        return link_to(value, user)
    if isinstance(field, models.BooleanField):
        return format_html('<i class="bi {}"></i> {}', "bi-check-circle text-success" if value else "bi-x-circle text-secondary", _("Yes") if value else _("No"))
    if isinstance(field, models.DateTimeField):
        return formats.date_format(timezone.localtime(value), "Y-m-d H:i")
    if isinstance(field, models.DateField):
        return formats.date_format(value, "Y-m-d")
    if isinstance(field, models.FileField):
        return format_html('<a href="{}">{}</a>', value.url, value.name.rsplit("/", 1)[-1]) if value else "—"
    if isinstance(field, models.URLField):
        return format_html('<a href="{}" rel="noopener noreferrer" target="_blank">{}</a>', value, value)
    if isinstance(field, models.EmailField):
        return format_html('<a href="mailto:{}">{}</a>', value, value)
    if isinstance(field, models.DecimalField):
        return decimal_text(value, field.decimal_places)
    return str(value)


def link_to(obj, user):
    resource = registry.get(obj)
    may_open = resource is not None and may(user, "view", obj)
    return _reference_html(obj, {obj.pk} if may_open else set())


def detail_panels(resource, record, user):
    panels = DetailPanels()
    for panel in [*resource.get_panels(), *_extra_panels.get(resource.model, [])]:
        if panel.template:
            html = render_to_string(panel.template, {"record": record, "resource": resource, "user": user, **panel.extra})
            if not html.strip():
                continue  # a template panel with nothing to say about this record is left out
            panels.append({"title": panel.title, "html": html, "side": panel.side})
            continue
        rows = []
        for name in panel.fields:
            field = resource.model_field(name)
            if field is None:
                continue
            rows.append((field.verbose_name, field_value_html(record, field, user)))
        panels.append({"title": panel.title, "rows": rows, "side": panel.side})
    if isinstance(record, CustomFieldsMixin):
        from qinglan.extras.customfields import display, field_defs_for

        definitions = field_defs_for(type(record))
        if definitions:
            data = record.custom_field_data or {}
            rows = [(d.label, display(d, data.get(d.name)) or "—") for d in definitions]
            panels.append({"title": _("Custom fields"), "rows": rows, "side": False})
    for name, child in resource.children.items():
        names = child.columns or child.fields
        fields = [child.model._meta.get_field(f) for f in names]
        # References shown as links (checked per column at once); a line model's own wording of
        # a value (get_<field>_display, e.g. a role permission's resource) goes first.
        references = [field for field in fields if isinstance(field, models.ForeignKey) and not hasattr(child.model, f"get_{field.name}_display")]
        lines = getattr(record, name).all()
        if references:
            lines = lines.select_related(*(field.name for field in references))
        lines = list(lines[:500])
        visible = _visible_references(lines, references, user)
        body = [
            [
                _reference_html(getattr(line, field.name), visible[field.name]) if field in references else field_value_html(line, field, user)
                for field in fields
            ]
            for line in lines
        ]
        headers = [field.verbose_name for field in fields]
        panels.append({"title": child.label or child.model._meta.verbose_name_plural, "headers": headers, "lines": body, "side": False})
    return panels


def _visible_references(lines, references, user):
    """{field name: ids of the referenced records the member may open} for the lines' foreign
    keys to resources: one restricted query per column, whatever the number of lines."""
    visible = {}
    for field in references:
        ids = {getattr(line, field.attname) for line in lines} - {None}
        resource = registry.get(field.related_model)
        if resource is None or not ids:
            visible[field.name] = set()
            continue
        if unrestricted(user, resource.model, "view"):
            visible[field.name] = ids
            continue
        allowed = resource.model._default_manager.restrict(user, "view").filter(pk__in=ids)
        visible[field.name] = set(allowed.values_list("pk", flat=True))
    return visible


def _reference_html(obj, visible):
    if obj is None:
        return "—"
    if obj.pk in visible:
        return format_html('<a href="{}">{}</a>', obj.get_absolute_url(), obj)
    return format_html("{}", obj)
