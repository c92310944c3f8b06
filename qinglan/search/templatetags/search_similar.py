from django import template

from qinglan.search.similar import similar_records

register = template.Library()


@register.simple_tag
def similar_to(record, user):
    """The records most like `record` that `user` may view (``search.similar``)."""
    return similar_records(user, record)
