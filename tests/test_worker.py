"""The background worker is a real Huey consumer in its own process: an event queued by a
web process is picked up by `qinglan worker` and delivered to a webhook receiver — with the
embedded queue (SQLite) and with Redis (scale-out)."""

import os
import shutil
import socket
import subprocess
import sys
import time
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from huey.contrib.djhuey import HUEY

from qinglan.core.testing import make_member
from qinglan.extras.models import Webhook
from qinglan.extras.tests.test_webhooks import Receiver


def database_url():
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{quote(db['USER'])}:{quote(db['PASSWORD'])}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


def process_environment(**extra):
    return {
        **os.environ,
        "QINGLAN_VAR_DIR": str(settings.VAR_DIR),
        "QINGLAN_HUEY_IMMEDIATE": "0",
        "QINGLAN_DATABASE_URL": database_url(),
        **extra,
    }


def run_worker_until(receiver, environment):
    worker = subprocess.Popen(
        [sys.executable, "-m", "qinglan.cli", "worker"], env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        while not receiver.requests and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.2)
    finally:
        worker.terminate()
        output = worker.communicate(timeout=30)[0].decode(errors="replace")
    return output


@pytest.fixture
def redis_url(tmp_path):
    """A real Redis server on a free loopback port, for this test only."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server is needed for the scale-out test (apt-get install redis-server)"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    yield f"redis://127.0.0.1:{port}/0"
    server.terminate()
    server.wait(timeout=10)


@pytest.mark.django_db(transaction=True)
def test_worker_process_delivers_events(queued_huey, client):
    receiver = Receiver()
    admin = make_member("admin", superuser=True)
    Webhook.objects.create(name="erp", url=receiver.url, events=["org.position.created"], owner=admin)
    client.force_login(admin)
    assert client.post("/org/position/add/", {"name": "倉管員", "level": "2"}).status_code == 302
    assert receiver.requests == []  # queued, not run in the web process
    assert len(HUEY) >= 1
    try:
        output = run_worker_until(receiver, process_environment())
    finally:
        receiver.close()
    assert len(receiver.requests) == 1, output[-3000:]
    assert "倉管員".encode() in receiver.requests[0][1]


ENQUEUE = """
import django
django.setup()
from django.db import transaction
from qinglan.core.events import queue_event
from qinglan.org.models import Position
with transaction.atomic():
    position = Position.objects.create(name="redis-職位", level=3)
    queue_event("org.position.created", record=position)
"""


@pytest.mark.django_db(transaction=True)
def test_scale_out_over_redis(redis_url):
    receiver = Receiver()
    admin = make_member("admin", superuser=True)
    Webhook.objects.create(name="erp", url=receiver.url, events=["org.position.created"], owner=admin)
    environment = process_environment(QINGLAN_REDIS_URL=redis_url, DJANGO_SETTINGS_MODULE="qinglan.settings")
    web = subprocess.run([sys.executable, "-c", ENQUEUE], env=environment, capture_output=True, text=True, timeout=120)
    assert web.returncode == 0, web.stderr
    assert receiver.requests == []
    try:
        output = run_worker_until(receiver, environment)
    finally:
        receiver.close()
    assert len(receiver.requests) == 1, output[-3000:]
    assert "redis-職位".encode() in receiver.requests[0][1]
