import socket

from django.core.management.base import BaseCommand
from django.utils import timezone

from clinic import worker


class Command(BaseCommand):
    help = (
        "Say whether a background worker is alive (seen within WORKER_ALIVE_SECONDS) and how many tasks wait. "
        "Exit status 0 when one is alive, 1 otherwise: a health check for the worker's container."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--local",
            action="store_true",
            help="Only a worker on this machine counts (a container's own health check: another one alive elsewhere "
            "does not make this one healthy).",
        )

    def handle(self, *args, local, **options):
        state = worker.status()
        alive = [w for w in state.workers if w.alive and (not local or w.host == socket.gethostname()[:255])]
        for w in alive:
            self.stdout.write(f"alive: {w.worker_id} on {w.host} (pid {w.pid}), seen {w.seen_ago_seconds:.0f} s ago")
        oldest = f", the oldest for {state.oldest_waiting_seconds:.0f} s" if state.waiting else ""
        self.stdout.write(f"tasks waiting: {state.waiting}{oldest}; running: {len(state.running)}")
        if not alive:
            where = " on this machine" if local else ""
            self.stderr.write(f"No background worker alive{where} (none seen at {timezone.now():%H:%M:%S %Z}).")
            raise SystemExit(1)
