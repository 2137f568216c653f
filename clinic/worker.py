"""Background work: django-tasks' database backend, run by `manage.py run_worker`.

A task is a row of django_tasks_db's DBTaskResult; the worker (django_tasks_db's own Worker, reused as it
is) claims ready rows one at a time and runs them. Beside it, in a thread of its own, a *beat* runs every
WORKER_BEAT_SECONDS and, in one transaction that every other beat waits for:

- records this worker's heartbeat (WorkerHeartbeat: id, host, pid, started, last seen);
- marks failed the tasks still RUNNING under a worker that is no longer seen (killed -9, machine restarted):
  such a row would otherwise stay RUNNING for ever, and a periodic task waiting behind it would never run again;
- enqueues each task of settings.PERIODIC_TASKS that has none waiting or running, to run one interval
  after the previous run was due. Two workers' beats are serialised (SQLite: an exclusive transaction;
  PostgreSQL: a transaction-level advisory lock), so a periodic task is never enqueued twice.

The beat runs in its own thread so that a long task does not stop the heartbeat (which would make a busy
worker look dead to the other workers' beats).
"""

import logging
import os
import signal
import socket
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from traceback import format_exception

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Min
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.module_loading import import_string
from django_tasks import TaskResultStatus, task
from django_tasks.base import Task
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult, get_date_max
from django_tasks_db.utils import exclusive_transaction

from clinic.models import FormSubmission, UsedLink, WorkerHeartbeat

logger = logging.getLogger(__name__)

# Any constant: the key of PostgreSQL's advisory lock the beats share (pg_advisory_xact_lock takes a bigint).
BEAT_LOCK_KEY = 0x636C696E6963  # "clinic"


class WorkerLost(Exception):
    """The reason recorded on a task whose worker stopped being seen while it ran it."""


# --- the beat -----------------------------------------------------------------------------------------


@contextmanager
def beat_transaction():
    """One transaction that no two beats hold at once, whichever process or machine they run on."""
    with exclusive_transaction(DEFAULT_DB_ALIAS):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [BEAT_LOCK_KEY])
        yield


def record_heartbeat(worker_id, *, started_at=None, now=None):
    now = now or timezone.now()
    updated = WorkerHeartbeat.objects.filter(worker_id=worker_id).update(last_seen=now, stopped_at=None)
    if not updated:
        WorkerHeartbeat.objects.create(
            worker_id=worker_id,
            host=socket.gethostname()[:255],
            pid=os.getpid(),
            started_at=started_at or now,
            last_seen=now,
        )


def alive_workers(now=None):
    """Heartbeats of the workers seen within WORKER_ALIVE_SECONDS and not stopped."""
    now = now or timezone.now()
    since = now - timedelta(seconds=settings.WORKER_ALIVE_SECONDS)
    return WorkerHeartbeat.objects.filter(last_seen__gte=since, stopped_at__isnull=True)


def _fail(result_ids, reason):
    """Mark these RUNNING tasks failed with `reason` (a task that finished meanwhile is left as it is)."""
    error = WorkerLost(reason)
    return DBTaskResult.objects.filter(pk__in=result_ids, status=TaskResultStatus.RUNNING).update(
        status=TaskResultStatus.FAILED,
        finished_at=timezone.now(),
        exception_class_path=f"{WorkerLost.__module__}.{WorkerLost.__qualname__}",
        traceback="".join(format_exception(error)),
        return_value=None,
    )


def recover_lost_tasks(now=None):
    """Tasks RUNNING for longer than WORKER_ALIVE_SECONDS under a worker not seen for as long: failed,
    with the reason. (A task of a live worker runs as long as it needs.) Returns how many."""
    now = now or timezone.now()
    since = now - timedelta(seconds=settings.WORKER_ALIVE_SECONDS)
    alive = set(alive_workers(now).values_list("worker_id", flat=True))
    lost = {}
    for pk, worker_ids in DBTaskResult.objects.running().filter(started_at__lt=since).values_list("pk", "worker_ids"):
        worker_id = worker_ids[-1] if worker_ids else "(none)"
        if worker_id not in alive:
            lost.setdefault(worker_id, []).append(pk)
    count = 0
    for worker_id, pks in lost.items():
        seen = WorkerHeartbeat.objects.filter(worker_id=worker_id).values_list("last_seen", flat=True).first()
        when = f"last seen {timezone.localtime(seen):%Y-%m-%d %H:%M:%S %Z}" if seen else "never seen by a beat"
        reason = (
            f"Worker {worker_id} stopped while running this task ({when}): killed, or its machine restarted. "
            "The task was given up so that it can be run again."
        )
        count += _fail(pks, reason)
        logger.warning("gave up %d task(s) left running by worker %s (%s)", len(pks), worker_id, when)
    return count


def _last_due(task_path):
    """When the latest run of this task was due (its run_after, or when it was enqueued), or None."""
    last = DBTaskResult.objects.filter(task_path=task_path).order_by("-enqueued_at").first()
    if last is None:
        return None
    return last.enqueued_at if last.run_after == get_date_max() else last.run_after


def enqueue_periodic(now=None, periodic=None):
    """Enqueue each periodic task that has none waiting or running; returns the paths enqueued.
    Call inside beat_transaction(): the check and the insert must not be interleaved with another beat's."""
    now = now or timezone.now()
    periodic = settings.PERIODIC_TASKS if periodic is None else periodic
    enqueued = []
    for path, every in periodic.items():
        try:
            periodic_task = import_string(path)
            if not isinstance(periodic_task, Task):
                raise TypeError(f"{path} is not a task (decorate it with django_tasks.task)")
        except Exception:
            # One broken entry (a typo, an app not deployed yet) must not stop the others.
            logger.exception("periodic task %s cannot be loaded; skipped", path)
            continue
        task_path = periodic_task.module_path
        # Never due more than one interval from now. Runs timed while the clock was ahead (a machine started with
        # a wrong clock, then set back by NTP) would otherwise hold this task back for as long as it was ahead.
        latest = now + timedelta(seconds=every)
        DBTaskResult.objects.filter(task_path=task_path, status=TaskResultStatus.READY, run_after__gt=latest).exclude(
            run_after=get_date_max()
        ).update(run_after=latest)
        waiting = DBTaskResult.objects.filter(
            task_path=task_path, status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING]
        )
        if waiting.exists():
            continue
        previous = _last_due(task_path)
        due = min(previous + timedelta(seconds=every), latest) if previous else now
        try:
            with transaction.atomic():
                periodic_task.using(run_after=due if due > now else None).enqueue()
        except Exception:
            logger.exception("periodic task %s could not be enqueued", path)
            continue
        enqueued.append(path)
    return enqueued


def beat(worker_id=None, *, started_at=None, now=None, periodic=None):
    """One beat (see the module's docstring). Returns the periodic tasks it enqueued."""
    now = now or timezone.now()
    with beat_transaction():
        if worker_id:
            record_heartbeat(worker_id, started_at=started_at, now=now)
        recover_lost_tasks(now)
        return enqueue_periodic(now, periodic)


class BeatThread(threading.Thread):
    """Beats every `every` seconds until stop(); the first one at once."""

    def __init__(self, worker_id, *, started_at, every):
        super().__init__(name="worker-beat", daemon=True)
        self.worker_id, self.started_at, self.every = worker_id, started_at, every
        self._halt = threading.Event()

    def run(self):
        try:
            while not self._halt.is_set():
                try:
                    beat(self.worker_id, started_at=self.started_at)
                except Exception:
                    # The database was away or locked for too long: the next beat tries again.
                    logger.exception("worker beat failed")
                finally:
                    connection.close()
                self._halt.wait(self.every)
        finally:
            connection.close()

    def stop(self):
        self._halt.set()


# --- what the "Background work" page and worker_status show --------------------------------------------


@dataclass
class WorkerState:
    worker_id: str
    host: str
    pid: int
    started_at: datetime
    last_seen: datetime
    stopped_at: datetime | None
    alive: bool
    seen_ago_seconds: float


@dataclass
class TaskRow:
    id: str
    path: str
    worker_id: str
    enqueued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str  # the exception's last line ("ValueError: ..."), empty unless it failed
    traceback: str

    @classmethod
    def of(cls, result):
        lines = [line for line in result.traceback.splitlines() if line.strip()]
        return cls(
            id=str(result.pk),
            path=result.task_path,
            worker_id=result.worker_ids[-1] if result.worker_ids else "",
            enqueued_at=result.enqueued_at,
            started_at=result.started_at,
            finished_at=result.finished_at,
            error=lines[-1] if lines else "",
            traceback=result.traceback,
        )


@dataclass
class Status:
    workers: list  # of WorkerState, most recently seen first
    waiting: int  # ready to run now
    oldest_waiting_seconds: float | None  # how long the longest-waiting of them has been due
    scheduled: int  # waiting for a later time (run_after)
    running: list  # of TaskRow, longest running first
    failed: list  # of TaskRow, within FAILED_WINDOW, newest first
    failed_count: int

    @property
    def any_alive(self):
        return any(w.alive for w in self.workers)


FAILED_WINDOW = timedelta(hours=24)
LISTED = 50  # rows of each list on the page (the counts are exact)


def status(now=None):
    """The state of background work, in a bounded number of queries whatever the size of the queue."""
    now = now or timezone.now()
    alive_since = now - timedelta(seconds=settings.WORKER_ALIVE_SECONDS)
    workers = [
        WorkerState(
            worker_id=h.worker_id,
            host=h.host,
            pid=h.pid,
            started_at=h.started_at,
            last_seen=h.last_seen,
            stopped_at=h.stopped_at,
            alive=h.stopped_at is None and h.last_seen >= alive_since,
            seen_ago_seconds=max((now - h.last_seen).total_seconds(), 0),
        )
        for h in WorkerHeartbeat.objects.order_by("-last_seen")[:20]
    ]
    ready = DBTaskResult.objects.filter(status=TaskResultStatus.READY)
    due_now = ready.ready()
    never = get_date_max()
    oldest = [
        due_now.filter(run_after=never).aggregate(t=Min("enqueued_at"))["t"],
        due_now.exclude(run_after=never).aggregate(t=Min("run_after"))["t"],
    ]
    oldest = min((t for t in oldest if t is not None), default=None)
    since_24h = now - FAILED_WINDOW
    failed = DBTaskResult.objects.failed().filter(finished_at__gte=since_24h)
    waiting = due_now.count()
    return Status(
        workers=workers,
        waiting=waiting,
        oldest_waiting_seconds=max((now - oldest).total_seconds(), 0) if oldest else None,
        scheduled=ready.count() - waiting,
        running=[TaskRow.of(r) for r in DBTaskResult.objects.running().order_by("started_at")[:LISTED]],
        failed=[TaskRow.of(r) for r in failed.order_by("-finished_at")[:LISTED]],
        failed_count=failed.count(),
    )


# --- the worker process -------------------------------------------------------------------------------


# Set when this process's worker is told to stop (SIGTERM, Ctrl-C). A task made of many small pieces of work
# looks at it between them and ends early, the rest left for the next run (reminders.services.send_due): the
# worker then stops within the container's grace period instead of being killed in the middle of a send.
stopping = threading.Event()


class ClinicWorker(Worker):
    """django_tasks_db's Worker; a second Ctrl-C or SIGTERM while it is already stopping between tasks is
    ignored (the first one's clean exit is under way), instead of cutting that clean-up short."""

    def shutdown(self, signum, frame):
        if not self.running and not self.running_task:
            return
        stopping.set()
        super().shutdown(signum, frame)


def migrations_pending():
    executor = MigrationExecutor(connection)
    return bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def wait_for_migrations(poll_seconds=5, log=logger.info):
    """A worker started beside a web process that migrates first (Docker) waits for the tables."""
    while migrations_pending():
        log("waiting for the database migrations to be applied")
        connection.close()
        time.sleep(poll_seconds)


def hand_back_unstarted(worker_id):
    """Tasks this worker claimed but never started (it was stopped in between): ready again."""
    running = DBTaskResult.objects.running().values_list("pk", "worker_ids")
    mine = [pk for pk, worker_ids in running if worker_ids and worker_ids[-1] == worker_id]
    return DBTaskResult.objects.filter(pk__in=mine, status=TaskResultStatus.RUNNING).update(
        status=TaskResultStatus.READY, started_at=None
    )


def run(*, interval, beat_every, worker_id=None):
    """Run the worker and its beat until SIGTERM or Ctrl-C (`manage.py run_worker`)."""
    worker_id = worker_id or get_random_string(32)
    stopping.clear()
    started_at = timezone.now()
    beat(worker_id, started_at=started_at)  # seen as alive from the start
    worker = ClinicWorker(
        queue_names=["*"],
        interval=interval,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_id,
        excluded_queue_names=[],
    )
    beats = BeatThread(worker_id, started_at=started_at, every=beat_every)
    # Started as a background job of a script (`make run`), Ctrl-C is ignored here and reaches the script, which
    # sends SIGTERM: answering both would count as a second Ctrl-C ("force"), cutting the task under way short.
    inherited = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGQUIT)}
    worker.configure_signals()
    for signum, handler in inherited.items():
        if handler == signal.SIG_IGN:
            signal.signal(signum, signal.SIG_IGN)
    beats.start()
    try:
        worker.run()
    except SystemExit:
        pass
    finally:
        # Nothing interrupts the clean-up: a signal now would leave the heartbeat and claimed rows behind.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)
        beats.stop()
        beats.join(timeout=30)
        connections.close_all()
        handed_back = _retry_db(lambda: hand_back_unstarted(worker_id))
        _retry_db(lambda: WorkerHeartbeat.objects.filter(worker_id=worker_id).update(stopped_at=timezone.now()))
        if handed_back:
            logger.info("handed back %d task(s) claimed but not started", handed_back)
        logger.info("worker %s stopped", worker_id)


def _retry_db(action, attempts=3):
    for attempt in range(attempts):
        try:
            return action()
        except Exception:
            if attempt == attempts - 1:
                logger.exception("worker clean-up failed")
                return None
            connections.close_all()


# --- housekeeping -----------------------------------------------------------------------------------


@task()
def prune_finished_tasks():
    """Finished tasks and stopped workers are kept a while (WORKER_KEEP_*_DAYS), then deleted: periodic
    tasks add a row a minute. Returns how many rows went."""
    now = timezone.now()
    kept = {
        TaskResultStatus.SUCCESSFUL: now - timedelta(days=settings.WORKER_KEEP_SUCCEEDED_DAYS),
        TaskResultStatus.FAILED: now - timedelta(days=settings.WORKER_KEEP_FAILED_DAYS),
    }
    deleted = 0
    for status, before in kept.items():
        deleted += DBTaskResult.objects.filter(status=status, finished_at__lt=before).delete()[0]
    gone = now - timedelta(days=settings.WORKER_KEEP_SUCCEEDED_DAYS)
    deleted += WorkerHeartbeat.objects.filter(last_seen__lt=gone).delete()[0]
    return deleted


# A day's margin over the web servers' clocks disagreeing.
SPENT_LINK_MARGIN = timedelta(days=1)


@task()
def forget_spent_tokens():
    """Rows that only ever refuse a second use, once no second use can come: a used patient link a day
    after it expired (an expired link is refused before its row is looked for), and a submitted form's
    token after FORM_TOKENS_KEPT_DAYS (a form can be sent again only in the sign-in that showed it: the
    CSRF secret changes at every sign-in, and idle sign-out is minutes). Returns how many rows went."""
    now = timezone.now()
    deleted = UsedLink.objects.filter(expires_at__lt=now - SPENT_LINK_MARGIN).delete()[0]
    kept_from = now - timedelta(days=settings.FORM_TOKENS_KEPT_DAYS)
    deleted += FormSubmission.objects.filter(created_at__lt=kept_from).delete()[0]
    return deleted
