from django.core.management.base import BaseCommand

from staff.demo import DEFAULT_PASSWORD, DEMO_USERS
from staff.models import User


class Command(BaseCommand):
    help = "Print the demo accounts that exist in this database."

    def handle(self, *args, **options):
        present = set(
            User.objects.filter(username__in=[u.username for u in DEMO_USERS]).values_list("username", flat=True)
        )
        if not present:
            self.stdout.write("No demo accounts in this database (run `python manage.py seed_demo`).")
            return
        self.stdout.write("")
        self.stdout.write(f"Demo sign-ins (password: the one given to seed_demo, by default {DEFAULT_PASSWORD!r}):")
        for user in DEMO_USERS:
            if user.username in present:
                self.stdout.write(f"  {user.username:<10} {user.role}")
