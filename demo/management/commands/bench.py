"""The scale benchmark: `manage.py bench` (or `make bench`).

For each database (PostgreSQL, then SQLite; BENCH_DB or --db for one): seed the demo set and the big set
once (`seed_bench`, each in its own database), time every page at both sizes paired with the framework
floor (demo/bench/pages.py), and on PostgreSQL run the booking storm against the big set. Prints a
Markdown table and writes the numbers as JSON under the scratch directory (BENCH_DIR, default data/bench/).

Each step runs as its own `manage.py` process with DATABASE_URL set to the database it works on; the
page timing process opens the big database beside the demo one.
"""

import inspect
import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from demo.bench import databases, report


def _commit():
    def git(*args):
        command = ["git", *args]  # noqa: S607 (git from PATH, as a developer runs it)
        return subprocess.run(command, cwd=settings.BASE_DIR, capture_output=True, text=True).stdout.strip()  # noqa: S603

    return git("rev-parse", "--short", "HEAD") or "unknown", bool(git("status", "--porcelain", "--untracked-files=no"))


def _machine():
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{os.cpu_count()} cores ({cpu}){memory}, Python {platform.python_version()}, {platform.system()}"


class Command(BaseCommand):
    help = "Seed the benchmark sets once, time every page at demo and big size against the floor, run the storm."

    def add_arguments(self, parser):
        parser.add_argument("--db", choices=["both", *databases.ENGINES], default=os.environ.get("BENCH_DB", "both"))
        parser.add_argument("--repeat", type=int, default=int(os.environ.get("BENCH_REPEAT", 15)))
        parser.add_argument("--warmup", type=int, default=3)
        parser.add_argument("--only", nargs="*", help="Only the pages whose names hold one of these words.")
        parser.add_argument("--no-storm", action="store_true")
        parser.add_argument("--storm-clients", type=int, default=50)
        parser.add_argument(
            "--storm-processes",
            type=int,
            default=os.cpu_count() or 1,
            help="Processes the storm's client threads are shared out over (one process of threads is GIL-bound).",
        )
        parser.add_argument("--fresh", action="store_true", help="Seed both sizes again.")
        parser.add_argument("--no-seed", action="store_true", help="Time the databases as they are.")
        # The steps, run by the main command in processes of their own.
        parser.add_argument("--pages-against", metavar="BIG_URL", help=argparse_hidden())
        parser.add_argument("--storm-only", action="store_true", help=argparse_hidden())
        parser.add_argument("--out", help=argparse_hidden())

    def handle(self, *args, **options):
        if options["pages_against"]:
            return self.time_pages(options)
        if options["storm_only"]:
            return self.storm(options)
        return self.run_all(options)

    # --- the main command -----------------------------------------------------------------------
    def _child(self, engine, size, *arguments):
        command = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), *arguments]
        environment = databases.child_environment(engine, size)
        result = subprocess.run(command, env=environment, cwd=settings.BASE_DIR)  # noqa: S603 (our own manage.py)
        if result.returncode:
            raise CommandError(f"{' '.join(arguments)} failed on {engine} ({size}).")

    def run_all(self, options):
        engines = databases.ENGINES if options["db"] == "both" else (options["db"],)
        folder = databases.scratch_dir()
        folder.mkdir(parents=True, exist_ok=True)
        commit, dirty = _commit()
        results = {
            "commit": commit,
            "dirty": dirty,
            "when": datetime.now().astimezone().isoformat(timespec="minutes"),
            "machine": _machine(),
            "repeat": options["repeat"],
            "warmup": options["warmup"],
            "engines": {},
        }
        for engine in engines:
            started = time.monotonic()
            if not options["no_seed"]:
                fresh = ["--fresh"] if options["fresh"] else []
                self._child(engine, "demo", "seed_bench", "--size", "demo", *fresh)
                demo_url = databases.database_url(engine, "demo")
                if options["fresh"]:
                    self._child(engine, "big", "seed_bench", "--size", "big", "--copy-of", demo_url, "--fresh")
                else:
                    self._child(engine, "big", "seed_bench", "--size", "big", "--copy-of", demo_url)
            self.stdout.write(f"{engine}: ready in {time.monotonic() - started:.0f} s; timing the pages ...")
            out = folder / f"pages-{engine}.json"
            only = ["--only", *options["only"]] if options["only"] else []
            self._child(
                engine,
                "demo",
                "bench",
                "--pages-against",
                databases.database_url(engine, "big"),
                "--repeat",
                str(options["repeat"]),
                "--warmup",
                str(options["warmup"]),
                "--out",
                str(out),
                *only,
            )
            results["engines"][engine] = json.loads(out.read_text())
            if engine == "postgresql" and not options["no_storm"]:
                out = folder / "storm.json"
                out.unlink(missing_ok=True)
                self._child(
                    engine,
                    "big",
                    "bench",
                    "--storm-only",
                    "--storm-clients",
                    str(options["storm_clients"]),
                    "--out",
                    str(out),
                )
                results["engines"][engine]["storm"] = json.loads(out.read_text()) if out.exists() else None
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        text = json.dumps(results, indent=1, default=str)
        (folder / f"results-{stamp}.json").write_text(text)
        (folder / "results-latest.json").write_text(text)
        table = report.markdown(results)
        (folder / "results-latest.md").write_text(table)
        self.stdout.write("\n" + table)
        self.stdout.write(f"JSON: {folder / f'results-{stamp}.json'}")

    # --- the steps ------------------------------------------------------------------------------
    def time_pages(self, options):
        from django.db import connection

        from clinic.models import AuditEntry
        from demo.bench.pages import run_pages
        from demo.bench.seed import seeded
        from patients.models import Patient
        from scheduling.models import Appointment
        from staff.models import Doctor

        rows = run_pages(
            options["pages_against"],
            repeat=options["repeat"],
            warmup=options["warmup"],
            only=options["only"],
            progress=self.stdout.write,
        )
        sizes = {}
        from demo.bench.pages import TwoDatabases

        dbs = TwoDatabases(options["pages_against"])
        for size in ("demo", "big"):
            dbs.use(size)
            sizes[size] = {
                "patients": Patient.objects.count(),
                "appointments": Appointment.objects.count(),
                "audit entries": AuditEntry.objects.count(),
                "doctors": Doctor.objects.count(),
                "seeded": seeded(),
            }
        dbs.use("demo")
        data = {"vendor": connection.vendor, "sizes": sizes, "pages": rows}
        Path(options["out"]).write_text(json.dumps(data, indent=1, default=str))

    def storm(self, options):
        try:
            from demo.bench.storm import run_storm
        except ImportError as error:
            result = {"error": f"demo/bench/storm.py is not there yet ({error})"}
        else:
            extra = {}
            if "processes" in inspect.signature(run_storm).parameters:
                extra["processes"] = options["storm_processes"]
            # As fast as answered (what the server can do), then the load: 100 bookings a second
            # offered by the same clients, timed from when each booking was due.
            result = [
                run_storm(clients=options["storm_clients"], using="default", rate=rate, **extra)
                for rate in (None, STORM_RATE)
            ]
        self.stdout.write(f"Booking storm: {result}")
        Path(options["out"]).write_text(json.dumps(result, indent=1, default=str))


STORM_RATE = 110  # bookings a second offered in the second storm: above issue #15's goal of 100


def argparse_hidden():
    import argparse

    return argparse.SUPPRESS
