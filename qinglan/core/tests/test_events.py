"""Events committed by many threads at the same time reach the job queue, each exactly once,
grouped into fewer jobs (core.events.Outbox: one write to the queue per group, not per event)."""

import threading

import pytest
from django.db import connection

from qinglan.core.events import queue_event


@pytest.mark.django_db(transaction=True)
def test_events_of_parallel_threads_each_reach_the_queue_once(queued_huey):
    start = threading.Barrier(16)

    def commit(thread):
        start.wait()
        try:
            for number in range(20):
                # outside a transaction on_commit runs at once: each call hands its event over now
                queue_event("test.outbox.sent", data={"thread": thread, "number": number})
        finally:
            connection.close()

    workers = [threading.Thread(target=commit, args=(thread,)) for thread in range(16)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    jobs = queued_huey.pending()
    sent = []
    for job in jobs:
        events = job.args[0] if isinstance(job.args[0], list) else [job.args[0]]
        sent += [(event["data"]["thread"], event["data"]["number"]) for event in events]
    assert sorted(sent) == [(thread, number) for thread in range(16) for number in range(20)]
    assert {job.name for job in jobs} <= {"handle_event", "handle_events"}
