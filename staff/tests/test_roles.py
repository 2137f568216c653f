import pytest
from django.contrib.auth.models import Group

from staff.roles import RECEPTIONIST, ROLE_PERMISSIONS, sync_roles


@pytest.mark.django_db
def test_every_role_exists_with_exactly_its_permissions():
    for role, codes in ROLE_PERMISSIONS.items():
        group = Group.objects.get(name=role)
        held = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}
        assert held == set(codes), role


@pytest.mark.django_db
def test_sync_is_idempotent_and_repairs_drift():
    reception = Group.objects.get(name=RECEPTIONIST)
    reception.permissions.clear()
    sync_roles()
    sync_roles()
    assert reception.permissions.count() == len(ROLE_PERMISSIONS[RECEPTIONIST])
    assert Group.objects.filter(name__in=ROLE_PERMISSIONS).count() == len(ROLE_PERMISSIONS)
