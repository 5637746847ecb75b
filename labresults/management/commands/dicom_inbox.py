"""Watch a folder for DICOM files (a modality's or PACS export's drop folder) and take them in.

Each file is stored as received, then removed from the folder; a worker reads it. Files that
are still being written (changed in the last two seconds) are left for the next round.
"""

import time
from pathlib import Path

from django.core.files import File
from django.core.management.base import BaseCommand

from labresults.models import DicomObject
from labresults.services import dicom_object_receive


class Command(BaseCommand):
    help = "Take in DICOM files dropped in a folder."

    def add_arguments(self, parser):
        parser.add_argument("--folder", default=".data/run/dicom-inbox")
        parser.add_argument("--once", action="store_true", help="one round, then stop")
        parser.add_argument("--interval", type=float, default=2.0)

    def handle(self, *args, folder, once, interval, **options):
        inbox = Path(folder)
        inbox.mkdir(parents=True, exist_ok=True)
        self.stdout.write(f"dicom_inbox: watching {inbox.resolve()}")
        while True:
            taken = self.round(inbox, settle=0 if once else 2.0)
            if taken:
                self.stdout.write(f"dicom_inbox: took {taken} file(s)")
            if once:
                return
            time.sleep(interval)

    def round(self, inbox: Path, *, settle: float) -> int:
        taken = 0
        now = time.time()
        for path in sorted(p for p in inbox.iterdir() if p.is_file()):
            if path.name.startswith(".") or now - path.stat().st_mtime < settle:
                continue
            with path.open("rb") as handle:
                dicom_object_receive(
                    content=File(handle), name=path.name, source=DicomObject.Source.FOLDER
                )
            path.unlink()
            taken += 1
        return taken
