from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class ClinicConfig(AppConfig):
    """The project package as an app: what belongs to no one domain (the audit trail, operations commands)."""

    name = "clinic"
    verbose_name = "Clinic"

    def ready(self):
        from clinic import checks  # noqa: F401 (registers the deploy checks)
        from clinic.guards import install_audit_guards
        from clinic.triggers import reinstall_after_migrate

        reinstall_after_migrate("clinic", install_audit_guards)


class ClinicAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin, with the clinic's admin site (clinic/admin.py) as admin.site."""

    default = False  # named in INSTALLED_APPS; ClinicConfig stays the "clinic" app
    default_site = "clinic.admin.ClinicAdminSite"
