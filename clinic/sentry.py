"""Error reports to Sentry, when SENTRY_DSN is set (settings call init_sentry), with personal data left out.

The SDK is told to collect no personal data (no cookies, user names, e-mails or addresses), no
request bodies, no query strings, no SQL values and no local variables of the failing code's frames.
`scrub` then keeps, of every event and transaction, only what cannot hold patient data: the method
and the URL without its query string (a patient search is `?q=<name>`), two harmless headers, the
user's id, breadcrumbs without their data, and no `extra`. Each event is tagged with the request id,
the one in the logs and in the X-Request-ID header, so a report leads to the request's log lines.
What an exception's own message says is sent as raised.
"""

from urllib.parse import urlsplit, urlunsplit

from clinic.context import current_request, current_request_id
from clinic.logs import loaded_user_id

SAFE_HEADERS = frozenset({"user-agent", "content-type"})
# What the SDK collects by itself. `data_collection` supersedes `send_default_pii` (deprecated in
# sentry-sdk 2.75) and `include_local_variables`; this is their "False", and stricter.
DATA_COLLECTION = {
    "user_info": False,  # no user name, e-mail or address (scrub adds the user's id)
    "cookies": {"mode": "off"},
    "http_headers": {"request": {"mode": "allowlist", "terms": sorted(SAFE_HEADERS)}},
    "http_bodies": [],  # no request body, form or upload
    "url_query_params": {"mode": "off"},  # a patient search is ?q=<name>
    "database_query_data": False,  # SQL keeps its placeholders, never the values
    "stack_frame_variables": False,  # no local variables of the failing code
    "queues": False,
    "gen_ai": {"inputs": False, "outputs": False},
    "graphql": {"document": False, "variables": False},
}
BREADCRUMB_KEYS = ("type", "category", "level", "message", "timestamp")


def init_sentry(*, dsn, environment=None, release=None, traces_sample_rate=0.0, **options):
    """Start the SDK (`options` is for tests: a transport that keeps events in memory)."""
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        traces_sample_rate=traces_sample_rate,
        integrations=[DjangoIntegration()],
        data_collection=DATA_COLLECTION,
        before_send=scrub,
        before_send_transaction=scrub,
        **options,
    )


def _without_query(url):
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _scrub_request(request):
    kept = {key: request[key] for key in ("method",) if request.get(key)}
    if request.get("url"):
        kept["url"] = _without_query(request["url"])
    headers = {name: value for name, value in (request.get("headers") or {}).items() if name.lower() in SAFE_HEADERS}
    if headers:
        kept["headers"] = headers
    return kept


def _frames(event):
    for group in ("exception", "threads"):
        for value in (event.get(group) or {}).get("values") or []:
            yield from (value.get("stacktrace") or {}).get("frames") or []


def scrub(event, hint=None):
    """before_send and before_send_transaction: keep only what cannot hold patient data."""
    if "request" in event:
        event["request"] = _scrub_request(event["request"] or {})

    user_id = (event.get("user") or {}).get("id") or loaded_user_id(current_request())
    if user_id:
        event["user"] = {"id": str(user_id)}
    else:
        event.pop("user", None)

    for frame in _frames(event):
        frame.pop("vars", None)

    breadcrumbs = event.get("breadcrumbs")
    if isinstance(breadcrumbs, dict) and "values" in breadcrumbs:
        breadcrumbs["values"] = [
            {key: crumb[key] for key in BREADCRUMB_KEYS if key in crumb} for crumb in breadcrumbs["values"] or []
        ]

    event.pop("extra", None)
    # Spans of a transaction: SQL with placeholders stays; whatever data a span gathered goes.
    for span in event.get("spans") or []:
        span.pop("data", None)

    request_id = current_request_id()
    if request_id:
        event.setdefault("tags", {})["request_id"] = request_id
    return event
