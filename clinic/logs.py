"""Logs: one line per event, with the request id on every line and no patient data on any.

`settings.LOGGING` wires these together: RequestIdFilter on the console handler, then JsonFormatter
(LOG_FORMAT=json, the default in production: one JSON object a line for a log collector) or
PlainFormatter (LOG_FORMAT=plain, for a person reading a local run). AccessLogMiddleware writes one
line per request (logger `clinic.access`) with its method, path, status, duration and user id.

What keeps patient data out:
- A line holds only the fields named in FIELDS. Extra attributes on a record are dropped unless they
  are listed there, so a later `logger.info(..., extra={"form": form.cleaned_data})` prints nothing of it.
- Django's own request records (`django.request`, `django.security.*`) carry the `request` object,
  whose repr has the query string (a patient search is `?q=<name>`); it is replaced by method + path.
- Paths are logged without their query string, never bodies or form values, and users by id only.
- SQL (logged with its parameters at DEBUG by `django.db.backends`) and runserver's request line (it
  has the query string) are switched off in settings.LOGGING.
Exceptions are logged with their traceback; the messages in it are whatever the code raised.
"""

import logging
import re
import time
from datetime import UTC, datetime

from django.http import HttpRequest
from django.utils.encoding import escape_uri_path
from django.utils.functional import SimpleLazyObject, empty
from pythonjsonlogger.json import JsonFormatter as _BaseJsonFormatter

from clinic.context import current_request_id

access_logger = logging.getLogger("clinic.access")

# Every field a JSON line may have, in order. Add one only if it can never hold patient data.
FIELDS = (
    "time",
    "level",
    "logger",
    "message",
    "request_id",
    "method",
    "path",
    "status",
    "duration_ms",
    "user_id",
    "exc_info",
    "stack_info",
)


def utc_iso(created: float) -> str:
    return datetime.fromtimestamp(created, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def safe_path(request) -> str:
    """The path without its query string, percent-encoded again (no newline can forge a log line); a view
    whose address holds a secret (a calendar feed's) puts a stand-in in `request.log_path`."""
    return getattr(request, "log_path", None) or escape_uri_path(request.path)


class HideSecretsInPaths(logging.Filter):
    """Django's own warnings name the request's path ("Not Found: …", "Forbidden (CSRF cookie not set.): …"). In a
    patient's link or a calendar feed's address a part of the path is the secret itself: it is written as <token>.
    `prefixes` (settings.LOG_SECRET_PATHS) are the paths' beginnings, each followed by the secret."""

    def __init__(self, prefixes=()):
        super().__init__()
        alternatives = "|".join(re.escape(prefix) for prefix in prefixes)
        self.pattern = re.compile(f"({alternatives})[^/?#\\s\"']+") if alternatives else None

    def hide(self, value):
        return self.pattern.sub(r"\1<token>", value) if isinstance(value, str) else value

    def filter(self, record):
        if self.pattern is not None:
            record.msg = self.hide(record.msg)
            if isinstance(record.args, tuple):
                record.args = tuple(self.hide(arg) for arg in record.args)
            elif isinstance(record.args, dict):
                record.args = {key: self.hide(arg) for key, arg in record.args.items()}
        return True


class RequestIdFilter(logging.Filter):
    """Stamps each record with the id of the request being served ("" outside a request)."""

    def filter(self, record):
        if not getattr(record, "request_id", None):
            record.request_id = current_request_id()
        return True


class JsonFormatter(_BaseJsonFormatter):
    """python-json-logger's formatter, kept to the fields in FIELDS."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("fmt", ["levelname", "name", "message", "request_id"])
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", "time")
        super().__init__(*args, **kwargs)

    def process_log_record(self, log_data):
        request = log_data.pop("request", None)
        if isinstance(request, HttpRequest):  # Django's own records: the request object becomes method + path
            log_data.setdefault("method", request.method)
            log_data.setdefault("path", safe_path(request))
        if "status_code" in log_data:
            log_data.setdefault("status", log_data["status_code"])
        if not log_data.get("request_id"):
            log_data["request_id"] = current_request_id()
        created = log_data.get("time")
        if isinstance(created, datetime):
            log_data["time"] = created.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return {field: log_data[field] for field in FIELDS if log_data.get(field) is not None}


class PlainFormatter(logging.Formatter):
    """A readable line for a local run: UTC time, level, logger, [request id], message (and traceback).

    Like the JSON lines it prints no extra attributes, so the request object never reaches it.
    """

    def __init__(self, fmt=None, datefmt=None, style="%", **kwargs):
        super().__init__(fmt or "%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s", datefmt, style)

    def formatTime(self, record, datefmt=None):
        return utc_iso(record.created)

    def format(self, record):
        # A copy: the record goes on to other handlers, which must see it as it was.
        record = logging.makeLogRecord(record.__dict__)
        record.request_id = getattr(record, "request_id", "") or current_request_id() or "-"
        return super().format(record)


def loaded_user_id(request):
    """The signed-in user's id, if this request already loaded its user (never a query here: the
    database may be the very thing that failed)."""
    user = getattr(request, "user", None)
    if isinstance(user, SimpleLazyObject):
        user = None if user._wrapped is empty else user._wrapped
    if user is not None and getattr(user, "is_authenticated", False):
        return user.pk
    return None


class AccessLogMiddleware:
    """One line per request: method, path (no query string), status, duration in ms, user id.

    Placed right after RequestContextMiddleware, so the line carries the request id. The duration is
    the time to a ready response; a streamed body (a file, an export) goes on after it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        path = safe_path(request)
        access_logger.info(
            "%s %s %s %sms",
            request.method,
            path,
            response.status_code,
            duration_ms,
            extra={
                "method": request.method,
                "path": path,
                "status": response.status_code,
                "duration_ms": duration_ms,
                "user_id": loaded_user_id(request),
            },
        )
        return response
