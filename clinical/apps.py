"""Clinical charting: medical records, treatment plans, procedures (issue #3)."""

from django.apps import AppConfig


class ClinicalConfig(AppConfig):
    name = "clinical"
    verbose_name = "Clinical"

    def ready(self):
        from . import signals  # noqa: F401
