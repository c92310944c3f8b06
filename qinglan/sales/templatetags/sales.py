from decimal import Decimal

from django import template
from django.db.models import Case, Value, When

register = template.Library()


@register.filter
def money(value, places=2):
    """1234567.5 → "1,234,567.50" (`places` decimals; a currency's own number, e.g. 0 for TWD)."""
    if value in (None, ""):
        return ""
    try:
        places = int(places)
    except (TypeError, ValueError):  # no currency (e.g. no base currency set yet): cents
        places = 2
    return f"{Decimal(value):,.{places}f}"


@register.simple_tag
def customer_opportunities(customer, user, limit=10):
    """The customer's opportunities the member may view: open ones first, then the latest
    closed; (opportunities, how many there are in all)."""
    from ..choices import StageKind
    from ..models import Opportunity

    visible = Opportunity.objects.restrict(user, "view").filter(customer=customer)
    rows = list(
        visible.select_related("stage", "currency", "owner")
        .order_by(Case(When(status=StageKind.OPEN, then=Value(0)), default=Value(1)), "-expected_close_date", "-id")[:limit]
    )
    return rows, visible.count()


@register.simple_tag
def stage_history(opportunity, limit=20):
    return list(opportunity.stage_changes.select_related("from_stage", "to_stage", "changed_by")[:limit])
