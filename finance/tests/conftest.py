"""Fixtures shared by finance.tests test modules."""

import pytest


@pytest.fixture
def media(settings, tmp_path):
    """Uploaded files go to a fresh folder, so a test can see what was (or was not) written."""
    settings.MEDIA_ROOT = str(tmp_path)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }
    return tmp_path
