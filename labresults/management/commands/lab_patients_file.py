"""manage.py lab_patients_file PATH: write the CPR numbers the laboratory simulator may use."""

from pathlib import Path

from django.core.management.base import BaseCommand

from patients.models import CareCourse


class Command(BaseCommand):
    help = "Write CPR numbers of patients with open courses, one per line (for labsim)."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--limit", type=int, default=300)

    def handle(self, *args, path, limit, **options):
        cprs = list(
            CareCourse.objects.open()
            .order_by("patient__cpr")
            .values_list("patient__cpr", flat=True)
            .distinct()[:limit]
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{cpr}\n" for cpr in cprs))
        self.stdout.write(f"{len(cprs)} CPR numbers written to {path}")
