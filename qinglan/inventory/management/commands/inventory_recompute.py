"""qinglan inventory_recompute: rebuild every stock balance from the ledger and the open
commitments (or, with --check, only report where they differ)."""

from django.core.management.base import BaseCommand, CommandError

from qinglan.inventory.stock import recompute_balances


class Command(BaseCommand):
    help = "Rebuild the stock balances from the stock ledger."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Only report the differences; change nothing.")

    def handle(self, *args, check=False, **options):
        differences = recompute_balances(apply=not check)
        for (product_id, variant_id, warehouse_id, batch_id), name, have, want in differences:
            self.stdout.write(
                f"product {product_id} variant {variant_id or '-'} warehouse {warehouse_id} batch {batch_id or '-'}: {name} {have} → {want}"
            )
        if check and differences:
            raise CommandError(f"{len(differences)} balance figures differ from the ledger.")
        self.stdout.write(self.style.SUCCESS(f"{len(differences)} differences {'found' if check else 'corrected'}."))
