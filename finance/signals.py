from django.db import connections
from django.db.models.signals import post_migrate
from django.dispatch import receiver

from .guards import install_finance_guards


@receiver(post_migrate, dispatch_uid="finance.install_guards")
def reinstall_finance_guards(sender, app_config=None, using="default", **kwargs):
    # SQLite drops triggers when a migration rebuilds a table; put them back after every migrate.
    if app_config is not None and app_config.label == "finance":
        install_finance_guards(connections[using])
