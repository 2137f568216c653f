"""The environment decides local run versus production; production is secure by default."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
PRINT = (
    "import clinic.settings as s; print(s.HTTPS, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.SECURE_HSTS_SECONDS)"
)


def _settings(tmp_path, **env):
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "LOCAL_RUN", "HTTPS", "DEBUG"}}
    # LOCAL_RUN=0 unless given: a checkout's .env (written by make) must not decide these cases.
    clean.update({"DATA_DIR": str(tmp_path), "LOCAL_RUN": "0", **env})
    return subprocess.run([sys.executable, "-c", PRINT], cwd=BASE_DIR, env=clean, capture_output=True, text=True)


def test_production_without_a_secret_key_refuses_to_start(tmp_path):
    result = _settings(tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_settings_switch_https_on_by_default(tmp_path):
    result = _settings(tmp_path, SECRET_KEY="x" * 60)
    assert result.stdout.split() == ["True", "True", "True", "31536000"]


def test_a_secret_key_means_production_even_in_a_local_checkout(tmp_path):
    result = _settings(tmp_path, SECRET_KEY="x" * 60, LOCAL_RUN="1")
    assert result.stdout.split()[0] == "True"


def test_a_local_run_keeps_a_generated_key_and_plain_http(tmp_path):
    first = _settings(tmp_path, LOCAL_RUN="1")
    assert first.stdout.split() == ["False", "False", "False", "0"]
    key = (tmp_path / "secret_key").read_text()
    assert len(key) >= 50
    assert oct((tmp_path / "secret_key").stat().st_mode & 0o777) == "0o600"
    _settings(tmp_path, LOCAL_RUN="1")
    assert (tmp_path / "secret_key").read_text() == key


@pytest.mark.parametrize("value", ["off", "0", "false"])
def test_https_can_be_switched_off_explicitly(tmp_path, value):
    result = _settings(tmp_path, SECRET_KEY="x" * 60, HTTPS=value)
    assert result.stdout.split()[0] == "False"
