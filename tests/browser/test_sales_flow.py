"""A salesperson's whole way in Chinese, in Chromium, through the pages only: a new customer
(a lead), an opportunity with a product line, a quote made from it and submitted, the quote
converted into an order, the order submitted, invoiced and the invoice issued, the money
received against it — and the customer's page and the dashboard then show what happened."""

from decimal import Decimal

import pytest

from qinglan.core.permissions import Scope
from qinglan.core.testing import PASSWORD, grant, make_department, make_member
from qinglan.customers.models import Customer
from qinglan.org.models import CompanyProfile, Currency
from qinglan.products.models import Product
from qinglan.products.tests.factories import make_category, make_product
from qinglan.sales import services
from qinglan.sales.choices import InvoiceStatus, OrderStatus, QuoteStatus
from qinglan.sales.models import Invoice, Opportunity, OpportunityStage, Quote, Receipt, SalesOrder

from .conftest import log_in

pytestmark = pytest.mark.browser


def pick(page, field_id, text):
    """Choose `text` in a reference field as a member does: type into its search box, click the match."""
    select = page.locator(f"#{field_id}")
    if select.get_attribute("data-autocomplete") is None:
        select.select_option(label=text)
        return
    page.locator(f"#{field_id}_search").fill(text[:4])
    page.locator(f"#{field_id}_listbox button.dropdown-item", has_text=text).first.click()


def act(page, label):
    """Click one of the record's action buttons (confirmations accepted, as the member would)."""
    page.evaluate("window.confirm = () => true")
    with page.expect_navigation():
        page.locator("form button[type=submit]", has_text=label).first.click()


def save(page):
    with page.expect_navigation():
        page.locator("form button[type=submit]", has_text="儲存").first.click()


def test_lead_to_receipt_in_chinese(open_page, transactional_db):
    twd = Currency.objects.create(code="TWD", name="新臺幣", decimal_places=0)
    CompanyProfile.objects.create(name="青藍貿易", base_currency=twd)
    services.ensure_defaults()
    seller = make_member("seller", department=make_department("業務一部"), display_name="王大同")
    grant(seller, Customer, ["view", "add", "change"], scope=Scope.OWN)
    for model in (Opportunity, Quote, SalesOrder, Invoice, Receipt):
        grant(seller, model, ["view", "add", "change"], scope=Scope.OWN)
    grant(seller, Product, ["view"], scope=Scope.ALL)
    make_product("NB-100", "青藍筆電", make_category("電腦"), list_price=Decimal("30000"))
    stage = OpportunityStage.objects.filter(kind="open", active=True).order_by("order").first()

    page = log_in(open_page(locale="zh-TW"), "seller", PASSWORD)
    # A new customer (a lead: a prospect).
    page.goto("/customers/customer/add/")
    page.fill("#id_name", "青藍流程測試有限公司")
    save(page)
    customer = Customer.objects.get(name="青藍流程測試有限公司")
    assert customer.owner == seller and customer.status == "prospect"
    # An opportunity with a product line.
    page.goto(f"/sales/opportunity/add/?customer={customer.pk}")
    page.fill("#id_name", "年度筆電採購")
    pick(page, "id_stage", stage.name)
    page.locator('[data-add-row="lines"]').click()
    pick(page, "id_lines-0-product", "青藍筆電")
    page.fill("#id_lines-0-quantity", "10")
    page.fill("#id_lines-0-unit_price", "30000")
    save(page)
    opportunity = Opportunity.objects.get(name="年度筆電採購")
    assert opportunity.amount == Decimal("300000.00")
    # Quote → submitted (no discount: approved at once) → converted into an order.
    act(page, "建立報價單")
    quote = Quote.objects.get(opportunity=opportunity)
    assert page.url.endswith(quote.get_absolute_url())
    act(page, "送出")
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.APPROVED
    act(page, "轉為訂單")
    order = SalesOrder.objects.get()
    assert page.url.endswith(order.get_absolute_url()) and order.lines.get().quantity == 10
    act(page, "送出")
    order.refresh_from_db()
    assert order.status == OrderStatus.APPROVED, page.locator(".alert").all_inner_texts()
    # Invoice → issued → paid by a bank transfer entered on the receipt form.
    act(page, "依訂購量開票")
    invoice = Invoice.objects.get()
    act(page, "開立")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.ISSUED and invoice.total == Decimal("315000.00")  # 5 % tax on 300,000
    page.goto(f"/sales/receipt/add/?customer={customer.pk}")
    page.fill("#id_amount", "315000")
    pick(page, "id_allocations-0-invoice", invoice.code)
    page.fill("#id_allocations-0-amount", "315000")
    save(page)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    # What the customer's page and the dashboard now say.
    page.goto(customer.get_absolute_url())
    body = page.locator("main").inner_text()
    assert "年度筆電採購" in body and order.code in body
    page.goto("/sales/dashboard/")
    assert page.locator('[data-kpi="invoiced"]').inner_text() == "300,000"
    assert page.locator('[data-kpi="received"]').inner_text() == "315,000"
    assert page.watch.console_errors == [] and page.watch.page_errors == []
