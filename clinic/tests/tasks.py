"""Running queued background tasks in tests, the way the worker runs them.

The test settings use the database backend, as production does: `some_task.enqueue(...)` writes a row
(inside the test's transaction, like any other write), and nothing runs until a test says so:

    from clinic.tests.tasks import run_queued_tasks

    send_due_reminders.enqueue()
    assert run_queued_tasks() == 1

run_queued_tasks() runs every task that is ready now (run_after reached: move the clock with time_machine
for later ones) through django_tasks_db's own Worker in batch mode, one after the other in this thread,
tasks enqueued by those tasks included, and returns how many ran (successful or failed).
"""

from unittest import mock

from django.db import connection
from django_tasks_db.management.commands import db_worker

from clinic.worker import ClinicWorker


def run_queued_tasks(*, max_tasks=None):
    worker = ClinicWorker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=max_tasks,
        worker_id="tests",
        excluded_queue_names=[],
    )
    if connection.in_atomic_block:
        # The Worker checks its connection between tasks (close_old_connections), and a connection left in
        # a transaction counts as unusable: it would close the test's own transaction, and everything in it.
        with mock.patch.object(db_worker, "close_old_connections", lambda **kwargs: None):
            worker.run()
    else:
        worker.run()
    return worker._run_tasks


def failed_tasks():
    """The tasks that failed, with their error: [(task path, traceback), ...], oldest first."""
    from django_tasks_db.models import DBTaskResult

    return list(DBTaskResult.objects.failed().order_by("finished_at").values_list("task_path", "traceback"))
