"""Nightly backups as the guides set them up: `manage.py backup FOLDER` adds a new timestamped backup
to FOLDER every run, never over another one, `--keep N` removes only this tool's oldest complete
backups, and every run ends in one line and an exit status a monitor can read. The backup commands
written in docs/deployment.md and docs/operations.md are run as written."""

import io
import re
import shlex
import sqlite3
import sys
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError

from clinic.backups import complete_backups

from .test_backup import BASE_DIR, run_manage

NAME = re.compile(r"clinic-backup-\d{8}T\d{6}\.\d{6}Z(-\d+)?")
OK_LINE = re.compile(
    r"backup ok path=(?P<path>\S+) size=(?P<size>\d+) rows=(?P<rows>\d+) files=(?P<files>\d+) "
    r"removed=(?P<removed>\d+) seconds=(?P<seconds>\d+\.\d\d) manifest_sha256=(?P<sha256>[0-9a-f]{64})"
)


def backup(*args):
    """`backup ARGS` in this process; returns the fields of its last line, `backup ok ...`."""
    out = io.StringIO()
    call_command("backup", *args, stdout=out)
    last = out.getvalue().splitlines()[-1]
    match = OK_LINE.fullmatch(last)
    assert match, last
    return match.groupdict()


def sealed(path):
    """The bytes of a backup's manifest and its checksum: a backup overwritten would change them."""
    return (Path(path) / "manifest.json").read_bytes(), (Path(path) / "manifest.sha256").read_text()


# --- one folder, a new backup every night -----------------------------------------------------------


def test_backup_folder_run_twice_from_the_command_line_makes_two_backups_and_says_so(tmp_path):
    """The guides' form, through manage.py as cron runs it; it used to exit 2 ("unrecognized arguments")."""
    folder = tmp_path / "backups"
    with closing(sqlite3.connect(tmp_path / "clinic.sqlite3")) as db, db:  # a small database, no migrate
        db.execute("CREATE TABLE patients_patient (id INTEGER PRIMARY KEY, last_name TEXT)")
        db.executemany("INSERT INTO patients_patient (last_name) VALUES (?)", [("Novák",), ("Okafor",)])
    database = f"sqlite:///{tmp_path / 'clinic.sqlite3'}"

    nights = [run_manage("backup", str(folder), database_url=database, media_root=tmp_path / "m") for _ in range(2)]

    paths = []
    for night in nights:
        assert night.returncode == 0, night.stderr
        match = OK_LINE.fullmatch(night.stdout.splitlines()[-1])
        assert match, night.stdout
        paths.append(Path(match["path"]))
        assert int(match["rows"]) == 2 and int(match["size"]) > 0
    assert paths[0] != paths[1] and {path.parent for path in paths} == {folder}
    assert sorted(path.name for path in folder.iterdir()) == [path.name for path in paths]  # sorted = made
    assert all(NAME.fullmatch(path.name) for path in paths)


@pytest.mark.django_db
def test_output_is_the_same_folder_and_works_every_night(tmp_path):
    first = backup("--output", str(tmp_path / "backups"))
    second = backup("--output", str(tmp_path / "backups"))

    assert Path(first["path"]).parent == Path(second["path"]).parent == tmp_path / "backups"
    assert first["path"] != second["path"]


@pytest.mark.django_db
def test_two_backups_in_the_same_instant_do_not_overwrite_each_other(tmp_path):
    with time_machine.travel(datetime(2026, 12, 5, 2, 15, tzinfo=UTC), tick=False):
        first = backup(str(tmp_path))
        before = sealed(first["path"])
        second = backup(str(tmp_path))

    assert Path(first["path"]).name == "clinic-backup-20261205T021500.000000Z"
    assert Path(second["path"]).name == "clinic-backup-20261205T021500.000000Z-2"
    assert sealed(first["path"]) == before
    assert complete_backups(tmp_path) == [Path(first["path"]), Path(second["path"])]


@pytest.mark.django_db
def test_the_name_is_the_utc_time_whatever_the_clinic_time_zone(tmp_path, settings):
    settings.TIME_ZONE = "Pacific/Auckland"
    with time_machine.travel(datetime(2026, 12, 31, 23, 59, 59, 250000, tzinfo=UTC), tick=False):
        made = backup(str(tmp_path))

    assert Path(made["path"]).name == "clinic-backup-20261231T235959.250000Z"


# --- keep N ----------------------------------------------------------------------------------------


def _night(n):
    return datetime(2026, 12, 1, 2, 15, tzinfo=UTC) + timedelta(days=n)


@pytest.mark.django_db
def test_keep_removes_only_the_oldest_complete_backups_and_nothing_else(tmp_path):
    made = []
    for n in range(4):
        with time_machine.travel(_night(n), tick=False):
            made.append(Path(backup(str(tmp_path))["path"]))
    # What else may lie in the folder, none of it a complete backup of this tool.
    (tmp_path / "README.txt").write_text("off-site copies: see the runbook")
    (tmp_path / "clinic-backup-old-format").mkdir()
    (tmp_path / "clinic-backup-old-format" / "manifest.json").write_text("{}")
    unfinished = tmp_path / ".clinic-backup-20261130T021500Z.x1y2.partial"  # a killed run's leftovers
    unfinished.mkdir()
    (unfinished / "database.sqlite3").write_bytes(b"half")
    no_seal = tmp_path / "clinic-backup-20261101T021500.000000Z"  # a backup's name, but no manifest.sha256
    no_seal.mkdir()
    (no_seal / "manifest.json").write_text("{}")
    others = {path.name for path in tmp_path.iterdir()} - {path.name for path in made}

    out = io.StringIO()
    with time_machine.travel(_night(4), tick=False):
        call_command("backup", str(tmp_path), "--keep", "2", stdout=out)

    newest = tmp_path / "clinic-backup-20261205T021500.000000Z"
    assert {path.name for path in tmp_path.iterdir()} == others | {made[3].name, newest.name}
    assert complete_backups(tmp_path) == [made[3], newest]
    assert "removed=3 " in out.getvalue().splitlines()[-1]
    assert f"{unfinished} is an unfinished backup" in out.getvalue()


@pytest.mark.django_db
def test_keep_never_removes_the_backup_just_made_even_with_the_clock_set_back(tmp_path):
    with time_machine.travel(_night(10), tick=False):
        later = Path(backup(str(tmp_path))["path"])
    with time_machine.travel(_night(0), tick=False):  # the machine's clock went back
        made = Path(backup(str(tmp_path), "--keep", "1")["path"])

    assert complete_backups(tmp_path) == [made]
    assert not later.exists()


@pytest.mark.parametrize("keep", ["0", "-3"])
@pytest.mark.django_db
def test_keep_below_one_is_refused_and_writes_nothing(tmp_path, keep):
    with pytest.raises(CommandError, match="backup failed: --keep must be 1 or more"):
        call_command("backup", str(tmp_path / "backups"), "--keep", keep)

    assert not (tmp_path / "backups").exists()


# --- failures a monitor sees -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_backup_folder_given_as_the_folder_is_refused(tmp_path):
    made = Path(backup(str(tmp_path))["path"])

    with pytest.raises(CommandError, match="is a backup itself; give the folder that holds the backups"):
        call_command("backup", str(made))


def test_a_failure_is_one_line_on_stderr_and_exit_status_1(tmp_path):
    (tmp_path / "backups").write_text("not a folder")
    database = f"sqlite:///{tmp_path / 'clinic.sqlite3'}"

    result = run_manage("backup", str(tmp_path / "backups"), database_url=database, media_root=tmp_path / "m")

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"backup failed: {tmp_path / 'backups'} is not a folder; give the folder that holds the backups."
    ]
    assert result.stdout == ""


@pytest.mark.django_db
def test_an_unexpected_error_still_ends_in_the_failure_line(tmp_path, monkeypatch):
    from clinic.management.commands import backup as backup_command

    def broken(*args, **kwargs):
        raise KeyError("bug")

    monkeypatch.setattr(backup_command, "back_up_media", broken)

    with pytest.raises(CommandError, match=r"^backup failed: KeyError: 'bug'$"):
        call_command("backup", str(tmp_path))
    assert list(tmp_path.iterdir()) == []  # the half-written backup went with it


# --- the guides' commands, as written -----------------------------------------------------------------


DOCS = ("docs/deployment.md", "docs/operations.md")
# A shell word that ends the command: a redirection, a pipe, `&&`, `;`, a comment.
_END = re.compile(r"^(>>?|2>|\||&&|;|#|\)).*")


def documented_backup_commands():
    """Each `manage.py backup ...` the guides tell an operator to run, as argument lists."""
    commands = []
    for doc in DOCS:
        text = (BASE_DIR / doc).read_text()
        for match in re.finditer(r"manage\.py (backup(?:[ \t]+[^`\n]*)?)", text):
            words = []
            for word in shlex.split(match.group(1).split("`")[0]):
                if _END.match(word):
                    break
                words.append(word)
            commands.append((doc, words))
    return commands


def test_the_guides_name_the_nightly_backup_in_every_place():
    commands = documented_backup_commands()
    in_deployment = [words for doc, words in commands if doc == "docs/deployment.md"]
    in_operations = [words for doc, words in commands if doc == "docs/operations.md"]
    assert len(in_deployment) >= 4 and len(in_operations) >= 3, commands
    assert any("--keep" in words for words in in_deployment) and any("--keep" in words for words in in_operations)


@pytest.mark.django_db(transaction=True)
def test_every_backup_command_in_the_guides_runs_twice_as_written(tmp_path, settings, monkeypatch):
    """Run through Django's command line (argument parsing and exit status as cron gets them), each
    twice as two nights would; absolute folders of the guides are mapped into a scratch folder."""
    settings.DATA_DIR = tmp_path / "data"
    distinct = {tuple(words) for _doc, words in documented_backup_commands()}
    assert distinct
    for words in sorted(distinct):
        arguments = [str(tmp_path / "root" / word.lstrip("/")) if word.startswith("/") else word for word in words]
        for _night in range(2):
            out = io.StringIO()
            monkeypatch.setattr(sys, "stdout", out)
            try:
                execute_from_command_line(["manage.py", *arguments])
            except SystemExit as exit:  # argparse's exit 2, or a failure's exit 1
                pytest.fail(f"`manage.py {shlex.join(words)}` exited with status {exit.code}: {out.getvalue()}")
            assert OK_LINE.fullmatch(out.getvalue().splitlines()[-1]), (words, out.getvalue())
        folders = [Path(word) for word in arguments[1:] if not word.startswith("-") and not word.isdigit()]
        folder = folders[0] if folders else settings.DATA_DIR / "backups"
        assert len(complete_backups(folder)) >= 1


def test_the_restore_commands_in_the_guides_name_a_backup_as_backup_names_it():
    """A restore example pointing at `data/backups/20250301T021500Z` would send operators looking
    for a folder that is never made."""
    for doc in DOCS:
        for match in re.finditer(r"manage\.py restore ([^`\n]*)", (BASE_DIR / doc).read_text()):
            words = [word for word in shlex.split(match.group(1)) if not word.startswith("-") and word != "[--force]"]
            assert words, match.group(0)
            assert words[0] in ("BACKUP", "DIR") or "clinic-backup-" in words[0], (doc, match.group(0))
