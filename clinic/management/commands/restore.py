"""`python manage.py restore DIR [--force]`: check a whole backup, then bring it back.

Order: first everything that only reads (clinic/backups.py verify_backup and verify_dump): the
manifest against its own checksum, its every field, every file's size and SHA-256, the dump's own
tables, row counts, triggers and migrations against the manifest; then the kind of database; then
whether anything would be overwritten (refused without --force). A backup refused at any of these
steps has changed nothing. Only then the media files, then the database (SQLite: the online backup
API into the configured file; PostgreSQL: `pg_restore --clean --if-exists --no-owner` run by `psql`
in one transaction whose last statement checks every table's row count and every trigger), then the
same check from Django. Should a step after the first write fail, the target is put back as it was:
the media files written are deleted and those replaced put back; on SQLite the database file is
copied back from a safety copy, and on PostgreSQL the one transaction rolls back. It runs no
migrations: when the backup is older than the code, it says to run `migrate`.
"""

import shutil
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

from django.core.files import File
from django.core.files.storage import DEFAULT_STORAGE_ALIAS, FileSystemStorage, storages
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.loader import MigrationLoader

from clinic.backups import MEDIA, safe_name, verify_backup, verify_dump
from clinic.management.commands.backup import (
    client_tool,
    database_facts,
    human_size,
    pg_connection_arguments,
    quote_identifier,
    sqlite_path,
)
from clinic.triggers import INSTALLERS


def migration_notes(applied_pairs):
    """Lines telling how the backup's applied migrations compare with this code's migrations."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    applied = {tuple(pair) for pair in applied_pairs}

    def is_applied(key):
        replaces = loader.graph.nodes[key].replaces
        return key in applied or (bool(replaces) and all(tuple(old) in applied for old in replaces))

    missing = sorted(f"{app}.{name}" for app, name in loader.graph.nodes if not is_applied((app, name)))
    unknown = sorted(f"{app}.{name}" for app, name in applied if (app, name) not in loader.disk_migrations)
    notes = []
    if unknown:
        notes.append(
            f"Warning: the backup has migrations this code does not know ({', '.join(unknown)}): it was made by "
            "a newer version of the clinic; run that version, or a later one, on the restored database."
        )
    if missing:
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        notes.append(
            f"The backup predates {len(missing)} migration(s) of this code ({shown}): "
            "run `python manage.py migrate` before starting the clinic."
        )
    return notes


# --- Database ------------------------------------------------------------------------------------


def current_facts(connection):
    with connection.cursor() as cursor:
        return database_facts(cursor, connection.vendor)


def load_sqlite(connection, source: Path):
    """Copy the backup into the configured SQLite file with the online backup API."""
    target_path = sqlite_path(connection.settings_dict)
    timeout = connection.settings_dict.get("OPTIONS", {}).get("timeout", 20)
    # Read-only and immutable: reading the backup writes no journal next to it.
    try:
        backup = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
        try:
            target = sqlite3.connect(target_path, timeout=timeout)
            try:
                # The backup API cannot write into a WAL database whose page size differs; copying in
                # rollback mode always works, and WAL is switched back on after.
                (mode,) = target.execute("PRAGMA journal_mode").fetchone()
                target.execute("PRAGMA journal_mode=DELETE")
                backup.backup(target)
                target.execute(f"PRAGMA journal_mode={'WAL' if mode.lower() == 'wal' else 'DELETE'}")
                (check,) = target.execute("PRAGMA quick_check").fetchone()
            finally:
                target.close()
        finally:
            backup.close()
    except sqlite3.Error as error:  # e.g. "database is locked": the clinic is still writing to it
        raise CommandError(f"Restoring the SQLite database {target_path} failed: {error}") from error
    if check != "ok":
        raise CommandError(f"The restored SQLite database failed its check: {check}")


def sqlite_safety_copy(connection, folder: Path):
    """A copy of the configured SQLite database as it is now, to copy back should the restore fail."""
    copy = folder / "before-restore.sqlite3"
    target_path = sqlite_path(connection.settings_dict)
    try:
        source = sqlite3.connect(target_path, timeout=connection.settings_dict.get("OPTIONS", {}).get("timeout", 20))
        try:
            saved = sqlite3.connect(copy)
            try:
                source.backup(saved)
                saved.execute("PRAGMA journal_mode=DELETE")
            finally:
                saved.close()
        finally:
            source.close()
    except sqlite3.Error as error:
        raise CommandError(f"Could not copy {target_path} before restoring over it: {error}") from error
    return copy


def _literal(text):
    return "'" + text.replace("'", "''") + "'"


def check_sql(database):
    """A DO block that raises unless every table has the backup's row count and every trigger is
    there; run as the restore's last statement, it rolls the whole restore back when it raises."""
    lines = ["RESET search_path;", "DO $clinic_check$", "DECLARE found bigint;", "BEGIN"]
    for table, rows in sorted(database["tables"].items()):
        lines += [
            f"  SELECT count(*) INTO found FROM {quote_identifier(table)};",  # noqa: S608 (quoted names, checked ints)
            f"  IF found <> {int(rows)} THEN RAISE EXCEPTION 'table % has % rows, the backup lists %', "
            f"{_literal(table)}, found, {int(rows)}; END IF;",
        ]
    for table, name in database["triggers"]:
        where = f"c.relname = {_literal(table)} AND t.tgname = {_literal(name)} AND NOT t.tgisinternal"
        lines.append(
            f"  IF NOT EXISTS (SELECT 1 FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE {where}) THEN "  # noqa: S608
            f"RAISE EXCEPTION 'trigger % on % is missing', {_literal(name)}, {_literal(table)}; END IF;"
        )
    lines += ["END $clinic_check$;", ""]
    return "\n".join(lines)


_GIVE_UP = (
    "DO $clinic_stop$ BEGIN RAISE EXCEPTION 'pg_restore stopped before the end of the dump'; END $clinic_stop$;\n"
)


def load_postgresql(connection, source: Path, database):
    """pg_restore's SQL run by psql in one transaction that ends with check_sql(): a failure anywhere,
    the check included, rolls everything back and leaves the database as it was.

    --clean drops each table before re-creating it; the row triggers guarding signed records,
    closed months and the audit trail do not fire on DROP TABLE, and pg_restore creates triggers
    only after the rows are loaded.
    """
    settings_dict = connection.settings_dict
    pg_restore, psql = client_tool("pg_restore"), client_tool("psql")
    arguments, environment = pg_connection_arguments(settings_dict)
    reader = [pg_restore, "--clean", "--if-exists", "--no-owner", "--file", "-", str(source)]
    writer = [psql, *arguments, "--no-psqlrc", "--quiet", "--single-transaction", "--set", "ON_ERROR_STOP=1"]
    writer += ["--dbname", str(settings_dict["NAME"]), "--file", "-"]
    with tempfile.TemporaryFile() as reader_errors, tempfile.TemporaryFile() as writer_errors:
        with (
            subprocess.Popen(reader, stdout=subprocess.PIPE, stderr=reader_errors) as dump,  # noqa: S603
            subprocess.Popen(  # noqa: S603
                writer, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=writer_errors, env=environment
            ) as load,
        ):
            try:
                shutil.copyfileobj(dump.stdout, load.stdin)
                # psql commits at the end of its input: only a whole dump gets the check, the rest an error.
                load.stdin.write(check_sql(database).encode() if dump.wait() == 0 else _GIVE_UP.encode())
                load.stdin.close()
            except BrokenPipeError:  # psql stopped at an error (and rolled back); so must pg_restore
                dump.kill()
        for errors in (reader_errors, writer_errors):
            errors.seek(0)
        message = (reader_errors.read() + writer_errors.read()).decode("utf-8", "replace").strip()
    if dump.returncode or load.returncode:
        raise CommandError(
            f"Restoring the PostgreSQL database failed and was rolled back (pg_restore exit status {dump.returncode}, "
            f"psql exit status {load.returncode}):\n{message}"
        )


def reinstall_triggers(connection):
    """Run each app's (idempotent) trigger installation; returns warnings for any that failed."""
    warnings = []
    for label, install in INSTALLERS.items():
        try:
            install(connection)
        except DatabaseError as error:
            warnings.append(f"Warning: the {label} triggers were not installed ({error}); run `migrate`.")
    return warnings


# --- Media ---------------------------------------------------------------------------------------


def media_taken(storage, entries):
    return [entry["path"] for entry in entries if storage.exists(entry["path"])]


class MediaUndo:
    """What a restore changed in the media storage, so a failed restore can put it back: the names
    it wrote, and a local copy of each file it replaced (--force)."""

    def __init__(self, storage):
        self.storage = storage
        self.written = []
        self.replaced = {}
        self._originals = None

    def keep_original(self, name):
        if self._originals is None:
            self._originals = Path(tempfile.mkdtemp(prefix="clinic-restore-originals-"))
        copy = self._originals / str(len(self.replaced))
        with self.storage.open(name, "rb") as source, open(copy, "wb") as target:
            shutil.copyfileobj(source, target)
        self.replaced[name] = copy

    def undo(self):
        for name in reversed(self.written):
            if self.storage.exists(name):
                self.storage.delete(name)
        for name, copy in self.replaced.items():
            if self.storage.exists(name):
                self.storage.delete(name)
            with open(copy, "rb") as content:
                self.storage.save(name, File(content, name=name))

    def discard(self):
        if self._originals is not None:
            shutil.rmtree(self._originals, ignore_errors=True)


def restore_media(storage, source: Path, entries, *, undo=None):
    """Write each backed-up file into the storage under its own name, replacing what is there."""
    for entry in entries:
        name = safe_name(entry["path"])
        # save() picks another name when one is taken; the database's rows need this one.
        if storage.exists(name):
            if undo is not None:
                undo.keep_original(name)
            storage.delete(name)
        if undo is not None:
            undo.written.append(name)
        with open(source / name, "rb") as content:
            saved = storage.save(name, File(content, name=name))
        if saved != name:
            if undo is not None:
                undo.written.append(saved)
            raise CommandError(f"The media storage saved {name} as {saved}; the records point at {name}.")


class Command(BaseCommand):
    help = (
        "Restore a backup made by `backup` (the folder holding manifest.json) into the configured "
        "database and media storage. The whole backup is checked first (the manifest against manifest.sha256, "
        "every file, the dump's tables and row counts), and a failure half-way puts back what was there. "
        "A database that is not empty, or media files at the backup's names, are overwritten only with --force. "
        "Runs no migrations."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "backup", metavar="DIR", help="A backup folder, e.g. /backups/clinic-backup-20250301T020000.123456Z."
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Replace a database that is not empty, and media files at the backup's names.",
        )

    def handle(self, *args, backup, force, **options):
        started = time.monotonic()
        folder = Path(backup)
        manifest = verify_backup(folder)
        connection = connections[DEFAULT_DB_ALIAS]
        database = manifest["database"]
        if database["vendor"] != connection.vendor:
            raise CommandError(
                f"This is a backup of a {database['vendor']} database and the configured database is "
                f"{connection.vendor}; a backup is restored into the same kind of database. Nothing was restored."
            )
        verify_dump(folder, manifest)  # reads the dump only: a damaged one is refused before any write
        entries = manifest["media"]["files"]
        storage = storages[DEFAULT_STORAGE_ALIAS]

        in_the_way = self._in_the_way(connection, storage, entries)
        if in_the_way and not force:
            raise CommandError(
                "Refusing to restore over data already here; nothing was restored.\n"
                + "\n".join(in_the_way)
                + "\nRestore into a new, empty database and media folder, or run again with --force to replace it."
            )
        if in_the_way:
            self.stderr.write("Replacing what is here (--force):\n" + "\n".join(in_the_way))

        # Media first: rows pointing at files not yet restored would be worse than files no row names.
        # Any failure from here on puts back what was written (see the module's docstring).
        undo = MediaUndo(storage)
        # The SQLite safety copy goes beside the database: the same disk, not a small /tmp.
        beside = sqlite_path(connection.settings_dict).parent if connection.vendor == "sqlite" else None
        with tempfile.TemporaryDirectory(prefix=".clinic-restore-", dir=beside) as scratch:
            try:
                restore_media(storage, folder / MEDIA, entries, undo=undo)
                connections.close_all()
                if connection.vendor == "sqlite":
                    safety = sqlite_safety_copy(connection, Path(scratch))
                    try:
                        load_sqlite(connection, folder / database["file"])
                        warnings = self._check_database(connection, database)
                    except BaseException:
                        connections.close_all()
                        load_sqlite(connection, safety)
                        raise
                else:
                    load_postgresql(connection, folder / database["file"], database)
                    warnings = self._check_database(connection, database)
            except BaseException:
                undo.undo()
                raise
            finally:
                undo.discard()
        warnings += migration_notes(manifest["migrations"])
        self.stdout.write(
            f"Restored {folder} (made {manifest['created']}): the {database['vendor']} database "
            f"({len(database['tables'])} tables, {sum(database['tables'].values())} rows, every count as in the "
            f"backup; {len(database['triggers'])} triggers present) and {len(entries)} media files "
            f"({human_size(sum(entry['size'] for entry in entries))}), in {time.monotonic() - started:.1f} s."
        )
        for line in warnings:
            self.stdout.write(line)

    def _in_the_way(self, connection, storage, entries):
        lines = []
        tables = current_facts(connection)["tables"]
        if tables:
            busiest = sorted(tables.items(), key=lambda item: -item[1])[:5]
            lines.append(
                f"  The database {connection.settings_dict['NAME']} is not empty: {len(tables)} tables, "
                f"{sum(tables.values())} rows (" + ", ".join(f"{table}: {rows}" for table, rows in busiest) + ")."
            )
        taken = media_taken(storage, entries)
        if taken:
            place = storage.location if isinstance(storage, FileSystemStorage) else "the media storage"
            lines.append(f"  {len(taken)} of the backup's {len(entries)} media files already exist in {place}, e.g.")
            lines += [f"    {name}" for name in taken[:5]]
        return lines

    def _check_database(self, connection, database):
        """Every table with the backup's row count and every trigger present; returns warnings."""
        after = current_facts(connection)
        problems = [
            f"  {table}: {after['tables'].get(table, 'no such table')} rows, the backup has {rows}"
            for table, rows in database["tables"].items()
            if after["tables"].get(table) != rows
        ]
        if problems:
            raise CommandError(
                "The database was restored but does not hold what the backup lists; do not start the clinic "
                "on it:\n" + "\n".join(problems)
            )
        warnings = []
        extra = sorted(set(after["tables"]) - set(database["tables"]))
        if extra:
            warnings.append(f"Warning: tables not in the backup were left as they were: {', '.join(extra)}.")

        # SQLite drops triggers when a migration rebuilds a table, so the live database (and so the
        # backup) may have lost some: re-install them here. On PostgreSQL pg_restore brings them back.
        expected = {tuple(trigger) for trigger in database["triggers"]}
        present = {tuple(trigger) for trigger in after["triggers"]}
        if connection.vendor == "sqlite" or expected - present:
            warnings += reinstall_triggers(connection)
            added = {tuple(trigger) for trigger in current_facts(connection)["triggers"]} - present
            present |= added
            if added:
                warnings.append(
                    f"Re-installed {len(added)} database triggers the backup lacked: "
                    + ", ".join(f"{name} on {table}" for table, name in sorted(added))
                    + "."
                )
        missing = expected - present
        if missing:
            raise CommandError(
                "The restored database lacks triggers the backup had: "
                + ", ".join(f"{name} on {table}" for table, name in sorted(missing))
                + ". Run `python manage.py migrate`, which installs them, before starting the clinic."
            )
        return warnings
