"""The production settings pass Django's deployment checklist without a warning."""

import os
import secrets
import subprocess
import sys


def test_check_deploy_is_clean(tmp_path):
    environment = {
        **os.environ,
        "QINGLAN_ENV": "production",
        "QINGLAN_SECRET_KEY": secrets.token_urlsafe(64),
        "QINGLAN_ALLOWED_HOSTS": "crm.example.com",
        "QINGLAN_VAR_DIR": str(tmp_path),
    }
    environment.pop("QINGLAN_DEBUG", None)
    # The browser tests set this for their live server in the same worker process.
    environment.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    result = subprocess.run(
        [sys.executable, "-m", "qinglan.cli", "check", "--deploy", "--fail-level", "WARNING"],
        env=environment, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    environment = {**os.environ, "QINGLAN_ENV": "production", "QINGLAN_VAR_DIR": str(tmp_path)}
    environment.pop("QINGLAN_SECRET_KEY", None)
    result = subprocess.run([sys.executable, "-m", "qinglan.cli", "check"], env=environment, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "QINGLAN_SECRET_KEY" in result.stderr
