"""qinglan search rebuild [--resource app.model]: rebuild the full-text index in batches."""

from django.core.management.base import BaseCommand, CommandError

from qinglan.search import index


class Command(BaseCommand):
    help = "Full-text search index: 'rebuild' rebuilds it (all types, or one with --resource)."

    def add_arguments(self, parser):
        subcommands = parser.add_subparsers(dest="subcommand", required=True)
        rebuild = subcommands.add_parser("rebuild", help="Rebuild the index from the records.")
        rebuild.add_argument("--resource", help="Only this type, e.g. customers.customer.")
        rebuild.add_argument("--batch-size", type=int, default=index.BATCH_SIZE)

    def handle(self, *args, **options):
        resource = None
        if options.get("resource"):
            resource = index.resource_for_label(options["resource"])
            if resource is None:
                names = ", ".join(sorted(r.label for r in index.searchable_resources().values()))
                raise CommandError(f"No searchable resource {options['resource']!r}. Searchable: {names}")
        results = index.rebuild(resource, batch_size=max(1, options["batch_size"]))
        total = seconds = 0
        for item, count, elapsed in results:
            total += count
            seconds += elapsed
            self.stdout.write(f"{item.label}: {count} records in {elapsed:.2f} s ({_rate(count, elapsed)} records/s)")
        self.stdout.write(f"Indexed {total} records in {seconds:.2f} s ({_rate(total, seconds)} records/s).")


def _rate(count, seconds):
    return f"{count / seconds:,.0f}" if seconds > 0 else "-"
