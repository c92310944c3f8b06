"""Stock documents posted through the services: balances and moving-average value, units,
batches and FEFO, two-step transfers, reversal, reservations, stocktaking, and bad input
refused with nothing written."""

import datetime
import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone, translation

from qinglan.core.testing import make_member
from qinglan.inventory import services, stock, stocktaking
from qinglan.inventory.choices import DocumentKind, DocumentStatus, WarehouseKind
from qinglan.inventory.models import Batch, StockBalance, StockCommitment, StockEntry, Stocktake, Warehouse
from qinglan.products.tests.factories import make_conversion, make_unit

from .factories import make_product, make_warehouse, receive

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    """The services' messages read in English here; the pages answer in the members' language."""
    with translation.override("en"):
        yield


@pytest.fixture
def clerk():
    return make_member("倉管員", superuser=True)


@pytest.fixture
def main():
    return make_warehouse("WH1", "台北總倉")


def on_hand(product, warehouse, batch=None):
    balance = StockBalance.objects.filter(product=product, warehouse=warehouse, batch=batch).first()
    return balance.on_hand if balance else Decimal(0)


def deliver(warehouse, product, quantity, user, **line):
    document = services.create_document(kind=DocumentKind.DELIVERY, warehouse=warehouse, user=user,
                                        lines=[{"product": product, "quantity": Decimal(quantity), **line}])
    return services.post_document(record=document, user=user)


def test_receipt_and_delivery_move_stock_at_moving_average_cost(clerk, main):
    product = make_product("P1", "螺絲")
    receive(main, product, 10, unit_cost=Decimal(10), user=clerk)
    receive(main, product, 10, unit_cost=Decimal(20), user=clerk)
    balance = StockBalance.objects.get(product=product, warehouse=main)
    assert (balance.on_hand, balance.value, balance.unit_cost) == (Decimal(20), Decimal(300), Decimal(15))
    delivery = deliver(main, product, 5, clerk)
    assert delivery.status == DocumentStatus.POSTED and delivery.code.startswith("DN-")
    entry = StockEntry.objects.get(document=delivery)
    assert (entry.quantity, entry.unit_cost, entry.value) == (Decimal(-5), Decimal(15), Decimal(-75))
    balance.refresh_from_db()
    assert (balance.on_hand, balance.value) == (Decimal(15), Decimal(225))
    deliver(main, product, 15, clerk)
    balance.refresh_from_db()
    assert (balance.on_hand, balance.value) == (0, 0)


def test_negative_stock_is_refused_and_nothing_is_written(clerk, main):
    product = make_product("P2", "墊片")
    receive(main, product, 3, user=clerk)
    document = services.create_document(kind=DocumentKind.DELIVERY, warehouse=main, user=clerk,
                                        lines=[{"product": product, "quantity": Decimal(1)}, {"product": product, "quantity": Decimal(5)}])
    entries = StockEntry.objects.count()
    with pytest.raises(ValidationError, match="2 on hand, 5 needed"):
        services.post_document(record=document, user=clerk)
    document.refresh_from_db()
    assert document.status == DocumentStatus.DRAFT
    assert StockEntry.objects.count() == entries
    assert on_hand(product, main) == 3


def test_a_warehouse_may_allow_negative_stock(clerk):
    store = make_warehouse("SHOP", "門市", allow_negative=True)
    product = make_product("P3", "樣品", cost=Decimal(7))
    deliver(store, product, 4, clerk)
    balance = StockBalance.objects.get(product=product, warehouse=store)
    assert (balance.on_hand, balance.value) == (Decimal(-4), Decimal(-28))  # at the product's cost


def test_lines_in_another_unit_are_converted_and_a_unit_without_conversion_refused(clerk, main):
    pieces, box, kg = make_unit("pcs", "個"), make_unit("box", "箱"), make_unit("kg", "公斤")
    product = make_product("P4", "杯子", unit=pieces)
    make_conversion(box, 12, pieces, product=product)
    receive(main, product, 2, unit=box, unit_cost=Decimal(120), user=clerk)
    entry = StockEntry.objects.get(product=product)
    assert (entry.quantity, entry.unit_cost, entry.value) == (Decimal(24), Decimal(10), Decimal(240))
    with pytest.raises(ValidationError) as refused:
        services.create_document(kind=DocumentKind.RECEIPT, warehouse=main, user=clerk, lines=[{"product": product, "quantity": Decimal(1), "unit": kg}])
    assert "unit" in refused.value.message_dict
    assert StockEntry.objects.count() == 1


def test_batches_go_out_first_expired_first_and_an_expired_batch_is_refused(clerk, main):
    product = make_product("P5", "牛奶")
    today = timezone.localdate()
    receive(main, product, 5, batch_code="L-LATE", expiry_date=today + datetime.timedelta(days=60), user=clerk)
    receive(main, product, 5, batch_code="L-SOON", expiry_date=today + datetime.timedelta(days=10), user=clerk)
    receive(main, product, 5, batch_code="L-OLD", expiry_date=today - datetime.timedelta(days=1), user=clerk)
    soon, late, old = (Batch.objects.get(code=code) for code in ("L-SOON", "L-LATE", "L-OLD"))
    assert [(b and b.code, q) for b, q in services.suggest_batches(product_id=product.pk, warehouse_id=main.pk, quantity=Decimal(7))] == [
        ("L-SOON", Decimal(5)), ("L-LATE", Decimal(2)),
    ]
    deliver(main, product, 7, clerk)
    assert (on_hand(product, main, soon), on_hand(product, main, late), on_hand(product, main, old)) == (0, 3, 5)
    with pytest.raises(ValidationError, match="L-OLD"):
        deliver(main, product, 1, clerk, batch=old)
    assert on_hand(product, main, old) == 5
    with pytest.raises(ValidationError, match="3 available in unexpired batches and without a batch, 4 needed"):
        deliver(main, product, 4, clerk)  # the expired batch does not count
    assert on_hand(product, main, late) == 3


def test_transfer_goes_through_in_transit_in_two_steps(clerk, main):
    branch = make_warehouse("WH2", "台中分倉")
    transit = make_warehouse("TRANSIT", "在途", kind=WarehouseKind.TRANSIT)
    product = make_product("P6", "紙箱")
    receive(main, product, 10, unit_cost=Decimal(4), user=clerk)
    transfer = services.create_document(kind=DocumentKind.TRANSFER, warehouse=main, to_warehouse=branch, user=clerk,
                                        lines=[{"product": product, "quantity": Decimal(6)}])
    with pytest.raises(ValidationError):
        services.post_document(record=transfer, user=clerk)
    services.dispatch_transfer(record=transfer, user=clerk)
    transfer.refresh_from_db()
    assert transfer.status == DocumentStatus.IN_TRANSIT and transfer.transit_warehouse == transit
    assert (on_hand(product, main), on_hand(product, transit), on_hand(product, branch)) == (4, 6, 0)
    assert StockBalance.objects.get(product=product, warehouse=branch).incoming == 6
    services.receive_transfer(record=transfer, user=clerk)
    assert (on_hand(product, main), on_hand(product, transit), on_hand(product, branch)) == (4, 0, 6)
    branch_balance = StockBalance.objects.get(product=product, warehouse=branch)
    assert (branch_balance.incoming, branch_balance.value) == (0, Decimal(24))


def test_a_transfer_in_transit_is_cancelled_by_reversal(clerk, main):
    branch = make_warehouse("WH2", "台中分倉")
    make_warehouse("TRANSIT", "在途", kind=WarehouseKind.TRANSIT)
    product = make_product("P7", "膠帶")
    receive(main, product, 10, user=clerk)
    transfer = services.create_document(kind=DocumentKind.TRANSFER, warehouse=main, to_warehouse=branch, user=clerk,
                                        lines=[{"product": product, "quantity": Decimal(6)}])
    services.dispatch_transfer(record=transfer, user=clerk)
    services.cancel_document(record=transfer, user=clerk)
    assert on_hand(product, main) == 10
    assert StockBalance.objects.get(product=product, warehouse=branch).incoming == 0
    assert StockEntry.objects.filter(document=transfer).count() == 4  # two out, two back


def test_cancelling_a_receipt_posts_reversing_entries_and_is_refused_once_the_goods_are_gone(clerk, main):
    product = make_product("P8", "電池")
    first = receive(main, product, 5, user=clerk)
    second = receive(main, product, 5, user=clerk)
    services.cancel_document(record=first, user=clerk)
    first.refresh_from_db()
    assert first.status == DocumentStatus.CANCELLED
    reversal = StockEntry.objects.get(document=first, reversal_of__isnull=False)
    assert reversal.quantity == -5 and reversal.reversal_of.document_id == first.pk
    deliver(main, product, 4, clerk)
    with pytest.raises(ValidationError, match="Not enough|不足|不夠"):
        services.cancel_document(record=second, user=clerk)
    second.refresh_from_db()
    assert second.status == DocumentStatus.POSTED
    with pytest.raises(ValidationError):
        services.cancel_document(record=first, user=clerk)


def test_entries_are_never_changed_or_deleted(clerk, main):
    product = make_product("P9", "紙")
    receive(main, product, 1, user=clerk)
    entry = StockEntry.objects.get()
    entry.quantity = 100
    with pytest.raises(ValidationError):
        entry.save()
    with pytest.raises(ValidationError):
        entry.delete()


def test_reserved_stock_is_not_delivered_to_others(clerk, main):
    product = make_product("P10", "手機")
    receive(main, product, 5, user=clerk)
    commitment = stock.reserve(product_id=product.pk, warehouse_id=main.pk, quantity=Decimal(4), user=clerk)
    with pytest.raises(ValidationError, match="1"):
        stock.reserve(product_id=product.pk, warehouse_id=main.pk, quantity=Decimal(2), user=clerk)
    with pytest.raises(ValidationError, match="reserved|保留|預留"):
        deliver(main, product, 2, clerk)
    stock.release(commitment=commitment)
    deliver(main, product, 2, clerk)
    assert StockBalance.objects.get(product=product, warehouse=main).reserved == 0


def test_stocktake_freezes_the_warehouse_and_posts_the_variances(clerk, main):
    product = make_product("P11", "原子筆", cost=Decimal(3))
    receive(main, product, 10, unit_cost=Decimal(3), user=clerk)
    stocktake = Stocktake(warehouse=main, owner=clerk)
    stocktaking.prepare_stocktake(stocktake=stocktake, created=True)
    stocktake.save()
    stocktaking.start_stocktake(stocktake=stocktake, user=clerk)
    assert Warehouse.objects.get(pk=main.pk).frozen
    with pytest.raises(ValidationError, match="frozen|凍結|盤點"):
        receive(main, product, 1, user=clerk)
    line = stocktake.lines.get()
    assert line.book_quantity == 10
    with pytest.raises(ValidationError):
        stocktaking.post_stocktake(record=stocktake, user=clerk)  # not counted yet
    stocktaking.record_counts(stocktake=stocktake, counts={line.pk: Decimal(8)}, user=clerk)
    stocktaking.post_stocktake(record=stocktake, user=clerk)
    assert not Warehouse.objects.get(pk=main.pk).frozen
    assert on_hand(product, main) == 8
    assert StockEntry.objects.get(kind="stocktake").value == Decimal(-6)


def test_recompute_finds_and_corrects_a_balance_that_drifted(clerk, main):
    product = make_product("P12", "尺")
    receive(main, product, 7, user=clerk)
    assert stock.recompute_balances() == []
    StockBalance.objects.filter(product=product).update(on_hand=Decimal(9))
    differences = stock.recompute_balances()
    assert [(name, have, want) for _key, name, have, want in differences] == [("on_hand", Decimal(9), Decimal(7))]
    assert on_hand(product, main) == 7
    call_command("inventory_recompute", "--check", stdout=io.StringIO())


def test_header_rules(clerk, main):
    supplier_less = make_product("P13", "貨")
    with pytest.raises(ValidationError) as refused:
        services.create_document(kind=DocumentKind.TRANSFER, warehouse=main, to_warehouse=main, user=clerk,
                                 lines=[{"product": supplier_less, "quantity": Decimal(1)}])
    assert "to_warehouse" in refused.value.message_dict
    with pytest.raises(ValidationError):
        services.create_document(kind=DocumentKind.RECEIPT, warehouse=main, user=clerk, lines=[{"product": supplier_less, "quantity": Decimal(-1)}])
    adjustment = services.create_document(kind=DocumentKind.ADJUSTMENT, warehouse=main, user=clerk,
                                          lines=[{"product": supplier_less, "quantity": Decimal(3), "unit_cost": Decimal(2)}])
    services.post_document(record=adjustment, user=clerk)
    down = services.create_document(kind=DocumentKind.ADJUSTMENT, warehouse=main, user=clerk, lines=[{"product": supplier_less, "quantity": Decimal(-1)}])
    services.post_document(record=down, user=clerk)
    assert on_hand(supplier_less, main) == 2
    assert not StockCommitment.objects.exists()


def test_scrap_moves_stock_to_the_scrap_warehouse(clerk, main):
    scrap = make_warehouse("SCRAP", "報廢倉", kind=WarehouseKind.SCRAP)
    product = make_product("P14", "破損品")
    receive(main, product, 3, unit_cost=Decimal(5), user=clerk)
    document = services.create_document(kind=DocumentKind.SCRAP, warehouse=main, user=clerk, reason="運送破損",
                                        lines=[{"product": product, "quantity": Decimal(2)}])
    services.post_document(record=document, user=clerk)
    assert (on_hand(product, main), on_hand(product, scrap)) == (1, 2)
    assert StockBalance.objects.get(product=product, warehouse=scrap).value == Decimal(10)
