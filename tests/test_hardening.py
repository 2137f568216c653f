"""Deployment hardening: Django's deploy checks, the HTTPS switch, CSRF on every form, and templates
the Content Security Policy can hold (no inline script or style).

The security headers each page carries are checked in test_operations.py and the basic HTTPS
switch (SSL redirect, session cookie, HSTS seconds) in test_settings.py; this module checks what
they do not: `check --deploy` itself, the rest of the HTTPS settings, and the templates and the
CSRF guard behind every form.
"""

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from clinic.tests.urlwalk import is_machine_url, walk_urls
from patients.models import Patient
from staff.roles import ADMINISTRATOR, MANAGER, RECEPTIONIST
from staff.tests.factories import UserFactory

BASE_DIR = Path(__file__).resolve().parents[1]
TEMPLATES = BASE_DIR / "templates"

# The HTTPS settings, as the environment switches them.
HTTPS_SETTINGS = [
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_PROXY_SSL_HEADER",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
]


def production_env(tmp_path, **overrides):
    """A production-like environment: DEBUG off, HTTPS on, a real secret key and host list."""
    env = {
        k: v
        for k, v in os.environ.items()
        # DJANGO_ALLOW_ASYNC_UNSAFE: set for the browser tests (clinic/tests/browser.py) when they ran first.
        if k
        not in {
            "SECRET_KEY",
            "AUDIT_KEY",
            "LOCAL_RUN",
            "HTTPS",
            "DEBUG",
            "TRUST_PROXY_SSL_HEADER",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        }
        and not k.startswith("SECURE_")
    }
    env.pop("DATABASE_URL", None)  # the checks need no database; SQLite under DATA_DIR if any
    env.update(
        {
            "DATA_DIR": str(tmp_path),
            "DEBUG": "False",
            "HTTPS": "on",
            # A checkout's .env (written by make) says LOCAL_RUN=1: production must not read it.
            "LOCAL_RUN": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "AUDIT_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "clinic.example",
            "CSRF_TRUSTED_ORIGINS": "https://clinic.example",
            **overrides,
        }
    )
    return env


def run(args, env):
    return subprocess.run(args, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120)


def settings_under(env):
    """The HTTPS settings as clinic.settings computes them from `env`, in a fresh interpreter."""
    code = (
        f"import json, clinic.settings as s; print(json.dumps({{k: getattr(s, k, None) for k in {HTTPS_SETTINGS!r}}}))"
    )
    result = run([sys.executable, "-c", code], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- manage.py check --deploy ------------------------------------------------------------------------


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    env = production_env(tmp_path)
    assert len(env["SECRET_KEY"]) >= 50

    result = run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_does_warn_when_https_is_off(tmp_path):
    # The control: the same check with HTTPS switched off finds the missing HTTPS settings, so the
    # clean run above is the settings' doing, not a check that cannot fail.
    result = run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        production_env(tmp_path, HTTPS="off"),
    )

    assert result.returncode != 0
    # W010: the session cookie is not secure (Django names it W012 only when the middleware is its own class
    # by name; ours is a subclass, clinic/background.py).
    for warning in ("security.W004", "security.W008", "security.W010", "security.W016"):
        assert warning in result.stderr


@pytest.mark.parametrize(
    ("audit_key", "problem"),
    [
        ("", "AUDIT_KEY is not set"),
        ("same-as-secret", "AUDIT_KEY is the same as SECRET_KEY"),
        ("short-key", "AUDIT_KEY is shorter than 32 characters"),
    ],
)
def test_check_deploy_fails_without_an_audit_key_of_its_own(tmp_path, audit_key, problem):
    env = production_env(tmp_path)
    env["AUDIT_KEY"] = env["SECRET_KEY"] if audit_key == "same-as-secret" else audit_key

    result = run([sys.executable, "manage.py", "check", "--deploy"], env)

    assert result.returncode != 0
    assert "clinic.E001" in result.stderr
    assert problem in result.stderr


# --- the HTTPS switch --------------------------------------------------------------------------------


def test_https_on_switches_on_every_https_setting(tmp_path):
    values = settings_under(production_env(tmp_path))

    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 31536000
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SECURE_HSTS_PRELOAD"] is True
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True


def test_a_local_run_switches_every_https_setting_off(tmp_path):
    env = production_env(tmp_path, LOCAL_RUN="1")
    del env["SECRET_KEY"], env["HTTPS"]

    values = settings_under(env)

    assert values == {
        "SECURE_SSL_REDIRECT": False,
        "SECURE_HSTS_SECONDS": 0,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": False,
        "SECURE_HSTS_PRELOAD": False,
        "SECURE_PROXY_SSL_HEADER": None,
        "SESSION_COOKIE_SECURE": False,
        "CSRF_COOKIE_SECURE": False,
    }


def test_https_off_in_production_switches_them_off_too(tmp_path):
    # Behind a proxy that does not speak HTTPS to the browser (a closed network), explicitly.
    values = settings_under(production_env(tmp_path, HTTPS="off"))
    assert not any(values.values())


@pytest.mark.django_db
def test_with_production_https_settings_the_proxy_header_decides_plain_or_secure(tmp_path, settings):
    for name, value in settings_under(production_env(tmp_path)).items():
        setattr(settings, name, tuple(value) if isinstance(value, list) else value)
    settings.ALLOWED_HOSTS = ["clinic.example"]
    client = Client()  # its middleware is built on its first request, with the settings above

    plain = client.get(reverse("login"), HTTP_HOST="clinic.example")
    assert plain.status_code == 301
    assert plain["Location"] == "https://clinic.example" + reverse("login")

    # The proxy terminated TLS and says so: served, with HSTS and a secure CSRF cookie.
    secure = client.get(reverse("login"), HTTP_HOST="clinic.example", HTTP_X_FORWARDED_PROTO="https")
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert secure.cookies["csrftoken"]["secure"] is True


# --- CSRF on every form ------------------------------------------------------------------------------

FORM = re.compile(r"<form\b[^>]*>.*?(?:</form>|\Z)", re.S | re.I)
POST_FORM = re.compile(r"""<form\b[^>]*\bmethod\s*=\s*["']?post\b""", re.I)
INCLUDE = re.compile(r"""{%\s*include\s+["']([^"']+)["'][^%]*%}""")
CSRF_TOKEN = re.compile(r"{%\s*csrf_token\s*%}")


def project_templates():
    """The project's own templates (its admin overrides included; Django's admin templates are not here)."""
    return sorted(TEMPLATES.rglob("*.html"))


def with_includes(text, depth=0):
    """The template's text with literal {% include "..." %} of project templates put in place."""
    if depth > 5:
        return text

    def inline(match):
        path = TEMPLATES / match.group(1)
        return with_includes(path.read_text(), depth + 1) if path.exists() else match.group(0)

    return INCLUDE.sub(inline, text)


def post_forms_without_a_token(text):
    forms = FORM.findall(with_includes(text))
    return [form[:80] for form in forms if POST_FORM.match(form) and not CSRF_TOKEN.search(form)]


def test_the_form_scanner_finds_a_post_form_without_a_token():
    # The control for the scan below.
    bad = '<form method="post" action="/x/"><button>Go</button></form><form method="get"></form>'
    good = "<form method='POST'>{% csrf_token %}<button>Go</button></form>"
    assert post_forms_without_a_token(bad) == ['<form method="post" action="/x/"><button>Go</button></form>']
    assert post_forms_without_a_token(good) == []


def test_every_post_form_in_the_templates_carries_the_csrf_token():
    found, missing = 0, {}
    for path in project_templates():
        text = path.read_text()
        found += len([f for f in FORM.findall(text) if POST_FORM.match(f)])
        if forms := post_forms_without_a_token(text):
            missing[str(path.relative_to(BASE_DIR))] = forms
    assert missing == {}
    assert found > 20  # the scan does see the forms


def test_csrf_middleware_is_on():
    assert "django.middleware.csrf.CsrfViewMiddleware" in django_settings.MIDDLEWARE


def test_no_view_is_exempt_from_csrf():
    """Pages never; the API's views are exempt from the middleware because DRF checks CSRF itself for
    calls signed in by session (a token call carries no cookie to forge): test_api_access.py proves it."""
    exempt = [
        name
        for name, pattern in walk_urls(all_admin=True)
        if getattr(pattern.callback, "csrf_exempt", False) and not is_machine_url(name)
    ]
    assert exempt == []


def signed_in_enforcing_csrf(role):
    user = UserFactory(roles=[role], is_staff=role in (MANAGER, ADMINISTRATOR))
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


PATIENT = {
    "first_name": "Ada",
    "last_name": "Okafor",
    "date_of_birth": "1984-03-02",
    "sex": "female",
    "phone": "+44 20 7946 0958",
}


@pytest.mark.django_db
def test_a_post_without_the_csrf_token_is_refused():
    client = signed_in_enforcing_csrf(RECEPTIONIST)

    response = client.post(reverse("patients:create"), PATIENT)

    assert response.status_code == 403
    assert not Patient.objects.exists()


@pytest.mark.django_db
def test_the_same_post_with_the_token_from_the_form_goes_through():
    # The control: the refusal above is the CSRF guard's, not the form's.
    client = signed_in_enforcing_csrf(RECEPTIONIST)
    form_page = client.get(reverse("patients:create"))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form_page.content.decode()).group(1)

    response = client.post(reverse("patients:create"), {**PATIENT, "csrfmiddlewaretoken": token})

    assert response.status_code == 302, response.context["form"].errors if response.context else ""
    assert Patient.objects.filter(last_name="Okafor").exists()


@pytest.mark.django_db
def test_a_sign_in_or_an_admin_post_without_the_token_is_refused():
    anonymous = Client(enforce_csrf_checks=True)
    assert anonymous.post(reverse("login"), {"username": "x", "password": "y"}).status_code == 403
    manager = signed_in_enforcing_csrf(MANAGER)
    response = manager.post(reverse("admin:finance_expensecategory_add"), {"name": "Courier"})
    assert response.status_code == 403


# --- nothing inline for the CSP to forbid ------------------------------------------------------------

INLINE = {
    "a <script> with a body or without src": re.compile(
        r"<script\b(?![^>]*\bsrc\s*=)[^>]*>|<script\b[^>]*>\s*[^<\s]", re.I
    ),
    "a <style> element": re.compile(r"<style\b", re.I),
    "a style= attribute": re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I | re.S),
    "an on...= event handler": re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I | re.S),
    "a javascript: URL": re.compile(r"javascript:", re.I),
}


def inline_code(text):
    return sorted(what for what, pattern in INLINE.items() if pattern.search(text))


def test_the_inline_scanner_finds_each_kind():
    # The control for the scan below.
    assert inline_code('<script src="/static/js/x.js"></script><link rel="stylesheet" href="/x.css">') == []
    assert inline_code("<script>alert(1)</script>") == ["a <script> with a body or without src"]
    assert inline_code('<script src="/x.js">alert(1)</script>') == ["a <script> with a body or without src"]
    assert inline_code("<style>p{}</style>") == ["a <style> element"]
    assert inline_code('<p class="x"\n   style="color: red">') == ["a style= attribute"]
    assert inline_code('<button onclick="go()">') == ["an on...= event handler"]
    assert inline_code('<a href="javascript:go()">') == ["a javascript: URL"]
    assert inline_code('<p data-onload="x">{{ style }}</p>') == []


def test_no_template_has_inline_script_or_style():
    found = {str(path.relative_to(BASE_DIR)): inline_code(path.read_text()) for path in project_templates()}
    assert {path: kinds for path, kinds in found.items() if kinds} == {}
    assert len(found) > 50
