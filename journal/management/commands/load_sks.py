"""Load or update the SKS diagnosis catalogue from a tab-separated file (code, text)."""

from pathlib import Path

from django.core.management.base import BaseCommand

from journal.catalogue import SKS_FILE, sks_load
from journal.models import SksCode


class Command(BaseCommand):
    help = "Load SKS diagnosis codes (tab-separated: code, text, with a header row)."

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", default=str(SKS_FILE))

    def handle(self, *args, path, **options):
        created, updated = sks_load(SksCode, Path(path))
        self.stdout.write(f"SKS: {created} codes added, {updated} texts updated.")
