"""Load or update the drug catalogue (and the interaction table) from tab-separated files."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from medicinkort.catalogue import (
    DRUGS_FILE,
    CatalogueError,
    drugs_load,
    interactions_load,
)


class Command(BaseCommand):
    help = (
        "Load drugs (tab-separated: name, substance, atc, form_code, form_text, strength, "
        "route_code, route_text, unit_singular, unit_plural; a header row) and, with "
        "--interactions FILE, interaction pairs (atc_a, substance_a, atc_b, substance_b, "
        "severity, mechanism, advice)."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", default=str(DRUGS_FILE))
        parser.add_argument("--interactions", help="an interaction file to load too")

    def handle(self, *args, path, interactions, **options):
        try:
            added, updated = drugs_load(Path(path))
            self.stdout.write(f"Drugs: {added} added, {updated} updated.")
            if interactions:
                added, updated = interactions_load(Path(interactions))
                self.stdout.write(f"Interactions: {added} added, {updated} updated.")
        except (OSError, CatalogueError) as error:
            raise CommandError(str(error)) from error
