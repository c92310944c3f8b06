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


@register.simple_tag
def may_claim_again_from(record, user):
    """For a pool customer that went from `user` to the pool less than its level's reclaim days
    ago: from when they may claim it back, shown as the claim's refusal shows it; else None
    (the Claim button is not offered to them meanwhile)."""
    from qinglan.core.permissions import has_permission
    from qinglan.customers import pool
    from qinglan.customers.models import Customer

    if not record.in_pool or not has_permission(user, Customer, "change"):
        return None
    until = pool.reclaim_blocked_until([record], user).get(record.pk)
    return pool.shown_moment(until) if until else None
