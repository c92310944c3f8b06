"""Conformance tests of the inventory resources (ResourceTestCase drives UI and API), and the
document pages: a receipt entered on its form with lines, posted and cancelled by its buttons,
in Chinese; bad lines refused with the reason and nothing written."""

from decimal import Decimal

from django.test import TestCase

from qinglan.core import testing
from qinglan.core.registry import registry
from qinglan.inventory.models import Batch, PurchaseReceipt, ReorderRule, StockBalance, StockEntry, StockTransfer, Warehouse
from qinglan.products.models import Product, Unit
from qinglan.products.tests.factories import make_unit

from .factories import make_product, make_warehouse


class WarehouseTests(testing.ResourceTestCase):
    model = Warehouse
    form_data = {"code": "WH-N", "name": "北區倉", "kind": "physical", "active": "on"}
    update_data = {**form_data, "name": "北區物流中心"}
    csv_data = "code,name,kind\nWH-A,甲倉,physical\nWH-T,在途倉,transit\n"
    bulk_edit_data = {"address": "桃園市龜山區"}

    def test_a_manager_sees_the_warehouse_as_their_own(self):
        self.grant("view", scope=testing.Scope.OWN)
        other = make_warehouse("WH-M", "委外倉", owner=testing.make_member("boss"))
        self.assertEqual(self.client.get(self.resource.url("detail", other)).status_code, 404)
        other.managers.add(self.member)
        self.assertEqual(self.client.get(self.resource.url("detail", other)).status_code, 200)


class BatchTests(testing.ResourceTestCase):
    model = Batch
    bulk_edit_data = {"notes": "冷藏"}

    def setUp(self):
        super().setUp()
        testing.grant(self.member, Product, ["view"])
        self.product = make_product("B-1", "鮮乳")
        self.form_data = {"product": str(self.product.pk), "code": "L2026", "production_date": "2026-11-01", "expiry_date": "2026-12-01"}
        self.update_data = {**self.form_data, "notes": "冷藏"}
        self.csv_data = "product,code,expiry_date\nB-1,L1,2026-12-10\nB-1,L2,2026-12-20\n"
        self.second_form_data = {**self.form_data, "code": "L2027"}

    def test_a_batch_cannot_expire_before_it_is_made(self):
        self.grant("view", "add")
        response = self.post_form(self.resource.url("add"), {**self.form_data, "expiry_date": "2026-10-01"})
        self.assertEqual(response.status_code, 400)
        self.assertFalse(Batch.objects.exists())


class ReorderRuleTests(testing.ResourceTestCase):
    model = ReorderRule
    bulk_edit_data = {"reorder_quantity": "50"}

    def setUp(self):
        super().setUp()
        testing.grant(self.member, Product, ["view"])
        testing.grant(self.member, Warehouse, ["view"])
        self.product = make_product("R-1", "影印紙")
        self.other = make_product("R-2", "碳粉")
        self.warehouse = make_warehouse("WR", "文具倉", owner=self.member)
        self.form_data = {"product": str(self.product.pk), "warehouse": str(self.warehouse.pk), "minimum": "20", "reorder_quantity": "100"}
        self.second_form_data = {**self.form_data, "product": str(self.other.pk)}
        self.update_data = {**self.form_data, "minimum": "30"}
        self.csv_data = "product,warehouse,minimum,reorder_quantity\nR-1,WR,10,40\nR-2,WR,5,10\n"


class PurchaseReceiptTests(testing.ResourceTestCase):
    model = PurchaseReceipt
    bulk_edit_data = {"reference": "送貨單 A-1"}

    def setUp(self):
        super().setUp()
        testing.grant(self.member, Warehouse, ["view"])
        testing.grant(self.member, Product, ["view"])
        from qinglan.customers.models import Customer
        from qinglan.customers.tests.factories import make_customer

        testing.grant(self.member, Customer, ["view"])
        self.warehouse = make_warehouse("WP", "進貨倉", owner=self.member)
        self.supplier = make_customer(self.member, "供應商甲", is_supplier=True)
        self.product = make_product("PR-1", "筆電", unit=make_unit("pcs", "個"))
        self.form_data = {"partner": str(self.supplier.pk), "warehouse": str(self.warehouse.pk), "document_date": "2026-11-20"}
        self.update_data = {**self.form_data, "reference": "DN-778"}

    def lines(self, *rows):
        data = {"lines-TOTAL_FORMS": str(len(rows)), "lines-INITIAL_FORMS": "0"}
        for index, row in enumerate(rows):
            data.update({f"lines-{index}-{name}": value for name, value in row.items()})
        return data

    def test_receipt_entered_posted_and_cancelled_through_the_pages(self):
        self.grant("view", "add", "change")
        self.client.cookies.load({"django_language": "zh-hant"})
        data = {**self.form_data, **self.lines({"product": str(self.product.pk), "quantity": "5", "unit_cost": "25000", "batch_code": "SN-1"})}
        response = self.client.post(self.resource.url("add"), data, HTTP_ACCEPT_LANGUAGE="zh-hant")
        self.assertEqual(response.status_code, 302, response.content[:2000])
        receipt = PurchaseReceipt.objects.get()
        self.assertTrue(receipt.code.startswith("GR-"))
        self.assertEqual(receipt.lines.get().base_quantity, 5)
        page = self.client.get(self.resource.url("detail", receipt), HTTP_ACCEPT_LANGUAGE="zh-hant")
        self.assertContains(page, "過帳")
        self.client.post(self.resource.url("action", receipt, name="post"))
        receipt.refresh_from_db()
        self.assertEqual(receipt.status, "posted")
        self.assertEqual(StockBalance.objects.get(product=self.product).value, Decimal(125000))
        self.assertEqual(self.client.get(self.resource.url("edit", receipt)).status_code, 302)  # locked
        self.client.post(self.resource.url("action", receipt, name="cancel"))
        receipt.refresh_from_db()
        self.assertEqual(receipt.status, "cancelled")
        self.assertEqual(StockBalance.objects.get(product=self.product).on_hand, 0)
        self.assertEqual(StockEntry.objects.filter(document=receipt).count(), 2)

    def test_a_line_in_a_unit_without_conversion_is_refused_in_chinese(self):
        self.grant("view", "add")
        kg = Unit.objects.create(code="kg", name="公斤")
        data = {**self.form_data, **self.lines({"product": str(self.product.pk), "quantity": "5", "unit": str(kg.pk)})}
        response = self.client.post(self.resource.url("add"), data, HTTP_ACCEPT_LANGUAGE="zh-hant")
        self.assertEqual(response.status_code, 400)
        self.assertContains(response, "公斤", status_code=400)
        self.assertFalse(PurchaseReceipt.objects.exists())

    def test_posting_to_a_frozen_warehouse_is_refused_with_the_reason(self):
        self.grant("view", "add", "change")
        receipt = self.create_record()
        receipt.lines.create(product=self.product, quantity=Decimal(1), base_quantity=Decimal(1))
        Warehouse.objects.filter(pk=self.warehouse.pk).update(frozen=True)
        response = self.client.post(self.resource.url("action", receipt, name="post"), follow=True, HTTP_ACCEPT_LANGUAGE="zh-hant")
        self.assertContains(response, "盤點")
        self.assertFalse(StockEntry.objects.exists())


class TransferPageTests(TestCase):
    def test_transfer_buttons_follow_its_two_steps(self):
        admin = testing.make_member("調撥員", superuser=True)
        self.client.force_login(admin)
        source, target = make_warehouse("T1", "甲倉"), make_warehouse("T2", "乙倉")
        make_warehouse("TT", "在途倉", kind="transit")
        product = make_product("TP", "椅子")
        from .factories import receive

        receive(source, product, 4, user=admin)
        from qinglan.inventory import services
        from qinglan.inventory.choices import DocumentKind

        transfer = services.create_document(kind=DocumentKind.TRANSFER, warehouse=source, to_warehouse=target, user=admin,
                                            lines=[{"product": product, "quantity": Decimal(3)}])
        resource = registry.get(StockTransfer)
        page = self.client.get(resource.url("detail", transfer)).content.decode()
        self.assertIn("/do/dispatch/", page)
        self.assertNotIn("/do/receive/", page)
        self.client.post(resource.url("action", transfer, name="dispatch"))
        self.assertIn("/do/receive/", self.client.get(resource.url("detail", transfer)).content.decode())
        self.client.post(resource.url("action", transfer, name="receive"))
        transfer.refresh_from_db()
        self.assertEqual(transfer.status, "posted")
        self.assertEqual(StockBalance.objects.get(product=product, warehouse=target).on_hand, 3)
