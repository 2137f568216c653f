"""A restore checks the whole backup before it writes anything, and a restore that fails half-way
leaves the target as it found it.

Each damaged backup (a hand-edited manifest, one re-sealed with a wrong row count, a changed or
truncated dump, a missing media file, a missing checksum) is refused with a message naming the
problem, and the target keeps every row and every file: an empty target stays empty (the issue's
reproduction: it used to be filled before the refusal), and a full one given --force keeps its data.
"""

import hashlib
import json
import subprocess

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from clinic.backups import seal_manifest

from .test_backup import (  # noqa: F401 (fresh is a fixture)
    BASE_DIR,
    ON_POSTGRES,
    clinic_data,
    every_row,
    files_in,
    fresh,
    make_backup,
    manifest_of,
    run_manage,
    run_python,
)


def edit_manifest(backup, change, *, reseal):
    manifest = manifest_of(backup)
    change(manifest)
    if reseal:
        seal_manifest(backup, manifest)  # as someone who knows about manifest.sha256 would
    else:
        (backup / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


def one_more_patient(manifest):
    manifest["database"]["tables"]["patients_patient"] += 1


def damage(backup, kind):
    """Damage a backup as `kind` says; returns what the refusal must say."""
    dump = backup / manifest_of(backup)["database"]["file"]
    patients = manifest_of(backup)["database"]["tables"]["patients_patient"]
    if kind == "manifest edited":
        edit_manifest(backup, one_more_patient, reseal=False)
        return "manifest.json does not match its checksum in manifest.sha256"
    if kind == "manifest re-sealed with a wrong row count":
        edit_manifest(backup, one_more_patient, reseal=True)
        return f"table patients_patient has {patients} rows, the manifest lists {patients + 1}"
    if kind == "manifest cut short":
        (backup / "manifest.json").write_bytes((backup / "manifest.json").read_bytes()[:200])
        return "manifest.json does not match its checksum"
    if kind == "checksum missing":
        (backup / "manifest.sha256").unlink()
        return "has no manifest.sha256"
    if kind == "dump changed":
        content = bytearray(dump.read_bytes())
        content[len(content) // 2] ^= 0xFF
        dump.write_bytes(bytes(content))
        return f"the database file {dump.name} does not match its checksum"
    if kind == "dump truncated":
        dump.write_bytes(dump.read_bytes()[: dump.stat().st_size // 2])
        return f"the database file {dump.name} does not match its checksum"
    if kind == "media file missing":
        name = manifest_of(backup)["media"]["files"][0]["path"]
        (backup / "media" / name).unlink()
        return f"media file {name} is missing"
    raise AssertionError(kind)


KINDS = [
    "manifest edited",
    "manifest re-sealed with a wrong row count",
    "manifest cut short",
    "checksum missing",
    "dump changed",
    "dump truncated",
    "media file missing",
]


def row_counts():
    with connection.cursor() as cursor:
        from clinic.management.commands.backup import database_facts

        return database_facts(cursor, connection.vendor)["tables"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.django_db(transaction=True)
def test_a_damaged_backup_is_refused_before_force_writes_anything(tmp_path, media, kind):
    clinic_data()
    backup = make_backup(tmp_path / "backups")
    said = damage(backup, kind)
    rows, files = row_counts(), files_in(media)
    assert rows["patients_patient"] >= 3 and len(files) == 3

    with pytest.raises(CommandError, match="nothing was restored") as refused:
        call_command("restore", str(backup), "--force")

    assert said in str(refused.value)
    assert row_counts() == rows
    assert files_in(media) == files


@pytest.mark.parametrize("kind", ["manifest edited", "manifest re-sealed with a wrong row count"])
@pytest.mark.django_db(transaction=True)
def test_a_damaged_backup_leaves_an_empty_target_empty(tmp_path, fresh, kind):  # noqa: F811
    """The issue's reproduction, through manage.py: the refusal used to come after every row was in."""
    clinic_data()
    backup = make_backup(tmp_path / "backups")
    said = damage(backup, kind)

    refused = run_manage("restore", str(backup), database_url=fresh["url"], media_root=fresh["media"])

    assert refused.returncode == 1
    assert said in refused.stderr and "Traceback" not in refused.stderr
    with fresh["connect"]() as db:
        assert every_row(db) == {}
    assert not fresh["media"].exists() or files_in(fresh["media"]) == {}


@pytest.mark.django_db
def test_sha256sum_checks_a_backup_manifest_without_the_clinic(tmp_path):
    backup = make_backup(tmp_path / "backups")

    checked = subprocess.run(["sha256sum", "-c", "manifest.sha256"], cwd=backup, capture_output=True, text=True)

    assert checked.returncode == 0 and checked.stdout == "manifest.json: OK\n"
    assert (backup / "manifest.sha256").read_text().split()[0] == hashlib.sha256(
        (backup / "manifest.json").read_bytes()
    ).hexdigest()


# --- a restore that fails half-way -------------------------------------------------------------------

# SQLite: the backup is loaded, then the disk fills (the safety copy going back is not failed).
FAIL_AFTER_LOADING = """
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
import django
django.setup()
from django.core.management import call_command
from clinic.management.commands import restore

loaded = restore.load_sqlite

def load_then_fail(connection, source):
    loaded(connection, source)
    if source.name == "database.sqlite3":
        raise OSError(28, "No space left on device")

restore.load_sqlite = load_then_fail
call_command("restore", "--force", sys.argv[1])
"""


@pytest.mark.django_db(transaction=True)
def test_a_restore_that_fails_half_way_leaves_the_target_as_it_found_it(tmp_path, fresh):  # noqa: F811
    clinic_data()
    backup = make_backup(tmp_path / "backups")
    assert run_manage("restore", str(backup), database_url=fresh["url"], media_root=fresh["media"]).returncode == 0
    # The target has moved on since: a table of its own, a file changed, a file the backup lacks.
    with fresh["connect"]() as db:
        db.execute("CREATE TABLE keepsake (note TEXT)")
        db.execute("INSERT INTO keepsake (note) VALUES ('made after the backup')")
        if ON_POSTGRES:  # pg_restore --clean cannot drop a table a view depends on: it fails half-way
            db.execute("CREATE VIEW patients_seen AS SELECT id FROM patients_patient")
        else:
            db.commit()
        rows = every_row(db)
    changed = fresh["media"] / manifest_of(backup)["media"]["files"][0]["path"]
    changed.write_bytes(b"%PDF-1.4 changed since")
    (fresh["media"] / "documents" / "newer.pdf").write_bytes(b"%PDF-1.4 newer")
    files = files_in(fresh["media"])

    if ON_POSTGRES:
        failed = run_manage("restore", "--force", str(backup), database_url=fresh["url"], media_root=fresh["media"])
        assert "Restoring the PostgreSQL database failed and was rolled back" in failed.stderr
        assert "patients_seen" in failed.stderr
    else:
        failed = run_python("-c", FAIL_AFTER_LOADING, str(backup), database_url=fresh["url"], media_root=fresh["media"])
        assert "No space left on device" in failed.stderr

    assert failed.returncode == 1
    with fresh["connect"]() as db:
        assert every_row(db) == rows
    assert files_in(fresh["media"]) == files
    assert rows["keepsake"] == [("made after the backup",)]


# The checks before writing switched off, to reach the last guard: the row counts checked inside the
# restore (PostgreSQL: in pg_restore's own transaction; SQLite: after the copy, then copied back).
WITHOUT_CHECKING_THE_DUMP = """
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
import django
django.setup()
from django.core.management import call_command
from clinic.management.commands import restore

restore.verify_dump = lambda folder, manifest: None
call_command("restore", sys.argv[1])
"""


@pytest.mark.django_db(transaction=True)
def test_row_counts_that_do_not_match_after_loading_undo_the_restore(tmp_path, fresh):  # noqa: F811
    clinic_data()
    backup = make_backup(tmp_path / "backups")
    patients = manifest_of(backup)["database"]["tables"]["patients_patient"]
    edit_manifest(backup, one_more_patient, reseal=True)

    failed = run_python(
        "-c", WITHOUT_CHECKING_THE_DUMP, str(backup), database_url=fresh["url"], media_root=fresh["media"]
    )

    assert failed.returncode == 1
    assert f"patients_patient has {patients} rows, the backup lists {patients + 1}" in failed.stderr or (
        not ON_POSTGRES and f"patients_patient: {patients} rows, the backup has {patients + 1}" in failed.stderr
    )
    if ON_POSTGRES:
        assert "was rolled back" in failed.stderr
    with fresh["connect"]() as db:
        assert every_row(db) == {}
    assert files_in(fresh["media"]) == {}
