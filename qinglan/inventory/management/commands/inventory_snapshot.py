"""qinglan inventory_snapshot: take the month-end stock snapshot of the start of a month (this
month's by default, or the month of --month YYYY-MM), which the past-date stock report starts
from; --all takes every month's from the first movement on."""

import datetime

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Min
from django.utils import timezone

from qinglan.inventory.models import StockEntry
from qinglan.inventory.snapshots import month_start, take_snapshot


class Command(BaseCommand):
    help = "Take the month-end stock snapshot(s) the past-date stock report starts from."

    def add_arguments(self, parser):
        parser.add_argument("--month", help="YYYY-MM: the snapshot of that month's start (default: this month's)")
        parser.add_argument("--all", action="store_true", help="every month's start since the first movement")

    def handle(self, *args, month=None, all=False, **options):
        today = timezone.localdate()
        if all:
            first = StockEntry.objects.aggregate(first=Min("posted_at"))["first"]
            if first is None:
                self.stdout.write("The ledger is empty.")
                return
            day = timezone.localtime(first).date().replace(day=1)
            months = []
            while day <= today:
                day = (day + datetime.timedelta(days=32)).replace(day=1)
                if day <= today:
                    months.append(day)
        else:
            try:
                months = [datetime.date.fromisoformat(f"{month}-01") if month else today.replace(day=1)]
            except ValueError as error:
                raise CommandError(f"--month {month}: use YYYY-MM") from error
        for day in months:
            try:
                snapshot = take_snapshot(at=month_start(day))
            except ValidationError as error:
                raise CommandError(" ".join(error.messages)) from error
            self.stdout.write(f"{day:%Y-%m}: {snapshot.line_count} lines up to movement {snapshot.last_entry_id}")
