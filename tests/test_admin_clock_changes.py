"""An account can be saved in the admin whatever the clock said when it joined or last signed in.

Found by running the suite with CLINIC_TEST_CLOCK=2026-10-25T01:30:00+00:00 (conftest.py): the admin's
account form shows last_login and date_joined as editable London wall times, and a wall time in the hour
that happens twice when the clocks go back (01:00-02:00 on the last Sunday of October) is refused as
ambiguous when the form comes back, so no change to that account (roles, deactivation) can be saved.
"""

from datetime import UTC, datetime

import pytest
import time_machine
from django.urls import reverse

from clinic.tests.adminforms import form_data
from staff.models import User
from staff.roles import NURSE, RECEPTIONIST
from staff.tests.factories import UserFactory
from staff.tests.test_views import role_ids

pytestmark = pytest.mark.django_db

ORDINARY = [
    datetime(2026, 10, 24, 23, 30, tzinfo=UTC),  # 00:30 BST, the night before
    datetime(2026, 10, 25, 2, 30, tzinfo=UTC),  # 02:30 GMT, after the change
    datetime(2027, 3, 28, 1, 30, tzinfo=UTC),  # 02:30 BST, just after the clocks went forward
    datetime(2026, 12, 31, 23, 55, tzinfo=UTC),
]
# 01:30 London happens twice on 2026-10-25: first at 00:30 UTC (BST), then at 01:30 UTC (GMT).
REPEATED_HOUR = [datetime(2026, 10, 25, 0, 30, tzinfo=UTC), datetime(2026, 10, 25, 1, 30, tzinfo=UTC)]


def change_roles_in_the_admin(administrator, joined):
    with time_machine.travel(joined, tick=False):
        colleague = UserFactory(username="mlee", roles=[RECEPTIONIST])
    colleague.last_login = joined
    colleague.save(update_fields=["last_login"])
    data = form_data(administrator.get(reverse("admin:staff_user_change", args=[colleague.pk])))
    data["groups"] = role_ids(RECEPTIONIST, NURSE)
    return colleague, administrator.post(reverse("admin:staff_user_change", args=[colleague.pk]), data)


@pytest.mark.parametrize("joined", ORDINARY, ids=lambda m: m.isoformat())
def test_an_account_that_joined_at_an_ordinary_moment_is_saved(administrator, joined):
    colleague, response = change_roles_in_the_admin(administrator, joined)

    assert response.status_code == 302
    assert sorted(User.objects.get(pk=colleague.pk).role_names) == [NURSE, RECEPTIONIST]


@pytest.mark.parametrize("joined", REPEATED_HOUR, ids=lambda m: m.isoformat())
def test_an_account_that_joined_in_the_repeated_hour_is_saved(administrator, joined):
    colleague, response = change_roles_in_the_admin(administrator, joined)

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert sorted(User.objects.get(pk=colleague.pk).role_names) == [NURSE, RECEPTIONIST]
