"""Webhooks against a real HTTP server on the loopback interface."""

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.contrib.contenttypes.models import ContentType

from qinglan.core.testing import grant, make_member
from qinglan.extras.models import Webhook, WebhookDelivery
from qinglan.extras.tasks import deliver_webhook
from qinglan.org.models import Position


class Receiver:
    def __init__(self):
        self.requests = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def create_position_through_the_ui(client, name):
    response = client.post("/org/position/add/", {"name": name, "level": "1"})
    assert response.status_code == 302


@pytest.mark.django_db(transaction=True)
def test_event_is_delivered_signed(receiver, client):
    admin = make_member("admin", superuser=True)
    Webhook.objects.create(name="erp", url=receiver.url, events=["org.position.*"], secret="s3cret", owner=admin)
    client.force_login(admin)
    create_position_through_the_ui(client, "業務經理")
    assert len(receiver.requests) == 1
    headers, body = receiver.requests[0]
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["X-Qinglan-Signature"] == expected
    payload = json.loads(body)
    assert payload["event"] == "org.position.created"
    assert payload["data"]["name"] == "業務經理"
    assert WebhookDelivery.objects.get().status == WebhookDelivery.Status.DELIVERED


@pytest.mark.django_db(transaction=True)
def test_failed_delivery_is_retried_until_it_succeeds(receiver, client):
    admin = make_member("admin", superuser=True)
    Webhook.objects.create(name="erp", url=receiver.url, events=["*"], owner=admin)
    receiver.status = 500
    client.force_login(admin)
    create_position_through_the_ui(client, "倉管")
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.RETRYING and delivery.attempts == 1 and delivery.response_code == 500
    receiver.status = 204
    deliver_webhook.call_local(delivery.pk)  # what the scheduled retry runs
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED and delivery.attempts == 2


@pytest.mark.django_db(transaction=True)
def test_payload_only_for_records_the_owner_may_see(receiver, client):
    admin = make_member("admin", superuser=True)
    watcher = make_member("watcher")
    grant(watcher, Position, ["view"], constraints={"level__gte": 5})
    hook = Webhook.objects.create(name="narrow", url=receiver.url, events=["org.position.created"], owner=watcher)
    hook.content_types.add(ContentType.objects.get_for_model(Position))
    client.force_login(admin)
    create_position_through_the_ui(client, "經理")  # level 1: outside the watcher's constraint
    assert receiver.requests == []
    response = client.post("/org/position/add/", {"name": "專員", "level": "6"})
    assert response.status_code == 302
    assert [json.loads(body)["data"]["name"] for _headers, body in receiver.requests] == ["專員"]


@pytest.mark.django_db(transaction=True)
def test_nothing_is_sent_for_a_rolled_back_change(receiver, client):
    admin = make_member("admin", superuser=True)
    Webhook.objects.create(name="erp", url=receiver.url, events=["*"], owner=admin)
    client.force_login(admin)
    response = client.post("/org/position/add/", {"name": "", "level": "1"})  # invalid: nothing saved
    assert response.status_code == 400
    assert receiver.requests == []


@pytest.mark.django_db(transaction=True)
def test_a_failed_delivery_is_queued_again_with_growing_back_off_until_it_gives_up(receiver, client):
    """On the real Huey queue (not the test run's immediate mode): each failure queues the
    next attempt for 30 s, 60 s, 120 s… later; after MAX_ATTEMPTS the delivery is marked
    failed and nothing more is queued."""
    import datetime

    from huey.contrib.djhuey import HUEY

    from qinglan.extras.webhooks import MAX_ATTEMPTS, backoff_seconds

    def run_due_tasks():
        """What a worker does now: runs the due tasks; returns those queued for later."""
        later = []
        while (task := HUEY.dequeue()) is not None:
            if task.eta is not None and task.eta > HUEY._get_timestamp():
                later.append(task)
            else:
                HUEY.execute(task)
        return later

    admin = make_member("admin", superuser=True)
    Webhook.objects.create(name="erp", url=receiver.url, events=["org.position.created"], secret="s", owner=admin)
    receiver.status = 503
    client.force_login(admin)
    HUEY.immediate = False
    HUEY.flush()
    try:
        create_position_through_the_ui(client, "倉管")
        before = HUEY._get_timestamp()
        later = run_due_tasks()  # the event, then the first attempt
        after = HUEY._get_timestamp()
        for attempt in range(1, MAX_ATTEMPTS):
            delivery = WebhookDelivery.objects.get()
            assert delivery.attempts == attempt and delivery.status == WebhookDelivery.Status.RETRYING
            assert len(later) == 1
            (retry,) = later
            wait = datetime.timedelta(seconds=backoff_seconds(attempt))
            assert before + wait <= retry.eta <= after + wait, attempt  # queued for back-off seconds after the failure
            before = HUEY._get_timestamp()
            HUEY.execute(retry, timestamp=retry.eta)  # the worker, once the retry is due
            later = run_due_tasks()
            after = HUEY._get_timestamp()
        delivery = WebhookDelivery.objects.get()
        assert delivery.status == WebhookDelivery.Status.FAILED and delivery.attempts == MAX_ATTEMPTS
        assert [backoff_seconds(n) for n in range(1, MAX_ATTEMPTS)] == [30, 60, 120, 240, 480]
        assert len(receiver.requests) == MAX_ATTEMPTS
        assert all(headers["X-Qinglan-Signature"].startswith("sha256=") for headers, _body in receiver.requests)
        assert later == [] and HUEY.scheduled() == []  # given up
    finally:
        HUEY.flush()
        HUEY.immediate = True
