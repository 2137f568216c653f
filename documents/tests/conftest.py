"""Fixtures shared by documents.tests test modules."""

import pytest

from patients.tests.factories import PatientFactory


@pytest.fixture
def patient():
    return PatientFactory(first_name="Amara", last_name="Nwosu")
