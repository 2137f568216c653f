"""Backup and restore: a backup brought back into a fresh database and a fresh media folder has every
row and every file; a damaged backup, a database with data in it, a backup of the other kind of
database and a missing pg_dump are each refused with a message, and never leave a half-written backup.

The round trip runs on whichever database the suite runs on (SQLite, or PostgreSQL with DATABASE_URL).
The restore runs as `manage.py restore` in a subprocess pointed at the fresh targets, as an operator would.
"""

import hashlib
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
import uuid
from contextlib import closing
from pathlib import Path
from urllib.parse import quote

import boto3
import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from moto import mock_aws
from storages.backends.s3 import S3Storage

from clinic.backups import seal_manifest
from clinic.management.commands import backup as backup_command
from clinic.management.commands import restore as restore_command
from clinic.triggers import INSTALLERS
from clinical import services as clinical_services
from clinical.tests.factories import AmendmentFactory, MedicalRecordFactory, MedicationFactory
from documents.tests.factories import make_document, make_image, pdf_upload
from finance.tests.factories import ClosedMonthFactory, ExpenseFactory, PaymentFactory
from patients.tests.factories import AllergyFactory, PatientFactory
from scheduling.tests.factories import AppointmentFactory

ON_POSTGRES = connection.vendor == "postgresql"
BASE_DIR = Path(settings.BASE_DIR)


# --- helpers -------------------------------------------------------------------------------------


def clinic_data():
    """A little of everything: patients, appointments, a signed record with a medication and an
    amendment, documents and a photo (with files), expenses (one in a closed month) and a payment."""
    patients = [PatientFactory(last_name=name) for name in ("Novák", "O'Brien", "Okafor")]
    AllergyFactory(patient=patients[0])
    appointment = AppointmentFactory(patient=patients[1])
    record = MedicalRecordFactory(patient=patients[1], diagnosis="Acute tonsillitis")
    MedicationFactory(record=record, drug="Amoxicillin")
    record = clinical_services.sign_record(record=record, by=record.author)
    AmendmentFactory(record=record, text="Review in one week.")
    document = make_document(patient=patients[0], title="Full blood count", uploaded=pdf_upload(text="fbc 2025"))
    image = make_image(patient=patients[0], body_site="Left shin")
    last_month = ClosedMonthFactory.build().month
    ExpenseFactory(date=last_month.replace(day=3), reason="Rent, last month")  # before the month is closed
    ClosedMonthFactory(month=last_month)
    payment = PaymentFactory()
    return {
        "patients": patients,
        "appointment": appointment,
        "record": record,
        "document": document,
        "image": image,
        "payment": payment,
    }


def run_manage(*args, database_url, media_root):
    """`manage.py ...` in a subprocess with its own database and media folder, as an operator runs it."""
    return run_python("manage.py", *args, database_url=database_url, media_root=media_root)


def run_python(*argv, database_url, media_root):
    """`python argv...` (a script, or -c code) in the environment an operator's manage.py has."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("SECRET_KEY", "MEDIA_S3_BUCKET", "DJANGO_SETTINGS_MODULE")
    }
    environment.update(LOCAL_RUN="1", DATABASE_URL=database_url, MEDIA_ROOT=str(media_root))
    return subprocess.run(
        [sys.executable, *argv],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def pg_connect(dbname):
    import psycopg

    settings_dict = connection.settings_dict
    return psycopg.connect(
        host=settings_dict["HOST"] or None,
        port=settings_dict["PORT"] or None,
        user=settings_dict["USER"] or None,
        password=settings_dict["PASSWORD"] or None,
        dbname=dbname,
        autocommit=True,
    )


def source_database():
    """A plain DB-API connection to the test database (what the backup was made of)."""
    if ON_POSTGRES:
        return pg_connect(connection.settings_dict["NAME"])
    return sqlite3.connect(connection.settings_dict["NAME"])


def fetch(db, sql, *params):
    cursor = db.cursor()
    cursor.execute(sql if ON_POSTGRES else sql.replace("%s", "?"), params)
    return cursor.fetchall()


def every_row(db):
    """{table: its rows, sorted}: the whole content of a database, to compare two of them."""
    tables = [
        name
        for (name,) in fetch(
            db,
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            if ON_POSTGRES
            else "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )
    ]
    return {table: sorted(fetch(db, f'SELECT * FROM "{table}"'), key=repr) for table in tables}


def triggers(db):
    if ON_POSTGRES:
        return set(fetch(db, "SELECT tgrelid::regclass::text, tgname FROM pg_trigger WHERE NOT tgisinternal"))
    return set(fetch(db, "SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'"))


def files_in(folder):
    folder = Path(folder)
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in folder.rglob("*") if path.is_file()}


def make_backup(folder):
    """`backup FOLDER`; returns the path of the new backup inside it (from the command's last line)."""
    out = io.StringIO()
    call_command("backup", str(folder), stdout=out)
    last = out.getvalue().splitlines()[-1]
    assert last.startswith("backup ok path="), last
    return Path(re.match(r"backup ok path=(\S+) ", last).group(1))


def manifest_of(folder):
    return json.loads((Path(folder) / "manifest.json").read_text())


@pytest.fixture
def fresh(tmp_path):
    """A new, empty database (a new file; on PostgreSQL a throwaway database) and media folder."""
    media_root = tmp_path / "fresh-media"
    if not ON_POSTGRES:
        path = tmp_path / "fresh.sqlite3"
        yield {
            "url": f"sqlite:///{path}",
            "media": media_root,
            "connect": lambda: closing(sqlite3.connect(path)),
        }
        return
    name = f"clinic_restore_{uuid.uuid4().hex[:12]}"
    settings_dict = connection.settings_dict
    with pg_connect("postgres") as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    credentials = quote(settings_dict["USER"] or "", safe="")
    if settings_dict["PASSWORD"]:
        credentials += ":" + quote(settings_dict["PASSWORD"], safe="")
    host = f"{settings_dict['HOST'] or 'localhost'}:{settings_dict['PORT'] or 5432}"
    try:
        yield {
            "url": f"postgres://{credentials}@{host}/{name}",
            "media": media_root,
            "connect": lambda: pg_connect(name),
        }
    finally:
        with pg_connect("postgres") as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- the round trip ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # the backup and the restore read and write from other connections
def test_a_backup_restored_into_a_fresh_database_has_every_row_and_every_file(tmp_path, media, fresh):
    data = clinic_data()
    folder = make_backup(tmp_path / "backups")
    with closing(source_database()) as source:
        rows, guards = every_row(source), triggers(source)
    files = files_in(media)
    assert len(files) == 3  # the PDF, the photo and its thumbnail

    restored = run_manage("restore", str(folder), database_url=fresh["url"], media_root=fresh["media"])

    assert restored.returncode == 0, restored.stderr
    assert "every count as in the backup" in restored.stdout
    assert "migrate" not in restored.stdout  # the backup is as new as the code
    assert files_in(fresh["media"]) == files
    with fresh["connect"]() as db:
        assert every_row(db) == rows
        assert {table for table, count in rows.items() if count} >= {
            "patients_patient",
            "scheduling_appointment",
            "clinical_medicalrecord",
            "clinical_medication",
            "clinical_amendment",
            "documents_clinicaldocument",
            "documents_documentversion",
            "documents_patientimage",
            "finance_expense",
            "finance_payment",
            "finance_closedmonth",
        }
        assert triggers(db) == guards
        for patient in data["patients"]:
            assert fetch(db, "SELECT last_name, mrn FROM patients_patient WHERE id = %s", patient.pk) == [
                (patient.last_name, patient.mrn)
            ]
        assert fetch(db, "SELECT status, diagnosis FROM clinical_medicalrecord WHERE id = %s", data["record"].pk) == [
            ("signed", "Acute tonsillitis")
        ]
        assert fetch(db, "SELECT receipt_number FROM finance_payment WHERE id = %s", data["payment"].pk) == [
            (data["payment"].receipt_number,)
        ]
        # Every stored file a row names is there, with the bytes the row's checksum describes.
        stored = fetch(db, "SELECT file, sha256 FROM documents_documentversion") + fetch(
            db, "SELECT file, sha256 FROM documents_patientimage"
        )
        assert len(stored) == 2
        for name, sha256 in stored:
            assert hashlib.sha256((fresh["media"] / name).read_bytes()).hexdigest() == sha256
        # The guards came back with the rows: a signed record still refuses a change.
        with pytest.raises(Exception, match="signed_record_immutable"):
            fetch(db, "UPDATE clinical_medicalrecord SET diagnosis = 'x' WHERE id = %s", data["record"].pk)

    again = run_manage("restore", str(folder), database_url=fresh["url"], media_root=fresh["media"])
    assert again.returncode == 1
    assert "is not empty" in again.stderr and "--force" in again.stderr and "Traceback" not in again.stderr

    # --force replaces a database whose signed records, closed months and audit trail refuse changes.
    forced = run_manage("restore", "--force", str(folder), database_url=fresh["url"], media_root=fresh["media"])
    assert forced.returncode == 0, forced.stderr
    with fresh["connect"]() as db:
        assert every_row(db) == rows
        assert triggers(db) == guards
    assert files_in(fresh["media"]) == files


@pytest.mark.django_db
def test_the_manifest_lists_every_file_with_its_checksum_and_the_applied_migrations(tmp_path, media):
    default_storage.save("documents/2025/a b.pdf", ContentFile(b"%PDF-1.4 one"))
    default_storage.save("images/2025/c.jpg", ContentFile(b"\xff\xd8 two"))

    backup = make_backup(tmp_path / "backups")

    manifest = manifest_of(backup)
    assert manifest["database"]["vendor"] == connection.vendor
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", manifest["created"])
    assert manifest["media"]["files"] == [
        {"path": "documents/2025/a b.pdf", "size": 12, "sha256": hashlib.sha256(b"%PDF-1.4 one").hexdigest()},
        {"path": "images/2025/c.jpg", "size": 6, "sha256": hashlib.sha256(b"\xff\xd8 two").hexdigest()},
    ]
    assert ["clinical", "0001_initial"] in manifest["migrations"]
    assert "patients_patient" in manifest["database"]["tables"]
    assert (backup / "media" / "documents/2025/a b.pdf").read_bytes() == b"%PDF-1.4 one"
    assert (backup / manifest["database"]["file"]).stat().st_size == manifest["database"]["size"]
    assert (backup).stat().st_mode & 0o077 == 0  # patients' data: the owner only


@pytest.mark.django_db
def test_without_a_folder_a_backup_goes_under_data_backups_named_by_utc_time(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"

    out = io.StringIO()
    call_command("backup", stdout=out)

    (folder,) = (tmp_path / "data" / "backups").iterdir()
    assert re.fullmatch(r"clinic-backup-\d{8}T\d{6}\.\d{6}Z", folder.name)
    assert (folder / "manifest.json").is_file() and (folder / "manifest.sha256").is_file()
    assert f"Backup written to {folder}" in out.getvalue()


# --- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize("damaged", ["media", "database"])
@pytest.mark.django_db
def test_a_damaged_backup_is_refused_naming_the_file(tmp_path, media, damaged):
    default_storage.save("documents/2025/result.pdf", ContentFile(b"%PDF-1.4 the result"))
    backup = make_backup(tmp_path / "backups")
    manifest = manifest_of(backup)
    name = "media/documents/2025/result.pdf" if damaged == "media" else manifest["database"]["file"]
    target = backup / name
    target.write_bytes(target.read_bytes()[:-1] + b"X")

    with pytest.raises(CommandError, match="damaged") as refused:
        call_command("restore", str(backup), "--force")

    assert (name.removeprefix("media/")) in str(refused.value)
    assert "nothing was restored" in str(refused.value)


@pytest.mark.django_db
def test_restoring_over_a_database_with_data_is_refused_without_force(tmp_path, media):
    patient = PatientFactory(last_name="Still-here")
    default_storage.save("documents/2025/result.pdf", ContentFile(b"%PDF-1.4 the result"))
    backup = make_backup(tmp_path / "backups")
    (media / "documents/2025/result.pdf").write_bytes(b"%PDF-1.4 changed since")

    with pytest.raises(CommandError, match="not empty") as refused:
        call_command("restore", str(backup))

    assert "--force" in str(refused.value)
    assert "documents/2025/result.pdf" in str(refused.value)  # the media file it would overwrite
    patient.refresh_from_db()
    assert (media / "documents/2025/result.pdf").read_bytes() == b"%PDF-1.4 changed since"


@pytest.mark.django_db
def test_a_backup_of_the_other_kind_of_database_is_refused(tmp_path):
    backup = make_backup(tmp_path / "backups")
    manifest = manifest_of(backup)
    other = "sqlite" if ON_POSTGRES else "postgresql"
    manifest["database"]["vendor"] = other
    manifest["database"]["file"] = {"sqlite": "database.sqlite3", "postgresql": "database.dump"}[other]
    (backup / manifest["database"]["file"]).write_bytes(b"")  # sealed as if the other kind had made it
    manifest["database"]["size"], manifest["database"]["sha256"] = 0, hashlib.sha256(b"").hexdigest()
    (backup / "media").mkdir(exist_ok=True)
    seal_manifest(backup, manifest)

    with pytest.raises(CommandError, match=f"backup of a {other} database"):
        call_command("restore", str(backup), "--force")


def test_a_folder_without_a_manifest_is_not_a_backup(tmp_path):
    with pytest.raises(CommandError, match="not a backup"):
        call_command("restore", str(tmp_path))


def test_a_manifest_naming_a_file_outside_the_backup_is_refused(tmp_path):
    seal_manifest(
        tmp_path,
        {
            "format": 1,
            "created": "2026-12-05T02:15:00.000000Z",
            "database": {
                "vendor": "sqlite",
                "file": "database.sqlite3",
                "size": 1,
                "sha256": "0" * 64,
                "tables": {},
                "triggers": [],
            },
            "migrations": [],
            "media": {"files": [{"path": "../../etc/passwd", "size": 1, "sha256": "0" * 64}]},
        },
    )
    with pytest.raises(CommandError, match="unsafe path"):
        call_command("restore", str(tmp_path))


# --- never a half-written backup -----------------------------------------------------------------


def test_a_missing_pg_dump_is_a_command_error_and_writes_nothing(tmp_path):
    """Through manage.py, as cron runs it: one line of error, no traceback, no folder."""
    no_tools = tmp_path / "empty-bin"
    no_tools.mkdir()
    environment = {**os.environ, "PATH": str(no_tools)}
    output = tmp_path / "backups"

    result = subprocess.run(
        [sys.executable, "manage.py", "backup", str(output)],
        cwd=BASE_DIR,
        env={
            **{k: v for k, v in environment.items() if k not in ("SECRET_KEY", "DJANGO_SETTINGS_MODULE")},
            "LOCAL_RUN": "1",
            "DATABASE_URL": "postgres://clinic:secret@127.0.0.1:1/nowhere",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 1
    assert result.stderr.startswith("backup failed: pg_dump was not found on PATH")
    assert len(result.stderr.strip().splitlines()) == 1
    assert not output.exists()


@pytest.mark.skipif(not backup_command.shutil.which("pg_dump"), reason="pg_dump is not installed")
def test_a_failing_pg_dump_is_a_command_error_with_its_message():
    settings_dict = {"NAME": "nowhere", "HOST": "127.0.0.1", "PORT": "1", "USER": "clinic", "PASSWORD": "pw"}
    with pytest.raises(CommandError, match=r"pg_dump failed \(exit status 1\):\n.*127\.0\.0\.1.*port 1"):
        backup_command.run_pg_tool("pg_dump", settings_dict, "--format=custom", "--dbname", "nowhere")


def test_the_database_password_goes_through_the_environment_never_the_command_line(monkeypatch):
    seen = {}

    def fake_run(command, env, **kwargs):
        seen.update(command=command, env=env)
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(backup_command.shutil, "which", lambda program: f"/usr/bin/{program}")
    monkeypatch.setattr(backup_command.subprocess, "run", fake_run)
    settings_dict = {
        "NAME": "clinic",
        "HOST": "db",
        "PORT": 5432,
        "USER": "clinic",
        "PASSWORD": "s3cret-pw",
        "OPTIONS": {"sslmode": "require"},
    }

    backup_command.run_pg_tool("pg_dump", settings_dict, "--format=custom", "--dbname", "clinic")

    assert not any("s3cret-pw" in argument for argument in seen["command"])
    assert seen["command"][:7] == ["/usr/bin/pg_dump", "--host", "db", "--port", "5432", "--username", "clinic"]
    assert "--no-password" in seen["command"]
    assert seen["env"]["PGPASSWORD"] == "s3cret-pw"
    assert seen["env"]["PGSSLMODE"] == "require"


@pytest.mark.django_db
def test_a_backup_that_fails_half_way_leaves_nothing_that_looks_like_a_backup(tmp_path, media, monkeypatch):
    default_storage.save("documents/2025/result.pdf", ContentFile(b"%PDF-1.4 the result"))

    def disk_full(storage, target):
        (target / "documents").mkdir(parents=True)
        (target / "documents" / "half.pdf").write_bytes(b"%PDF")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(backup_command, "back_up_media", disk_full)

    with pytest.raises(CommandError, match="No space left on device"):
        make_backup(tmp_path / "backups")

    assert list((tmp_path / "backups").iterdir()) == []  # neither the backup nor its temporary folder


@pytest.mark.django_db
def test_a_backup_is_not_written_inside_the_media_folder(media):
    with pytest.raises(CommandError, match="inside the media folder"):
        make_backup(media / "backups")


# --- S3 media, migrations, triggers ---------------------------------------------------------------


@pytest.fixture
def s3_media(settings, monkeypatch):
    """The media in a private bucket in moto's stub of S3, and a second, empty bucket."""
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(variable, "testing")
    options = {"region_name": "eu-west-2", "default_acl": "private", "file_overwrite": False}
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-2")
        for bucket in ("clinic-media", "clinic-media-restored"):
            client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {
                "BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": {"bucket_name": "clinic-media", **options},
            },
        }
        yield client, S3Storage(bucket_name="clinic-media-restored", **options)


def bucket(client, name):
    keys = [item["Key"] for item in client.list_objects_v2(Bucket=name).get("Contents", [])]
    return {key: client.get_object(Bucket=name, Key=key)["Body"].read() for key in keys}


@pytest.mark.django_db
def test_media_in_s3_are_backed_up_and_restored_through_the_storage(tmp_path, s3_media):
    client, restored_storage = s3_media
    default_storage.save("documents/2025/lab result.pdf", ContentFile(b"%PDF-1.4 s3"))
    default_storage.save("images/2025/shin.jpg", ContentFile(b"\xff\xd8 shin"))
    default_storage.save("thumbnails/2025/shin.jpg", ContentFile(b"\xff\xd8 small"))

    backup = make_backup(tmp_path / "backups")
    manifest = manifest_of(backup)
    restore_command.restore_media(restored_storage, backup / "media", manifest["media"]["files"])

    assert manifest["media"]["storage"] == "storages.backends.s3.S3Storage"
    assert [entry["path"] for entry in manifest["media"]["files"]] == sorted(bucket(client, "clinic-media"))
    assert bucket(client, "clinic-media-restored") == bucket(client, "clinic-media")


def test_restore_says_to_migrate_when_the_backup_is_older_than_the_code():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    applied = [list(key) for key in loader.graph.nodes]
    (latest,) = [name for app, name in loader.graph.leaf_nodes() if app == "clinical"]

    assert restore_command.migration_notes(applied) == []
    (note,) = restore_command.migration_notes([pair for pair in applied if pair != ["clinical", latest]])
    assert f"clinical.{latest}" in note and "python manage.py migrate" in note
    (warning,) = restore_command.migration_notes([*applied, ["clinical", "9999_from_the_future"]])
    assert "clinical.9999_from_the_future" in warning and "newer version" in warning


@pytest.mark.skipif(ON_POSTGRES, reason="SQLite drops triggers when a migration rebuilds a table")
@pytest.mark.django_db(transaction=True)
def test_a_restore_reinstalls_the_sqlite_triggers_a_backup_lacks(tmp_path, fresh):
    lost = {
        ("clinical_medicalrecord", "clinical_record_signed_update"),
        ("scheduling_appointment", "appointment_doctor_overlap_insert"),
    }
    assert set(INSTALLERS) >= {"scheduling", "clinical", "finance", "clinic"}
    with connection.cursor() as cursor:  # as a migration rebuilding the tables would (the flush puts them back)
        for _table, name in lost:
            cursor.execute(f"DROP TRIGGER {name}")
    backup = make_backup(tmp_path / "backups")
    assert not lost & {tuple(trigger) for trigger in manifest_of(backup)["database"]["triggers"]}

    restored = run_manage("restore", str(backup), database_url=fresh["url"], media_root=fresh["media"])

    assert restored.returncode == 0, restored.stderr
    assert "Re-installed 2 database triggers the backup lacked" in restored.stdout
    with fresh["connect"]() as db:
        assert lost <= triggers(db)
