"""System checks of the clinic's own settings, run by `manage.py check --deploy` (deploy=True)."""

from django.conf import settings
from django.core.checks import Error, Tags, register

AUDIT_KEY_MIN_LENGTH = 32


@register(Tags.security, deploy=True)
def audit_key_is_its_own_secret(app_configs, **kwargs):
    """In production the audit chain needs a key of its own. Derived from SECRET_KEY (what a local run
    does), whoever reads SECRET_KEY (a local run keeps it beside the database, an app server holds it)
    could rewrite entries and re-chain them, and verify_audit would find nothing."""
    key = settings.AUDIT_KEY
    if not key:
        problem = "AUDIT_KEY is not set: the audit trail's chain would be keyed by a value derived from SECRET_KEY."
    elif key == settings.SECRET_KEY:
        problem = "AUDIT_KEY is the same as SECRET_KEY."
    elif len(key) < AUDIT_KEY_MIN_LENGTH:
        problem = f"AUDIT_KEY is shorter than {AUDIT_KEY_MIN_LENGTH} characters."
    else:
        return []
    return [
        Error(
            problem,
            hint="Set AUDIT_KEY to 50 random characters of its own (python3 -c 'import secrets; "
            "print(secrets.token_urlsafe(50))'), kept outside the database and never changed.",
            id="clinic.E001",
        )
    ]
