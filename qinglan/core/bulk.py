"""Writing many new rows fast: an INSERT of a few hundred rows built by hand.

QuerySet.bulk_create compiles every value of every row through the SQL compiler; for an
import of 100,000 customers with fifty columns that compiling costs more than the database's
own work. `insert_new` converts each value exactly as Django does (pre_save, so auto_now
fields are filled, then get_db_prep_save) but writes the statement once per batch. Models it
cannot handle simply go through bulk_create."""

from django.db import connections, router

BATCH_ROWS = 500  # rows per statement (also keeps PostgreSQL under its 65,535 parameters)


def insert_new(model, records):
    """INSERT new `records` of `model` (their pks are set afterwards, as bulk_create does)."""
    if not records:
        return records
    using = router.db_for_write(model)
    connection = connections[using]
    meta = model._meta
    fields = [f for f in meta.local_concrete_fields if not f.generated and not f.primary_key]
    if (
        meta.parents
        or not connection.features.can_return_rows_from_bulk_insert
        or any(hasattr(f, "get_placeholder") for f in fields)
        or any(record.pk is not None for record in records)
    ):
        model._default_manager.using(using).bulk_create(records)
        return records
    model._default_manager.using(using)._prepare_for_bulk_create(records)
    quote = connection.ops.quote_name
    head = f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) VALUES "
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    returning = f" RETURNING {quote(meta.pk.column)}"
    size = max(1, min(BATCH_ROWS, connection.ops.bulk_batch_size(fields, records)))
    for start in range(0, len(records), size):
        batch = records[start : start + size]
        values = [field.get_db_prep_save(field.pre_save(record, True), connection) for record in batch for field in fields]
        with connection.cursor() as cursor:
            cursor.execute(head + ", ".join([row] * len(batch)) + returning, values)
            pks = [pk for (pk,) in cursor.fetchall()]
        for record, pk in zip(batch, pks, strict=True):
            record.pk = pk
            record._state.adding = False
            record._state.db = using
    return records
