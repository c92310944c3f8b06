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
    cell is shown as `{{ cell }}` would show it: in the member's time zone, localised, escaped."""
    rows = []
    select = None
    for row in table.rows:
        cells = []
        for column, cell in row.items():
            if column.name == "select":
                select = select or escape(gettext("Select"))
                content = f'<input type="checkbox" class="form-check-input" name="pk" value="{escape(row.record.pk)}" aria-label="{select}">'
            else:
                content = conditional_escape(localize(template_localtime(cell)))
            cells.append(f"<td {td_attrs(column)}>{content}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    if not rows:
        empty = escape(gettext("No records found."))
        rows.append(f'<tr><td colspan="{len(table.columns)}" class="text-center text-secondary py-4">{empty}</td></tr>')
    return mark_safe("\n".join(rows))


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
