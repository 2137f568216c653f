from django.apps import AppConfig


class FhirConfig(AppConfig):
    name = "fhir_r4"
    verbose_name = "FHIR R4"
