"""Requests a page makes by itself (a search as you type, free slots refreshed, the Today board, lookups)
as opposed to a person opening a page or sending a form.

Such a read must leave the stored session as it is. With SESSION_SAVE_EVERY_REQUEST every request
writes back the session it loaded; a background read that began before a form was sent finished after
it and wrote back the older session, so the form's "Booked: …" or "Draft saved." message was lost.
It would also renew the idle sign-out's clock, keeping an abandoned desk signed in for as long as a page
refreshed itself, and could take a message meant for the next page a person opens.
"""

from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware

# Our scripts name themselves; Sec-Fetch-Dest "empty" is what browsers send for any fetch() over HTTPS.
HEADER = "X-Requested-With"


def in_background(request) -> bool:
    """A read the page made by itself: GET or HEAD from a script."""
    if request.method not in ("GET", "HEAD"):
        return False
    return HEADER in request.headers or request.headers.get("Sec-Fetch-Dest") == "empty"


class SessionMiddleware(DjangoSessionMiddleware):
    """Django's, except that a background read does not write the session back (nor renew its expiry)
    unless it changed something in it itself (signing out at the session's absolute lifetime does)."""

    def process_response(self, request, response):
        if in_background(request) and not request.session.modified:
            return response
        return super().process_response(request, response)


def messages(request):
    """Template context: no messages for a background read (they wait for the page a person opens)."""
    return {"messages": ()} if in_background(request) else {}
