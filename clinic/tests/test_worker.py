"""Background work (clinic/worker.py): running queued tasks, the beat (periodic tasks, heartbeat, tasks left
running by a dead worker), worker_status, and the "Background work" admin page."""

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult, get_date_max

from clinic import worker
from clinic.models import WorkerHeartbeat
from clinic.tests import sample_tasks
from clinic.tests.tasks import failed_tasks, run_queued_tasks

RECORD = "clinic.tests.sample_tasks.record"
MOMENT = datetime(2027, 3, 28, 0, 30, tzinfo=UTC)  # London: half an hour before the clocks go forward


@pytest.fixture(autouse=True)
def _fresh_calls():
    sample_tasks.calls.clear()


def rows(path=RECORD):
    return list(DBTaskResult.objects.filter(task_path=path).order_by("enqueued_at"))


# --- running queued tasks ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_tasks_enqueued_in_the_test_transaction_run_through_the_worker():
    WorkerHeartbeat.objects.create(worker_id="w", host="h", pid=1, started_at=timezone.now(), last_seen=timezone.now())
    sample_tasks.record.enqueue("a")
    counted = sample_tasks.count_workers.enqueue()
    sample_tasks.enqueue_another.enqueue("chained")
    sample_tasks.fail.enqueue("boom")

    assert run_queued_tasks() == 5  # the chained one included

    assert sorted(sample_tasks.calls) == ["a", "chained"]
    counted.refresh()
    assert counted.status == TaskResultStatus.SUCCESSFUL
    assert counted.return_value == 1  # the task saw the test's uncommitted row
    assert [(path, tb.strip().splitlines()[-1]) for path, tb in failed_tasks()] == [
        ("clinic.tests.sample_tasks.fail", "ValueError: boom")
    ]
    assert connection.in_atomic_block  # the test's transaction survived the worker
    assert run_queued_tasks() == 0


@pytest.mark.django_db
def test_a_task_for_later_runs_when_its_time_comes():
    with time_machine.travel(MOMENT, tick=False) as clock:
        sample_tasks.record.using(run_after=MOMENT + timedelta(minutes=5)).enqueue("later")
        assert run_queued_tasks() == 0
        clock.shift(timedelta(minutes=5))
        assert run_queued_tasks() == 1
    assert sample_tasks.calls == ["later"]


# --- the beat: periodic tasks ---------------------------------------------------------------------


@pytest.mark.django_db
def test_the_beat_enqueues_each_periodic_task_once_and_then_every_interval(settings, caplog):
    settings.PERIODIC_TASKS = {
        "reminders.tasks.not_written_yet": 60,  # does not import
        "clinic.tests.sample_tasks.not_a_task": 60,  # imports, is not a task
        RECORD: 60,
    }
    with time_machine.travel(MOMENT, tick=False) as clock, caplog.at_level(logging.ERROR, logger="clinic.worker"):
        assert worker.beat() == [RECORD]
        assert "reminders.tasks.not_written_yet" in caplog.text
        assert "clinic.tests.sample_tasks.not_a_task" in caplog.text
        assert worker.beat() == []  # one is waiting
        assert len(rows()) == 1

        clock.shift(timedelta(seconds=10))
        run_queued_tasks()
        # Done; the next is enqueued for one interval after the previous was due, not run at once.
        assert worker.beat() == [RECORD]
        latest = rows()[-1]
        assert latest.run_after == MOMENT + timedelta(seconds=60)
        assert run_queued_tasks() == 0
        assert worker.beat() == []  # waiting for its time

        clock.shift(timedelta(seconds=50))  # across the change to summer time: UTC intervals
        assert run_queued_tasks() == 1
        worker.beat()
        assert rows()[-1].run_after == MOMENT + timedelta(seconds=120)

        # The worker was away for an hour: one run at once, not sixty to catch up.
        clock.shift(timedelta(hours=1))
        assert run_queued_tasks() == 1
        assert worker.beat() == [RECORD]
        assert rows()[-1].run_after == get_date_max()  # due at once
        assert run_queued_tasks() == 1
    assert len(sample_tasks.calls) == 4


@pytest.mark.django_db
def test_the_default_periodic_tasks_are_the_reminders_and_the_waitlist(settings):
    assert settings.PERIODIC_TASKS["reminders.tasks.send_due_reminders"] == 60
    assert settings.PERIODIC_TASKS["waitlist.tasks.expire_offers"] == 300


def _at_once(count, action):
    """Run `action` in `count` threads released together; each thread closes its own connection."""
    barrier = threading.Barrier(count)
    errors = []

    def run():
        try:
            barrier.wait(5)
            action()
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []


def _slow_check(monkeypatch):
    # Widen the gap between "none waiting?" and the insert, so that beats not serialised would both enqueue.
    original = worker._last_due

    def slow(task_path):
        time.sleep(0.3)
        return original(task_path)

    monkeypatch.setattr(worker, "_last_due", slow)


@pytest.mark.django_db(transaction=True)
def test_two_beats_at_once_enqueue_a_periodic_task_once(settings, monkeypatch):
    settings.PERIODIC_TASKS = {RECORD: 60}
    _slow_check(monkeypatch)
    _at_once(2, lambda: worker.beat())
    assert len(rows()) == 1


@pytest.mark.django_db(transaction=True)
def test_control_without_the_beats_lock_the_same_race_enqueues_twice(settings, monkeypatch):
    # Shows the test above can fail: the same two beats, with the lock taken away.
    settings.PERIODIC_TASKS = {RECORD: 60}
    _slow_check(monkeypatch)
    monkeypatch.setattr(worker, "beat_transaction", contextlib.nullcontext)
    _at_once(2, lambda: worker.beat())
    assert len(rows()) == 2


# --- the beat: heartbeats, and tasks a dead worker left running --------------------------------------


@pytest.mark.django_db
def test_heartbeat_and_who_is_alive(settings):
    settings.PERIODIC_TASKS = {}
    settings.WORKER_ALIVE_SECONDS = 120
    with time_machine.travel(MOMENT, tick=False) as clock:
        worker.beat("one", started_at=MOMENT)
        beat = WorkerHeartbeat.objects.get(worker_id="one")
        assert (beat.started_at, beat.last_seen, beat.stopped_at) == (MOMENT, MOMENT, None)
        assert beat.pid > 0 and beat.host

        clock.shift(timedelta(seconds=30))
        worker.beat("one", started_at=MOMENT)
        beat.refresh_from_db()
        assert (beat.started_at, beat.last_seen) == (MOMENT, MOMENT + timedelta(seconds=30))
        assert WorkerHeartbeat.objects.count() == 1
        assert worker.status().any_alive

        clock.shift(timedelta(seconds=121))
        assert not worker.status().any_alive
        worker.beat("one", started_at=MOMENT)
        assert worker.status().any_alive

        WorkerHeartbeat.objects.filter(worker_id="one").update(stopped_at=timezone.now())
        assert not worker.status().any_alive


def _claimed(worker_id, started_at, task=sample_tasks.count_workers):
    result = task.enqueue().db_result
    result.claim(worker_id)
    DBTaskResult.objects.filter(pk=result.pk).update(started_at=started_at)
    return result.pk


@pytest.mark.django_db
def test_tasks_left_running_by_a_dead_worker_are_failed_with_the_reason(settings):
    settings.PERIODIC_TASKS = {RECORD: 60}
    settings.WORKER_ALIVE_SECONDS = 120
    with time_machine.travel(MOMENT, tick=False) as clock:
        long_ago = MOMENT - timedelta(minutes=10)
        WorkerHeartbeat.objects.create(worker_id="dead", host="h", pid=1, started_at=long_ago, last_seen=long_ago)
        WorkerHeartbeat.objects.create(worker_id="alive", host="h", pid=2, started_at=long_ago, last_seen=MOMENT)
        of_dead = _claimed("dead", long_ago, sample_tasks.record)  # e.g. killed -9 ten minutes ago
        of_alive = _claimed("alive", long_ago)  # a long task of a live worker
        of_unknown_recent = _claimed("db-worker", MOMENT - timedelta(seconds=10))  # just started elsewhere
        of_unknown_old = _claimed("db-worker", long_ago)

        # The periodic task is "running" (under the dead worker): the beat gives that up, then enqueues anew.
        assert worker.beat("me") == [RECORD]

        status = dict(DBTaskResult.objects.values_list("pk", "status"))
        assert status[of_dead] == status[of_unknown_old] == TaskResultStatus.FAILED
        assert status[of_alive] == status[of_unknown_recent] == TaskResultStatus.RUNNING
        lost = DBTaskResult.objects.get(pk=of_dead)
        assert lost.exception_class_path == "clinic.worker.WorkerLost"
        assert "Worker dead stopped while running this task" in lost.traceback
        assert "killed, or its machine restarted" in lost.traceback
        assert lost.finished_at == MOMENT

        # The live worker stops beating: its task is given up once it has not been seen for two minutes.
        clock.shift(timedelta(seconds=121))
        worker.beat("me")
        assert DBTaskResult.objects.get(pk=of_alive).status == TaskResultStatus.FAILED


@pytest.mark.django_db
def test_a_task_that_finishes_while_its_worker_seems_dead_keeps_its_result(settings):
    with time_machine.travel(MOMENT, tick=False):
        pk = _claimed("dead", MOMENT - timedelta(minutes=10))
        DBTaskResult.objects.filter(pk=pk).update(status=TaskResultStatus.SUCCESSFUL)
        assert worker._fail([pk], "late") == 0
        assert DBTaskResult.objects.get(pk=pk).status == TaskResultStatus.SUCCESSFUL


@pytest.mark.django_db
def test_a_stopped_worker_hands_back_the_tasks_it_claimed_but_never_started():
    mine = _claimed("me", timezone.now())
    theirs = _claimed("other", timezone.now())
    assert worker.hand_back_unstarted("me") == 1
    assert DBTaskResult.objects.get(pk=mine).status == TaskResultStatus.READY
    assert DBTaskResult.objects.get(pk=theirs).status == TaskResultStatus.RUNNING


@pytest.mark.django_db
def test_old_finished_tasks_and_workers_are_pruned(settings):
    settings.WORKER_KEEP_SUCCEEDED_DAYS, settings.WORKER_KEEP_FAILED_DAYS = 7, 30
    with time_machine.travel(MOMENT, tick=False) as clock:
        sample_tasks.record.enqueue("old")
        sample_tasks.fail.enqueue("old failure")
        WorkerHeartbeat.objects.create(worker_id="old", host="h", pid=1, started_at=MOMENT, last_seen=MOMENT)
        run_queued_tasks()
        clock.shift(timedelta(days=8))
        sample_tasks.record.enqueue("new")
        run_queued_tasks()
        sample_tasks.prune_finished = worker.prune_finished_tasks.enqueue()
        run_queued_tasks()
        left = set(DBTaskResult.objects.values_list("task_path", "status"))
        assert (RECORD, TaskResultStatus.SUCCESSFUL) in left  # the new one
        assert ("clinic.tests.sample_tasks.fail", TaskResultStatus.FAILED) in left  # kept 30 days
        assert DBTaskResult.objects.filter(task_path=RECORD).count() == 1
        assert not WorkerHeartbeat.objects.exists()


# --- worker_status ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_worker_status_exit_codes(capsys):
    with pytest.raises(SystemExit) as exited:
        call_command("worker_status")
    assert exited.value.code == 1
    assert "No background worker alive" in capsys.readouterr().err

    worker.beat("here")
    call_command("worker_status")  # returns: exit status 0
    assert "alive: here" in capsys.readouterr().out
    call_command("worker_status", "--local")

    WorkerHeartbeat.objects.filter(worker_id="here").update(host="another-machine")
    call_command("worker_status")  # any worker counts
    with pytest.raises(SystemExit) as exited:
        call_command("worker_status", "--local")
    assert exited.value.code == 1

    WorkerHeartbeat.objects.update(last_seen=timezone.now() - timedelta(minutes=3))
    with pytest.raises(SystemExit) as exited:
        call_command("worker_status")
    assert exited.value.code == 1


# --- the admin page -----------------------------------------------------------------------------------

PAGE = "admin:clinic_workerheartbeat_changelist"


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["manager", "administrator"])
def test_the_background_work_page_shows_workers_and_tasks(persona, request, django_assert_max_num_queries):
    client = request.getfixturevalue(persona)
    worker.beat("w-alive")
    WorkerHeartbeat.objects.create(
        worker_id="w-dead",
        host="old-box",
        pid=9,
        started_at=timezone.now(),
        last_seen=timezone.now() - timedelta(hours=1),
    )
    sample_tasks.fail.enqueue("Nguyễn: ‘quoted’ <b>not bold</b>")
    run_queued_tasks()
    sample_tasks.record.enqueue("waiting")
    _claimed("w-alive", timezone.now())

    response = client.get(reverse(PAGE))

    assert response.status_code == 200
    page = response.content.decode()
    assert "A worker is running." in page
    assert "w-alive" in page and "w-dead" in page and "not seen: dead?" in page
    state = response.context["state"]
    assert (state.waiting, len(state.running), state.failed_count) == (1, 1, 1)
    assert "ValueError: Nguyễn: ‘quoted’ &lt;b&gt;not bold&lt;/b&gt;" in page  # escaped
    assert "reminders.tasks.send_due_reminders" in page

    # The page's queries do not grow with the tasks and workers listed.
    for n in range(30):
        sample_tasks.fail.enqueue(f"failure {n}")
        WorkerHeartbeat.objects.create(
            worker_id=f"w{n}", host="h", pid=n + 1, started_at=timezone.now(), last_seen=timezone.now()
        )
    run_queued_tasks()
    with django_assert_max_num_queries(20):
        response = client.get(reverse(PAGE))
    assert response.context["state"].failed_count == 31


@pytest.mark.django_db
def test_the_background_work_page_says_when_no_worker_runs(manager):
    page = manager.get(reverse(PAGE)).content.decode()
    assert "No worker is running" in page
    assert "No worker has ever run." in page


@pytest.mark.django_db
def test_the_background_work_page_only_answers_get(manager):
    assert manager.post(reverse(PAGE), {"action": "delete_selected"}).status_code == 405


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["reception", "doctor_client", "nurse"])
def test_other_roles_meet_the_admins_door(persona, request):
    response = request.getfixturevalue(persona).get(reverse(PAGE))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_django_tasks_db_own_admin_is_not_shown():
    from django.contrib import admin

    assert DBTaskResult not in admin.site._registry
    assert WorkerHeartbeat in admin.site._registry


# --- the process: manage.py run_worker ----------------------------------------------------------------


def _database_url():
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    return f"postgres://{db['USER']}:{db.get('PASSWORD') or ''}@{host}:{port}/{db['NAME']}"


def _wait_for(condition, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def _start_worker(tmp_path, log):
    from django.conf import settings as django_settings

    env = {
        **os.environ,
        "LOCAL_RUN": "1",
        "DATABASE_URL": _database_url(),
        "DATA_DIR": str(tmp_path),
        "WORKER_BEAT_SECONDS": "0.2",
        "WORKER_POLL_SECONDS": "0.1",
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_worker"],
        cwd=django_settings.BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return process


@pytest.mark.django_db(transaction=True)
def test_run_worker_runs_tasks_beats_and_stops_cleanly_on_sigterm(settings, tmp_path):
    sample_tasks.record.enqueue("from the test")
    with open(tmp_path / "worker.log", "w+") as log:
        output = _sigterm_case(tmp_path, log)
    heartbeat = WorkerHeartbeat.objects.get()
    assert heartbeat.stopped_at is not None, output
    assert not worker.status().any_alive
    assert "shutting down gracefully" in output


def _sigterm_case(tmp_path, log):
    process = _start_worker(tmp_path, log)
    try:
        assert _wait_for(lambda: worker.status().any_alive), "no heartbeat"
        assert _wait_for(lambda: DBTaskResult.objects.filter(task_path=RECORD, status="SUCCESSFUL").exists())
        first_seen = WorkerHeartbeat.objects.get().last_seen
        assert _wait_for(lambda: WorkerHeartbeat.objects.get().last_seen > first_seen), "the beat does not go on"
        # The periodic tasks of the real settings were enqueued by its beat (whichever of them import).
        assert DBTaskResult.objects.filter(task_path="clinic.worker.prune_finished_tasks").exists()

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert WorkerHeartbeat.objects.get().pid == process.pid
    log.seek(0)
    return log.read()


@pytest.mark.django_db(transaction=True)
def test_a_task_of_a_worker_killed_outright_is_failed_by_the_next_beat(settings, tmp_path):
    settings.PERIODIC_TASKS = {}
    napping = sample_tasks.nap.enqueue(600)
    with open(tmp_path / "worker.log", "w+") as log:
        process = _start_worker(tmp_path, log)
        try:
            assert _wait_for(lambda: DBTaskResult.objects.get(pk=napping.id).status == TaskResultStatus.RUNNING)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert DBTaskResult.objects.get(pk=napping.id).status == TaskResultStatus.RUNNING  # left behind
    worker.beat("another")
    assert DBTaskResult.objects.get(pk=napping.id).status == TaskResultStatus.RUNNING  # seen a moment ago

    worker.beat("another", now=timezone.now() + timedelta(minutes=3))  # its heartbeat has gone stale
    lost = DBTaskResult.objects.get(pk=napping.id)
    assert lost.status == TaskResultStatus.FAILED
    assert lost.exception_class_path == "clinic.worker.WorkerLost"
    assert "stopped while running this task" in lost.traceback
