"""Background worker: the Huey consumer (periodic tasks, webhooks, imports)."""

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the background job worker (Huey consumer)."

    def add_arguments(self, parser):
        parser.add_argument("--workers", type=int, default=None)

    def handle(self, *args, **options):
        arguments = ["run_huey"]
        if options["workers"]:
            arguments += ["--workers", str(options["workers"])]
        call_command(*arguments)
