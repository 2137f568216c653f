"""Review of clinic/worker.py (issue #17): the beat when the machine's clock is set back.

A machine that started with its clock ahead (a wrong hardware clock, a VM restored from a snapshot) and is then
corrected by NTP: the periodic tasks' latest runs were due "in the future". The next run was enqueued one interval
after that, and the one already waiting kept its time, so reminders stopped for as long as the clock had been
ahead (the 2-hour ones of that time never went). A run is never due more than one interval from now."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from clinic import worker
from clinic.tests import sample_tasks
from clinic.tests.tasks import run_queued_tasks

RECORD = "clinic.tests.sample_tasks.record"
NOW = datetime(2027, 10, 31, 0, 30, tzinfo=UTC)  # London: the night the clocks go back
AHEAD = timedelta(hours=3)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh(settings):
    sample_tasks.calls.clear()
    settings.PERIODIC_TASKS = {RECORD: 60}


def waiting():
    return DBTaskResult.objects.filter(task_path=RECORD, status=TaskResultStatus.READY).get()


def test_a_run_scheduled_while_the_clock_was_ahead_is_due_within_an_interval_once_it_is_set_back():
    with time_machine.travel(NOW + AHEAD, tick=False):
        worker.beat()
        assert run_queued_tasks() == 1
        worker.beat()  # the next one: a minute after that (wrong) time

    with time_machine.travel(NOW, tick=False) as clock:
        worker.beat()
        assert waiting().run_after <= NOW + timedelta(seconds=60)
        clock.shift(timedelta(seconds=60))
        assert run_queued_tasks() == 1


def test_the_next_run_after_one_done_while_the_clock_was_ahead_is_due_within_an_interval():
    with time_machine.travel(NOW + AHEAD, tick=False):
        worker.beat()
        assert run_queued_tasks() == 1

    with time_machine.travel(NOW, tick=False) as clock:
        assert worker.beat() == [RECORD]
        assert waiting().run_after <= NOW + timedelta(seconds=60)
        clock.shift(timedelta(seconds=60))
        assert run_queued_tasks() == 1
    assert len(sample_tasks.calls) == 2


def test_a_run_due_later_in_the_ordinary_way_is_left_alone():
    with time_machine.travel(NOW, tick=False):
        worker.beat()
        assert run_queued_tasks() == 1
        worker.beat()
        assert waiting().run_after == NOW + timedelta(seconds=60)
        worker.beat()
        assert waiting().run_after == NOW + timedelta(seconds=60)
