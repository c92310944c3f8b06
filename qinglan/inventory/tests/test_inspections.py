"""Quality inspection: a receipt into a QC hold makes one inspection per line; posting the
result moves passed goods on and failed ones back or to scrap; incomplete or impossible
results are refused with nothing moved."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from qinglan.core import testing
from qinglan.inventory import inspections, services
from qinglan.inventory.choices import DocumentKind, InspectionStatus, WarehouseKind
from qinglan.inventory.models import Inspection, StockBalance, StockEntry, Warehouse
from qinglan.products.models import Product

from .factories import make_product, make_warehouse, stock_clerk

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def on_hand(product, warehouse):
    return sum(StockBalance.objects.filter(product=product, warehouse=warehouse).values_list("on_hand", flat=True), Decimal(0))


@pytest.fixture
def received():
    clerk = stock_clerk()
    hold = make_warehouse("QC1", "進貨待檢區", kind=WarehouseKind.QC)
    main = make_warehouse("MAIN", "主倉")
    scrap = make_warehouse("SCR", "報廢倉", kind=WarehouseKind.SCRAP)
    product = make_product("Q-1", "鋰電池")
    receipt = services.create_document(kind=DocumentKind.RECEIPT, warehouse=hold, to_warehouse=main, user=clerk,
                                       lines=[{"product": product, "quantity": Decimal(100), "unit_cost": Decimal(50), "batch_code": "B-7"}])
    services.post_document(record=receipt, user=clerk)
    return clerk, hold, main, scrap, product, receipt


def test_a_receipt_into_qc_waits_for_inspection_and_the_result_moves_the_goods(received):
    clerk, hold, main, scrap, product, receipt = received
    inspection = Inspection.objects.get(receipt=receipt)
    assert (inspection.quantity, inspection.target_warehouse, inspection.batch.code) == (Decimal(100), main, "B-7")
    assert on_hand(product, hold) == 100 and on_hand(product, main) == 0
    assert inspections.inspection_lock(inspection, "delete")  # cancelled, never deleted: the goods are in the hold
    Inspection.objects.filter(pk=inspection.pk).update(sample_size=Decimal(10), passed_quantity=Decimal(96), failed_quantity=Decimal(4), failed_goods="scrap")
    inspections.post_inspection(record=inspection, user=clerk)
    assert (on_hand(product, hold), on_hand(product, main), on_hand(product, scrap)) == (0, 96, 4)
    assert StockBalance.objects.get(product=product, warehouse=main).value == Decimal(4800)
    assert Inspection.objects.get(pk=inspection.pk).status == InspectionStatus.POSTED
    with pytest.raises(ValidationError):
        inspections.post_inspection(record=inspection, user=clerk)


def test_an_incomplete_result_is_refused_and_nothing_moves(received):
    clerk, hold, main, scrap, product, receipt = received
    inspection = Inspection.objects.get(receipt=receipt)
    Inspection.objects.filter(pk=inspection.pk).update(passed_quantity=Decimal(90))
    entries = StockEntry.objects.count()
    with pytest.raises(ValidationError, match="passed and how much failed"):
        inspections.post_inspection(record=inspection, user=clerk)
    assert StockEntry.objects.count() == entries
    assert Inspection.objects.get(pk=inspection.pk).status == InspectionStatus.OPEN
    inspection.sample_size = Decimal(200)
    with pytest.raises(ValidationError) as refused:
        inspection.full_clean()
    assert "sample_size" in refused.value.message_dict


def test_failed_goods_go_back_to_the_supplier(received):
    clerk, hold, main, scrap, product, receipt = received
    inspection = Inspection.objects.get(receipt=receipt)
    Inspection.objects.filter(pk=inspection.pk).update(passed_quantity=Decimal(0), failed_quantity=Decimal(100))
    inspections.post_inspection(record=inspection, user=clerk)
    assert (on_hand(product, hold), on_hand(product, main), on_hand(product, scrap)) == (0, 0, 0)


def test_only_a_receipt_into_qc_names_a_next_warehouse():
    clerk = stock_clerk()
    main, other = make_warehouse("A1"), make_warehouse("A2")
    product = make_product("Q-2", "電線")
    with pytest.raises(ValidationError) as refused:
        services.create_document(kind=DocumentKind.RECEIPT, warehouse=main, to_warehouse=other, user=clerk,
                                 lines=[{"product": product, "quantity": Decimal(1)}])
    assert "to_warehouse" in refused.value.message_dict


class InspectionTests(testing.ResourceTestCase):
    model = Inspection
    bulk_edit_data = {"failed_goods": "scrap"}

    def setUp(self):
        super().setUp()
        testing.grant(self.member, Warehouse, ["view"])
        testing.grant(self.member, Product, ["view"])
        self.hold = make_warehouse("QCH", "待檢區", owner=self.member, kind=WarehouseKind.QC)
        self.main = make_warehouse("QMAIN", "成品倉", owner=self.member)
        self.product = make_product("Q-3", "馬達")
        self.form_data = {"warehouse": str(self.hold.pk), "target_warehouse": str(self.main.pk), "product": str(self.product.pk),
                          "quantity": "20", "failed_goods": "return"}
        self.update_data = {**self.form_data, "sample_size": "5", "passed_quantity": "18", "failed_quantity": "2"}

    def test_inspection_in_a_warehouse_that_is_not_qc_is_refused(self):
        self.grant("view", "add")
        response = self.post_form(self.resource.url("add"), {**self.form_data, "warehouse": str(self.main.pk)})
        self.assertEqual(response.status_code, 400)
        self.assertFalse(Inspection.objects.exists())
