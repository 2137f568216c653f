"""Response headers every page gets, beyond Django's security middleware and the CSP."""

from django.utils.cache import add_never_cache_headers


class PermissionsPolicyMiddleware:
    """Browser features the clinic's pages never use are switched off for them."""

    POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), bluetooth=(), interest-cohort=()"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", self.POLICY)
        return response


class PrivatePagesMiddleware:
    """Pages served to a signed-in person are never kept by the browser or a proxy: after signing
    out at a shared desk, Back must not bring a patient's chart up again. Responses that say how
    they may be cached themselves (static files, downloads) keep their own header."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not response.has_header("Cache-Control"):
            add_never_cache_headers(response)
            response["Cache-Control"] += ", private"
        return response
