"""Domain events: a service queues ``invoice.approved`` inside its transaction; on commit the
event is handed to a background job that runs subscribers (notifications, module hooks) and
webhooks. Nothing is sent for a transaction that rolls back."""

import fnmatch
import logging

from django.contrib.contenttypes.models import ContentType
from django.db import transaction

logger = logging.getLogger("qinglan.events")

_subscribers = []


def subscribe(pattern):
    """Decorator: run ``handler(event)`` in the event job for names matching `pattern`."""

    def decorator(handler):
        _subscribers.append((pattern, handler))
        return handler

    return decorator


def event_name(record, verb):
    return f"{record._meta.app_label}.{record._meta.model_name}.{verb}"


def queue_event(name, *, record=None, user=None, data=None):
    event = _event(name, record, user, data)

    def dispatch():
        from .tasks import handle_event

        handle_event(event)

    transaction.on_commit(dispatch)
    return event


def queue_events(name, *, records, user=None):
    """The same event for many records (e.g. created by an import): handed to one background
    job on commit, which runs the subscribers for each record in turn."""
    events = [_event(name, record, user, None) for record in records]
    if not events:
        return events

    def dispatch():
        from .tasks import handle_events

        handle_events(events)

    transaction.on_commit(dispatch)
    return events


def _event(name, record, user, data):
    return {
        "event": name,
        "content_type": ContentType.objects.get_for_model(record).pk if record is not None else None,
        "object_id": record.pk if record is not None else None,
        "user": user.pk if user is not None and getattr(user, "is_authenticated", False) else None,
        "data": data or {},
    }


def run_subscribers(event):
    for pattern, handler in list(_subscribers):
        if fnmatch.fnmatchcase(event["event"], pattern):
            try:
                handler(event)
            except Exception:  # one failing subscriber must not stop the others
                logger.exception("event subscriber %s failed for %s", handler, event["event"])
