"""Writing many new rows fast: an INSERT of a few hundred rows built by hand.

QuerySet.bulk_create compiles every value of every row through the SQL compiler; for an
import of 100,000 customers with fifty columns that compiling costs more than the database's
own work. `insert_new` converts each value exactly as Django does (pre_save, so auto_now
fields are filled, then get_db_prep_save) but writes the statement once per batch, skipping
the conversions that would return the value itself. Models it cannot handle simply go
through bulk_create. `insert_rows` does the same for rows given as plain values (no model
instances to build: the change log's rows of an import)."""

from operator import attrgetter, itemgetter

from django.db import connections, models, router
from django.utils import timezone

BATCH_ROWS = 500  # rows per statement (also keeps PostgreSQL under its 65,535 parameters)


def _fields(model):
    return [f for f in model._meta.local_concrete_fields if not f.generated and not f.primary_key]


def _handled(model, connection, fields):
    return (
        not model._meta.parents
        and connection.features.can_return_rows_from_bulk_insert
        and not any(hasattr(f, "get_placeholder") for f in fields)
    )


def insert_new(model, records):
    """INSERT new `records` of `model` (their pks are set afterwards, as bulk_create does)."""
    if not records:
        return records
    using = router.db_for_write(model)
    connection = connections[using]
    fields = _fields(model)
    if not _handled(model, connection, fields) or any(record.pk is not None for record in records):
        model._default_manager.using(using).bulk_create(records)
        return records
    model._default_manager.using(using)._prepare_for_bulk_create(records)
    converters = [_converter(field, connection, attrgetter(field.attname)) for field in fields]
    pks = _insert(model, connection, fields, converters, records)
    for record, pk in zip(records, pks, strict=True):
        record.pk = pk
        record._state.adding = False
        record._state.db = using
    return records


def insert_rows(model, rows):
    """INSERT `rows` ({attname: value}; a field left out gets its default, an auto_now or
    auto_now_add field the current time) and return their pks in order."""
    if not rows:
        return []
    using = router.db_for_write(model)
    connection = connections[using]
    fields = _fields(model)
    now = timezone.now()
    filled = {}
    for field in fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            filled[field.attname] = now
        elif field.has_default() or field.null:
            filled[field.attname] = field.get_default()
    rows = [{**filled, **row} for row in rows]
    if not _handled(model, connection, fields):
        records = model._default_manager.using(using).bulk_create([model(**row) for row in rows])
        return [record.pk for record in records]
    converters = [_converter(field, connection, itemgetter(field.attname), pre_save=False) for field in fields]
    return _insert(model, connection, fields, converters, rows)


def _insert(model, connection, fields, converters, rows):
    quote = connection.ops.quote_name
    meta = model._meta
    head = f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) VALUES "
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    returning = f" RETURNING {quote(meta.pk.column)}"
    size = max(1, min(BATCH_ROWS, connection.ops.bulk_batch_size(fields, rows)))
    pks = []
    for start in range(0, len(rows), size):
        batch = rows[start : start + size]
        values = [convert(item) for item in batch for convert in converters]
        with connection.cursor() as cursor:
            cursor.execute(head + ", ".join([row] * len(batch)) + returning, values)
            pks += [pk for (pk,) in cursor.fetchall()]
    return pks


# Django's own field classes whose database value is the Python value itself when it has one
# of these types (their get_db_prep_save would only check that) and NULL for None. Any other
# class, a subclass included, takes Django's own conversion.
_PLAIN = {
    models.CharField: (str,), models.TextField: (str,), models.EmailField: (str,), models.URLField: (str,),
    models.SlugField: (str,), models.BooleanField: (bool,),
    models.IntegerField: (int,), models.BigIntegerField: (int,), models.SmallIntegerField: (int,),
    models.PositiveIntegerField: (int,), models.PositiveSmallIntegerField: (int,), models.PositiveBigIntegerField: (int,),
    models.AutoField: (int,), models.BigAutoField: (int,), models.SmallAutoField: (int,),
    models.DateField: (), models.DateTimeField: (), models.DecimalField: (), models.UUIDField: (),  # only None is plain
}


def _converter(field, connection, read, pre_save=True):
    """item → the value INSERTed for `field`, as Django writes it (pre_save, then
    get_db_prep_save), with the conversion skipped where it would return the value itself:
    for a wide table most of the work of the INSERT was these calls."""
    target = field.target_field if field.is_relation else field
    plain = _PLAIN.get(type(target))
    save = field.get_db_prep_save
    fills_itself = pre_save and type(field).pre_save is not models.Field.pre_save and not (
        isinstance(field, models.DateField) and not field.auto_now and not field.auto_now_add
    )
    if fills_itself:
        return lambda record: save(field.pre_save(record, True), connection)
    if plain is None:
        return lambda item: save(read(item), connection)

    if isinstance(target, models.DecimalField):
        # A decimal column's few distinct values (the defaults: 0) converted once each; the
        # conversion depends on the value alone (quantized to the field's places).
        known = {}

        def convert_decimal(item):
            value = read(item)
            if value is None:
                return value
            key = (type(value), value)
            try:
                return known[key]
            except KeyError:
                result = save(value, connection)
                if len(known) < 1000:
                    known[key] = result
                return result
            except TypeError:
                return save(value, connection)

        return convert_decimal

    def convert(item):
        value = read(item)
        if value is None or type(value) in plain:
            return value
        return save(value, connection)

    return convert
