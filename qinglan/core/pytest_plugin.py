"""Loaded with ``-p`` before Django is set up: tests get their own var/ folder (media,
cache, Huey file) and run background jobs in-process through Huey's immediate mode."""

import os
import tempfile

os.environ.setdefault("QINGLAN_VAR_DIR", tempfile.mkdtemp(prefix="qinglan-test-"))
os.environ.setdefault("QINGLAN_HUEY_IMMEDIATE", "1")
