from django.conf import settings


def clinic(request):
    """The clinic's name and zone, and the idle sign-out's timings (static/js/keep-draft.js), for the layout."""
    return {
        "CLINIC_NAME": settings.CLINIC_NAME,
        "CLINIC_TIME_ZONE": settings.TIME_ZONE,
        "SESSION_IDLE_SECONDS": settings.SESSION_COOKIE_AGE,
        "SESSION_IDLE_WARNING": settings.SESSION_IDLE_WARNING,
    }
