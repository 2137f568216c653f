"""Clinical documents and patient images (issue #5), and the PDFs printed from a record (issue #13)."""

from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "documents"
    verbose_name = "Documents"

    def ready(self):
        from clinical.queries import TIMELINE
        from clinical.slots import PRESCRIPTION, RECORD_PAGE

        from .printout_views import prescription_pdf, record_printouts
        from .queries import chart_timeline_entries

        TIMELINE.register(chart_timeline_entries)
        RECORD_PAGE.register(record_printouts)
        PRESCRIPTION.register(prescription_pdf)
