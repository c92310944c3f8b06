"""Loaded with ``-p`` before Django is set up: each test process (every xdist worker too)
gets its own var/ folder (media, cache, Huey queue, SQLite test database) and runs
background jobs in-process through Huey's immediate mode."""

import os
import tempfile

_worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
os.environ["QINGLAN_VAR_DIR"] = tempfile.mkdtemp(prefix=f"qinglan-test-{_worker}-")
os.environ.setdefault("QINGLAN_HUEY_IMMEDIATE", "1")
