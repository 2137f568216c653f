"""Audit entries are written without waiting for one another and sealed into one chain after commit.

The audit trail's other guarantees (what is recorded, append-only, tampering found) are in
tests/test_audit.py; here: writers do not queue, every entry ends sealed, in one valid chain.
"""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clinic import audit
from clinic.models import AuditEntry
from clinic.tests.concurrency import at_once
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db
ON_POSTGRESQL = pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers: PostgreSQL's")


def unsealed():
    return AuditEntry.objects.filter(seq__isnull=True).count()


def test_writing_an_entry_takes_no_lock():
    patient = PatientFactory()
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        audit.record(AuditEntry.Action.VIEW, patient)
    statements = [query["sql"].lower() for query in queries.captured_queries if "savepoint" not in query["sql"].lower()]
    assert not any("advisory" in sql or "for update" in sql for sql in statements)
    # SQLite chains as it writes (one writer at a time): the newest entry, then the insert.
    assert len(statements) == (2 if connection.vendor == "sqlite" else 1)


def test_sqlite_chains_as_it_writes_and_postgresql_after_commit():
    entry = audit.record(AuditEntry.Action.SEARCH, summary="x")
    if connection.vendor == "sqlite":
        assert entry.seq is not None and entry.hash == audit.entry_hash(entry)
    else:
        assert entry.seq is None and entry.mac == audit.entry_mac(entry)  # sealed once the test's transaction commits


def test_entries_imported_in_bulk_are_sealed_in_the_order_written():
    audit.bulk_record(
        {"at": timezone.now(), "username": "import", "action": "view", "object_id": str(i)} for i in range(25)
    )
    assert unsealed() == 25
    assert audit.seal(batch_size=10) == 25  # three batches
    entries = AuditEntry.objects.order_by("id")
    assert [entry.seq for entry in entries] == list(range(1, 26))
    assert [entry.object_id for entry in entries] == [str(i) for i in range(25)]
    assert audit.verify()[2] == []


def test_a_record_after_bulk_entries_chains_behind_them():
    audit.bulk_record([{"at": timezone.now(), "username": "import", "action": "view"}])
    entry = audit.record(AuditEntry.Action.SEARCH, summary="after")
    audit.seal()
    entry.refresh_from_db()
    assert entry.seq == 2 and audit.verify()[2] == []


@ON_POSTGRESQL
@pytest.mark.django_db(transaction=True)
def test_a_writer_does_not_wait_for_another_writers_open_transaction():
    """The old chain lock was held to commit: the second receptionist waited for the first."""
    patient = PatientFactory()
    written, release = threading.Event(), threading.Event()

    def slow_writer():
        try:
            with transaction.atomic():
                audit.record(AuditEntry.Action.VIEW, patient, summary="slow")
                written.set()
                release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    try:
        assert written.wait(10)
        started = time.monotonic()
        audit.record(AuditEntry.Action.VIEW, patient, summary="quick")
        waited = time.monotonic() - started
    finally:
        release.set()
        thread.join(10)
    assert waited < 1
    assert unsealed() == 0  # each sealed after its commit, the quick one first
    assert list(AuditEntry.objects.order_by("seq").values_list("summary", flat=True))[-2:] == ["quick", "slow"]
    assert audit.verify()[2] == []


@ON_POSTGRESQL
@pytest.mark.django_db(transaction=True)
def test_many_writers_at_once_end_sealed_in_one_chain():
    patients = PatientFactory.create_batch(4)

    def receptionist(i):
        for n in range(10):
            with transaction.atomic():
                audit.record(AuditEntry.Action.VIEW, patients[i % 4], summary=f"{i}.{n}")
                audit.record(AuditEntry.Action.SEARCH, summary=f"{i}.{n} again")
        return "ok"

    assert at_once(receptionist, 12) == ["ok"] * 12
    assert unsealed() == 0  # nobody called seal(): each commit's seal, or its re-check, took them all
    count, head, breaks = audit.verify()
    assert breaks == [] and count == head.seq == 4 + 12 * 20


@ON_POSTGRESQL
@pytest.mark.django_db(transaction=True)
def test_an_entry_committed_while_another_connection_seals_is_sealed_by_its_recheck(monkeypatch):
    audit.bulk_record([{"at": timezone.now(), "username": "import", "action": "view"}])
    real_batch = audit._seal_batch
    late = []

    def batch_while_someone_commits(*args):
        sealed = real_batch(*args)
        if not late:
            # Meanwhile a receptionist's entry commits; its own seal finds the lock taken and leaves.
            thread = threading.Thread(target=lambda: (late.append(audit.record("view")), connections.close_all()))
            thread.start()
            thread.join(10)
            assert AuditEntry.objects.get(pk=late[0].pk).seq is None
        return sealed

    monkeypatch.setattr(audit, "_seal_batch", batch_while_someone_commits)
    assert audit.seal() == 2
    assert unsealed() == 0 and audit.verify()[2] == []


@ON_POSTGRESQL
@pytest.mark.django_db(transaction=True)
def test_entries_a_stuck_sealer_leaves_behind_are_reported():
    audit.bulk_record([{"at": timezone.now() - timedelta(minutes=2), "username": "import", "action": "view"}])
    stuck = connections.create_connection("default")
    try:
        with stuck.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [audit._SEAL_LOCK_KEY])
        breaks = audit.verify()[2]
        assert [b.problem for b in breaks] == ["not sealed into the chain a minute after it was written"]
    finally:
        stuck.close()
    assert audit.verify()[2] == []  # the lock went with the connection: sealed now
