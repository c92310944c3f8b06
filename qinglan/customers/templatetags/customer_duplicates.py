"""{% possible_duplicates record user as matches %}: the customers that look like `record`,
as `user` may learn of them (for the panel on the customer page)."""

from django import template

from ..duplicates import Candidate, find_duplicates, for_member

register = template.Library()


@register.simple_tag
def possible_duplicates(record, user):
    candidate = Candidate(
        name=record.name, tax_id=record.tax_id, phones=tuple(p for p in (record.phone, record.mobile) if p),
        emails=tuple(e for e in (record.email,) if e), exclude_pk=record.pk,
    )
    return for_member(find_duplicates(candidate, limit=10), user)


@register.simple_tag
def may_merge(user):
    from qinglan.core.permissions import has_permission

    from ..models import Customer

    return has_permission(user, Customer, "change") and has_permission(user, Customer, "delete")
