from django import template
from django.contrib.contenttypes.models import ContentType
from django.utils.formats import localize
from django.utils.html import conditional_escape, escape
from django.utils.safestring import mark_safe
from django.utils.timezone import template_localtime
from django.utils.translation import gettext

register = template.Library()


@register.filter
def content_type_id(record):
    return ContentType.objects.get_for_model(record).pk


@register.simple_tag(takes_context=True)
def record_link(context, record):
    """The record as a link to its page when the member may view it, else its name alone."""
    from qinglan.core.detail import link_to

    return link_to(record, context["user"])


@register.simple_tag
def table_rows(table):
    """The body rows of a list table, put together here rather than by template loops: a page
    of 50 rows and ten columns is 500 cells, and the template engine's per-cell work (the loop,
    the attribute tag, the `if`, the variable) cost more than finding the cells' values. Each
    cell is shown as `{{ cell }}` would show it: in the member's time zone, localised, escaped.
    How a column finds and renders its value is worked out once per column (`_cell_reader`),
    not once per cell as django-tables2's rows do."""
    columns = [(column, _cell_reader(table, column)) for column in table.columns]
    rows = []
    select = None
    for row in table.rows:
        record = row.record
        cells = []
        for column, read in columns:
            if column.name == "select":
                select = select or escape(gettext("Select"))
                cell = ""  # SelectColumn renders nothing: the checkbox is written here
                content = f'<input type="checkbox" class="form-check-input" name="pk" value="{escape(record.pk)}" aria-label="{select}">'
            else:
                cell = read(record) if read is not None else row.get_cell(column.name)
                content = conditional_escape(localize(template_localtime(cell)))
            attrs = getattr(column, "_qinglan_td_html", None)
            if attrs is None:  # attributes computed from the cell: django-tables2 reads these two
                column.current_value, column.current_record = cell, record
                attrs = td_attrs(column)
            cells.append(f"<td {attrs}>{content}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    if not rows:
        empty = escape(gettext("No records found."))
        rows.append(f'<tr><td colspan="{len(table.columns)}" class="text-center text-secondary py-4">{empty}</td></tr>')
    return mark_safe("\n".join(rows))


@register.simple_tag
def panel_lines(lines):
    """The rows of a record's line table (core.detail: each value already HTML or plain text),
    joined here as `<td>{{ value }}</td>` would write them: 200 order lines of ten columns
    through the template engine's loops cost more than finding their values."""
    return mark_safe("".join("<tr>" + "".join(f"<td>{conditional_escape(value)}</td>" for value in line) + "</tr>" for line in lines))


_CELL_ARGUMENTS = {"value", "record", "column", "bound_column", "table"}


def _cell_reader(table, bound_column):
    """record -> the column's rendered cell, doing what django-tables2's BoundRow.get_cell does
    for a column whose path is a chain of model fields (a choice field shown by its label, an
    empty value as the column's default, the render method given the arguments it names).
    None for any other column: its cells go through django-tables2."""
    from django.core.exceptions import FieldDoesNotExist
    from django_tables2.utils import signature

    column = bound_column.column
    if bound_column.link or bound_column.name == "select":
        return None
    model = getattr(table._meta, "model", None)
    parts = str(bound_column.accessor).replace("__", ".").split(".")
    field = None
    for index, part in enumerate(parts):
        if model is None:
            return None
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return None
        if not field.concrete or field.many_to_many:
            return None
        if index < len(parts) - 1:
            if not (field.many_to_one or field.one_to_one):
                return None
            model = field.related_model
    render = bound_column.render
    wanted, catch_all = signature(render)
    if catch_all or not set(wanted) <= _CELL_ARGUMENTS:
        return None
    head, last = parts[:-1], parts[-1]
    display = f"get_{last}_display" if getattr(field, "choices", None) else None
    empty, default = column.empty_values, bound_column.default

    def read(record):
        owner = record
        for part in head:
            owner = getattr(owner, part)
            if owner is None:
                return default
        value = getattr(owner, display)() if display else getattr(owner, last)
        if value in empty:
            return default
        given = {"value": value, "record": record, "column": column, "bound_column": bound_column, "table": table}
        return render(**{name: given[name] for name in wanted})

    return read


@register.simple_tag
def td_attrs(column):
    """A table cell's attributes (``column.attrs.td.as_html``), worked out once per column of
    the table rather than for each of its cells, unless one of them depends on the row."""
    cached = getattr(column, "_qinglan_td_html", None)
    if cached is not None:
        return cached
    html = column.attrs["td"].as_html()
    declared = {**column._table.attrs.get("td", {}), **column.column.attrs.get("td", {})}
    if not any(callable(value) for value in declared.values()):
        column._qinglan_td_html = html
    return html
