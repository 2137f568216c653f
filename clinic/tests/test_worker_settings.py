"""E-mail, SMS and background-work settings as the environment sets them (clinic/settings.py)."""

import json
import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
NAMES = [
    "EMAIL_BACKEND",
    "EMAIL_HOST",
    "EMAIL_PORT",
    "EMAIL_HOST_USER",
    "EMAIL_HOST_PASSWORD",
    "EMAIL_USE_TLS",
    "EMAIL_USE_SSL",
    "EMAIL_TIMEOUT",
    "DEFAULT_FROM_EMAIL",
    "SMS_BACKEND",
    "TASKS",
]
PRINT = f"import json, clinic.settings as s; print(json.dumps({{n: getattr(s, n) for n in {NAMES!r}}}))"
OURS = {"SECRET_KEY", "LOCAL_RUN", "DEBUG", "EMAIL_URL", "DEFAULT_FROM_EMAIL", "SMS_BACKEND"}


def settings_with(tmp_path, **env):
    clean = {k: v for k, v in os.environ.items() if k not in OURS}
    clean.update({"DATA_DIR": str(tmp_path), "LOCAL_RUN": "0", "SECRET_KEY": "x" * 60, **env})
    result = subprocess.run([sys.executable, "-c", PRINT], cwd=BASE_DIR, env=clean, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_production_sends_mail_by_smtp_from_email_url(tmp_path):
    found = settings_with(
        tmp_path,
        EMAIL_URL="smtp+tls://reminders%40clinic.example:p%40ss@mail.example.org:587",
        DEFAULT_FROM_EMAIL="Riverside Clinic <appointments@clinic.example>",
    )
    assert found["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (found["EMAIL_HOST"], found["EMAIL_PORT"]) == ("mail.example.org", 587)
    assert (found["EMAIL_HOST_USER"], found["EMAIL_HOST_PASSWORD"]) == ("reminders@clinic.example", "p@ss")
    assert (found["EMAIL_USE_TLS"], found["EMAIL_USE_SSL"]) == (True, False)
    assert found["EMAIL_TIMEOUT"] == 10  # every wait on the server is bounded
    assert found["DEFAULT_FROM_EMAIL"] == "Riverside Clinic <appointments@clinic.example>"


def test_production_defaults_smtp_on_localhost_and_no_sms(tmp_path):
    found = settings_with(tmp_path)
    assert found["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert found["EMAIL_HOST"] == "localhost"
    assert found["SMS_BACKEND"] == ""  # no SMS provider needed to run
    assert found["TASKS"]["default"]["BACKEND"] == "django_tasks_db.DatabaseBackend"


def test_a_local_run_prints_mail_and_sms_on_the_console(tmp_path):
    found = settings_with(tmp_path, LOCAL_RUN="1", SECRET_KEY="")
    assert found["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    assert found["SMS_BACKEND"] == "clinic.sms.ConsoleBackend"


def test_implicit_tls_is_smtp_ssl(tmp_path):
    # django-environ's smtps:// means STARTTLS (EMAIL_USE_TLS); implicit TLS on 465 is smtp+ssl://.
    assert settings_with(tmp_path, EMAIL_URL="smtps://u:p@mail.example.org:587")["EMAIL_USE_TLS"] is True
    found = settings_with(tmp_path, EMAIL_URL="smtp+ssl://u:p@mail.example.org:465")
    assert (found["EMAIL_PORT"], found["EMAIL_USE_SSL"], found["EMAIL_USE_TLS"]) == (465, True, False)
