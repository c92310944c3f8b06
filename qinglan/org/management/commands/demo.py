"""qinglan demo: migrate, load the demo data once, print the URL and logins, then run the
web server and a background worker until stopped."""

import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from qinglan.org.demo import DEMO_LOGINS, DEMO_PASSWORD, load_demo


class Command(BaseCommand):
    help = "Set up the demo database and run the app with a background worker."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-serve", action="store_true", help="Only prepare the database and demo data.")

    def handle(self, *args, **options):
        call_command("build_locale", verbosity=0)
        call_command("migrate", interactive=False, verbosity=0)
        if load_demo():
            self.stdout.write("Demo data loaded.")
        url = f"http://{options['host']}:{options['port']}"
        self.stdout.write("")
        self.stdout.write(f"Qinglan is running at {url}/")
        self.stdout.write("Demo logins (username / password):")
        for username, description in DEMO_LOGINS:
            self.stdout.write(f"  {username:<8} / {DEMO_PASSWORD}   {description}")
        self.stdout.write(f"Database: {settings.DATABASES['default']['NAME']}")
        sys.stdout.flush()
        if options["no_serve"]:
            return
        worker = subprocess.Popen([sys.executable, "-m", "qinglan.cli", "worker"])
        try:
            call_command("serve", host=options["host"], port=options["port"])
        finally:
            worker.terminate()
            worker.wait(timeout=10)
