"""Conformance tests of the sales resources (ResourceTestCase drives UI and API)."""

from qinglan.core import testing
from qinglan.customers.models import Customer
from qinglan.customers.tests.factories import make_customer
from qinglan.sales.models import Competitor, Invoice, LossReason, Opportunity, OpportunityStage, PaymentTerm, Receipt, SalesOrder, TaxRate

from .factories import stage


class OpportunityTests(testing.ResourceTestCase):
    model = Opportunity
    bulk_edit_data = {"expected_close_date": "2027-03-31"}

    def setUp(self):
        super().setUp()
        testing.grant(self.member, Customer, ["view"])  # to pick the customer
        self.customer = make_customer(self.member, "商機測試客戶")
        first = stage()
        self.form_data = {"name": "年度設備採購", "customer": str(self.customer.pk), "stage": str(first.pk), "amount": "250000", "expected_close_date": "2027-01-31"}
        self.update_data = {**self.form_data, "amount": "300000"}
        self.csv_data = f"name,customer,stage,amount\n網路升級,{self.customer.code},{first.name},120000\n門市系統,{self.customer.code},{first.name},80000\n"

    def test_new_opportunity_is_numbered_weighted_and_in_the_owners_department(self):
        record = self.create_record()
        self.assertRegex(record.code, r"^OP\d{4}-\d{5}$")
        self.assertEqual(record.weighted_amount, record.amount * record.stage.probability / 100)
        self.assertEqual(record.department_id, self.member.department_id)
        self.assertEqual(record.status, "open")


class OpportunityStageTests(testing.ResourceTestCase):
    model = OpportunityStage
    form_data = {"name": "技術評估", "order": "25", "probability": "30", "kind": "open", "active": "on"}
    update_data = {**form_data, "probability": "35"}
    csv_data = "name,order,probability,kind\n簽約中,70,90,open\n試用中,35,40,open\n"
    bulk_edit_data = {"probability": "20"}


class LossReasonTests(testing.ResourceTestCase):
    model = LossReason
    form_data = {"name": "交期太長"}
    update_data = {"name": "交期太長", "description": "客戶需要兩週內到貨"}
    csv_data = "name\n付款條件不符\n服務據點不足\n"
    bulk_edit_data = {"description": "整理中"}


class CompetitorTests(testing.ResourceTestCase):
    model = Competitor
    form_data = {"name": "宏觀系統", "website": "https://hongguan.example"}
    update_data = {"name": "宏觀系統", "strengths": "價格低"}
    csv_data = "name,website\n全球資訊,https://globalinfo.example\n東方科技,\n"
    bulk_edit_data = {"description": "主要對手"}


class SalesOrderTests(testing.ResourceTestCase):
    model = SalesOrder
    bulk_edit_data = {"notes": "月底前出貨"}

    def setUp(self):
        super().setUp()
        testing.grant(self.member, Customer, ["view"])  # to pick the customer
        self.customer = make_customer(self.member, "訂單測試客戶")
        self.form_data = {"customer": str(self.customer.pk), "order_date": "2026-11-20", "delivery_date": "2026-12-05"}
        self.update_data = {**self.form_data, "notes": "請先電話聯絡"}
        self.csv_data = f"customer,order_date,notes\n{self.customer.code},2026-11-21,第一張\n{self.customer.code},2026-11-22,第二張\n"

    def test_new_order_is_a_numbered_draft_in_the_owners_department(self):
        record = self.create_record()
        self.assertRegex(record.code, r"^SO-\d{4}-\d{5}$")
        self.assertEqual((record.status, record.version, record.department_id), ("draft", 1, self.member.department_id))


class TaxRateTests(testing.ResourceTestCase):
    model = TaxRate
    form_data = {"name": "商品稅 8%", "rate": "8", "active": "on"}
    update_data = {**form_data, "inclusive": "on"}
    csv_data = "name,rate\n零稅率,0\n加值稅 13%,13\n"
    bulk_edit_data = {"rate": "6"}


class PaymentTermTests(testing.ResourceTestCase):
    model = PaymentTerm
    form_data = {"name": "月結 45 天", "days": "45"}
    update_data = {"name": "月結 45 天", "days": "45", "description": "次月底付款"}
    csv_data = "name,days\n預付,0\n月結 90 天,90\n"
    bulk_edit_data = {"days": "15"}


class InvoiceTests(testing.ResourceTestCase):
    model = Invoice
    bulk_edit_data = {"notes": "請於月底前付款"}

    def setUp(self):
        super().setUp()
        testing.grant(self.member, Customer, ["view"])
        self.customer = make_customer(self.member, "發票測試客戶")
        self.form_data = {"customer": str(self.customer.pk), "invoice_date": "2026-11-20"}
        self.update_data = {**self.form_data, "notes": "分期付款"}
        self.csv_data = f"customer,invoice_date\n{self.customer.code},2026-11-21\n{self.customer.code},2026-11-22\n"


class ReceiptTests(testing.ResourceTestCase):
    model = Receipt
    bulk_edit_data = {"method": "cash"}

    def setUp(self):
        super().setUp()
        testing.grant(self.member, Customer, ["view"])
        self.customer = make_customer(self.member, "收款測試客戶")
        self.form_data = {"customer": str(self.customer.pk), "received_on": "2026-11-20", "method": "bank", "amount": "5000"}
        self.update_data = {**self.form_data, "reference": "TX-778899"}
        self.csv_data = f"customer,received_on,method,amount\n{self.customer.code},2026-11-21,bank,1200\n{self.customer.code},2026-11-22,cash,300\n"
