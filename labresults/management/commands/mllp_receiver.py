"""manage.py mllp_receiver: take HL7 v2 results from laboratories over MLLP."""

import asyncio
import contextlib
import os

from django.core.management.base import BaseCommand

from labresults.receiver import serve


class Command(BaseCommand):
    help = "Listen for HL7 v2 messages over MLLP; store each, then acknowledge it."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("SUNDHED_MLLP_HOST", "127.0.0.1"))
        parser.add_argument(
            "--port", type=int, default=int(os.environ.get("SUNDHED_MLLP_PORT", "25750"))
        )

    def handle(self, *args, host, port, **options):
        self.stdout.write(f"MLLP receiver on {host}:{port}")
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(host, port))
