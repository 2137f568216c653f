"""The reminders' writing pages for tests/test_idempotency.py's WRITES (each sent twice, saved once):
`WRITES.update(reminders.tests.idempotency_cases.WRITES)` there; test_idempotency_cases.py runs them here too.

A link's page is the patient's (nobody signed in: the link's single use refuses a second post,
test_links.py), but a member of staff who opens one and clicks twice is guarded like any form."""

from django.urls import reverse

from reminders.tests.access_rules import KWARGS
from staff.roles import RECEPTIONIST


def _link(name):
    def build(client_for):
        # Imported here: tests/test_idempotency.py imports this module while it is being loaded itself.
        from tests.test_idempotency import Form

        return Form(client_for(RECEPTIONIST), reverse(name, kwargs=KWARGS[name]()), dict)

    return build


WRITES = {name: _link(name) for name in ("reminders:confirm", "reminders:cancel", "reminders:opt_out")}
