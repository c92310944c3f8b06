"""A file of more than BACKGROUND_ROWS rows is checked and imported by a background job on
the real Huey queue: the page shows a progress bar that polls itself until a worker has run
the job, and nothing is written until the member confirms and the job has run."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from huey.contrib.djhuey import HUEY

from qinglan.core import imports
from qinglan.core.models import ImportJob
from qinglan.core.testing import make_member
from qinglan.org.models import Position


@pytest.fixture
def queue(transactional_db):
    """Huey with its real (SQLite) storage instead of the test run's immediate mode; `run()`
    does what a worker does: takes each queued task and executes it, until none is left (a
    task closes its database connection when it ends, as in a worker: hence a transactional
    test)."""
    HUEY.immediate = False
    HUEY.flush()

    def run():
        executed = 0
        while (task := HUEY.dequeue()) is not None:
            HUEY.execute(task)
            executed += 1
        return executed

    yield run
    HUEY.flush()
    HUEY.immediate = True


def progress_bar(html):
    match = re.search(r'role="progressbar"[^>]*aria-valuenow="(\d+)"[^>]*aria-valuemax="(\d+)"', html)
    return match and (int(match.group(1)), int(match.group(2)))


def test_a_large_file_is_checked_and_imported_by_a_background_job_with_a_progress_bar(queue):
    admin = make_member("admin", superuser=True)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(admin)
    rows = imports.BACKGROUND_ROWS + 1
    content = "name,level\n" + "".join(f"職位{number:05d},{number % 9}\n" for number in range(rows))
    job_url = client.post("/org/position/import/", {"file": SimpleUploadedFile("big.csv", content.encode())})["Location"]
    job = ImportJob.objects.get()
    assert job.total_rows == rows

    # the check is queued, not run in the request; the page polls itself with a progress bar
    assert client.post(job_url, {"column_0": "name", "column_1": "level"}).status_code == 302
    page = client.get(job_url).content.decode()
    assert "Checking the file…" in page and 'hx-trigger="every 1s"' in page
    assert progress_bar(page) == (0, rows)
    assert ImportJob.objects.get().status == ImportJob.Status.CHECKING
    assert queue() >= 1  # a worker runs the check
    page = client.get(job_url).content.decode()
    assert 'data-testid="import-ok"' in page and "every 1s" not in page
    assert not Position.objects.exists()  # a check writes nothing

    # confirming queues the import; the records appear once the worker has run it
    client.post(job_url, {"_confirm": "1"})
    page = client.get(job_url).content.decode()
    assert "Importing…" in page and progress_bar(page) == (0, rows)
    assert not Position.objects.exists()
    queue()
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.DONE and job.created_count == rows
    assert Position.objects.count() == rows
    assert "every 1s" not in client.get(job_url).content.decode()


def test_a_background_import_with_a_bad_row_writes_nothing(queue):
    admin = make_member("admin", superuser=True)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(admin)
    rows = imports.BACKGROUND_ROWS + 1
    content = "name,level\n" + "".join(f"職位{number:05d},{number % 9}\n" for number in range(rows - 1)) + "壞的,不是數字\n"
    job_url = client.post("/org/position/import/", {"file": SimpleUploadedFile("big.csv", content.encode())})["Location"]
    client.post(job_url, {"column_0": "name", "column_1": "level"})
    queue()
    page = client.get(job_url).content.decode()
    assert 'data-testid="import-errors"' in page and f"{rows + 1}" in page  # the bad row's line in the file
    client.post(job_url, {"_confirm": "1"})  # refused: the check found errors
    assert queue() == 0
    assert not Position.objects.exists()
