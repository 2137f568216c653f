"""Small tasks for the worker's own tests (clinic/tests/test_worker.py)."""

from django_tasks import task

from clinic.models import WorkerHeartbeat

calls = []


@task()
def record(value="tick"):
    calls.append(value)
    return value


@task()
def count_workers():
    """Reads the database: a task sees what the test wrote in its transaction."""
    return WorkerHeartbeat.objects.count()


@task()
def enqueue_another(value):
    record.enqueue(value)


@task()
def fail(message):
    raise ValueError(message)


not_a_task = "just a string"


@task()
def nap(seconds):
    """A long task, for a worker to be killed in the middle of."""
    import time

    time.sleep(seconds)
