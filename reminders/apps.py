from django.apps import AppConfig


class RemindersConfig(AppConfig):
    """Reminders to patients by e-mail and SMS, and the links in them to confirm or cancel."""

    name = "reminders"
