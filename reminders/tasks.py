"""The periodic task the worker's beat enqueues (settings.PERIODIC_TASKS): plan and send due reminders."""

from django_tasks import task

from . import services


@task()
def send_due_reminders():
    """Make the rows of reminders whose time has come and send a bounded batch of what is due.
    Safe to run in several workers at once: each row is sent by the one that claims it."""
    made, sent = services.run()
    return {"planned": made, "sent": sent}
