"""qinglan token create USER [--name NAME] [--read-only] | list USER | revoke ID"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from qinglan.core.models import APIToken


class Command(BaseCommand):
    help = "Create, list or revoke API tokens."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a token and print its key (shown once).")
        create.add_argument("username")
        create.add_argument("--name", default="command line")
        create.add_argument("--read-only", action="store_true")
        listing = sub.add_parser("list", help="List a member's tokens.")
        listing.add_argument("username")
        revoke = sub.add_parser("revoke", help="Revoke a token by id.")
        revoke.add_argument("id", type=int)

    def _user(self, username):
        try:
            return get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist as exc:
            raise CommandError(f"No member named {username!r}.") from exc

    def handle(self, *args, **options):
        action = options["action"]
        if action == "create":
            _token, key = APIToken.issue(
                user=self._user(options["username"]), name=options["name"], write_enabled=not options["read_only"]
            )
            self.stdout.write(key)
        elif action == "list":
            for token in APIToken.objects.filter(user=self._user(options["username"])):
                self.stdout.write(f"{token.pk}\t{token.prefix}…\t{token.name}\t{token.created:%Y-%m-%d}")
        else:
            deleted, _rows = APIToken.objects.filter(pk=options["id"]).delete()
            if not deleted:
                raise CommandError(f"No token with id {options['id']}.")
            self.stdout.write(f"revoked {options['id']}")
