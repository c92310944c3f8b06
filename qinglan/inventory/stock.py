"""The stock ledger's one way in: `post()` writes immutable entries and moves the balances
under row locks; `reserve()` / `release()` and `expect()` / `settle()` keep the reserved and
incoming quantities; `recompute_balances()` rebuilds every balance from the ledger.

Locks are always taken in the same order so that parallel postings wait for each other
instead of deadlocking: commitments (by id) → warehouses (shared, by id) → balances (by id).
A warehouse is locked FOR SHARE, so postings to it run side by side while freezing it for a
stocktake (an UPDATE) waits for the postings in flight and holds the next ones back. A
serialisation failure or deadlock that happens anyway is retried by `retrying`, from a
savepoint when the caller already holds a transaction."""

import functools
import logging
import random
import time
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import OperationalError, connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from qinglan.core.bulk import insert_new
from qinglan.core.detail import decimal_text

from .choices import CommitmentKind
from .models import StockBalance, StockCommitment, StockEntry, Warehouse

logger = logging.getLogger("qinglan.inventory")
VALUE_PLACES = Decimal("0.0001")
RETRY_CODES = {"40001", "40P01"}  # serialization_failure, deadlock_detected
ATTEMPTS = 8


def _sqlstate(error):
    cause = error.__cause__
    return getattr(cause, "sqlstate", None) or getattr(getattr(cause, "diag", None), "sqlstate", None)


def retrying(function):
    """Run `function` in its own transaction (a savepoint inside the caller's) and run it
    again, after a short random pause, when the database gives up on it because of a
    serialisation failure or a deadlock."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        for attempt in range(ATTEMPTS):
            try:
                with transaction.atomic():
                    return function(*args, **kwargs)
            except OperationalError as error:
                if _sqlstate(error) not in RETRY_CODES or attempt == ATTEMPTS - 1:
                    raise
                logger.info("stock posting retried after %s (attempt %d)", _sqlstate(error), attempt + 1)
                time.sleep(random.uniform(0, 0.005 * 2**attempt))
        return None  # not reached

    return wrapper


@dataclass
class Move:
    """One line of a posting: `quantity` in the product's base unit, positive in, negative
    out. An incoming move without `unit_cost` comes in at the balance's average cost; an
    outgoing move always leaves at it. `value` fixes the value exactly (reversals)."""

    product_id: int
    warehouse_id: int
    quantity: Decimal
    kind: str
    variant_id: int | None = None
    batch_id: int | None = None
    location_id: int | None = None
    unit_cost: Decimal | None = None
    value: Decimal | None = None
    line_id: int | None = None
    reversal_of_id: int | None = None
    mirror_of: int | None = None  # index of the move this one mirrors: the same value, the other way
    label: str = ""  # how the product is named in a refusal
    extra: dict = field(default_factory=dict)

    @property
    def key(self):
        return (self.product_id, self.variant_id or 0, self.warehouse_id, self.batch_id or 0)


def balance_key(balance):
    return (balance.product_id, balance.variant_id or 0, balance.warehouse_id, balance.batch_id or 0)


def _key_q(keys):
    condition = Q(pk__in=[])
    for product_id, variant_id, warehouse_id, batch_id in keys:
        condition |= Q(
            product_id=product_id, warehouse_id=warehouse_id,
            **({"variant_id": variant_id} if variant_id else {"variant__isnull": True}),
            **({"batch_id": batch_id} if batch_id else {"batch__isnull": True}),
        )
    return condition


BALANCE_COLUMNS = ("id", "product_id", "variant_id", "warehouse_id", "batch_id", "on_hand", "reserved", "incoming", "value")


def prepared_cursor():
    """A cursor (PostgreSQL) for the posting's hand-written statements, which PostgreSQL parses
    and plans once per connection instead of for every posting: server-side binding, each
    statement prepared on its first run (psycopg keeps the connection's 100 latest). Planning
    was most of the server's work on a posting (the document's read of ten joined tables alone
    took 3 ms to plan, 0.7 ms to run). Django turns prepared statements off for connection
    poolers' sake (`prepare_threshold` None); they are turned on for these statements only.
    The cursor goes through Django's wrapper, so execute wrappers and the query log see them."""
    connection.ensure_connection()
    return connection._prepare_cursor(_prepared_class()(connection.connection))


@functools.cache
def _prepared_class():
    from django.db.backends.postgresql.base import ServerBindingCursor

    class Prepared(ServerBindingCursor):
        def execute(self, query, params=None, **options):
            raw = self.connection
            raw.prepare_threshold = 0
            try:
                return super().execute(query, params, prepare=True)
            finally:
                raw.prepare_threshold = None

    return Prepared


def columns(model, alias):
    """The model's concrete columns as `alias`."column", in the order instance() reads them."""
    return [f"{alias}.{connection.ops.quote_name(field.column)}" for field in model._meta.concrete_fields]


def instance(model, row, start):
    """A `model` instance (None for a missing outer-joined row) from row[start:…] read in
    columns() order, its values converted as the ORM converts them (JSON text → objects,
    …); and where the next one starts."""
    names, converters = _row_reading(model)
    end = start + len(names)
    if row[start] is None:
        return None, end
    values = list(row[start:end])
    for index, converter in converters:
        values[index] = converter(values[index], None, connection)
    return model.from_db("default", names, values), end


@functools.cache
def _row_reading(model):
    """A model's concrete attnames and [(index, converter)] of the fields whose database value
    the ORM converts on reading."""
    fields = model._meta.concrete_fields
    return [field.attname for field in fields], [
        (index, converter) for index, field in enumerate(fields) for converter in field.get_db_converters(connection)
    ]


def read_prepared(model, sql, params):
    """[`model` instances] of a prepared statement (PostgreSQL) whose `{columns}` are the
    model's, as alias r: no queryset is compiled."""
    with prepared_cursor() as cursor:
        cursor.execute(sql.format(columns=", ".join(columns(model, "r"))), params)
        return [instance(model, row, 0)[0] for row in cursor.fetchall()]


def _key_arrays(keys):
    """The keys as four arrays (product, variant or 0, warehouse, batch or 0) for unnest()."""
    return [list(column) for column in zip(*keys)] if keys else [[], [], [], []]


def _lock_rows_pg(keys):
    """The balances of `keys`, locked FOR UPDATE in id order, in one statement: the keys are
    joined as unnest() arrays on the unique (product, variant or 0, warehouse, batch or 0)
    index instead of an OR of conditions per key."""
    with prepared_cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join('b.' + c for c in BALANCE_COLUMNS)} FROM inventory_stockbalance b "
            "JOIN unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[]) AS k(p, v, w, t) "
            "ON b.product_id = k.p AND COALESCE(b.variant_id, 0) = k.v AND b.warehouse_id = k.w AND COALESCE(b.batch_id, 0) = k.t "
            "ORDER BY b.id FOR UPDATE OF b",
            _key_arrays(keys),
        )
        return [StockBalance.from_db("default", BALANCE_COLUMNS, row) for row in cursor.fetchall()]


def _insert_missing_pg(keys):
    with prepared_cursor() as cursor:
        cursor.execute(
            "INSERT INTO inventory_stockbalance (product_id, variant_id, warehouse_id, batch_id, on_hand, reserved, incoming, value) "
            "SELECT p, NULLIF(v, 0), w, NULLIF(t, 0), 0, 0, 0, 0 FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[]) AS k(p, v, w, t) "
            "ON CONFLICT DO NOTHING",
            _key_arrays(keys),
        )


def lock_balances(keys):
    """{key: StockBalance} for `keys`, locked FOR UPDATE in id order; missing rows are made
    first (INSERT … ON CONFLICT DO NOTHING, so two postings creating the same row do not
    clash). One statement when every row exists (PostgreSQL), three when some are new."""
    keys = sorted(set(keys))
    if connection.vendor == "postgresql":
        rows = {balance_key(balance): balance for balance in _lock_rows_pg(keys)}
        missing = [key for key in keys if key not in rows]
        if missing:
            _insert_missing_pg(missing)
            rows.update({balance_key(balance): balance for balance in _lock_rows_pg(missing)})
        return rows
    query = StockBalance.objects.select_for_update().filter(_key_q(keys)).order_by("pk")
    rows = {balance_key(balance): balance for balance in query}
    missing = [key for key in keys if key not in rows]
    if missing:
        StockBalance.objects.bulk_create(
            [StockBalance(product_id=p, variant_id=v or None, warehouse_id=w, batch_id=b or None) for p, v, w, b in missing],
            ignore_conflicts=True,
        )
        rows.update({balance_key(balance): balance for balance in StockBalance.objects.select_for_update().filter(_key_q(missing)).order_by("pk")})
    return rows


def lock_warehouses(ids):
    """{id: Warehouse} locked FOR SHARE (PostgreSQL) in id order: postings go side by side,
    freezing one for a stocktake waits for them."""
    ids = sorted(set(ids))
    if connection.vendor == "postgresql":
        query = read_prepared(Warehouse, "SELECT {columns} FROM inventory_warehouse r WHERE r.id = ANY(%s::bigint[]) ORDER BY r.id FOR SHARE", [ids])
    else:
        query = Warehouse.objects.filter(pk__in=ids).order_by("pk")
    return {warehouse.pk: warehouse for warehouse in query}


def _fallback_costs(product_ids):
    from qinglan.products.models import Product

    return {pk: cost or Decimal(0) for pk, cost in Product.objects.filter(pk__in=product_ids).values_list("pk", "cost")}


def _names(moves):
    """How to name a move's product in a refusal; the products without a label are read only
    when a refusal needs them (a posting that goes through reads nothing for it)."""
    from qinglan.products.models import Product

    names = {}

    def name(move):
        if move.label:
            return move.label
        if not names:
            missing = {m.product_id for m in moves if not m.label}
            names.update({product.pk: str(product) for product in Product.objects.filter(pk__in=missing)})
        return names.get(move.product_id, move.product_id)

    return name


def post(moves, *, user=None, document=None, source=None, frozen_ok=(), posted_at=None, releases=(), expects=(), warehouses=None, also=()):
    """Write `moves` to the ledger and move the balances, all or nothing. Refused with a
    ValidationError (nothing written): an inactive warehouse, a frozen one (unless in
    `frozen_ok`, the stocktake's own), stock going below zero or below what is reserved in a
    warehouse that does not allow negative stock. Returns the entries.

    `releases` [(locked commitment, quantity)] are taken off first (a delivery no longer
    reserved), `expects` (dicts of StockCommitment fields) are noted as incoming after; their
    balances are locked with the moves' in the one ordered lock. `warehouses` ({id: warehouse})
    are those the caller locked FOR SHARE already (with its document); the others are locked here.
    `also` [(sql, params)]: the caller's own writes, made with the posting's (on PostgreSQL in
    its one writing statement, elsewhere first, one by one)."""
    if not moves:
        raise ValidationError(_("There is nothing to post."))
    if also and connection.vendor != "postgresql":
        run_writes(also)
        also = ()
    for move in moves:
        if not move.quantity:
            raise ValidationError(_("A movement needs a quantity."))
    warehouses = dict(warehouses or {})
    missing = {move.warehouse_id for move in moves} - set(warehouses)
    if missing:
        warehouses.update(lock_warehouses(missing))
    warehouses = {pk: warehouses[pk] for pk in {move.warehouse_id for move in moves}}
    name = _names(moves)
    for warehouse in warehouses.values():
        if warehouse.frozen and warehouse.pk not in frozen_ok:
            raise ValidationError(_("Warehouse %(warehouse)s is frozen for stocktaking; nothing can be posted to it until the count is posted.") % {"warehouse": warehouse})
        if not warehouse.active:
            raise ValidationError(_("Warehouse %(warehouse)s is not in use.") % {"warehouse": warehouse})
    partly = [warehouse.pk for warehouse in warehouses.values() if warehouse.partly_frozen and warehouse.pk not in frozen_ok]
    if partly:
        _refuse_counted_categories(partly, moves)
    expect_keys = [(e["product_id"], e.get("variant_id") or 0, e["warehouse_id"], e.get("batch_id") or 0) for e in expects]
    balances = lock_balances([*(move.key for move in moves), *(c_key(c) for c, _amount in releases), *expect_keys])
    touched = {}
    for commitment, amount in releases:
        amount = min(Decimal(amount), commitment.quantity)
        commitment.quantity -= amount
        balance = touched[c_key(commitment)] = balances[c_key(commitment)]
        name = "reserved" if commitment.kind == CommitmentKind.RESERVED else "incoming"
        setattr(balance, name, max(getattr(balance, name) - amount, Decimal(0)))
    released = [commitment for commitment, _amount in releases]
    pg = connection.vendor == "postgresql"
    if released and not pg:
        save_commitment_quantities(released)
    fallback = None
    when = posted_at or timezone.now()
    source_type = source_id = None
    if source is not None:
        from django.contrib.contenttypes.models import ContentType

        source_type, source_id = ContentType.objects.get_for_model(source), source.pk
    entries = []
    for move in moves:
        balance = balances[move.key]
        warehouse = warehouses[move.warehouse_id]
        quantity = Decimal(move.quantity)
        if move.mirror_of is not None:
            value = -entries[move.mirror_of].value
            unit_cost = entries[move.mirror_of].unit_cost
        elif move.value is not None:
            value = move.value
            unit_cost = (abs(value) / abs(quantity)).quantize(VALUE_PLACES, ROUND_HALF_UP)
        else:
            if quantity > 0 and move.unit_cost is not None:
                unit_cost = Decimal(move.unit_cost)
            elif balance.on_hand > 0:
                unit_cost = (balance.value / balance.on_hand).quantize(VALUE_PLACES, ROUND_HALF_UP)
            else:
                fallback = fallback if fallback is not None else _fallback_costs({m.product_id for m in moves})
                unit_cost = fallback.get(move.product_id, Decimal(0))
            if quantity < 0 and -quantity == balance.on_hand:
                value = -balance.value  # the last of it takes the rest of the value (no rounding residue)
            else:
                value = (quantity * unit_cost).quantize(VALUE_PLACES, ROUND_HALF_UP)
        after = balance.on_hand + quantity
        if quantity < 0 and not warehouse.allow_negative:
            if after < 0:
                raise ValidationError(
                    _("Not enough %(product)s in %(warehouse)s: %(on_hand)s on hand, %(needed)s needed.")
                    % {"product": name(move), "warehouse": warehouse, "on_hand": decimal_text(balance.on_hand, 4), "needed": decimal_text(-quantity, 4)}
                )
            if after < balance.reserved:
                raise ValidationError(
                    _("Not enough %(product)s in %(warehouse)s: %(available)s available (%(reserved)s of the %(on_hand)s on hand are reserved), %(needed)s needed.")
                    % {
                        "product": name(move), "warehouse": warehouse, "available": decimal_text(balance.on_hand - balance.reserved, 4),
                        "reserved": decimal_text(balance.reserved, 4), "on_hand": decimal_text(balance.on_hand, 4), "needed": decimal_text(-quantity, 4),
                    }
                )
        balance.on_hand = after
        balance.value += value
        entries.append(StockEntry(
            product_id=move.product_id, variant_id=move.variant_id, warehouse_id=move.warehouse_id, location_id=move.location_id,
            batch_id=move.batch_id, quantity=quantity, unit_cost=unit_cost, value=value, kind=move.kind, document=document,
            document_line_id=move.line_id, source_type=source_type, source_id=source_id, reversal_of_id=move.reversal_of_id,
            posted_at=when, posted_by=user if user is not None and user.is_authenticated else None,
        ))
    touched.update({move.key: balances[move.key] for move in moves})
    member = user if user is not None and user.is_authenticated else None
    expected = []
    for values, key in zip(expects, expect_keys):
        values = dict(values)
        quantity = Decimal(values.pop("quantity"))
        expected.append(StockCommitment(kind=CommitmentKind.INCOMING, quantity=quantity, original_quantity=quantity, created_by=member, **values))
        balance = touched[key] = balances[key]
        balance.incoming += quantity
    if pg:
        _write_pg(entries, touched.values(), released, expected, also)
        return entries
    insert_new(StockEntry, entries)
    if expected:
        StockCommitment.objects.bulk_create(expected)
    _save_balances(touched.values())
    return entries


def insert_sql(model, records):
    """(INSERT … VALUES … RETURNING id, params) of new `records`, each value prepared as
    Django saves it (pre_save: auto_now fields are filled; then get_db_prep_save), for a
    statement written by hand (a data-modifying CTE)."""
    fields = [f for f in model._meta.local_concrete_fields if not f.primary_key and not f.generated]
    params = [field.get_db_prep_save(field.pre_save(record, True), connection) for record in records for field in fields]
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    return f"INSERT INTO {model._meta.db_table} ({columns}) VALUES {', '.join([row] * len(records))} RETURNING id", params


def _write_pg(entries, balances, released, expected, also):
    """Everything a posting writes in ONE statement of data-modifying CTEs (PostgreSQL): the
    released commitments' open quantities, the entries, the expected commitments, the balances,
    and `also` — the caller's own writes [(sql, params)], e.g. the document's step and its
    change-log row. The parts touch different rows, so one snapshot serves them all; the
    entries' ids come back in the order written."""
    parts, params = [], []
    for sql, values in also:
        parts.append(sql)
        params += values
    if released:
        parts.append("UPDATE inventory_stockcommitment c SET quantity = n.quantity FROM unnest(%s::bigint[], %s::numeric[]) AS n(id, quantity) WHERE c.id = n.id")
        params += [[c.pk for c in released], [c.quantity for c in released]]
    if expected:
        sql, values = insert_sql(StockCommitment, expected)
        parts.append(sql)
        params += values
    rows = [(b.pk, b.on_hand, b.reserved, b.incoming, b.value) for b in balances]
    if rows:
        parts.append(
            "UPDATE inventory_stockbalance b SET on_hand = n.on_hand, reserved = n.reserved, incoming = n.incoming, value = n.value "
            "FROM unnest(%s::bigint[], %s::numeric[], %s::numeric[], %s::numeric[], %s::numeric[]) AS n(id, on_hand, reserved, incoming, value) "
            "WHERE b.id = n.id"
        )
        params += [list(column) for column in zip(*rows)]
    sql, values = insert_sql(StockEntry, entries)
    with_parts = ", ".join(f"w{index} AS ({part})" for index, part in enumerate(parts))
    with prepared_cursor() as cursor:
        cursor.execute(f"WITH {with_parts}, e AS ({sql}) SELECT id FROM e" if parts else sql, [*params, *values])
        ids = [pk for (pk,) in cursor.fetchall()]
    for entry, pk in zip(entries, ids, strict=True):
        entry.pk = pk
        entry._state.adding = False
        entry._state.db = "default"


def run_writes(writes):
    """Run [(sql, params)] one by one (writes a posting would have carried, when it does not post)."""
    with connection.cursor() as cursor:
        for sql, params in writes:
            cursor.execute(sql, params)


def _refuse_counted_categories(warehouse_ids, moves):
    """A stocktake of a category counts in these warehouses: refuse moving the products of its
    subtree there (the rest of the warehouse keeps moving)."""
    from qinglan.products.models import Product
    from qinglan.products.services import subtree_q

    from .choices import StocktakeStatus
    from .models import Stocktake

    counting = Stocktake.objects.filter(warehouse_id__in=warehouse_ids, status=StocktakeStatus.COUNTING, category__isnull=False).select_related("category", "warehouse")
    for stocktake in counting:
        product_ids = {move.product_id for move in moves if move.warehouse_id == stocktake.warehouse_id}
        frozen = Product.objects.filter(pk__in=product_ids).filter(subtree_q([stocktake.category], field="category")).order_by("code").first()
        if frozen is not None:
            raise ValidationError(
                _("%(product)s is being counted in %(warehouse)s (stocktake %(stocktake)s of %(category)s); nothing of that category can be posted there until the count is posted.")
                % {"product": frozen, "warehouse": stocktake.warehouse, "stocktake": stocktake, "category": stocktake.category}
            )


def _save_balances(balances):
    """Write the locked balances back. PostgreSQL: one UPDATE … FROM unnest() of every row
    (one statement, one round trip). SQLite: one plain UPDATE per row."""
    rows = [(b.pk, b.on_hand, b.reserved, b.incoming, b.value) for b in balances]
    if not rows:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "UPDATE inventory_stockbalance b SET on_hand = n.on_hand, reserved = n.reserved, incoming = n.incoming, value = n.value "
                "FROM unnest(%s::bigint[], %s::numeric[], %s::numeric[], %s::numeric[], %s::numeric[]) AS n(id, on_hand, reserved, incoming, value) "
                "WHERE b.id = n.id",
                [list(column) for column in zip(*rows)],
            )
        else:
            cursor.executemany(
                "UPDATE inventory_stockbalance SET on_hand = %s, reserved = %s, incoming = %s, value = %s WHERE id = %s",
                [(*row[1:], row[0]) for row in rows],
            )


def save_commitment_quantities(commitments):
    """Write the locked commitments' open quantities back (one statement)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE inventory_stockcommitment c SET quantity = n.quantity FROM unnest(%s::bigint[], %s::numeric[]) AS n(id, quantity) WHERE c.id = n.id",
                [[c.pk for c in commitments], [c.quantity for c in commitments]],
            )
    else:
        StockCommitment.objects.bulk_update(commitments, ["quantity"])


def reversing_moves(entries, kind=None):
    """Moves that undo `entries` exactly (same quantity and value, the other way)."""
    return [
        Move(
            product_id=entry.product_id, variant_id=entry.variant_id, warehouse_id=entry.warehouse_id, batch_id=entry.batch_id,
            location_id=entry.location_id, quantity=-entry.quantity, value=-entry.value, kind=kind or entry.kind,
            line_id=entry.document_line_id, reversal_of_id=entry.pk,
        )
        for entry in entries
    ]


# ---- commitments: reserved and incoming -------------------------------------------------------


def _commit(kind, *, product_id, warehouse_id, quantity, variant_id=None, batch_id=None, user=None, check=True, **links):
    quantity = Decimal(quantity)
    if quantity <= 0:
        raise ValidationError(_("The quantity must be more than zero."))
    key = (product_id, variant_id or 0, warehouse_id, batch_id or 0)
    balance = lock_balances([key])[key]
    if kind == CommitmentKind.RESERVED and check:
        warehouse = Warehouse.objects.get(pk=warehouse_id)
        if not warehouse.allow_negative and balance.on_hand - balance.reserved < quantity:
            raise ValidationError(
                _("Only %(available)s can be reserved in %(warehouse)s (%(on_hand)s on hand, %(reserved)s reserved already).")
                % {"available": decimal_text(max(balance.on_hand - balance.reserved, Decimal(0)), 4), "warehouse": warehouse,
                   "on_hand": decimal_text(balance.on_hand, 4), "reserved": decimal_text(balance.reserved, 4)}
            )
    commitment = StockCommitment.objects.create(
        kind=kind, product_id=product_id, variant_id=variant_id, warehouse_id=warehouse_id, batch_id=batch_id, quantity=quantity,
        original_quantity=quantity, created_by=user if user is not None and user.is_authenticated else None, **links,
    )
    field_name = "reserved" if kind == CommitmentKind.RESERVED else "incoming"
    setattr(balance, field_name, getattr(balance, field_name) + quantity)
    balance.save(update_fields=[field_name])
    return commitment


@retrying
def reserve(*, product_id, warehouse_id, quantity, variant_id=None, batch_id=None, user=None, **links):
    """Reserve `quantity` of what is available (on hand less reserved): refused beyond it,
    unless the warehouse allows negative stock."""
    return _commit(CommitmentKind.RESERVED, product_id=product_id, warehouse_id=warehouse_id, quantity=quantity,
                   variant_id=variant_id, batch_id=batch_id, user=user, **links)


def expect(*, product_id, warehouse_id, quantity, variant_id=None, batch_id=None, user=None, **links):
    """Note `quantity` as incoming to a warehouse (a transfer on its way, a purchase order)."""
    return _commit(CommitmentKind.INCOMING, product_id=product_id, warehouse_id=warehouse_id, quantity=quantity,
                   variant_id=variant_id, batch_id=batch_id, user=user, check=False, **links)


def expect_many(items, *, user=None):
    """Note several incoming quantities at once (dicts of StockCommitment fields with
    product_id, warehouse_id, quantity…), their balances locked in one ordered query."""
    keys = [(i["product_id"], i.get("variant_id") or 0, i["warehouse_id"], i.get("batch_id") or 0) for i in items]
    balances = lock_balances(keys)
    member = user if user is not None and user.is_authenticated else None
    made = []
    for values, key in zip(items, keys):
        values = dict(values)
        quantity = Decimal(values.pop("quantity"))
        if quantity <= 0:
            continue
        made.append(StockCommitment(kind=CommitmentKind.INCOMING, quantity=quantity, original_quantity=quantity, created_by=member, **values))
        balances[key].incoming += quantity
    if made:
        StockCommitment.objects.bulk_create(made)
    _save_balances({key: balances[key] for key in keys}.values())
    return made


def lock_commitments(ids):
    ids = list(ids)
    if not ids:
        return {}
    return {c.pk: c for c in StockCommitment.objects.select_for_update().filter(pk__in=sorted(set(ids))).order_by("pk")}


def lock_document_commitments(document):
    """The document's open commitments, locked FOR UPDATE in id order (one statement)."""
    if connection.vendor == "postgresql":
        return read_prepared(StockCommitment, "SELECT {columns} FROM inventory_stockcommitment r WHERE r.document_id = %s AND r.quantity > 0 ORDER BY r.id FOR UPDATE", [document.pk])
    return list(StockCommitment.objects.select_for_update().filter(document=document, quantity__gt=0).order_by("pk"))


def close_commitments(commitments, amounts=None, *, adjust_balances=True):
    """Take `amounts` ({commitment id: quantity}, default: all that is open) off locked
    commitments, and off their balances' reserved / incoming unless a posting already did."""
    amounts = amounts if amounts is not None else {c.pk: c.quantity for c in commitments}
    changed = [c for c in commitments if amounts.get(c.pk)]
    if not changed:
        return
    balances = lock_balances(c_key(c) for c in changed) if adjust_balances else {}
    for commitment in changed:
        amount = min(amounts[commitment.pk], commitment.quantity)
        commitment.quantity -= amount
        if adjust_balances:
            balance = balances[c_key(commitment)]
            name = "reserved" if commitment.kind == CommitmentKind.RESERVED else "incoming"
            setattr(balance, name, max(getattr(balance, name) - amount, Decimal(0)))
    save_commitment_quantities(changed)
    if balances:
        _save_balances(balances.values())


def c_key(commitment):
    return (commitment.product_id, commitment.variant_id or 0, commitment.warehouse_id, commitment.batch_id or 0)


@retrying
def release(*, commitment, quantity=None):
    """Give back what is still reserved (or expected) of a commitment, or `quantity` of it."""
    locked = lock_commitments([commitment.pk])[commitment.pk]
    close_commitments([locked], {locked.pk: locked.quantity if quantity is None else Decimal(quantity)})
    return locked


# ---- rebuilding from the ledger ---------------------------------------------------------------

BALANCE_FIELDS = ("on_hand", "value", "reserved", "incoming")


def ledger_totals():
    """{key: {on_hand, value, reserved, incoming}} as the ledger and the open commitments say."""
    totals = {}

    def slot(key):
        return totals.setdefault(key, dict.fromkeys(BALANCE_FIELDS, Decimal(0)))

    keys = ("product_id", "variant_id", "warehouse_id", "batch_id")
    for row in StockEntry.objects.order_by().values(*keys).annotate(quantity=Sum("quantity"), total=Sum("value")):
        target = slot((row["product_id"], row["variant_id"] or 0, row["warehouse_id"], row["batch_id"] or 0))
        target["on_hand"], target["value"] = row["quantity"], row["total"]
    for row in StockCommitment.objects.filter(quantity__gt=0).order_by().values("kind", *keys).annotate(quantity=Sum("quantity")):
        target = slot((row["product_id"], row["variant_id"] or 0, row["warehouse_id"], row["batch_id"] or 0))
        target["reserved" if row["kind"] == CommitmentKind.RESERVED else "incoming"] = row["quantity"]
    return totals


def balance_table():
    """{key: {on_hand, value, reserved, incoming}} as the balances say (rows of zeros left out)."""
    table = {}
    for balance in StockBalance.objects.order_by("pk"):
        values = {name: getattr(balance, name) for name in BALANCE_FIELDS}
        if any(values.values()):
            table[balance_key(balance)] = values
    return table


def _nonzero(table):
    return {key: values for key, values in table.items() if any(values.values())}


@transaction.atomic
def recompute_balances(*, apply=True):
    """Rebuild every balance from the ledger and the open commitments. Postings wait while it
    runs (the balances are locked). Returns the differences found, [(key, field, balance,
    ledger)]; with `apply` the balances are then set to what the ledger says."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE inventory_stockbalance IN EXCLUSIVE MODE")
    expected = _nonzero(ledger_totals())
    current = {balance_key(b): b for b in StockBalance.objects.order_by("pk")}
    differences = []
    changed = []
    for key in sorted(set(expected) | set(current)):
        want = expected.get(key, dict.fromkeys(BALANCE_FIELDS, Decimal(0)))
        balance = current.get(key)
        have = {name: getattr(balance, name) if balance else Decimal(0) for name in BALANCE_FIELDS}
        wrong = [name for name in BALANCE_FIELDS if have[name] != want[name]]
        for name in wrong:
            differences.append((key, name, have[name], want[name]))
        if wrong and apply:
            if balance is None:
                product_id, variant_id, warehouse_id, batch_id = key
                StockBalance.objects.create(product_id=product_id, variant_id=variant_id or None, warehouse_id=warehouse_id, batch_id=batch_id or None, **want)
            else:
                for name in BALANCE_FIELDS:
                    setattr(balance, name, want[name])
                changed.append(balance)
    if changed:
        StockBalance.objects.bulk_update(changed, list(BALANCE_FIELDS))
    return differences
