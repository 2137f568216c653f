from django.apps import AppConfig


class WaitlistConfig(AppConfig):
    """Patients waiting for an earlier time, offered the times that free up."""

    name = "waitlist"
