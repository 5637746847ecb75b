"""manage.py portal_citizens_file PATH: the citizens the MitID simulator offers in `make run`."""

from pathlib import Path

from django.core.management.base import BaseCommand

from patients.models import Patient


class Command(BaseCommand):
    help = "Write 'CPR;name' of the demo's citizens with a portal account, then other patients."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--limit", type=int, default=12)

    def handle(self, *args, path, limit, **options):
        first = list(Patient.objects.filter(user__staff__isnull=True, user__isnull=False)[:limit])
        others = Patient.objects.filter(user__isnull=True, care_courses__isnull=False).distinct()
        chosen = first + list(others.order_by("cpr")[: max(0, limit - len(first))])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{p.cpr};{p.given_names} {p.family_name}\n" for p in chosen))
        self.stdout.write(f"{len(chosen)} citizens written to {path}")
