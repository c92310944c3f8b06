"""Stocktaking (盤點): starting a stocktake freezes its warehouse (nothing else posts to it) —
or, for a stocktake of one category, only that category's products there — and snapshots the
book quantities on a count sheet; counters enter what they find (blind:
without seeing the book); posting writes each variance as a movement and unfreezes."""

from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from qinglan.core.changelog import log_change, snapshot
from qinglan.core.events import event_name, queue_event
from qinglan.core.models import ObjectChange

from . import stock
from .choices import EntryKind, StocktakeStatus
from .models import StockBalance, Stocktake, StocktakeLine, Warehouse
from .services import SEQUENCES, number


def stocktake_lock(stocktake, action):
    if action == "delete" and stocktake.status != StocktakeStatus.CANCELLED:
        return _("Cancel the stocktake first; that unfreezes its warehouse.")
    if action == "change" and stocktake.status != StocktakeStatus.COUNTING:
        return _("A %(status)s stocktake cannot be changed.") % {"status": stocktake.get_status_display()}
    return None


def prepare_stocktake(*, stocktake, created):
    if created and not stocktake.code:
        stocktake.code = number(SEQUENCES["stocktake"])
    if not created:
        warehouse_id, category_id = Stocktake.objects.filter(pk=stocktake.pk).values_list("warehouse_id", "category_id").get()
        if (warehouse_id, category_id) != (stocktake.warehouse_id, stocktake.category_id):
            raise ValidationError(_("The warehouse and category of a stocktake are fixed when it starts; cancel it and start another."))


def start_stocktake(*, stocktake, user):
    """Freeze the warehouse (waiting for the postings in flight) and copy its book quantities
    onto the count sheet: one line per product, variant and batch in stock (of the category
    and its sub-categories when one is chosen)."""
    warehouse = Warehouse.objects.select_for_update().get(pk=stocktake.warehouse_id)
    others = Stocktake.objects.filter(warehouse=warehouse, status=StocktakeStatus.COUNTING).exclude(pk=stocktake.pk).select_related("category")
    if warehouse.frozen:
        raise ValidationError(_("Warehouse %(warehouse)s is being counted already (%(stocktake)s).") % {"warehouse": warehouse, "stocktake": others.first() or "—"})
    if stocktake.category_id:
        from qinglan.products.models import Category

        path = Category.objects.values_list("path", flat=True).get(pk=stocktake.category_id)  # read again: adding a sibling may move a path
        for other in others:
            if other.category_id and (other.category.path.startswith(path) or path.startswith(other.category.path)):
                raise ValidationError(
                    _("%(category)s is being counted in %(warehouse)s already (%(stocktake)s).") % {"category": other.category, "warehouse": warehouse, "stocktake": other}
                )
        # Only the category's products are frozen: postings of others go on.
        Warehouse.objects.filter(pk=warehouse.pk).update(partly_frozen=True)
    else:
        if warehouse.partly_frozen:
            raise ValidationError(_("Warehouse %(warehouse)s is being counted already (%(stocktake)s).") % {"warehouse": warehouse, "stocktake": others.first() or "—"})
        Warehouse.objects.filter(pk=warehouse.pk).update(frozen=True)
    balances = StockBalance.objects.filter(warehouse=warehouse).exclude(on_hand=0)
    if stocktake.category_id:
        from qinglan.products.services import subtree_q

        balances = balances.filter(subtree_q([stocktake.category], field="product__category"))
    StocktakeLine.objects.bulk_create([
        StocktakeLine(stocktake=stocktake, product_id=b.product_id, variant_id=b.variant_id, batch_id=b.batch_id, book_quantity=b.on_hand)
        for b in balances.order_by("product__code", "batch_id")
    ])


def _unfreeze(stocktake):
    """The count is over: a whole-warehouse count unfreezes the warehouse; a category's leaves
    it partly frozen while another category is still being counted there."""
    if not stocktake.category_id:
        Warehouse.objects.filter(pk=stocktake.warehouse_id).update(frozen=False)
        return
    Warehouse.objects.select_for_update().filter(pk=stocktake.warehouse_id).first()
    still = Stocktake.objects.filter(warehouse_id=stocktake.warehouse_id, status=StocktakeStatus.COUNTING, category__isnull=False).exclude(pk=stocktake.pk).exists()
    Warehouse.objects.filter(pk=stocktake.warehouse_id).update(partly_frozen=still)


def _locked(record, user, action="change"):
    stocktake = Stocktake.objects.restrict(user, action).select_for_update().filter(pk=record.pk).first()
    if stocktake is None:
        raise PermissionDenied(_("You may not do this with this stocktake."))
    return stocktake


@transaction.atomic
def record_counts(*, stocktake, counts, user, extra=()):
    """Enter counted quantities: {line id: Decimal or None}; `extra` adds lines for products
    found that the book did not have ([(product, batch or None, quantity)])."""
    stocktake = _locked(stocktake, user)
    if stocktake.status != StocktakeStatus.COUNTING:
        raise ValidationError(_("Only a stocktake being counted takes counts."))
    lines = {line.pk: line for line in stocktake.lines.all()}
    for line_id, quantity in counts.items():
        if line_id not in lines:
            raise ValidationError(_("This count line is of another stocktake."))
        if quantity is not None and quantity < 0:
            raise ValidationError(_("A counted quantity cannot be negative."))
        lines[line_id].counted_quantity = quantity
    StocktakeLine.objects.bulk_update(list(lines.values()), ["counted_quantity"])
    for product, batch, quantity in extra:
        if quantity < 0:
            raise ValidationError(_("A counted quantity cannot be negative."))
        if batch is not None and batch.product_id != product.pk:
            raise ValidationError(_("This batch is of another product."))
        StocktakeLine.objects.create(stocktake=stocktake, product=product, batch=batch, book_quantity=Decimal(0), counted_quantity=quantity)
    return stocktake


@stock.retrying
def post_stocktake(*, record, user):
    """Post the variances (counted less book) as movements into or out of the frozen
    warehouse, then unfreeze it. Every line must be counted."""
    stocktake = _locked(record, user)
    if stocktake.status != StocktakeStatus.COUNTING:
        raise ValidationError(_("Only a stocktake being counted is posted."))
    lines = list(stocktake.lines.select_related("product"))
    missing = sum(1 for line in lines if line.counted_quantity is None)
    if missing:
        raise ValidationError(_("Lines not counted yet: %(count)s. Enter a count for every line (0 when nothing was found).") % {"count": missing})
    before = snapshot(stocktake)
    moves = [
        stock.Move(product_id=line.product_id, variant_id=line.variant_id, warehouse_id=stocktake.warehouse_id, batch_id=line.batch_id,
                   quantity=line.variance, kind=EntryKind.STOCKTAKE, label=str(line.product))
        for line in lines if line.variance
    ]
    if moves:
        stock.post(moves, user=user, source=stocktake, frozen_ok={stocktake.warehouse_id})
    _unfreeze(stocktake)
    stocktake.status = StocktakeStatus.POSTED
    stocktake.posted_at = timezone.now()
    stocktake.save(update_fields=["status", "posted_at", "last_updated"])
    log_change(record=stocktake, action=ObjectChange.Action.UPDATE, user=user, before=before, after=snapshot(stocktake))
    queue_event(event_name(stocktake, "posted"), record=stocktake, user=user)
    return stocktake


@transaction.atomic
def cancel_stocktake(*, record, user):
    stocktake = _locked(record, user)
    if stocktake.status != StocktakeStatus.COUNTING:
        raise ValidationError(_("Only a stocktake being counted is cancelled."))
    before = snapshot(stocktake)
    _unfreeze(stocktake)
    stocktake.status = StocktakeStatus.CANCELLED
    stocktake.save(update_fields=["status", "last_updated"])
    log_change(record=stocktake, action=ObjectChange.Action.UPDATE, user=user, before=before, after=snapshot(stocktake))
    return stocktake
