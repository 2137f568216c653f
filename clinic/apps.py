from django.apps import AppConfig


class ClinicConfig(AppConfig):
    """The project package as an app: it holds what belongs to no one domain (operations commands)."""

    name = "clinic"
    verbose_name = "Clinic"
