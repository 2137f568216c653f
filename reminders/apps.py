from django.apps import AppConfig


class RemindersConfig(AppConfig):
    """Reminders to patients by e-mail and SMS, and the links in them to confirm or cancel."""

    name = "reminders"

    def ready(self):
        from scheduling.views import APPOINTMENT_PANELS, TODAY_PANELS

        from . import panels

        APPOINTMENT_PANELS.register(panels.appointment_panel)
        TODAY_PANELS.register(panels.today_panel)
