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
