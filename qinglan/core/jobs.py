"""Background jobs (Huey): event processing. Modules define their own tasks next to their
services; this module holds the platform's."""

from huey.contrib.djhuey import db_task

from .events import run_subscribers


@db_task()
def handle_event(event):
    run_subscribers(event)


def process_event(event):
    handle_event(event)
