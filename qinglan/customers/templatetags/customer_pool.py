from django import template

register = template.Library()


@register.simple_tag
def recent_transfers(record, limit=20):
    """The latest changes of owner of a customer, newest first."""
    from qinglan.customers.models import PoolTransfer

    return list(PoolTransfer.objects.filter(customer_id=record.pk).select_related("from_owner", "to_owner", "by")[:limit])


@register.simple_tag
def may_release(record, user):
    from qinglan.customers.pool_views import may_release as check

    return check(record, user)


@register.simple_tag
def release_url(record):
    from qinglan.customers.pool_views import release_url as url

    return url(record)
