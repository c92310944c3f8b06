from django import template
from django.contrib.contenttypes.models import ContentType

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
