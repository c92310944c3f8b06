"""Scheduled jobs of the warehouse (Huey; the worker imports this module at start)."""

import datetime

from huey.contrib.djhuey import db_periodic_task

from qinglan.customers.tasks import local_time


@db_periodic_task(local_time(hour=7, minute=10))
def send_expiry_alerts():
    """Each morning: the managers of a warehouse hear of its batches expiring within 30 days,
    within 7 days and expired (once per batch and threshold)."""
    from .alerts import send_expiry_alerts as send

    return send()


@db_periodic_task(local_time(hour=2, minute=40))
def take_month_end_snapshot():
    """Nightly at 02:40: when this month's start has no stock snapshot yet (the first night of
    the month, or after the worker was down), take it; the past-date stock report starts there."""
    from django.utils import timezone

    from .models import StockSnapshot
    from .snapshots import month_start, take_snapshot

    moment = month_start(timezone.localdate())
    if StockSnapshot.objects.filter(taken_at=moment).exists() or moment > timezone.now() - datetime.timedelta(hours=1):
        return None
    return take_snapshot(at=moment).line_count
