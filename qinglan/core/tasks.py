"""Background jobs of the platform (Huey). Every app keeps its jobs in ``tasks.py`` so the
worker finds them when it starts (djhuey imports each app's tasks module)."""

from huey.contrib.djhuey import db_task

from .events import run_subscribers


@db_task()
def handle_event(event):
    run_subscribers(event)


@db_task()
def handle_events(events):
    for event in events:
        run_subscribers(event)


@db_task()
def run_import_job(job_id, commit):
    from .imports import process
    from .models import ImportJob

    job = ImportJob.objects.select_related("user", "content_type").get(pk=job_id)
    process(job, commit=commit)
