"""What DRF's settings name for every API view: who may call what, how often, and how lists page.

Kept apart from clinic/api.py, which imports DRF's views: these are loaded while DRF's views load.
"""

from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from rest_framework import pagination, permissions
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

# --- who may call what ------------------------------------------------------------------------------


class ActionPermissions(permissions.BasePermission):
    """The view's `action_permissions` {action: permission or (all, of, these)}; checked before any
    object is looked up, so a refused role gets 403 whether or not the id exists (as on the pages).

    Objects are then looked up from querysets narrowed to what the user may see (404 otherwise)."""

    def has_permission(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return False
        if request.method not in view.allowed_methods:
            return True  # nothing is done: DRF answers 405 Method Not Allowed
        action = getattr(view, "action", None) or request.method.lower()
        declared = getattr(view, "action_permissions", None)
        if declared is None or action not in declared:
            if request.method == "OPTIONS":
                return True  # DRF's metadata: what the view accepts, nothing about any record
            raise ImproperlyConfigured(f"{type(view).__name__} declares no permission for {action!r}.")
        needed = declared[action]
        needed = (needed,) if isinstance(needed, str) else tuple(needed)
        return request.user.has_perms(needed)


def required_permissions(view_class, action):
    """The permissions an action of an API view needs (the access tests read this)."""
    needed = view_class.action_permissions[action]
    return (needed,) if isinstance(needed, str) else tuple(needed)


# --- rate limits ----------------------------------------------------------------------------------


class PerUserRate(UserRateThrottle):
    """Per signed-in user or token owner, counted in the database cache (shared by every worker)."""

    cache_name = "api"

    def __init__(self):
        self.cache = caches[self.cache_name]
        super().__init__()


class PerAddressRate(AnonRateThrottle):
    """Callers without valid credentials, per address (a wrong token is answered, but not often)."""

    def __init__(self):
        self.cache = caches[PerUserRate.cache_name]
        super().__init__()


# --- pages ----------------------------------------------------------------------------------------


class Cursor(pagination.CursorPagination):
    """Newest first by id unless the view says otherwise; `?page_size=` up to 100."""

    ordering = "-id"
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100


class FailedCredentials(SimpleRateThrottle):
    """Wrong, expired or revoked keys, per address, at the anonymous rate. DRF checks its throttles
    only after a caller is authenticated, so the token check counts its own failures (and a caller
    guessing keys is answered 429 before any more are looked up)."""

    scope = "anon"

    def __init__(self):
        self.cache = caches[PerUserRate.cache_name]
        super().__init__()

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": "failed-credentials", "ident": self.get_ident(request)}

    def history_full(self, request):
        """Whether this address has used up its failures (without counting this call)."""
        if self.rate is None:
            return False
        self.key = self.get_cache_key(request, None)
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        return len(self.history) >= self.num_requests
