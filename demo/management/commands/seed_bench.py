"""Seed a benchmark size into the database of DATABASE_URL, once.

  manage.py seed_bench --size demo       migrate and the demo (seed_demo)
  manage.py seed_bench --size big        the big set on top of the demo already there

A database that already holds the size is left alone (a marker row says so); `--fresh` starts it again.
`manage.py bench` runs this for each benchmark database with `--copy-of`, so the big database begins as
a copy of the demo one.
"""

import os
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from demo.bench import databases
from demo.bench.seed import SIZES, BenchSeedError, mark_seeded, seed_bench, seeded


class Command(BaseCommand):
    help = "Seed the benchmark's demo or big data set into this database, once (see demo/bench/seed.py)."

    def add_arguments(self, parser):
        parser.add_argument("--size", choices=["demo", *SIZES], default="big")
        parser.add_argument(
            "--copy-of",
            metavar="URL",
            help="Begin from a copy of this (demo) database when this one does not hold the size yet.",
        )
        parser.add_argument("--fresh", action="store_true", help="Start again even if the size is there.")
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args, size, copy_of, fresh, seed, **options):
        if settings.HTTPS:
            raise CommandError("Refusing to seed benchmark data with production settings (HTTPS=on).")
        url = os.environ.get("DATABASE_URL", "")
        managed = copy_of is not None or "bench" in url  # a benchmark database: ours to drop and remake
        if not fresh and (not managed or databases.exists(url)) and size in seeded():
            on, seconds = seeded()[size]
            # The schema of the code being measured: the indexes a change adds are part of what it is.
            call_command("migrate", interactive=False, verbosity=0)
            self.stdout.write(f"The {size} set is here already (seeded {on} in {seconds:.0f} s), migrated.")
            return
        started = time.monotonic()
        if managed:
            connection.close()
            if copy_of:
                self.stdout.write(f"Copying {copy_of} ...")
                databases.copy(copy_of, url)
            elif fresh or not databases.exists(url) or seeded():
                databases.create_empty(url)
        if size == "demo":
            call_command("migrate", interactive=False, verbosity=0)
            call_command("seed_demo", stdout=self.stdout)
            mark_seeded("demo", time.monotonic() - started)
            self.stdout.write(self.style.SUCCESS(f"Demo set seeded in {time.monotonic() - started:.0f} s."))
            return
        call_command("migrate", interactive=False, verbosity=0)  # a copy made before new migrations
        try:
            counts = seed_bench(size, seed=seed, progress=self.stdout.write)
        except BenchSeedError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS(f"The {size} set seeded in {time.monotonic() - started:.0f} s: {counts}"))
