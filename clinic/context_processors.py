from django.conf import settings


def clinic(request):
    """The clinic's name and zone, for the layout."""
    return {"CLINIC_NAME": settings.CLINIC_NAME, "CLINIC_TIME_ZONE": settings.TIME_ZONE}
