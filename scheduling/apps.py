from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "scheduling"
    verbose_name = "Scheduling"

    def ready(self):
        from patients.views import PATIENT_PAGE

        from . import queries, signals  # noqa: F401

        PATIENT_PAGE.register(queries.patient_visits)
