"""Clinical documents and patient images (issue #5)."""

from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "documents"
    verbose_name = "Documents"

    def ready(self):
        from clinical.queries import TIMELINE

        from .queries import chart_timeline_entries

        TIMELINE.register(chart_timeline_entries)
