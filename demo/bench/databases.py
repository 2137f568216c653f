"""The benchmark's databases: where they are, making one empty, and copying the demo's into the big one.

SQLite files under the scratch directory; PostgreSQL databases whose names say "bench" on the server of
BENCH_PG_URL. The big database starts as a copy of the demo one (PostgreSQL: CREATE DATABASE ... TEMPLATE;
SQLite: the backup API), so the demo's rows have the same ids at both sizes.
"""

import os
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings

ENGINES = ("postgresql", "sqlite")
SIZES = ("demo", "big")
DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/"


def scratch_dir():
    return Path(os.environ.get("BENCH_DIR") or settings.BASE_DIR / "data" / "bench").resolve()


def database_url(engine, size):
    if engine == "sqlite":
        return f"sqlite:///{scratch_dir() / f'{size}.sqlite3'}"
    base = urlsplit(os.environ.get("BENCH_PG_URL") or DEFAULT_PG_URL)
    return urlunsplit(base._replace(path=f"/clinic_bench_{size}"))


def child_environment(engine, size):
    """The environment of a command run against one benchmark database."""
    folder = scratch_dir()
    return {
        **os.environ,
        "LOCAL_RUN": "1",
        "DATABASE_URL": database_url(engine, size),
        # Its own secret key (so its own audit key) and media files, apart from the developer's data/.
        "DATA_DIR": str(folder),
        "MEDIA_ROOT": str(folder / f"media-{engine}"),
    }


def _pg(url):
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if "bench" not in name:
        raise ValueError(f"Refusing to touch {name!r}: benchmark databases have 'bench' in their name.")
    server = urlunsplit(parts._replace(path="/postgres", scheme="postgresql"))
    return psycopg.connect(server, autocommit=True), name


def exists(url):
    if url.startswith("sqlite"):
        return Path(urlsplit(url).path).exists()
    connection, name = _pg(url)
    with connection:
        return connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def create_empty(url):
    """Drop the database if it is there and make it again, empty."""
    if url.startswith("sqlite"):
        path = Path(urlsplit(url).path)
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    connection, name = _pg(url)
    with connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def copy(source_url, target_url):
    """Make target a copy of source (dropping what target held)."""
    if target_url.startswith("sqlite"):
        create_empty(target_url)
        source = sqlite3.connect(urlsplit(source_url).path)
        target = sqlite3.connect(urlsplit(target_url).path)
        with target:
            source.backup(target)
        source.close()
        target.close()
        return
    connection, name = _pg(target_url)
    _, source_name = _pg(source_url)
    with connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source_name}"')
