"""Accounts payable: supplier invoices against what a purchase order brought in (the three-way
check refuses invoicing beyond received-not-invoiced, with nothing written), issued and
cancelled; payments to suppliers applied in part, over-payment kept as an advance; the
payables aging by supplier; the purchase order shows what is invoiced and paid."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone, translation

from qinglan.core import testing
from qinglan.core.permissions import Scope
from qinglan.core.testing import grant, make_member
from qinglan.customers.models import Customer
from qinglan.customers.tests.factories import make_customer
from qinglan.inventory import services as inventory
from qinglan.inventory.tests.factories import make_product, make_warehouse, stock_clerk
from qinglan.purchasing import payables, services
from qinglan.purchasing.choices import SupplierInvoiceStatus
from qinglan.purchasing.models import PurchaseOrder, SupplierInvoice, SupplierInvoiceLine, SupplierPayment, SupplierPaymentAllocation

from .factories import received_order

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def order():
    clerk = stock_clerk()
    supplier = make_customer(clerk, "鋼材供應商", is_supplier=True)
    steel, wire = make_product("AP-S", "鋼板"), make_product("AP-W", "鋼線")
    # 100 steel ordered, 60 received; 50 wire ordered and received.
    return received_order(clerk, supplier=supplier, warehouse=make_warehouse("APW", "原料倉"), lines=[(steel, 100, 10), (wire, 50, 2)], receive=[60, 50])


def test_an_invoice_of_the_received_goods_is_issued_and_the_order_shows_it(order):
    clerk = stock_clerk()
    invoice = payables.invoice_for_order(record=order, user=clerk)
    assert [(line.quantity, line.unit_price, line.amount) for line in invoice.lines.order_by("pk")] == [
        (Decimal(60), Decimal(10), Decimal(600)), (Decimal(50), Decimal(2), Decimal(100)),
    ]
    invoice.refresh_from_db()
    assert (invoice.supplier_id, invoice.total, invoice.due_date) == (order.supplier_id, Decimal(700), invoice.invoice_date + datetime.timedelta(days=30))
    payables.issue_invoice(record=invoice, user=clerk)
    order.refresh_from_db()
    assert order.invoiced_amount == Decimal(700)
    assert [line.invoiced_quantity for line in order.lines.order_by("pk")] == [Decimal(60), Decimal(50)]
    with pytest.raises(ValidationError, match="Nothing received"):
        payables.invoice_for_order(record=order, user=clerk)
    page = _client(clerk).get(f"/purchasing/purchaseorder/{order.pk}/").content.decode()
    assert f'data-order-invoice="{invoice.pk}"' in page


def _client(member):
    client = Client()
    client.force_login(member)
    return client


def test_the_three_way_check_refuses_invoicing_beyond_what_was_received(order):
    clerk = stock_clerk()
    invoice = payables.invoice_for_order(record=order, user=clerk)
    steel = invoice.lines.order_by("pk").first()
    SupplierInvoiceLine.objects.filter(pk=steel.pk).update(quantity=Decimal(80))
    with pytest.raises(ValidationError) as refused:
        payables.issue_invoice(record=invoice, user=clerk)
    assert "80 would be invoiced, but of the 100 ordered 60 is received and 0 invoiced already, so at most 60 can be invoiced" in str(refused.value)
    invoice.refresh_from_db()
    order.refresh_from_db()
    assert invoice.status == SupplierInvoiceStatus.DRAFT and order.invoiced_amount == 0
    # Two invoices together may not go beyond it either.
    SupplierInvoiceLine.objects.filter(pk=steel.pk).update(quantity=Decimal(40))
    payables.issue_invoice(record=invoice, user=clerk)
    second = SupplierInvoice(order=order, owner=clerk)
    payables.prepare_invoice(invoice=second, created=True)
    second.save()
    SupplierInvoiceLine.objects.create(invoice=second, order_line=steel.order_line, quantity=Decimal(30))
    payables.invoice_saved(invoice=second)
    with pytest.raises(ValidationError, match="at most 20 can be invoiced"):
        payables.issue_invoice(record=second, user=clerk)
    # A cancelled invoice gives its quantities back.
    payables.cancel_invoice(record=invoice, user=clerk)
    payables.issue_invoice(record=second, user=clerk)
    assert order.lines.order_by("pk").first().invoiced_quantity == Decimal(30)


def test_goods_invoiced_are_not_taken_back_by_cancelling_their_receipt(order):
    clerk = stock_clerk()
    payables.issue_invoice(record=payables.invoice_for_order(record=order, user=clerk), user=clerk)
    receipt = order.lines.first().receipt_lines.first().document
    with pytest.raises(ValidationError, match="invoiced by the supplier"):
        inventory.cancel_document(record=receipt, user=clerk)
    assert order.lines.order_by("pk").first().received_quantity == 60


def test_payments_in_part_and_an_advance_then_the_aging(order):
    clerk = stock_clerk()
    invoice = payables.issue_invoice(record=payables.invoice_for_order(record=order, user=clerk), user=clerk)
    payment = SupplierPayment(supplier=order.supplier, amount=Decimal(300), owner=clerk)
    payables.prepare_payment(payment=payment, created=True)
    payment.save()
    SupplierPaymentAllocation.objects.create(payment=payment, invoice=invoice, amount=Decimal(300))
    payables.payment_saved(payment=payment)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.paid_amount, invoice.balance_base) == (SupplierInvoiceStatus.ISSUED, Decimal(300), Decimal(400))
    # Over-paying: 500 more, 400 goes against the invoice, 100 stays an advance.
    more = SupplierPayment(supplier=order.supplier, amount=Decimal(500), owner=clerk)
    payables.prepare_payment(payment=more, created=True)
    more.save()
    SupplierPaymentAllocation.objects.create(payment=more, invoice=invoice, amount=Decimal(400))
    payables.payment_saved(payment=more)
    invoice.refresh_from_db()
    more.refresh_from_db()
    order.refresh_from_db()
    assert (invoice.status, invoice.balance_base, more.advance, order.paid_amount) == (SupplierInvoiceStatus.PAID, Decimal(0), Decimal(100), Decimal(700))
    assert list(payables.supplier_advance(order.supplier_id).values()) == [Decimal(100)]
    # Paying beyond the invoice is refused.
    SupplierPaymentAllocation.objects.filter(payment=more).update(amount=Decimal(450))
    with pytest.raises(ValidationError, match="More than the 700.00"):
        payables.payment_saved(payment=more)
    # A paid invoice is not cancelled.
    with pytest.raises(ValidationError, match="Payments are applied"):
        payables.cancel_invoice(record=invoice, user=clerk)


def test_the_payables_aging_by_supplier(order):
    clerk = stock_clerk()
    invoice = payables.invoice_for_order(record=order, user=clerk)
    today = timezone.localdate()
    SupplierInvoice.objects.filter(pk=invoice.pk).update(invoice_date=today - datetime.timedelta(days=80), due_date=today - datetime.timedelta(days=45))
    payables.issue_invoice(record=invoice, user=clerk)
    other = received_order(clerk, supplier=make_customer(clerk, "包材供應商", is_supplier=True), warehouse=make_warehouse("APX"),
                           lines=[(make_product("AP-B", "紙箱"), 10, 5)])
    payables.issue_invoice(record=payables.invoice_for_order(record=other, user=clerk), user=clerk)
    page = _client(clerk).get("/purchasing/payables/").content.decode()
    assert f'data-aging-row="{order.supplier_id}"' in page and f'data-aging-row="{other.supplier_id}"' in page
    response = _client(clerk).get("/purchasing/payables/")
    rows = {row["pk"]: row for row in response.context["rows"]}
    assert rows[order.supplier_id]["buckets"] == [0, 0, Decimal(700), 0, 0]  # 45 days past due
    assert rows[other.supplier_id]["buckets"] == [Decimal(50), 0, 0, 0, 0]
    # A member without the grant on supplier invoices does not see the page.
    assert _client(make_member("outsider")).get("/purchasing/payables/").status_code == 403


class SupplierInvoiceTests(testing.ResourceTestCase):
    model = SupplierInvoice
    bulk_edit_data = {"notes": "已對帳"}

    def setUp(self):
        super().setUp()
        testing.grant(self.member, PurchaseOrder, ["view"])
        clerk = stock_clerk()
        self.order = received_order(clerk, supplier=make_customer(clerk, "發票供應商", is_supplier=True), warehouse=make_warehouse("SIW"),
                                    lines=[(make_product("SI-1", "螺絲"), 10, 3)])
        self.form_data = {"order": str(self.order.pk), "supplier_reference": "AB-12345678", "invoice_date": "2026-11-27"}
        self.update_data = {**self.form_data, "notes": "已對帳"}
        self.csv_data = f"order,supplier_reference,invoice_date\n{self.order.code},AB-1,2026-11-27\n{self.order.code},AB-2,2026-11-28\n"


class SupplierPaymentTests(testing.ResourceTestCase):
    model = SupplierPayment
    bulk_edit_data = {"notes": "已匯款"}

    def setUp(self):
        super().setUp()
        testing.grant(self.member, Customer, ["view"])
        self.supplier = make_customer(self.member, "付款供應商", is_supplier=True)
        self.form_data = {"supplier": str(self.supplier.pk), "paid_on": "2026-11-27", "method": "bank", "amount": "1000"}
        self.update_data = {**self.form_data, "notes": "已匯款"}
        self.csv_data = f"supplier,paid_on,method,amount\n{self.supplier.code},2026-11-27,bank,1000\n{self.supplier.code},2026-11-28,cash,50\n"


def test_paying_a_customer_who_is_no_supplier_is_refused(db):
    member = make_member("payer")
    grant(member, SupplierPayment, ["view", "add"], scope=Scope.ALL)
    grant(member, Customer, ["view"], scope=Scope.ALL)
    buyer = make_customer(member, "只是客戶")
    response = _client(member).post("/purchasing/supplierpayment/add/", {
        "supplier": str(buyer.pk), "paid_on": "2026-11-27", "method": "bank", "amount": "10", "allocations-TOTAL_FORMS": "0", "allocations-INITIAL_FORMS": "0",
    })
    assert response.status_code == 400 and not SupplierPayment.objects.exists()
