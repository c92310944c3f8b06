"""Background jobs of the search app (Huey)."""

from huey.contrib.djhuey import db_task


@db_task()
def index_attachment(attachment_id):
    """Extract an attachment's text and re-index its record: a job of its own, so a slow
    file never holds up the other subscribers of the event."""
    from .documents import index_attachment as run

    run(attachment_id)
