from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "patients"
    verbose_name = "Patients"

    def ready(self):
        from clinic.triggers import reinstall_after_migrate

        from .search import install_sqlite_search

        # SQLite drops the search index's triggers whenever a migration rebuilds patients_patient.
        reinstall_after_migrate("patients", install_sqlite_search)
