"""manage.py load_analyses [FILE]: add the analyses and panels that are missing."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from labresults.catalogue import DATA_FILE, analyses_load
from labresults.interpret import catalogue_forget
from labresults.models import Analysis, Panel, ReferenceInterval


class Command(BaseCommand):
    help = (
        "Add analyses and panels from the bundled catalogue (or a file of the same shape) that "
        "are missing; those that exist, and what administrators changed, are left as they are."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", default=str(DATA_FILE))

    def handle(self, *args, file, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        try:
            with transaction.atomic():
                made = analyses_load(Analysis, ReferenceInterval, Panel, path=path)
        except (ValueError, KeyError, TypeError) as error:
            raise CommandError(f"{path} is not a catalogue file: {error}") from None
        catalogue_forget()
        self.stdout.write(f"{made} analyses added from {path}.")
