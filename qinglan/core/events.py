"""Domain events: a service queues ``invoice.approved`` inside its transaction; on commit the
event is handed to a background job that runs subscribers (notifications, module hooks) and
webhooks. Nothing is sent for a transaction that rolls back."""

import fnmatch
import logging
import threading

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
    transaction.on_commit(lambda: _outbox.send([event]))
    return event


def queue_events(name, *, records, user=None):
    """The same event for many records (e.g. created by an import): handed to one background
    job on commit, which runs the subscribers for each record in turn."""
    events = [_event(name, record, user, None) for record in records]
    if not events:
        return events
    transaction.on_commit(lambda: _outbox.send(events))
    return events


class Outbox:
    """Hands committed events to the job queue, the events of threads committing at the same
    time in one job (group commit). Putting a job on the queue is a write the queue makes
    durable (SQLite: a transaction with fsync, ≈ 3 ms, one at a time per process), so one job
    per event capped a process at a few hundred events a second however many threads posted.
    A thread sends its events itself when it is its turn; threads that came meanwhile are sent
    together by the next one. Every caller returns once its own events are on the queue (or
    with the queue's error), as before: nothing is kept after the call."""

    def __init__(self):
        self.lock = threading.Lock()  # guards `waiting`
        self.turn = threading.Lock()  # one hand-over to the queue at a time
        self.waiting = []

    def send(self, events):
        slot = {"events": events, "sent": False, "error": None}
        with self.lock:
            self.waiting.append(slot)
        with self.turn:
            if not slot["sent"]:
                with self.lock:
                    group, self.waiting = self.waiting, []
                error = None
                try:
                    _enqueue([event for waiting in group for event in waiting["events"]])
                except Exception as failure:  # every sender in the group learns of it
                    error = failure
                for waiting in group:
                    waiting["sent"], waiting["error"] = True, error
        if slot["error"] is not None:
            raise slot["error"]


def _enqueue(events):
    from .tasks import handle_event, handle_events

    if len(events) == 1:
        handle_event(events[0])
    else:
        handle_events(events)


_outbox = Outbox()


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
