"""Clinical charting: medical records, treatment plans, procedures (issue #3)."""

from django.apps import AppConfig


class ClinicalConfig(AppConfig):
    name = "clinical"
    verbose_name = "Clinical"

    def ready(self):
        from scheduling.views import APPOINTMENT_PAGE, BEFORE_COMPLETING

        from . import signals  # noqa: F401
        from .worklist import completion_concerns, visit_vital_signs

        # A visit's page shows its vital signs; completing it asks first when its notes are unfinished.
        APPOINTMENT_PAGE.register(visit_vital_signs)
        BEFORE_COMPLETING.register(completion_concerns)
