"""The background worker is a real Huey consumer in its own process: an event queued by a
web request is picked up by `qinglan worker` and delivered to a webhook receiver."""

import os
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


@pytest.fixture
def queued_huey():
    """Switch this process from immediate mode to the real queue the worker reads."""
    HUEY.immediate = False
    HUEY.flush()
    yield HUEY
    HUEY.flush()
    HUEY.immediate = True


@pytest.mark.django_db(transaction=True)
def test_worker_process_delivers_events(queued_huey, client):
    receiver = Receiver()
    admin = make_member("admin", superuser=True)
    Webhook.objects.create(name="erp", url=receiver.url, events=["org.position.created"], owner=admin)
    client.force_login(admin)
    assert client.post("/org/position/add/", {"name": "倉管員", "level": "2"}).status_code == 302
    assert receiver.requests == []  # queued, not run in the web process
    assert len(HUEY) >= 1
    environment = {
        **os.environ,
        "QINGLAN_VAR_DIR": str(settings.VAR_DIR),
        "QINGLAN_HUEY_IMMEDIATE": "0",
        "QINGLAN_DATABASE_URL": database_url(),
    }
    worker = subprocess.Popen([sys.executable, "-m", "qinglan.cli", "worker"], env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not receiver.requests and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.2)
    finally:
        worker.terminate()
        output = worker.communicate(timeout=30)[0].decode(errors="replace")
        receiver.close()
    assert len(receiver.requests) == 1, output[-3000:]
    assert b"\xe5\x80\x89\xe7\xae\xa1\xe5\x93\xa1" in receiver.requests[0][1]  # 倉管員
