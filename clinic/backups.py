"""A folder of backups, and what makes one backup in it whole.

`manage.py backup FOLDER` writes each backup as a new sub-folder named by its UTC time
(`clinic-backup-20261205T021500.123456Z`), so the same command runs every night. The name is
claimed by renaming the finished folder: rename() never replaces a folder that has files in it,
so two runs in the same instant cannot overwrite each other (the second takes `...Z-2`).

A backup is complete when it has its name, its `manifest.json` and `manifest.sha256` beside it
(the manifest's own checksum, in `sha256sum` format). Retention (`--keep N`) counts and deletes
only such folders: never a hidden `.partial` folder a crash left, never anything else.

Why a plain SHA-256 of the manifest and not an HMAC keyed with SECRET_KEY or AUDIT_KEY: a backup
is restored after a disaster, often on a new machine, when those keys may be the very thing that
was lost; a key-bound backup could then not be restored at all. The checksum catches what happens
to backups in practice (a hand edit, a truncated copy, a bad disk), and `sha256sum -c` checks it
without the clinic. Against deliberate tampering the defence is elsewhere: the `backup ok` line
carries the manifest's SHA-256 into the logs, off the backup disk, and off-site copies belong in an
authenticated, encrypted store (restic, borg).

`verify_backup()` checks a whole backup before `restore` writes anything: the manifest's checksum,
its every field, every file's size and SHA-256, no file the manifest does not name, and the database
dump's own content (its tables, row counts, triggers and migrations) against the manifest.
"""

import hashlib
import json
import re
import shutil
import sqlite3
import subprocess
from datetime import datetime
from pathlib import Path, PurePosixPath

from django.core.management.base import CommandError

FORMAT = 1
MANIFEST = "manifest.json"
MANIFEST_CHECKSUM = "manifest.sha256"
MEDIA = "media"
DUMP_FILES = {"sqlite": "database.sqlite3", "postgresql": "database.dump"}
PREFIX = "clinic-backup-"
BACKUP_NAME = re.compile(r"clinic-backup-\d{8}T\d{6}\.\d{6}Z(?:-[1-9]\d*)?")
_CHUNK = 1024 * 1024
_SHA256 = re.compile(r"[0-9a-f]{64}")


# --- Files -----------------------------------------------------------------------------------------


def file_digest(path: Path):
    """(size, SHA-256) of a file."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as source:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def safe_name(name):
    """A relative storage name from a manifest, refused if it could point outside its folder."""
    if (
        not isinstance(name, str)
        or not name
        or "\\" in name
        or PurePosixPath(name).is_absolute()
        or any(part in ("", ".", "..") for part in name.split("/"))
    ):
        raise CommandError(f"The manifest names a file with an unsafe path: {name!r}. Nothing was restored.")
    return name


# --- Names and the manifest's seal ---------------------------------------------------------------


def backup_name(created: datetime, attempt=1):
    """`clinic-backup-<UTC time to the microsecond>`: names sort in the order the backups were made."""
    return f"{PREFIX}{created:%Y%m%dT%H%M%S.%fZ}" + (f"-{attempt}" if attempt > 1 else "")


def seal_manifest(folder: Path, manifest):
    """Write manifest.json, then its SHA-256 in manifest.sha256 (as `sha256sum` writes it); returns the hash."""
    content = (json.dumps(manifest, indent=2) + "\n").encode()
    (folder / MANIFEST).write_bytes(content)
    sha256 = hashlib.sha256(content).hexdigest()
    (folder / MANIFEST_CHECKSUM).write_text(f"{sha256}  {MANIFEST}\n")
    return sha256


def claim_name(partial: Path, folder: Path, created: datetime):
    """Rename the finished `partial` folder to the first free backup name for `created`; returns the path.

    rename() of a folder onto a folder that holds files fails (ENOTEMPTY/EEXIST) instead of
    replacing it, so a backup another run finished under the same name is never overwritten."""
    for attempt in range(1, 1000):
        target = folder / backup_name(created, attempt)
        if target.exists() or target.is_symlink():
            continue
        try:
            partial.rename(target)
        except OSError:
            if target.exists():  # another run took the name between the check and the rename
                continue
            raise
        return target
    raise CommandError(f"No free backup name left in {folder} for {created:%Y-%m-%d %H:%M:%S}.")


def is_complete(path: Path):
    return (
        bool(BACKUP_NAME.fullmatch(path.name))
        and path.is_dir()
        and not path.is_symlink()
        and (path / MANIFEST).is_file()
        and (path / MANIFEST_CHECKSUM).is_file()
    )


def complete_backups(folder: Path):
    """The complete backups in `folder`, oldest first."""
    if not folder.is_dir():
        return []
    return sorted((path for path in folder.iterdir() if is_complete(path)), key=lambda path: _sort_key(path.name))


def _sort_key(name):
    stamp, _, attempt = name.removeprefix(PREFIX).partition("-")
    return stamp, int(attempt or 1)


def unfinished(folder: Path):
    """Hidden `.partial` folders: backups being written, or left by a killed run (never counted or deleted)."""
    if not folder.is_dir():
        return []
    return sorted(
        path for path in folder.iterdir() if path.name.startswith(f".{PREFIX}") and path.name.endswith(".partial")
    )


def prune(folder: Path, *, keep: int, made: Path):
    """Delete the oldest complete backups beyond the newest `keep` (`made`, the one just written,
    always stays); returns the deleted paths. Nothing else in the folder is touched."""
    backups = [path for path in complete_backups(folder) if path != made]
    excess = backups[: max(0, len(backups) - (keep - 1))]
    for path in excess:
        shutil.rmtree(path)
    return excess


# --- Verifying a backup before anything is restored ------------------------------------------------


def _refuse(folder, problems):
    shown = problems[:20] + ([f"… and {len(problems) - 20} more"] if len(problems) > 20 else [])
    raise CommandError(
        f"The backup at {folder} is damaged; nothing was restored.\n" + "\n".join(f"  - {p}" for p in shown)
    )


def read_manifest(folder: Path):
    """The manifest, once its bytes match manifest.sha256; else a CommandError."""
    if not (folder / MANIFEST).is_file():
        raise CommandError(f"{folder} is not a backup: there is no {MANIFEST} in it. Nothing was restored.")
    if not (folder / MANIFEST_CHECKSUM).is_file():
        raise CommandError(
            f"The backup at {folder} has no {MANIFEST_CHECKSUM}, the manifest's own checksum; nothing was restored. "
            f"A backup made before the clinic wrote one can be restored after checking its manifest by hand: "
            f"`sha256sum {MANIFEST} > {MANIFEST_CHECKSUM}` in its folder."
        )
    content = (folder / MANIFEST).read_bytes()
    match = re.fullmatch(rf"([0-9a-f]{{64}})[ *] ?{re.escape(MANIFEST)}\n?", (folder / MANIFEST_CHECKSUM).read_text())
    if not match:
        _refuse(folder, [f"{MANIFEST_CHECKSUM} is not a SHA-256 line for {MANIFEST}"])
    if hashlib.sha256(content).hexdigest() != match.group(1):
        _refuse(folder, [f"{MANIFEST} does not match its checksum in {MANIFEST_CHECKSUM}: it was edited or cut short"])
    try:
        manifest = json.loads(content)
        _check_shape(manifest)
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise CommandError(
            f"The manifest of {folder} is damaged or incomplete ({error}); nothing was restored."
        ) from None
    return manifest


def _is_pairs(value):
    return isinstance(value, list) and all(
        isinstance(pair, list) and len(pair) == 2 and all(isinstance(part, str) for part in pair) for pair in value
    )


def _check_entry(entry, what):
    if not (
        isinstance(entry.get("size"), int)
        and entry["size"] >= 0
        and isinstance(entry.get("sha256"), str)
        and _SHA256.fullmatch(entry["sha256"])
    ):
        raise ValueError(f"{what} has no valid size and SHA-256")


def _check_shape(manifest):
    """Every field restore relies on, of the right kind: a manifest that passes cannot fail later."""
    if manifest["format"] != FORMAT:
        raise ValueError(f"format {manifest['format']!r}; this clinic reads format {FORMAT}")
    if not isinstance(manifest["created"], str):
        raise TypeError("created is not a time")
    database = manifest["database"]
    if database["vendor"] not in DUMP_FILES or database["file"] != DUMP_FILES[database["vendor"]]:
        raise ValueError(f"unknown database {database['vendor']!r} or file {database['file']!r}")
    _check_entry(database, "the database file")
    tables = database["tables"]
    if not isinstance(tables, dict) or not all(
        isinstance(rows, int) and not isinstance(rows, bool) and rows >= 0 for rows in tables.values()
    ):
        raise TypeError("database.tables is not a row count per table")
    if not _is_pairs(database["triggers"]) or not _is_pairs(manifest["migrations"]):
        raise TypeError("database.triggers or migrations is not a list of pairs")
    files = manifest["media"]["files"]
    if not isinstance(files, list):
        raise TypeError("media.files is not a list")
    names = set()
    for entry in files:
        name = safe_name(entry["path"])
        _check_entry(entry, f"media file {name}")
        if name in names:
            raise ValueError(f"media file {name} is listed twice")
        names.add(name)


def verify_files(folder: Path, manifest):
    """Every file the manifest names has its size and SHA-256, and the media folder holds nothing else."""
    database = manifest["database"]
    expected = {entry["path"]: entry for entry in manifest["media"]["files"]}
    checks = [(folder / database["file"], database, f"the database file {database['file']}")]
    checks += [(folder / MEDIA / name, entry, f"media file {name}") for name, entry in expected.items()]
    problems = []
    for path, entry, what in checks:
        if not path.is_file() or path.is_symlink():
            problems.append(f"{what} is missing")
            continue
        size, sha256 = file_digest(path)
        if (size, sha256) != (entry["size"], entry["sha256"]):
            problems.append(f"{what} does not match its checksum ({size} bytes, SHA-256 {sha256[:12]}…)")
    media_root = folder / MEDIA
    if media_root.is_dir():
        for path in sorted(media_root.rglob("*")):
            if path.is_file() and path.relative_to(media_root).as_posix() not in expected:
                problems.append(f"media file {path.relative_to(media_root).as_posix()} is not in the manifest")
    if problems:
        _refuse(folder, problems)


def verify_backup(folder: Path):
    """The manifest of a backup whose every byte was checked against it (see the module's docstring);
    a CommandError naming each problem otherwise. Reads only: nothing is written anywhere."""
    manifest = read_manifest(folder)
    verify_files(folder, manifest)
    return manifest


def verify_dump(folder: Path, manifest):
    """The dump itself holds what the manifest lists: each table with its row count, each trigger,
    and (SQLite) the applied migrations. Run after verify_backup(), before anything is written."""
    database = manifest["database"]
    dump = folder / database["file"]
    problems = (
        _sqlite_dump_problems(dump, manifest) if database["vendor"] == "sqlite" else _pg_dump_problems(dump, database)
    )
    if problems:
        _refuse(
            folder,
            [f"the database file {database['file']} does not hold what the manifest lists: {p}" for p in problems],
        )


def _compare_tables(found, listed):
    problems = [
        f"table {table} has {found.get(table, 'no')} rows, the manifest lists {rows}"
        for table, rows in sorted(listed.items())
        if found.get(table) != rows
    ]
    problems += [f"table {table} is not in the manifest" for table in sorted(set(found) - set(listed))]
    return problems


def _sqlite_dump_problems(dump: Path, manifest):
    from clinic.management.commands.backup import database_facts

    try:
        # Read-only and immutable: checking the backup writes no journal next to it.
        with_copy = sqlite3.connect(f"{dump.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
        try:
            (check,) = with_copy.execute("PRAGMA quick_check").fetchone()
            if check != "ok":
                return [f"SQLite's check says {check}"]
            facts = database_facts(with_copy.cursor(), "sqlite")
        finally:
            with_copy.close()
    except sqlite3.Error as error:
        return [f"SQLite cannot read it ({error})"]
    problems = _compare_tables(facts["tables"], manifest["database"]["tables"])
    missing = {tuple(t) for t in manifest["database"]["triggers"]} - {tuple(t) for t in facts["triggers"]}
    problems += [f"trigger {name} on {table} is missing" for table, name in sorted(missing)]
    if facts["migrations"] != manifest["migrations"]:
        problems.append("its applied migrations differ from the manifest's")
    return problems


_COPY = re.compile(r'COPY (?:(?:"(?:[^"]|"")*"|[^."\s]+)\.)?("(?:[^"]|"")*"|[^."\s]+) .*FROM stdin;')


def _pg_dump_problems(dump: Path, database):
    """pg_restore reads the archive without a database: its list of contents names each table and
    trigger, and its data as COPY text has one line per row."""
    from clinic.management.commands.backup import client_tool

    pg_restore = client_tool("pg_restore")
    listing = subprocess.run([pg_restore, "--list", str(dump)], capture_output=True, text=True, check=False)  # noqa: S603
    if listing.returncode:
        return [f"pg_restore cannot read it ({listing.stderr.strip()})"]
    problems = [
        f"trigger {name} on {table} is missing"
        for table, name in database["triggers"]
        if not re.search(rf"^\d+; \d+ \d+ TRIGGER \S+ {re.escape(table)} {re.escape(name)} ", listing.stdout, re.M)
    ]
    rows, table = {}, None
    with subprocess.Popen(  # noqa: S603
        [pg_restore, "--data-only", "--file", "-", str(dump)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as data:
        for line in data.stdout:
            if table is not None:
                if line == b"\\.\n":
                    table = None
                else:
                    rows[table] += 1
            elif line.startswith(b"COPY "):
                match = _COPY.fullmatch(line.decode("utf-8", "replace").rstrip("\n"))
                if match:
                    name = match.group(1)
                    table = name[1:-1].replace('""', '"') if name.startswith('"') else name
                    rows[table] = 0
        error = data.stderr.read().decode("utf-8", "replace").strip()
    if data.returncode:
        return [f"pg_restore cannot read its data ({error})"]
    return problems + _compare_tables(rows, database["tables"])
