from django.apps import AppConfig


class ClinicConfig(AppConfig):
    """The project package as an app: what belongs to no one domain (the audit trail, operations commands)."""

    name = "clinic"
    verbose_name = "Clinic"

    def ready(self):
        from clinic.guards import install_audit_guards
        from clinic.triggers import reinstall_after_migrate

        reinstall_after_migrate("clinic", install_audit_guards)
