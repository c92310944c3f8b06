"""qinglan rekey_customers: recompute the normalised keys (name, phone, e-mail) of every
customer and contact, e.g. after the normalisation rules improved. Runs in batches by id, so
it can work through millions of rows without holding them in memory or one long lock."""

from django.core.management.base import BaseCommand
from django.db import transaction

from qinglan.customers.models import Contact, Customer
from qinglan.customers.normalize import email_key, name_key, person_key, phone_key


class Command(BaseCommand):
    help = "Recompute the duplicate-detection and search keys of all customers and contacts."

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=2000)

    def handle(self, *args, batch, **options):
        changed = self._rekey(
            Customer, ("name", "phone", "mobile", "email", "name_key", "phone_key"), batch,
            lambda row: {"name_key": name_key(row.name), "phone_key": phone_key(row.phone or row.mobile), "email": email_key(row.email)},
        )
        self.stdout.write(f"customers: {changed} updated")
        changed = self._rekey(
            Contact, ("name", "phone", "mobile", "email", "name_key", "phone_key"), batch,
            lambda row: {"name_key": person_key(row.name), "phone_key": phone_key(row.mobile or row.phone), "email": email_key(row.email)},
        )
        self.stdout.write(f"contacts: {changed} updated")

    def _rekey(self, model, fields, batch, keys):
        changed, last = 0, 0
        while True:
            with transaction.atomic():
                rows = list(model._base_manager.filter(pk__gt=last).order_by("pk").only("pk", *fields)[:batch])
                if not rows:
                    return changed
                stale = []
                for row in rows:
                    values = keys(row)
                    if any(getattr(row, name) != value for name, value in values.items()):
                        for name, value in values.items():
                            setattr(row, name, value)
                        stale.append(row)
                model._base_manager.bulk_update(stale, list(keys(rows[0])), batch_size=500)
                changed += len(stale)
                last = rows[-1].pk
