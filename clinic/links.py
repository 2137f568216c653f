"""Links sent to patients that act without signing in (confirm or cancel an appointment from a reminder,
accept an offered time from the waitlist): tamper-proof, expiring and single-use.

A link carries a token signed with SECRET_KEY (django.core.signing, salted by its purpose, so a token made
for one purpose is refused for another), the id of what it acts on, its expiry and a random nonce. Using it
inserts the nonce's digest into UsedLink, whose unique constraint makes "used once" the database's decision:
of two clicks at the same moment, one inserts and the other is told the link was used.

Opening a link (GET) only reads it: mail scanners and link previews fetch every address in a message, so the
act itself is always a button (POST) on the page the link opens.
"""

import hashlib
import secrets
from datetime import UTC, datetime

from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone


class LinkError(Exception):
    """Why a link cannot be used: code is "forged", "expired" or "used"; the message is for the patient."""

    MESSAGES = {
        "forged": "This link is not valid. Please use the link from your message exactly as it was sent.",
        "expired": "This link has expired.",
        "used": "This link has already been used.",
    }

    def __init__(self, code):
        self.code = code
        super().__init__(self.MESSAGES[code])


def _salt(purpose):
    return f"clinic.links.{purpose}"


def make_link_token(purpose: str, subject_id: int, *, valid_until: datetime) -> str:
    """A token for one use of `purpose` on `subject_id`, until valid_until (an aware datetime)."""
    payload = {"s": int(subject_id), "e": int(valid_until.timestamp()), "n": secrets.token_urlsafe(12)}
    return signing.dumps(payload, salt=_salt(purpose), compress=True)


def read_link_token(token: str, purpose: str) -> int:
    """The subject's id if the token is genuine, for this purpose, and not expired (used or not)."""
    return _unexpired_payload(token, purpose)["s"]


def link_is_used(token: str, purpose: str) -> bool:
    from clinic.models import UsedLink

    return UsedLink.objects.filter(digest=_digest(_payload(token, purpose), purpose)).exists()


def use_link_token(token: str, purpose: str) -> int:
    """Spend the token (call inside the transaction that acts on it, so a failed act leaves it unspent):
    the subject's id, or LinkError when it is forged, expired or already used."""
    from clinic.models import UsedLink

    payload = _unexpired_payload(token, purpose)
    try:
        with transaction.atomic():
            UsedLink.objects.create(
                digest=_digest(payload, purpose),
                purpose=purpose[:40],
                expires_at=datetime.fromtimestamp(payload["e"], tz=UTC),
            )
    except IntegrityError:
        raise LinkError("used") from None
    return payload["s"]


def _unexpired_payload(token, purpose):
    payload = _payload(token, purpose)
    if timezone.now().timestamp() >= payload["e"]:
        raise LinkError("expired")
    return payload


def _payload(token, purpose):
    try:
        payload = signing.loads(str(token), salt=_salt(purpose))
    except (signing.BadSignature, ValueError, TypeError):
        raise LinkError("forged") from None
    if not (isinstance(payload, dict) and isinstance(payload.get("s"), int) and isinstance(payload.get("e"), int)):
        raise LinkError("forged")
    return payload


def _digest(payload, purpose):
    return hashlib.sha256(f"{purpose}:{payload['s']}:{payload['n']}".encode()).hexdigest()
