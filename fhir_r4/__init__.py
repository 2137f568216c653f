"""FHIR R4 read and search for the clinic (views.py, mapping.py, kinds.py, search.py, urls.py), at /fhir/R4/.

Not called `fhir`: the FHIR model library the tests validate with (fhir.resources) is the package `fhir`."""
