"""API tokens: made and revoked by their owner on "Your API tokens" (staff/services.py), checked here
on every API call.

A key is `clinic_` + 40 random URL-safe characters (240 bits). Only its SHA-256 is stored: a key has
far too much entropy to be guessed from its hash, so no slow hash is needed, and a lookup by the
hash is one index probe. The key acts as its owner, with the owner's roles; it stops working when
it expires, when it is revoked, or when its owner's account is deactivated. Each is an audit entry,
and each call made with it names the token in the audit trail (clinic.audit reads `api_client`).
"""

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from clinic.api_policy import FailedCredentials

from .models import APIToken
from .services import (  # noqa: F401 (made and revoked by the services; named here for callers)
    KEY_PREFIX,
    LIFETIMES,
    MAX_USABLE_TOKENS,
    create_api_token,
    key_hash,
    record_token_use,
    revoke_api_token,
)

# last_used_at is written at most this often: not a write per call.
USE_RECORDED_EVERY = timedelta(minutes=1)


def token_for_key(key):
    """The usable token with this key, or None."""
    if not key.startswith(KEY_PREFIX):
        return None
    return APIToken.objects.usable().select_related("user").filter(key_hash=key_hash(key)).first()


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
            record_token_use(token, now)
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
