"""Keeping the index current: the generic services queue ``<app>.<model>.created``,
``.updated`` and ``.deleted`` on commit, and the event job (Huey) runs these subscribers, so
indexing never blocks or fails a save."""

from django.contrib.contenttypes.models import ContentType

from qinglan.core import events

from . import index


def _model(event):
    if not event.get("content_type") or event.get("object_id") is None:
        return None
    content_type = ContentType.objects.get_for_id(event["content_type"])
    return content_type.model_class()


@events.subscribe("*.*.created")
@events.subscribe("*.*.updated")
def reindex(event):
    model = _model(event)
    if model is None:
        return
    index.index_record(model, event["object_id"])
    index.reindex_dependents(model, event["object_id"])


@events.subscribe("*.*.deleted")
def remove(event):
    model = _model(event)
    if model is None:
        return
    index.remove_record(model, event["object_id"])
    index.reindex_dependents(model, event["object_id"])


@events.subscribe("extras.attachment.created")
def attachment_added(event):
    from .tasks import index_attachment

    if event.get("object_id") is not None:
        index_attachment(event["object_id"])


@events.subscribe("extras.attachment.deleted")
def attachment_removed(event):
    """The attachment's text row went with it; its record is indexed without it."""
    data = event.get("data") or {}
    if not data.get("record_type") or data.get("record_id") is None:
        return
    model = ContentType.objects.get_for_id(data["record_type"]).model_class()
    if model is not None:
        index.index_record(model, data["record_id"])
