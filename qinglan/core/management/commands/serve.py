"""Production web server: uvicorn running the ASGI application."""

import uvicorn
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the production ASGI server (uvicorn)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=1)

    def handle(self, *args, **options):
        uvicorn.run(
            "qinglan.asgi:application",
            host=options["host"],
            port=options["port"],
            workers=options["workers"],
            proxy_headers=True,
            log_level="info",
        )
