"""`python manage.py backup [FOLDER] [--keep N]`: the database and every media file, consistent, while the clinic runs.

Each run writes a new backup inside FOLDER (default DATA_DIR/backups), named by its UTC time, so
the same command runs every night: `manage.py backup /backups --keep 14`. One backup is one
directory, readable by its owner only:

    database.sqlite3    SQLite: a copy made with SQLite's online backup API
    database.dump       PostgreSQL: `pg_dump --format=custom` (read by `pg_restore`)
    media/...           every file of the media storage (local folder or S3), under its storage name
    manifest.json       when, which code, which database (rows per table, triggers), the applied
                        migrations, and the size and SHA-256 of every file
    manifest.sha256     written last: the manifest's own SHA-256 (`sha256sum -c manifest.sha256`)

It is written under a hidden `.partial` name in FOLDER and renamed once complete, so a folder with a
backup's name always holds a whole backup (clinic/backups.py: names, retention, verification).
The last line of output is for a monitor: `backup ok path=... size=... rows=... files=... seconds=...
manifest_sha256=...` on stdout, or `backup failed: <reason>` on stderr with exit status 1.
"""

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import django
from django.conf import settings
from django.core.files.storage import DEFAULT_STORAGE_ALIAS, FileSystemStorage, storages
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from clinic.backups import (
    DUMP_FILES,
    FORMAT,
    MANIFEST,
    MEDIA,
    PREFIX,
    claim_name,
    file_digest,
    prune,
    safe_name,
    seal_manifest,
    unfinished,
)

_CHUNK = 1024 * 1024
# libpq reads these from the environment. The password goes there too, never on a command line,
# where any user of the machine could read it in the process list.
_PG_OPTIONS = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "passfile": "PGPASSFILE",
    "service": "PGSERVICE",
}


# --- Files -----------------------------------------------------------------------------------------


def copy_hashing(source, target: Path):
    """Copy an open binary file to `target`; returns (size, SHA-256) of what was written."""
    digest = hashlib.sha256()
    size = 0
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as out:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def human_size(size):
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return None  # not reached


# --- Media, through the storage API (a local folder or an S3 bucket alike) ------------------------


def storage_names(storage, folder=""):
    """Every file name in a storage, walked with listdir(): works for S3 as for a local folder."""
    try:
        directories, files = storage.listdir(folder)
    except FileNotFoundError:  # a local media folder nobody has uploaded to yet
        return
    for name in sorted(files):
        yield f"{folder}/{name}" if folder else name
    for directory in sorted(directories):
        yield from storage_names(storage, f"{folder}/{directory}" if folder else directory)


def back_up_media(storage, target: Path):
    """Copy every file of `storage` under `target`, keeping names; returns the manifest entries."""
    entries = []
    for name in storage_names(storage):
        with storage.open(name, "rb") as source:
            size, sha256 = copy_hashing(source, target / safe_name(name))
        entries.append({"path": name, "size": size, "sha256": sha256})
    return entries


def storage_label(storage):
    return f"{type(storage).__module__}.{type(storage).__qualname__}"


# --- Database facts: what the restore checks it got back -------------------------------------------


def quote_identifier(name):
    return '"' + name.replace('"', '""') + '"'


_TABLES = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    "postgresql": """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema() ORDER BY c.relname""",
}
_TRIGGERS = {
    "sqlite": "SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger' ORDER BY tbl_name, name",
    "postgresql": """SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                     JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE NOT t.tgisinternal AND n.nspname = current_schema() ORDER BY c.relname, t.tgname""",
}


def database_facts(cursor, vendor):
    """Rows per table, the triggers ([table, name]) and the applied migrations ([app, name]) a
    DB-API cursor sees. Run in the backup's own snapshot, so the facts match the dump exactly."""
    cursor.execute(_TABLES[vendor])
    tables = {}
    for (table,) in cursor.fetchall():
        cursor.execute(f"SELECT COUNT(*) FROM {quote_identifier(table)}")  # noqa: S608 (a name the database listed)
        tables[table] = cursor.fetchone()[0]
    cursor.execute(_TRIGGERS[vendor])
    triggers = [list(row) for row in cursor.fetchall()]
    migrations = []
    if "django_migrations" in tables:
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY id")
        migrations = [list(row) for row in cursor.fetchall()]
    return {"tables": tables, "triggers": triggers, "migrations": migrations}


# --- SQLite ------------------------------------------------------------------------------------------


def sqlite_path(settings_dict):
    name = str(settings_dict["NAME"])
    if name == ":memory:" or name.startswith("file:"):
        raise CommandError(f"Cannot back up or restore the SQLite database {name!r}: it is not a plain file.")
    return Path(name)


def dump_sqlite(connection, target: Path):
    """A consistent copy of the live database, through SQLite's online backup API."""
    source_path = sqlite_path(connection.settings_dict)
    if not source_path.is_file():
        raise CommandError(f"There is no SQLite database at {source_path}.")
    timeout = connection.settings_dict.get("OPTIONS", {}).get("timeout", 20)
    source = sqlite3.connect(source_path, timeout=timeout)
    try:
        copy = sqlite3.connect(target)
        try:
            # One step (pages=-1) under one read transaction: a snapshot; in WAL mode the clinic's
            # writers carry on meanwhile.
            source.backup(copy)
            # The copy stands alone: one file, no -wal beside it, and sound.
            copy.execute("PRAGMA journal_mode=DELETE")
            (check,) = copy.execute("PRAGMA quick_check").fetchone()
            if check != "ok":
                raise CommandError(f"The copy of the SQLite database failed its check: {check}")
            return database_facts(copy.cursor(), "sqlite")
        finally:
            copy.close()
    finally:
        source.close()


# --- PostgreSQL --------------------------------------------------------------------------------------


def client_tool(program):
    """The path of a PostgreSQL client program, or a CommandError that says how to get it."""
    path = shutil.which(program)
    if not path:
        raise CommandError(
            f"{program} was not found on PATH. Install PostgreSQL's client programs of the server's major "
            "version or newer (Debian: apt-get install postgresql-client-15) and run again. Nothing was written."
        )
    return path


def pg_connection_arguments(settings_dict):
    """(arguments, environment) for a libpq client program: host, port and user as options, the
    password and TLS settings in the environment."""
    arguments = []
    for option, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if settings_dict.get(key):
            arguments += [option, str(settings_dict[key])]
    arguments.append("--no-password")  # fail at once rather than wait at a prompt nobody sees
    environment = dict(os.environ, PGAPPNAME="clinic-backup")
    if settings_dict.get("PASSWORD"):
        environment["PGPASSWORD"] = str(settings_dict["PASSWORD"])
    options = settings_dict.get("OPTIONS") or {}
    for option, variable in _PG_OPTIONS.items():
        if options.get(option):
            environment[variable] = str(options[option])
    return arguments, environment


def run_pg_tool(program, settings_dict, *arguments):
    """Run pg_dump or pg_restore against the configured database; a CommandError if it fails."""
    path = client_tool(program)
    connection_arguments, environment = pg_connection_arguments(settings_dict)
    command = [path, *connection_arguments, *arguments]
    try:
        result = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)  # noqa: S603
    except OSError as error:
        raise CommandError(f"{program} could not be run: {error}") from None
    if result.returncode:
        raise CommandError(f"{program} failed (exit status {result.returncode}):\n{result.stderr.strip()}")
    return result


def dump_postgresql(connection, target: Path):
    """`pg_dump --format=custom` in a snapshot shared with the facts, so both describe one moment."""
    settings_dict = connection.settings_dict
    snapshot_connection = connection.copy()  # its own session: whatever transaction the caller is in
    try:
        snapshot_connection.ensure_connection()
        with snapshot_connection.cursor() as cursor:
            cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            (snapshot,) = cursor.fetchone()
            facts = database_facts(cursor, "postgresql")
            # pg_dump reads the very snapshot the facts were counted in, while the clinic writes on.
            run_pg_tool(
                "pg_dump",
                settings_dict,
                "--format=custom",
                f"--snapshot={snapshot}",
                "--file",
                str(target),
                "--dbname",
                str(settings_dict["NAME"]),
            )
            cursor.execute("COMMIT")
        return facts
    finally:
        snapshot_connection.close()


# --- The backup --------------------------------------------------------------------------------------


def _git_revision():
    """The commit of the running code when it is a git checkout (the image may not be)."""
    git = shutil.which("git")
    if not git or not (Path(settings.BASE_DIR) / ".git").exists():
        return None
    try:
        result = subprocess.run(  # noqa: S603 (fixed arguments)
            [git, "-C", str(settings.BASE_DIR), "rev-parse", "--verify", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if result.returncode:
        return None
    return result.stdout.strip() or None


def app_version():
    return {"version": getattr(settings, "CLINIC_VERSION", None), "revision": _git_revision()}


def _check_folder(folder: Path, storage):
    if folder.exists() and not folder.is_dir():
        raise CommandError(f"{folder} is not a folder; give the folder that holds the backups.")
    if (folder / MANIFEST).exists():
        raise CommandError(
            f"{folder} is a backup itself; give the folder that holds the backups (e.g. {folder.parent})."
        )
    if isinstance(storage, FileSystemStorage):
        media_root = Path(storage.location).resolve()
        if folder.resolve().is_relative_to(media_root):
            raise CommandError(f"{folder} is inside the media folder {media_root}; keep backups elsewhere.")


def create_backup(folder: Path, *, connection, storage):
    """Write a new backup inside `folder`; returns (its path, the manifest, the manifest's SHA-256).

    The database goes first: files are never deleted once a record points at them, so every file
    the copied database names is still there when the media are copied a moment later.
    Everything is written into a hidden temporary folder, the manifest and its checksum last, and
    the folder takes its timestamped name only when complete.
    """
    if connection.vendor not in DUMP_FILES:
        raise CommandError(f"Backups of a {connection.vendor} database are not supported (SQLite and PostgreSQL are).")
    if connection.vendor == "postgresql":
        client_tool("pg_dump")  # a missing pg_dump is found before anything is written
    created = datetime.now(UTC)
    _check_folder(folder, storage)
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = Path(tempfile.mkdtemp(prefix=f".{PREFIX}{created:%Y%m%dT%H%M%SZ}.", suffix=".partial", dir=folder))
    except OSError as error:
        raise CommandError(f"Cannot write in {folder}: {error}") from error
    try:
        dump = partial / DUMP_FILES[connection.vendor]
        dump_database = dump_sqlite if connection.vendor == "sqlite" else dump_postgresql
        facts = dump_database(connection, dump)
        size, sha256 = file_digest(dump)
        files = back_up_media(storage, partial / MEDIA)
        manifest = {
            "format": FORMAT,
            "created": created.isoformat(timespec="microseconds").replace("+00:00", "Z"),
            "app": app_version(),
            "django": django.get_version(),
            "database": {
                "vendor": connection.vendor,
                "file": dump.name,
                "size": size,
                "sha256": sha256,
                "tables": facts["tables"],
                "triggers": facts["triggers"],
            },
            "migrations": facts["migrations"],
            "media": {"storage": storage_label(storage), "files": files},
        }
        manifest_sha256 = seal_manifest(partial, manifest)
        path = claim_name(partial, folder, created)
    except (OSError, sqlite3.Error) as error:  # a full disk, a locked or unreadable file: a message
        shutil.rmtree(partial, ignore_errors=True)
        raise CommandError(f"The backup failed and nothing was kept: {error}") from error
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return path, manifest, manifest_sha256


def folder_size(path: Path):
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


def _field(value):
    """A key=value value a monitor can split on spaces: quoted (JSON-style) only when it must be."""
    text = str(value)
    return json.dumps(text) if not text or any(c.isspace() or c in "\"'=" for c in text) else text


def _one_line(text):
    return " | ".join(line.strip() for line in str(text).splitlines() if line.strip())


class Command(BaseCommand):
    help = (
        "Write a new backup of the database (SQLite's online backup, or pg_dump) and of every media file "
        "(local or S3) into FOLDER, in a sub-folder named by the UTC time, with a manifest of checksums. "
        "Safe while the clinic runs; run it every night. --keep N deletes the oldest backups beyond N."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "folder",
            nargs="?",
            metavar="FOLDER",
            help="The folder that holds the backups (default: DATA_DIR/backups). Each run adds "
            "FOLDER/clinic-backup-<UTC time>, e.g. clinic-backup-20250301T021500.123456Z.",
        )
        parser.add_argument(
            "--output",
            metavar="FOLDER",
            help="The same as FOLDER (kept for older crontabs): a new backup is written inside it.",
        )
        parser.add_argument(
            "--keep",
            type=int,
            metavar="N",
            help="After a successful backup, delete the oldest complete backups in FOLDER beyond the newest N "
            "(the new one counts). Nothing else in FOLDER is touched. Default: keep all.",
        )

    def execute(self, *args, **options):
        """Every failure ends in one line, `backup failed: <reason>`, and exit status 1."""
        try:
            return super().execute(*args, **options)
        except CommandError as error:
            failure = CommandError(f"backup failed: {_one_line(error)}", returncode=error.returncode)
        except Exception as error:  # a bug: its traceback first, then the line a monitor reads
            if options.get("traceback"):
                raise
            import traceback

            self.stderr.write(traceback.format_exc())
            failure = CommandError(f"backup failed: {type(error).__name__}: {_one_line(error)}")
        if self._called_from_command_line and not options.get("traceback"):
            self.stderr.write(str(failure))
            sys.exit(failure.returncode)
        raise failure

    def handle(self, *args, folder=None, output=None, keep=None, **options):
        started = time.monotonic()
        if folder and output and Path(folder) != Path(output):
            raise CommandError(f"Two folders given ({folder} and --output {output}); give one.")
        if keep is not None and keep < 1:
            raise CommandError("--keep must be 1 or more: the backup just made is always kept.")
        data_dir = Path(getattr(settings, "DATA_DIR", Path(settings.BASE_DIR) / "data"))
        folder = Path(folder or output or data_dir / "backups")
        storage = storages[DEFAULT_STORAGE_ALIAS]  # the media storage itself (a local folder, or S3)
        path, manifest, manifest_sha256 = create_backup(
            folder, connection=connections[DEFAULT_DB_ALIAS], storage=storage
        )
        database = manifest["database"]
        files = manifest["media"]["files"]
        rows = sum(database["tables"].values())
        self.stdout.write(
            f"Backup written to {path}: {database['vendor']} database ({human_size(database['size'])}, "
            f"{len(database['tables'])} tables, {rows} rows), {len(files)} media files "
            f"({human_size(sum(entry['size'] for entry in files))})."
        )
        removed = []
        if keep is not None:
            try:
                removed = prune(folder, keep=keep, made=path)
            except OSError as error:
                raise CommandError(
                    f"the backup {path} was written, but removing old backups failed: {error}"
                ) from error
            for old in removed:
                self.stdout.write(f"Removed the old backup {old} (--keep {keep}).")
        for left in unfinished(folder):
            self.stdout.write(
                f"Warning: {left} is an unfinished backup (a run still writing, or one that was killed); "
                "delete it when no backup is running."
            )
        self.stdout.write(
            f"backup ok path={_field(path)} size={folder_size(path)} rows={rows} files={len(files)} "
            f"removed={len(removed)} seconds={time.monotonic() - started:.2f} manifest_sha256={manifest_sha256}"
        )
