"""The customer page's contacts and follow-up timeline (restricted like every list)."""

from django import template
from django.urls import reverse

from qinglan.core.permissions import has_permission

register = template.Library()

PANEL_ROWS = 10


@register.simple_tag
def customer_contacts(record, user):
    """{"rows": the customer's contacts the member may view (primary first), "more": bool,
    "add_url": the add form for this customer, or None without permission}."""
    from qinglan.customers.models import Contact

    rows = list(
        Contact.objects.restrict(user, "view").filter(customer_id=record.pk).order_by("-is_primary", "name", "pk")[: PANEL_ROWS + 1]
    )
    return {
        "rows": rows[:PANEL_ROWS],
        "more": len(rows) > PANEL_ROWS,
        "list_url": f"{reverse('customers:contact_list')}?customer={record.pk}",
        "add_url": f"{reverse('customers:contact_add')}?customer={record.pk}" if has_permission(user, Contact, "add") else None,
    }


@register.simple_tag
def customer_timeline(record, user):
    """The customer's latest follow-ups the member may view, newest first, like customer_contacts."""
    from qinglan.customers.models import Activity

    rows = list(
        Activity.objects.restrict(user, "view").filter(customer_id=record.pk).select_related("owner", "contact")[: PANEL_ROWS + 1]
    )
    return {
        "rows": rows[:PANEL_ROWS],
        "more": len(rows) > PANEL_ROWS,
        "list_url": f"{reverse('customers:activity_list')}?customer={record.pk}",
        "add_url": f"{reverse('customers:activity_add')}?customer={record.pk}" if has_permission(user, Activity, "add") else None,
    }


ICONS = {"call": "bi-telephone", "visit": "bi-geo-alt", "meeting": "bi-people", "email": "bi-envelope", "note": "bi-journal-text"}


@register.filter
def activity_icon(kind):
    return ICONS.get(kind, "bi-dot")
