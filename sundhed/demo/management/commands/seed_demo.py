"""manage.py seed_demo: build the demo data once (a second run keeps everything)."""

from django.core.management.base import BaseCommand

from sundhed.demo.seed import seed_demo


class Command(BaseCommand):
    help = "Build the demo data, unless it is there already."

    def handle(self, *args, **options):
        built = seed_demo()
        self.stdout.write("Demo data built." if built else "Demo data already present; kept.")
