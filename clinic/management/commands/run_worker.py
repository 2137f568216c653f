from django.conf import settings
from django.core.management.base import BaseCommand

from clinic import worker


class Command(BaseCommand):
    help = (
        "Run the background worker: the queued tasks (django-tasks' database backend), the periodic tasks of "
        "settings.PERIODIC_TASKS and the worker's heartbeat. SIGTERM or Ctrl-C stops it after the task under way."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--interval",
            type=float,
            default=settings.WORKER_POLL_SECONDS,
            help="Seconds an idle worker waits before looking for a task again (default: WORKER_POLL_SECONDS).",
        )

    def handle(self, *args, interval, **options):
        worker.wait_for_migrations(log=self.stdout.write)
        self.stdout.write(f"Background worker started (pid {worker.os.getpid()}); SIGTERM or Ctrl-C stops it.")
        worker.run(interval=max(interval, 0.05), beat_every=settings.WORKER_BEAT_SECONDS)
