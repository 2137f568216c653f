from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "scheduling"
    verbose_name = "Scheduling"

    def ready(self):
        from patients.services import ARCHIVING
        from patients.views import ARCHIVE_PAGE, PATIENT_LIST, PATIENT_PAGE

        from . import archiving, queries, signals  # noqa: F401

        PATIENT_PAGE.register(queries.patient_visits)
        PATIENT_LIST.register(queries.patient_list_rows)
        ARCHIVE_PAGE.register(queries.archive_page)
        ARCHIVING.register(archiving.cancel_for_archiving)
