"""`qinglan catalogue --out DIR [--price-list NAME] [--currency CODE] [--language zh-hant] [--as USER]`:
write the static HTML catalogue into a folder (or a .zip when DIR ends in .zip)."""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from qinglan.org.models import Currency, User
from qinglan.sales import catalogue
from qinglan.sales.models import PriceList


class Command(BaseCommand):
    help = "Write the static HTML product catalogue into a folder or a zip file."

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, help="a folder, or a file name ending in .zip")
        parser.add_argument("--price-list", help="the name of the price list whose prices are shown (default: list prices)")
        parser.add_argument("--currency", help="currency code (default: the price list's or the base currency)")
        parser.add_argument("--language", default="zh-hant", help="zh-hant, zh-hans or en")
        parser.add_argument("--as", dest="username", help="show what this member may view (default: every product, as an administrator)")

    def handle(self, *args, out, price_list=None, currency=None, language="zh-hant", username=None, **options):
        try:
            chosen = PriceList.objects.get(name=price_list) if price_list else None
            money = Currency.objects.get(code=currency.upper()) if currency else None
            if username:
                member = User.objects.get(username=username)
            else:
                member = User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
        except (PriceList.DoesNotExist, Currency.DoesNotExist, User.DoesNotExist) as error:
            raise CommandError(str(error)) from None
        if member is None:
            raise CommandError("No active administrator; name a member with --as.")
        try:
            files = catalogue.build_in(language, user=member, price_list=chosen, currency=money)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        target = Path(out)
        if target.suffix == ".zip":
            target.write_bytes(catalogue.as_zip(files))
        else:
            catalogue.write_folder(files, target)
        self.stdout.write(f"{len(files)} files written to {target}")
