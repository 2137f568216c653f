"""The request being served, for code far from the view: the audit trail and the logs.

RequestContextMiddleware gives every request an id (the proxy's X-Request-ID when there is a proxy,
PROXY_COUNT, and it sends a sane one; else a new one), echoes it in the response, and keeps the
request in a context variable so that `current_request()` and `current_request_id()` answer
anywhere below it (models, services, logging filters), also under threaded or async servers.
"""

import contextvars
import ipaddress
import re
import uuid

from django.conf import settings

_request = contextvars.ContextVar("clinic_request", default=None)
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


def current_request():
    return _request.get()


def current_request_id():
    request = _request.get()
    return getattr(request, "request_id", "") if request is not None else ""


def client_address(request):
    """The client's address. Behind PROXY_COUNT reverse proxies, each appending the address it saw
    to X-Forwarded-For, the client is the PROXY_COUNT-th entry from the right; anything further left
    was written by the client and is not trusted. Used by the audit trail and by axes' lockouts."""
    remote = request.META.get("REMOTE_ADDR", "")
    count = settings.PROXY_COUNT
    if count:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if len(hops) >= count:
            try:
                return str(ipaddress.ip_address(hops[-count]))
            except ValueError:
                pass
    return remote


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # A proxy's id ties its log to ours; without one in front, the header is the client's own
        # claim and is not taken (it would let anyone forge or collide ids in logs and the trail).
        given = request.headers.get("X-Request-ID", "") if settings.PROXY_COUNT else ""
        request.request_id = given if _SANE_ID.fullmatch(given) else uuid.uuid4().hex
        token = _request.set(request)
        try:
            response = self.get_response(request)
        finally:
            _request.reset(token)
        response["X-Request-ID"] = request.request_id
        return response
