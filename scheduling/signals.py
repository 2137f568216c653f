from django.db import connections
from django.db.models.signals import post_migrate
from django.dispatch import receiver

from .guards import install_sqlite_guards


@receiver(post_migrate, dispatch_uid="scheduling.install_sqlite_guards")
def reinstall_sqlite_guards(sender, app_config=None, using="default", **kwargs):
    # A table rebuild by a later migration drops SQLite triggers; put them back after every migrate.
    if app_config is not None and app_config.label == "scheduling":
        install_sqlite_guards(connections[using])
