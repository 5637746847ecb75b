"""manage.py demo_logins: print the address and the demo logins."""

from django.core.management.base import BaseCommand

from sundhed.demo.seed import DEMO_PASSWORD, demo_logins


class Command(BaseCommand):
    help = "Print where Sundhed answers and how to sign in to the demo."

    def add_arguments(self, parser):
        parser.add_argument("--address", default="http://127.0.0.1:8000/")

    def handle(self, *args, address, **options):
        lines = [
            "",
            f"  Sundhed is starting at {address}",
            "",
            f"  Demo logins (password for all: {DEMO_PASSWORD}):",
        ]
        for login in demo_logins():
            where = f", {login.where}" if login.where else ""
            lines.append(f"    {login.username:<16} {login.role}{where}")
        lines += [
            "",
            f"  Min Sundhedsplatform (citizens): {address}portal/",
            "    sign in through the MitID simulator: choose a test citizen, level Betydelig",
            "",
            "  Press Ctrl-C to stop everything.",
            "",
        ]
        self.stdout.write("\n".join(lines))
