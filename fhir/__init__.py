"""FHIR R4 read and search for the clinic (views.py, mapping.py, urls.py).

The FHIR model library used by the tests (fhir.resources) installs a package named `fhir` too; this
app's package path is extended with it, so `fhir.resources.R4B` still imports (hence no module of
this app is called `resources`)."""

from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)
