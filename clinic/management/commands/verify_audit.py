from django.core.management.base import BaseCommand, CommandError

from clinic.audit import verify


class Command(BaseCommand):
    help = (
        "Seal the entries waiting to be chained, then check the audit trail: reports every entry edited, "
        "inserted or removed in the database, and any entry left unsealed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--database", default="default")

    def handle(self, *args, database, **options):
        count, head, breaks = verify(using=database)
        if breaks:
            for problem in breaks[:100]:
                self.stderr.write(f"entry {problem.where}: {problem.problem}")
            if len(breaks) > 100:
                self.stderr.write(f"... and {len(breaks) - 100} more")
            raise CommandError(f"The audit trail has been tampered with: {len(breaks)} problem(s) in {count} entries.")
        if head is None:
            self.stdout.write("The audit trail is empty.")
            return
        # The head, to be noted somewhere else: a cut-off of the newest entries leaves no gap to find.
        self.stdout.write(f"The audit trail is intact: {count} entries; the newest is #{head.seq}, hash {head.hash}.")
