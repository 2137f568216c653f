"""The demo clinic: `manage.py seed_demo` loads every app's demo data (each app's demo.py).

The top of the layers: the one place that may import every app (see .importlinter)."""

from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "demo"
    verbose_name = "Demo data"
