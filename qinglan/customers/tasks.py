"""Scheduled jobs of the customers module (Huey; the worker imports this module at start).

Huey's clock runs in UTC; the schedules below are in the server's time zone (TIME_ZONE), so
'at 02:30' means 02:30 where the company is."""

import datetime

from django.utils import timezone
from huey.contrib.djhuey import db_periodic_task, db_task


def local_time(*, hour=None, minute=0):
    """A Huey schedule matching `hour`:`minute` in TIME_ZONE (every hour when hour is None)."""

    def matches(moment):
        local = timezone.localtime(moment.replace(tzinfo=datetime.UTC) if timezone.is_naive(moment) else moment)
        return local.minute == minute and (hour is None or local.hour == hour)

    return matches


@db_periodic_task(local_time(hour=2, minute=30))
def return_idle_customers_to_pool():
    """Nightly: customers nobody followed up for their level's pool days go back to the pool."""
    from .pool import return_idle_customers

    return return_idle_customers()


@db_periodic_task(local_time(minute=5))
def send_follow_up_reminders():
    """Hourly, so a reminder comes soon after its day starts even if the worker was down at night."""
    from .reminders import send_follow_up_reminders as send

    return send()


@db_task()
def regrade_customers():
    """Every customer's value grade again, after an administrator changed the grade rules."""
    from .value import regrade_all

    return regrade_all()
