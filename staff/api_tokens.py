"""API tokens: made and revoked by their owner on "Your API tokens", checked on every API call.

A key is `clinic_` + 40 random URL-safe characters (240 bits). Only its SHA-256 is stored: a key has
far too much entropy to be guessed from its hash, so no slow hash is needed, and a lookup by the
hash is one index probe. The key acts as its owner, with the owner's roles; it stops working when
it expires, when it is revoked, or when its owner's account is deactivated. Each is an audit entry,
and each call made with it names the token in the audit trail (clinic.audit reads `api_client`).
"""

import hashlib
import secrets
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from clinic import audit
from clinic.api_policy import FailedCredentials
from clinic.models import AuditEntry

from .models import APIToken

KEY_PREFIX = "clinic_"
LIFETIMES = {30: "30 days", 90: "90 days", 365: "a year"}
MAX_USABLE_TOKENS = 20
# last_used_at is written at most this often: not a write per call.
USE_RECORDED_EVERY = timedelta(minutes=1)


def _hash(key):
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def create_api_token(*, user, name, days) -> tuple[APIToken, str]:
    """(the token, its key): the key is shown to its owner once and never stored."""
    name = " ".join(name.split())
    if not name:
        raise ValidationError({"name": "Say what will use this token."})
    if days not in LIFETIMES:
        raise ValidationError({"days": "Choose how long the token lasts."})
    if APIToken.objects.usable().filter(user=user).count() >= MAX_USABLE_TOKENS:
        raise ValidationError({"name": f"You have {MAX_USABLE_TOKENS} tokens in use; revoke one first."})
    key = KEY_PREFIX + secrets.token_urlsafe(30)
    token = APIToken.objects.create(
        user=user,
        name=name,
        prefix=key[: len(KEY_PREFIX) + 6],
        key_hash=_hash(key),
        expires_at=timezone.now() + timedelta(days=days),
    )
    audit.record(AuditEntry.Action.CREATE, token, summary=f"API token “{name}”, for {LIFETIMES[days]}")
    return token, key


@transaction.atomic
def revoke_api_token(*, token, by) -> APIToken:
    """Revoke one's own token (administrators may revoke anyone's); revoking twice changes nothing."""
    token = audit.lock_rows(APIToken.objects.filter(pk=token.pk)).get()
    if token.user_id != by.pk and not by.has_perm("staff.change_user"):
        raise PermissionDenied("This is someone else's token.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.record(AuditEntry.Action.STATUS, token, summary=f"API token “{token.name}” revoked")
    return token


def token_for_key(key):
    """The usable token with this key, or None."""
    if not key.startswith(KEY_PREFIX):
        return None
    return APIToken.objects.usable().select_related("user").filter(key_hash=_hash(key)).first()


class TokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer clinic_…` (RFC 6750)."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("The Authorization header is “Bearer <token>”.")
        try:
            key = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed("That token is not valid.") from None
        failures = FailedCredentials()
        if failures.history_full(request):
            raise exceptions.Throttled(failures.wait())
        token = token_for_key(key)
        if token is None:
            failures.allow_request(request, None)  # counts this failure
            raise exceptions.AuthenticationFailed("That token is not valid, has expired or was revoked.")
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > USE_RECORDED_EVERY:
            APIToken.objects.filter(pk=token.pk).update(last_used_at=now)
        # The audit trail names the client: this token, not a browser.
        request._request.api_client = f"API token “{token.name}” ({token.prefix}…)"
        return token.user, token

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'


class TokenScheme(OpenApiAuthenticationExtension):
    """The token in the OpenAPI schema (Swagger's "Authorize" button asks for it)."""

    target_class = TokenAuthentication
    name = "bearer"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "An API token from “Your API tokens”."}
