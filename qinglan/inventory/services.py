"""Warehouse services: stock documents (receipts, returns, deliveries, transfers, adjustments,
scrap) checked, numbered, posted to the ledger through `stock.post`, and cancelled by
reversing entries; FEFO batch suggestions; the sales order link (fulfilment and credit notes
through sales.services); reorder points. Views, the API, actions and jobs all call these."""

import functools
from decimal import ROUND_HALF_UP, Decimal
from types import SimpleNamespace

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from qinglan.core.changelog import current_request_id, new_record_snapshot, snapshot
from qinglan.core.detail import decimal_text
from qinglan.core.events import event_name, queue_event
from qinglan.core.models import ObjectChange
from qinglan.core.permissions import may
from qinglan.org.services import next_numbers

from . import stock
from .choices import CommitmentKind, DocumentKind, DocumentStatus, EntryKind, WarehouseKind
from .models import Batch, StockBalance, StockCommitment, StockDocument, StockDocumentLine, StockEntry, Warehouse
from .stock import Move, retrying

QUANTITY_PLACES = Decimal("0.0001")
SEQUENCES = {
    DocumentKind.RECEIPT: {"code": "stock_receipt", "name": "入庫單 Purchase receipts", "prefix": "GR-{year}-"},
    DocumentKind.PURCHASE_RETURN: {"code": "stock_purchase_return", "name": "採購退貨單 Purchase returns", "prefix": "PRT-{year}-"},
    DocumentKind.DELIVERY: {"code": "stock_delivery", "name": "出貨單 Sales deliveries", "prefix": "DN-{year}-"},
    DocumentKind.SALES_RETURN: {"code": "stock_sales_return", "name": "銷貨退回單 Sales returns", "prefix": "SRT-{year}-"},
    DocumentKind.TRANSFER: {"code": "stock_transfer", "name": "調撥單 Stock transfers", "prefix": "TR-{year}-"},
    DocumentKind.ADJUSTMENT: {"code": "stock_adjustment", "name": "庫存調整單 Stock adjustments", "prefix": "ADJ-{year}-"},
    DocumentKind.SCRAP: {"code": "stock_scrap", "name": "報廢單 Scrap", "prefix": "SCR-{year}-"},
    "stocktake": {"code": "stocktake", "name": "盤點單 Stocktakes", "prefix": "ST-{year}-"},
}
INCOMING_KINDS = {DocumentKind.RECEIPT, DocumentKind.SALES_RETURN}
OUTGOING_KINDS = {DocumentKind.PURCHASE_RETURN, DocumentKind.DELIVERY, DocumentKind.SCRAP, DocumentKind.TRANSFER}
ORDER_KINDS = {DocumentKind.DELIVERY, DocumentKind.SALES_RETURN}
SUPPLIER_KINDS = {DocumentKind.RECEIPT, DocumentKind.PURCHASE_RETURN}


def number(sequence):
    try:
        return next_numbers(code=sequence["code"], count=1)[0]
    except ValidationError:  # no such sequence yet (or it was deleted): make it
        from qinglan.org.models import NumberSequence

        NumberSequence.objects.get_or_create(code=sequence["code"], defaults=sequence)
        return next_numbers(code=sequence["code"], count=1)[0]


def _member(user):
    return user if user is not None and user.is_authenticated else None


def kind_of(document):
    return document.kind or getattr(document, "document_kind", "")


# ---- checks made by the forms, the API, imports and the posting ------------------------------


def check_document(*, document):
    """The header's rules (run by the model's clean() from every form, and again on posting)."""
    kind = kind_of(document)
    errors = {}
    warehouse = document.warehouse if document.warehouse_id else None
    if kind == DocumentKind.TRANSFER:
        if not document.to_warehouse_id:
            errors["to_warehouse"] = _("Name the warehouse the goods go to.")
        elif document.to_warehouse_id == document.warehouse_id:
            errors["to_warehouse"] = _("A transfer goes to another warehouse.")
        if document.transit_warehouse_id and document.transit_warehouse.kind != WarehouseKind.TRANSIT:
            errors["transit_warehouse"] = _("Choose an in-transit warehouse.")
    if kind == DocumentKind.RECEIPT and document.to_warehouse_id and (warehouse is None or warehouse.kind != WarehouseKind.QC):
        errors["to_warehouse"] = _("Only a receipt into a quality inspection hold names where the goods go after inspection.")
    if warehouse is not None and warehouse.kind == WarehouseKind.TRANSIT:
        errors["warehouse"] = _("Goods reach an in-transit warehouse only through a transfer.")
    if document.partner_id:
        partner = document.partner
        if kind in SUPPLIER_KINDS and not partner.is_supplier:
            errors["partner"] = _("%(partner)s is not a supplier.") % {"partner": partner}
        if kind in ORDER_KINDS and not partner.is_customer:
            errors["partner"] = _("%(partner)s is not a customer.") % {"partner": partner}
    if document.sales_order_id:
        if kind not in ORDER_KINDS:
            errors["sales_order"] = _("Only deliveries and sales returns refer to a sales order.")
        elif document.partner_id and document.sales_order.customer_id != document.partner_id:
            errors["sales_order"] = _("The order is another customer's.")
    if errors:
        raise ValidationError(errors)


def check_line(*, line):
    """A line's rules: quantity (an adjustment may be negative), unit convertible to the
    product's base unit, batch, variant and bin of the right product and warehouse, order
    line of the document's order."""
    from qinglan.products.services import convert_quantity

    document = line.document
    kind = kind_of(document)
    errors = {}
    if line.quantity is not None:
        if kind == DocumentKind.ADJUSTMENT:
            if not line.quantity:
                errors["quantity"] = _("An adjustment line needs a quantity (negative to take stock out).")
        elif line.quantity <= 0:
            errors["quantity"] = _("The quantity must be more than zero.")
    if line.product_id:
        product = line.product
        if line.variant_id and line.variant.product_id != line.product_id:
            errors["variant"] = _("This variant is of another product.")
        if line.batch_id and line.batch.product_id != line.product_id:
            errors["batch"] = _("This batch is of another product.")
        if line.unit_id and line.unit_id != product.base_unit_id and line.quantity:
            try:
                convert_quantity(product=product, quantity=line.quantity, from_unit=line.unit_id, to_unit=product.base_unit_id)
            except ValidationError as error:
                errors["unit"] = error.messages
        if line.order_line_id and line.order_line.product_id and line.order_line.product_id != line.product_id:
            errors["order_line"] = _("The order line is for another product.")
    if line.order_line_id and document.sales_order_id and line.order_line.order_id != document.sales_order_id:
        errors["order_line"] = _("This line is of another order.")
    if line.purchase_line_id:
        if kind != DocumentKind.RECEIPT:
            errors["purchase_line"] = _("Only a purchase receipt refers to a purchase order line.")
        elif line.product_id and line.purchase_line.product_id != line.product_id:
            errors["purchase_line"] = _("The purchase order line is for another product.")
    if line.order_line_id and kind not in ORDER_KINDS:
        errors["order_line"] = _("Only deliveries and sales returns refer to order lines.")
    if line.location_id and document.warehouse_id and line.location.warehouse_id != document.warehouse_id:
        errors["location"] = _("This bin is in another warehouse.")
    if line.batch_code and line.batch_id:
        errors["batch_code"] = _("Choose a batch or give a new batch number, not both.")
    if line.batch_id and kind in OUTGOING_KINDS and line.batch.expired(document.document_date):
        errors["batch"] = _("Batch %(batch)s expired on %(date)s and cannot go out.") % {"batch": line.batch.code, "date": line.batch.expiry_date}
    if line.production_date and line.expiry_date and line.expiry_date < line.production_date:
        errors["expiry_date"] = _("A batch cannot expire before it is produced.")
    if errors:
        raise ValidationError(errors)


def base_quantity(line):
    """The line's quantity in its product's base unit."""
    from qinglan.products.services import convert_quantity

    if not line.unit_id or line.unit_id == line.product.base_unit_id:
        return Decimal(line.quantity)
    return convert_quantity(product=line.product, quantity=line.quantity, from_unit=line.unit_id, to_unit=line.product.base_unit_id, places=4)


# ---- saving ------------------------------------------------------------------------------------


def document_lock(document, action):
    """Resource.edit_lock of a stock document: only a draft is changed or deleted."""
    if document.status == DocumentStatus.DRAFT:
        return None
    if action == "delete":
        return _("A posted document is never deleted; cancel it, which posts reversing movements.")
    return _("A %(status)s document cannot be changed.") % {"status": document.get_status_display()}


def prepare_document(*, document, created):
    """Number a new document, set its kind and keep its department with its warehouse."""
    if not document.kind:
        document.kind = document.document_kind
    if created and not document.code:
        document.code = number(SEQUENCES[document.kind])
    document.department_id = document.warehouse.department_id if document.warehouse_id else None


def kind_constraints(kind):
    """The constraints of a grant on stock documents that covers one kind only: the seven
    document lists share one content type, so a role is given e.g. purchase receipts alone by
    granting stock documents with these constraints ({"kind": "receipt"})."""
    return {"kind": str(kind)}


def kind_granted(user, kind, action="view"):
    """May the member `action` documents of `kind` at all? False when every grant of theirs
    on stock documents is narrowed by constraints that name other kinds only (e.g. a role
    given purchase receipts alone); read from the grants in hand, no query. The menu hides
    the other kinds' lists by it."""
    from qinglan.core.permissions import grants

    if user is None or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True

    def allows(group):
        if not isinstance(group, dict):
            return True
        if "kind" in group and str(group["kind"]) != str(kind):
            return False
        if "kind__in" in group and str(kind) not in {str(value) for value in group["kind__in"] or ()}:
            return False
        return True

    for _scope, constraints in grants(user, StockDocument, action):
        groups = constraints if isinstance(constraints, list) else [constraints]
        if not constraints or any(allows(group) for group in groups):
            return True
    return False


def check_kind_grant(*, document, user, model):
    """A member whose grants to add stock documents are all narrowed by constraints (e.g. to
    one kind) adds only documents those constraints allow: the lists and pages already hide
    the others, and this refuses making one (the caller's transaction rolls back)."""
    from django.db.models import Q

    from qinglan.core.permissions import constraints_q, grants

    if user is None or not user.is_authenticated or user.is_superuser:
        return
    allowed = grants(user, StockDocument, "add")
    if not allowed or not all(constraints for _scope, constraints in allowed):
        return
    condition = Q(pk__in=[])
    for _scope, constraints in allowed:
        condition |= constraints_q(constraints, user)
    if not StockDocument.objects.filter(pk=document.pk).filter(condition).exists():
        raise PermissionDenied(_("You may not add %(kind)s.") % {"kind": model._meta.verbose_name_plural})


def document_saved(*, document):
    """Each line's quantity in the base unit (the unit defaults to the product's), and the
    partner's code for the product (material mapping) when the line has none."""
    lines = list(document.lines.select_related("product"))
    codes = party_codes(document.partner_id, [line.product_id for line in lines if not line.party_code])
    for line in lines:
        if not line.unit_id:
            line.unit_id = line.product.base_unit_id
        line.base_quantity = base_quantity(line)
        line.party_code = line.party_code or codes.get(line.product_id, "")
    StockDocumentLine.objects.bulk_update(lines, ["unit", "base_quantity", "party_code"])


def create_document(*, kind, warehouse, lines, user=None, **header):
    """A draft document with its lines (dicts of line fields), checked as the forms check
    them; used by the demo, tests, benchmarks and other modules."""
    from .models import DOCUMENT_MODELS

    document = DOCUMENT_MODELS[kind](warehouse=warehouse, owner=header.pop("owner", None) or _member(user), **header)
    document.kind = kind
    check_document(document=document)
    prepare_document(document=document, created=True)
    document.save()
    made = []
    for values in lines:
        line = StockDocumentLine(document=document, **values)
        line.unit_id = line.unit_id or line.product.base_unit_id
        check_line(line=line)
        line.base_quantity = base_quantity(line)
        made.append(line)
    StockDocumentLine.objects.bulk_create(made)
    return document


# ---- posting -----------------------------------------------------------------------------------


def _locked_document(record, user, action="change"):
    """The document locked FOR UPDATE (its row only), with its warehouses (SQLite; PostgreSQL
    reads it with its lines in _read_for_posting's one statement)."""
    document = (
        StockDocument.objects.restrict(user, action).select_related("warehouse", "transit_warehouse")
        .select_for_update(of=("self",)).filter(pk=record.pk).first()
    )
    if document is None:
        raise PermissionDenied(_("You may not do this with this document."))
    return document


@functools.cache
def _posting_read():
    """(header layout, line layout, SQL) of _read_for_posting's statement, written once:
    [(model, alias, joined on)] of the document and its warehouse (locked), then what the
    checks read; the SQL leaves {allowed} for the member's restriction."""
    from qinglan.customers.models import Customer
    from qinglan.extras.models import Tag, TaggedItem
    from qinglan.products.models import Product
    from qinglan.purchasing.models import PurchaseOrderLine
    from qinglan.sales.models import SalesOrder, SalesOrderLine

    header = [(StockDocument, "d", None), (Warehouse, "w", "w.id = d.warehouse_id"), (Warehouse, "t", "t.id = d.transit_warehouse_id"),
              (Customer, "c", "c.id = d.partner_id"), (SalesOrder, "so", "so.id = d.sales_order_id")]
    per_line = [(StockDocumentLine, "l", "l.document_id = d.id"), (Product, "p", "p.id = l.product_id"), (Batch, "b", "b.id = l.batch_id"),
                (SalesOrderLine, "o", "o.id = l.order_line_id"), (PurchaseOrderLine, "pl", "pl.id = l.purchase_line_id")]
    layout = header + per_line
    columns = ", ".join(column for model, alias, _on in layout for column in stock.columns(model, alias))
    joins = " ".join(f"{'JOIN' if alias == 'w' else 'LEFT JOIN'} {model._meta.db_table} {alias} ON {on}" for model, alias, on in layout[1:])
    sql = (
        f"SELECT {columns}, ARRAY(SELECT g.name FROM {TaggedItem._meta.db_table} i JOIN {Tag._meta.db_table} g ON g.id = i.tag_id "
        f"WHERE i.content_type_id = %s AND i.object_id = d.id) FROM {StockDocument._meta.db_table} d {joins} "
        "WHERE d.id = %s{allowed} ORDER BY l.id FOR UPDATE OF d FOR SHARE OF w"
    )
    return header, per_line, sql


def _read_for_posting(record, user, action="change", check=True):
    """(document, lines, {warehouse id: warehouse}) for posting: on PostgreSQL in ONE statement
    that locks the document FOR UPDATE and its warehouse FOR SHARE (the lock stock.post takes,
    taken here already) and reads its tags' names, partner and sales order, and its lines with
    their products, batches, sales and purchase order lines, as model instances built from the
    row (no ORM query to compile); elsewhere as _locked_document() and _lines() read them. The
    lines of a draft are checked and their base quantities worked out as _lines() does, unless
    `check` is False (receiving and cancelling read what was posted as it is)."""
    if connection.vendor != "postgresql":
        document = _locked_document(record, user, action)
        if not check:
            return document, list(document.lines.select_related("product", "batch", "order_line", "purchase_line")), {}
        return document, _lines(document), {}
    restricted = StockDocument.objects.restrict(user, action)
    if restricted.query.is_empty():
        raise PermissionDenied(_("You may not do this with this document."))
    allowed, allowed_params = "", []
    if restricted.query.where:  # a member whose grants narrow the documents: the same condition as a subquery
        sql, allowed_params = restricted.filter(pk=record.pk).values("pk").query.sql_with_params()
        allowed = f" AND d.id IN ({sql})"
    header, per_line, sql = _posting_read()
    with stock.prepared_cursor() as cursor:
        cursor.execute(sql.format(allowed=allowed), [ContentType.objects.get_for_model(StockDocument).pk, record.pk, *allowed_params])
        rows = cursor.fetchall()
    if not rows:
        raise PermissionDenied(_("You may not do this with this document."))
    at = 0
    read = {}
    for model, alias, _on in header:
        read[alias], at = stock.instance(model, rows[0], at)
    document, warehouse = read["d"], read["w"]
    document.warehouse, document.transit_warehouse, document.partner, document.sales_order = read["w"], read["t"], read["c"], read["so"]
    document.tag_names = rows[0][-1]
    lines = []
    for row in rows:
        line, start = stock.instance(StockDocumentLine, row, at)
        if line is None:  # a document without lines
            continue
        for (model, _alias, _on), name in zip(per_line[1:], ("product", "batch", "order_line", "purchase_line"), strict=True):
            related, start = stock.instance(model, row, start)
            setattr(line, name, related)
        line.document = document
        lines.append(line)
    if document.status != DocumentStatus.DRAFT or not check:  # posted lines (or the caller refuses it): not checked
        return document, lines, {warehouse.pk: warehouse}
    if not lines:
        raise ValidationError(_("Add at least one line before posting."))
    for line in lines:
        check_line(line=line)
        line.base_quantity = base_quantity(line)
    return document, lines, {warehouse.pk: warehouse}


def _before(document):
    """snapshot() of the locked document, from the tag names read with it when there are."""
    names = getattr(document, "tag_names", None)
    if names is None:
        return snapshot(document)
    return new_record_snapshot(document, {}, [SimpleNamespace(name=name) for name in names])


def _lines(document):
    lines = list(document.lines.select_related("product", "batch", "order_line", "unit", "purchase_line"))
    if not lines:
        raise ValidationError(_("Add at least one line before posting."))
    for line in lines:
        line.document = document
        check_line(line=line)
        line.base_quantity = base_quantity(line)
    return lines


def _unit_cost(line):
    """The line's unit cost per base unit (a cost given per box is spread over its pieces)."""
    if line.unit_cost is None:
        return None
    if not line.base_quantity:
        return line.unit_cost
    return (line.unit_cost * line.quantity / line.base_quantity).quantize(QUANTITY_PLACES, ROUND_HALF_UP)


def _receipt_batch(line):
    if line.batch_id or not line.batch_code:
        return line.batch_id
    batch, created = Batch.objects.get_or_create(
        product_id=line.product_id, code=line.batch_code,
        defaults={"production_date": line.production_date, "expiry_date": line.expiry_date},
    )
    if not created and line.expiry_date and batch.expiry_date and batch.expiry_date != line.expiry_date:
        raise ValidationError(
            _("Batch %(batch)s of %(product)s expires on %(date)s, not on the date given.") % {"batch": batch.code, "product": line.product, "date": batch.expiry_date}
        )
    StockDocumentLine.objects.filter(pk=line.pk).update(batch=batch)
    return batch.pk


def suggest_batches(*, product_id, warehouse_id, quantity, variant_id=None, on=None, exclude=()):
    """FEFO: [(batch or None, quantity)] taking `quantity` from the batches that expire first
    (expired ones left out), then from stock kept without a batch; what cannot be covered is
    suggested from the batch-less stock, where posting will refuse it if it is not there."""
    return fefo_plan(product_id=product_id, warehouse_id=warehouse_id, quantity=quantity, variant_id=variant_id, on=on, exclude=exclude)[0]


def fefo_plan(*, product_id, warehouse_id, quantity, variant_id=None, on=None, exclude=()):
    """(suggest_batches' plan, what is available in all: unexpired batches and batch-less stock)."""
    balances = (
        StockBalance.objects.filter(product_id=product_id, warehouse_id=warehouse_id, variant_id=variant_id)
        .select_related("batch").order_by("batch__expiry_date", "batch_id")
    )
    return _plan(balances, quantity, on or timezone.localdate(), exclude)


def fefo_plans(*, warehouse_id, items, on=None):
    """fefo_plan() of several (product id, variant id, quantity) of one warehouse, their
    balances read in one query (on PostgreSQL a hand-written one whose rows become instances
    directly): [(plan, available)] in the order of `items`."""
    from django.db.models import Q

    on = on or timezone.localdate()
    pairs = sorted({(p, v or 0) for p, v, _q in items})
    if connection.vendor == "postgresql":  # the (product, variant) pairs as unnest() arrays, the rows built without the ORM
        balances = []
        with stock.prepared_cursor() as cursor:
            cursor.execute(
                f"SELECT {', '.join([*stock.columns(StockBalance, 'b'), *stock.columns(Batch, 't')])} FROM {StockBalance._meta.db_table} b "
                f"LEFT JOIN {Batch._meta.db_table} t ON t.id = b.batch_id "
                "JOIN unnest(%s::bigint[], %s::bigint[]) AS k(p, v) ON b.product_id = k.p AND COALESCE(b.variant_id, 0) = k.v "
                "WHERE b.warehouse_id = %s ORDER BY t.expiry_date, b.batch_id",
                [[p for p, _v in pairs], [v for _p, v in pairs], warehouse_id],
            )
            for row in cursor.fetchall():
                balance, at = stock.instance(StockBalance, row, 0)
                balance.batch = stock.instance(Batch, row, at)[0]
                balances.append(balance)
    else:
        condition = Q(pk__in=[])
        for product_id, variant_id in pairs:
            condition |= Q(product_id=product_id, **({"variant_id": variant_id} if variant_id else {"variant__isnull": True}))
        balances = StockBalance.objects.filter(condition, warehouse_id=warehouse_id).select_related("batch").order_by("batch__expiry_date", "batch_id")
    grouped = {}
    for balance in balances:
        grouped.setdefault((balance.product_id, balance.variant_id), []).append(balance)
    return [_plan(grouped.get((p, v), ()), quantity, on, ()) for p, v, quantity in items]


def _plan(balances, quantity, on, exclude):
    plan, left = [], Decimal(quantity)
    loose = None
    for balance in balances:
        if balance.batch_id is None:
            loose = balance
            continue
        if left <= 0 or balance.batch.expired(on) or balance.batch_id in exclude:
            continue
        free = balance.on_hand - balance.reserved
        if free > 0:
            take = min(free, left)
            plan.append((balance.batch, take))
            left -= take
    if left > 0 or not plan:
        plan.append((None, left if plan else Decimal(quantity)))
    available = sum((amount for batch, amount in plan if batch is not None), Decimal(0))
    if loose is not None:
        available += max(loose.on_hand - loose.reserved, Decimal(0))
    return [(batch, amount) for batch, amount in plan if amount > 0] or [(None, Decimal(quantity))], available


def _fulfil(lines, *, sign, field, user):
    """Tell sales what of its order lines was delivered or returned (negative: reversed)."""
    from qinglan.sales import services as sales

    done = {}
    for line in lines:
        if line.order_line_id:
            quantity = _order_quantity(line)
            done[line.order_line_id] = done.get(line.order_line_id, Decimal(0)) + quantity
    for order_line_id in sorted(done):
        sales.record_fulfilment(line_id=order_line_id, user=user, **{field: sign * done[order_line_id]})
    return done


def _purchased(lines, *, sign, user):
    """Tell purchasing what of its order lines a receipt brought in (negative: cancelled)."""
    from qinglan.products.services import convert_quantity
    from qinglan.purchasing import services as purchasing

    done = {}
    for line in lines:
        if line.purchase_line_id:
            order_unit = line.purchase_line.unit_id or line.product.base_unit_id
            line_unit = line.unit_id or line.product.base_unit_id
            quantity = Decimal(line.quantity) if order_unit == line_unit else convert_quantity(
                product=line.product, quantity=line.quantity, from_unit=line_unit, to_unit=order_unit, places=4,
            )
            done[line.purchase_line_id] = done.get(line.purchase_line_id, Decimal(0)) + quantity
    for line_id in sorted(done):
        purchasing.record_receipt(line_id=line_id, quantity=sign * done[line_id], user=user)


def _purchase_releases(lines):
    """[(locked incoming commitment of a purchase order line, quantity received in base units)]."""
    from qinglan.purchasing.services import open_incoming

    received = {}
    for line in lines:
        if line.purchase_line_id:
            received[line.purchase_line_id] = received.get(line.purchase_line_id, Decimal(0)) + line.base_quantity
    if not received:
        return []
    releases = []
    for commitment in open_incoming(received):
        take = min(commitment.quantity, received.get(commitment.purchase_line_id, Decimal(0)))
        if take > 0:
            received[commitment.purchase_line_id] -= take
            releases.append((commitment, take))
    return releases


def _order_quantity(line):
    """The line's quantity in the unit of its order line."""
    from qinglan.products.services import convert_quantity

    order_unit = line.order_line.unit_id or line.product.base_unit_id
    line_unit = line.unit_id or line.product.base_unit_id
    if order_unit == line_unit:
        return Decimal(line.quantity)
    return convert_quantity(product=line.product, quantity=line.quantity, from_unit=line_unit, to_unit=order_unit, places=4)


def _reservations_for(lines, warehouse_id):
    """Open reservations of the delivered order lines in this warehouse, locked."""
    order_lines = {line.order_line_id for line in lines if line.order_line_id}
    if not order_lines:
        return []
    return list(StockCommitment.objects.select_for_update().filter(
        kind=CommitmentKind.RESERVED, order_line_id__in=order_lines, warehouse_id=warehouse_id, quantity__gt=0,
    ).order_by("pk"))


def _outgoing_moves(document, lines, kind):
    """Moves out of the document's warehouse: a line's batch, else FEFO over the balances of
    every such line read in one query."""
    loose = [line for line in lines if not line.batch_id]
    plans = dict(zip((line.pk for line in loose), fefo_plans(
        warehouse_id=document.warehouse_id, on=document.document_date,
        items=[(line.product_id, line.variant_id, line.base_quantity) for line in loose],
    ))) if loose else {}
    moves = []
    for line in lines:
        if line.batch_id:
            plan = [(line.batch, line.base_quantity)]
        else:
            plan, available = plans[line.pk]
            if any(batch is not None for batch, _amount in plan) and available < line.base_quantity and not document.warehouse.allow_negative:
                # Split over batches, the shortfall would be reported on the batch-less stock alone: say it for the whole.
                raise ValidationError(
                    _("Not enough %(product)s in %(warehouse)s: %(available)s available in unexpired batches and without a batch, %(needed)s needed.")
                    % {"product": line.product, "warehouse": document.warehouse, "available": decimal_text(available, 4),
                       "needed": decimal_text(line.base_quantity, 4)}
                )
        for batch, amount in plan:
            moves.append(Move(
                product_id=line.product_id, variant_id=line.variant_id, warehouse_id=document.warehouse_id, batch_id=batch.pk if batch else None,
                location_id=line.location_id, quantity=-amount, kind=kind, line_id=line.pk, label=str(line.product),
            ))
    return moves


@retrying
def post_document(*, record, user):
    """Post a draft (a transfer is dispatched and received instead): its entries are written,
    the balances move, the sales order follows. Refused with nothing written when a line is
    wrong, stock would go negative where that is not allowed, a batch is expired, the
    warehouse is frozen for stocktaking, or an order would be delivered beyond what it ordered."""
    document, lines, warehouses = _read_for_posting(record, user)
    kind = document.kind
    if kind == DocumentKind.TRANSFER:
        raise ValidationError(_("A transfer is dispatched, then received."))
    if document.status != DocumentStatus.DRAFT:
        raise ValidationError(_("Only a draft document is posted."))
    check_document(document=document)
    before = _before(document)
    releases = []
    entry_kind = EntryKind(kind)
    if kind in INCOMING_KINDS or kind == DocumentKind.ADJUSTMENT:
        if kind == DocumentKind.SALES_RETURN:
            _fulfil(lines, sign=1, field="returned", user=user)
        if kind == DocumentKind.RECEIPT:
            _purchased(lines, sign=1, user=user)
            releases += _purchase_releases(lines)
        moves = []
        for line in lines:
            if kind == DocumentKind.ADJUSTMENT and line.base_quantity < 0:
                moves.extend(_outgoing_moves(document, [_negated(line)], entry_kind))
                continue
            moves.append(Move(
                product_id=line.product_id, variant_id=line.variant_id, warehouse_id=document.warehouse_id, batch_id=_receipt_batch(line),
                location_id=line.location_id, quantity=line.base_quantity, unit_cost=_unit_cost(line), kind=entry_kind, line_id=line.pk,
                label=str(line.product),
            ))
    else:
        if kind == DocumentKind.DELIVERY:
            delivered = _fulfil(lines, sign=1, field="delivered", user=user)
            reservations = _reservations_for(lines, document.warehouse_id)
            for commitment in reservations:  # what is delivered of a reserved order line is no longer reserved
                take = min(commitment.quantity, delivered.get(commitment.order_line_id, Decimal(0)))
                if take > 0:
                    delivered[commitment.order_line_id] -= take
                    releases.append((commitment, take))
        moves = _outgoing_moves(document, lines, entry_kind)
        if kind == DocumentKind.SCRAP:
            scrap = Warehouse.objects.filter(kind=WarehouseKind.SCRAP, active=True).exclude(pk=document.warehouse_id).order_by("pk").first()
            if scrap is not None:
                moves += [_mirror(move, scrap.pk, index) for index, move in enumerate(list(moves))]
    document.status = DocumentStatus.POSTED
    document.posted_at, document.posted_by = timezone.now(), _member(user)
    step = _save_step(document, before, user, "posted", ["status", "posted_at", "posted_by"])
    entries = stock.post(moves, user=user, document=document, releases=releases, warehouses=warehouses, also=step)  # last: the balances stay locked until the commit
    if kind == DocumentKind.RECEIPT and document.warehouse.kind == WarehouseKind.QC:
        from .inspections import inspections_for_receipt

        inspections_for_receipt(document=document, entries=entries, user=user)
    if kind == DocumentKind.SALES_RETURN:
        _credit_note(document, lines, user)
    return document


def _save_step(document, before, user, verb, fields):
    """A step of the document's way: queues its event and returns its writes [(sql, params)]
    — the UPDATE of the changed columns and the INSERT of its change-log row — for the caller
    to hand to stock.post(also=…), which on PostgreSQL makes them in its one writing statement,
    or to stock.run_writes() when nothing is posted. The "after" snapshot is built from the
    values in hand with the tags of the "before" one."""
    document.last_updated = timezone.now()
    columns = [StockDocument._meta.get_field(name) for name in [*fields, "last_updated"]]
    update = (
        f"UPDATE {StockDocument._meta.db_table} SET {', '.join(f'{connection.ops.quote_name(f.column)} = %s' for f in columns)} WHERE id = %s",
        [*(f.get_db_prep_save(getattr(document, f.attname), connection) for f in columns), document.pk],
    )
    after = new_record_snapshot(document, {}, None)
    after["tags"] = before.get("tags", [])
    member = _member(user)
    change = ObjectChange(
        user=member, user_name=member.get_username() if member else "", request_id=current_request_id.get(), action=ObjectChange.Action.UPDATE,
        content_type=ContentType.objects.get_for_model(StockDocument), object_id=document.pk, object_repr=str(document)[:200],
        prechange_data=before, postchange_data=after,
    )
    queue_event(event_name(document, verb), record=document, user=user)
    return [update, stock.insert_sql(ObjectChange, [change])]


def _negated(line):
    copy = StockDocumentLine(pk=line.pk, document_id=line.document_id, product=line.product, variant_id=line.variant_id,
                             batch=line.batch, location_id=line.location_id, quantity=-line.quantity, unit_id=line.unit_id)
    copy.base_quantity = -line.base_quantity
    return copy


def _mirror(move, warehouse_id, index):
    """The other half of a move between two warehouses: the same quantity the other way, at
    the value the first half took out (`mirror_of`)."""
    return Move(
        product_id=move.product_id, variant_id=move.variant_id, warehouse_id=warehouse_id, batch_id=move.batch_id,
        quantity=-move.quantity, kind=move.kind, line_id=move.line_id, mirror_of=index, label=move.label,
    )


def _credit_note(document, lines, user):
    from qinglan.sales import services as sales

    quantities = {}
    for line in lines:
        if line.order_line_id:
            quantities[line.order_line_id] = quantities.get(line.order_line_id, Decimal(0)) + _order_quantity(line)
    if quantities:
        note = sales.credit_note_for_return(quantities=quantities, user=user)
        if note is not None:
            document.notes = (document.notes + "\n" if document.notes else "") + _("Credit note %(code)s drafted.") % {"code": note}
            StockDocument.objects.filter(pk=document.pk).update(notes=document.notes)


def _transit(document):
    if document.transit_warehouse_id:
        return document.transit_warehouse
    transit = Warehouse.objects.filter(kind=WarehouseKind.TRANSIT, active=True).order_by("pk").first()
    if transit is None:
        raise ValidationError(_("There is no in-transit warehouse: add a warehouse of the kind “in transit” first."))
    return transit


@retrying
def dispatch_transfer(*, record, user):
    """First step of a transfer: the goods leave their warehouse for the in-transit warehouse
    (at the value they had) and are expected at the destination."""
    document, lines, warehouses = _read_for_posting(record, user)
    if document.kind != DocumentKind.TRANSFER:
        raise ValidationError(_("Only a transfer is dispatched."))
    if document.status != DocumentStatus.DRAFT:
        raise ValidationError(_("Only a draft transfer is dispatched."))
    check_document(document=document)
    transit = _transit(document)
    before = _before(document)
    moves = _outgoing_moves(document, lines, EntryKind.TRANSFER_OUT)
    moves += [_mirror(move, transit.pk, index) for index, move in enumerate(list(moves))]
    expects = [
        {"product_id": move.product_id, "variant_id": move.variant_id, "warehouse_id": document.to_warehouse_id, "batch_id": move.batch_id,
         "quantity": -move.quantity, "document": document}
        for move in moves if move.quantity < 0
    ]
    document.status = DocumentStatus.IN_TRANSIT
    document.transit_warehouse = transit
    document.posted_at, document.posted_by = timezone.now(), _member(user)
    step = _save_step(document, before, user, "dispatched", ["status", "transit_warehouse", "posted_at", "posted_by"])
    stock.post(moves, user=user, document=document, expects=expects, warehouses=warehouses, also=step)
    return document


@retrying
def receive_transfer(*, record, user):
    """Second step: what is in transit for this transfer arrives at the destination."""
    document, _lines_read, warehouses = _read_for_posting(record, user, check=False)
    if document.status != DocumentStatus.IN_TRANSIT:
        raise ValidationError(_("Only a transfer in transit is received."))
    expected = stock.lock_document_commitments(document)
    before = _before(document)
    moves = []
    if connection.vendor == "postgresql":
        arrived = stock.read_prepared(
            StockEntry, "SELECT {columns} FROM inventory_stockentry r WHERE r.document_id = %s AND r.warehouse_id = %s AND r.quantity > 0 "
            "AND r.reversal_of_id IS NULL ORDER BY r.posted_at DESC, r.id DESC", [document.pk, document.transit_warehouse_id],
        )
    else:
        arrived = StockEntry.objects.filter(document=document, warehouse_id=document.transit_warehouse_id, quantity__gt=0, reversal_of__isnull=True)
    for entry in arrived:
        out = Move(product_id=entry.product_id, variant_id=entry.variant_id, warehouse_id=entry.warehouse_id, batch_id=entry.batch_id,
                   quantity=-entry.quantity, value=-entry.value, kind=EntryKind.TRANSFER_IN, line_id=entry.document_line_id)
        moves += [out, _mirror(out, document.to_warehouse_id, len(moves))]
    document.status = DocumentStatus.POSTED
    document.received_at = timezone.now()
    step = _save_step(document, before, user, "received", ["status", "received_at"])
    stock.post(moves, user=user, document=document, releases=[(commitment, commitment.quantity) for commitment in expected], warehouses=warehouses, also=step)
    return document


@retrying
def cancel_document(*, record, user):
    """Cancel a document: a draft simply; a posted one (or a transfer in transit) by posting
    the reversing entries of everything it posted, never by deleting them. Refused when the
    reversal would take stock below zero (the goods received were delivered since)."""
    document, lines, warehouses = _read_for_posting(record, user, check=False)
    if document.status == DocumentStatus.CANCELLED:
        raise ValidationError(_("The document is cancelled already."))
    before = _before(document)
    was = document.status
    document.status = DocumentStatus.CANCELLED
    document.cancelled_at = timezone.now()
    step = _save_step(document, before, user, "cancelled", ["status", "cancelled_at"])
    if was == DocumentStatus.DRAFT:
        stock.run_writes(step)
    else:
        expects = []
        if document.kind == DocumentKind.RECEIPT:
            _purchased(lines, sign=-1, user=user)
            ordered_into = _order_warehouses(lines)
            expects = [  # what the order still brings is incoming again
                {"product_id": line.product_id, "warehouse_id": ordered_into[line.purchase_line.order_id], "quantity": line.base_quantity,
                 "purchase_line_id": line.purchase_line_id}
                for line in lines if line.purchase_line_id and line.base_quantity
            ]
        if document.kind == DocumentKind.DELIVERY:
            _fulfil(lines, sign=-1, field="delivered", user=user)
        elif document.kind == DocumentKind.SALES_RETURN:
            _fulfil(lines, sign=-1, field="returned", user=user)
        expected = stock.lock_document_commitments(document)
        if connection.vendor == "postgresql":
            entries = stock.read_prepared(
                StockEntry, "SELECT {columns} FROM inventory_stockentry r WHERE r.document_id = %s AND r.reversal_of_id IS NULL "
                "AND NOT EXISTS (SELECT 1 FROM inventory_stockentry v WHERE v.reversal_of_id = r.id) ORDER BY r.id", [document.pk],
            )
        else:
            entries = list(StockEntry.objects.filter(document=document, reversal_of__isnull=True, reversals__isnull=True).order_by("pk"))
        stock.post(stock.reversing_moves(entries), user=user, document=document, warehouses=warehouses,
                   releases=[(commitment, commitment.quantity) for commitment in expected], expects=expects, also=step)
    return document


def _order_warehouses(lines):
    """{purchase order id: the warehouse it is received into} of the lines' purchase order lines."""
    from qinglan.purchasing.models import PurchaseOrder

    ids = {line.purchase_line.order_id for line in lines if line.purchase_line_id}
    return dict(PurchaseOrder.objects.filter(pk__in=ids).values_list("pk", "warehouse_id")) if ids else {}


# ---- from a sales order ------------------------------------------------------------------------


def undelivered(order):
    """[(order line, quantity still to deliver in its unit)] of an order's product lines."""
    result = []
    for line in order.lines.select_related("product").filter(product__isnull=False):
        left = line.quantity - line.delivered_quantity
        if left > 0:
            result.append((line, left))
    return result


@transaction.atomic
def delivery_for_order(*, order, warehouse, user):
    """A draft delivery of what of an approved (or running) order is not delivered yet, with
    the batches FEFO suggests in that warehouse."""
    from qinglan.core.permissions import has_permission
    from qinglan.sales.choices import OrderStatus

    from .models import SalesDelivery

    if not has_permission(user, SalesDelivery, "add"):
        raise PermissionDenied(_("You may not add sales deliveries."))
    if order.status not in (OrderStatus.APPROVED, OrderStatus.FULFILLING):
        raise ValidationError(_("Only an approved order or one in fulfilment is delivered."))
    if not may(user, "view", warehouse):
        raise PermissionDenied(_("You may not use this warehouse."))
    lines = []
    for order_line, quantity in undelivered(order):
        unit_id = order_line.unit_id or order_line.product.base_unit_id
        line = StockDocumentLine(product=order_line.product, unit_id=unit_id, quantity=quantity, order_line=order_line)
        base = base_quantity(line)
        plan = suggest_batches(product_id=order_line.product_id, warehouse_id=warehouse.pk, quantity=base)
        for batch, amount in plan:
            share = quantity if len(plan) == 1 else (quantity * amount / base).quantize(QUANTITY_PLACES)
            lines.append({"product": order_line.product, "unit_id": unit_id, "quantity": share, "order_line": order_line, "batch": batch})
    if not lines:
        raise ValidationError(_("Everything on this order is delivered already."))
    return create_document(kind=DocumentKind.DELIVERY, warehouse=warehouse, lines=lines, user=user, partner=order.customer, sales_order=order)


# ---- reports -----------------------------------------------------------------------------------


def low_stock(queryset_rules):
    """[(rule, available + incoming, suggested quantity)] of the reorder rules below their point."""
    rules = list(queryset_rules.select_related("product", "warehouse", "product__base_unit"))
    if not rules:
        return []
    totals = {
        (row["product_id"], row["warehouse_id"]): row
        for row in StockBalance.objects.filter(
            product_id__in={r.product_id for r in rules}, warehouse_id__in={r.warehouse_id for r in rules},
        ).values("product_id", "warehouse_id").annotate(on_hand=Sum("on_hand"), reserved=Sum("reserved"), incoming=Sum("incoming"))
    }
    result = []
    for rule in rules:
        row = totals.get((rule.product_id, rule.warehouse_id), {})
        projected = (row.get("on_hand") or 0) - (row.get("reserved") or 0) + (row.get("incoming") or 0)
        if projected < rule.minimum:
            suggested = max(rule.reorder_quantity, rule.minimum - projected)
            result.append((rule, projected, suggested))
    return result


def expiring_batches(*, warehouses, within_days=30, on=None):
    """Balances of batches in stock that expire within `within_days` (or have expired)."""
    import datetime

    on = on or timezone.localdate()
    return (
        StockBalance.objects.filter(warehouse__in=warehouses, on_hand__gt=0, batch__expiry_date__lte=on + datetime.timedelta(days=within_days))
        .select_related("product", "warehouse", "batch").order_by("batch__expiry_date", "pk")
    )


# ---- material mapping (partners' item codes) ---------------------------------------------------


def check_item_code(*, mapping):
    """A mapping's variant is of its product and its unit converts to the product's base unit."""
    from qinglan.products.services import convert_quantity

    errors = {}
    if mapping.product_id:
        if mapping.variant_id and mapping.variant.product_id != mapping.product_id:
            errors["variant"] = _("This variant is of another product.")
        if mapping.unit_id and mapping.unit_id != mapping.product.base_unit_id:
            try:
                convert_quantity(product=mapping.product, quantity=Decimal(1), from_unit=mapping.unit_id, to_unit=mapping.product.base_unit_id)
            except ValidationError as error:
                errors["unit"] = error.messages
    if mapping.code:
        mapping.code = mapping.code.strip()
    if errors:
        raise ValidationError(errors)


def product_for_party_code(party, code):
    """The material mapping of a partner's item code (its product, variant and unit), or None.
    `party` is a customer record or its id; the code is matched as typed, then ignoring case.
    For the forms of lines entered by the partner's code and for imports of their orders."""
    from .models import PartyItemCode

    party_id = getattr(party, "pk", party)
    code = (code or "").strip()
    if not party_id or not code:
        return None
    found = PartyItemCode.objects.select_related("product", "variant", "unit").filter(party_id=party_id)
    return found.filter(code=code).first() or found.filter(code__iexact=code).order_by("pk").first()


def party_codes(party_id, product_ids):
    """{product id: the partner's code} of the given products (the first mapping of each)."""
    from .models import PartyItemCode

    if not party_id or not product_ids:
        return {}
    codes = {}
    for product_id, code in PartyItemCode.objects.filter(party_id=party_id, product_id__in=set(product_ids)).order_by("pk").values_list("product_id", "code"):
        codes.setdefault(product_id, code)
    return codes


def resolve_party_code(*, party_id, code, product, variant=None, unit=None):
    """What a line entered by a partner's code stands for: (product, variant, unit). A code
    nobody mapped, or mapped to another product than the one chosen, is refused."""
    mapping = product_for_party_code(party_id, code)
    if mapping is None:
        if product is None:
            raise ValidationError(_("No product is mapped to the partner's code “%(code)s”; add it to the material mappings or choose the product.") % {"code": code})
        return product, variant, unit
    if product is not None and product.pk != mapping.product_id:
        raise ValidationError(_("The partner's code “%(code)s” stands for %(product)s, not the product chosen.") % {"code": code, "product": mapping.product})
    return mapping.product, variant or mapping.variant, unit or mapping.unit
