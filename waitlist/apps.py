from django.apps import AppConfig


class WaitlistConfig(AppConfig):
    """Patients waiting for an earlier time, offered the times that free up."""

    name = "waitlist"

    def ready(self):
        from patients.services import ARCHIVING
        from scheduling.views import APPOINTMENT_PANELS, TODAY_PANELS

        from . import archiving, panels, signals  # noqa: F401

        APPOINTMENT_PANELS.register(panels.appointment_panels)
        TODAY_PANELS.register(panels.today_panels)
        ARCHIVING.register(archiving.leave_waitlist_on_archiving)
