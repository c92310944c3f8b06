"""Scheduled jobs of the workflow module (Huey; the worker imports this module at start):
timers that are due move their instances on, and overdue steps are escalated."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task


@db_periodic_task(crontab(minute="*"))
def fire_due_timers():
    """Every minute: instances whose earliest timer is due run on from it."""
    from .services import fire_due_timers as fire

    return fire()


@db_periodic_task(crontab(minute="*/5"))
def escalate_overdue_tasks():
    """Every five minutes: open steps past their deadline go up to the assignee's manager, once."""
    from .services import escalate_overdue

    return escalate_overdue()


@db_task()
def send_mail(recipient, subject, body):
    """A reminder by mail, sent by the worker so that a slow mail server holds up nobody."""
    from django.core.mail import send_mail as send

    send(subject, body, None, [recipient])
