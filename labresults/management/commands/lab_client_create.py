"""manage.py lab_client_create NAME: register a laboratory system and print its token once."""

from django.core.management.base import BaseCommand

from labresults.services import system_client_create


class Command(BaseCommand):
    help = "Register a laboratory system that posts results over HTTP; prints its token once."

    def add_arguments(self, parser):
        parser.add_argument("name")

    def handle(self, *args, name, **options):
        client, token = system_client_create(name=name)
        self.stdout.write(f"{client.name}: {token}")
