"""Fulfilment per order line and credit notes, through the services the warehouse calls and
the pages members use: deliveries and returns move the order's quantities and status and are
refused beyond what was ordered or delivered; delivered quantities are invoiced; credit notes
take invoiced amounts back (never more than invoiced), lower the open balance, the
receivables and the customer's revenue; the variance report shows what differs."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from qinglan.customers.tests.factories import make_customer
from qinglan.sales import services
from qinglan.sales.choices import InvoiceKind, InvoiceStatus, OrderStatus
from qinglan.sales.models import Invoice, SalesOrderLine

from .test_invoices import approved_order, client_for, receipt_data, team  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def order_lines(order):
    return list(order.lines.order_by("id"))


def test_deliveries_and_returns_follow_the_order_line_and_refuse_too_much(team):
    seller, _colleague = team
    order = approved_order(seller, lines=[(Decimal("10"), Decimal("100")), (Decimal("4"), Decimal("50"))])
    first, second = order_lines(order)
    services.record_fulfilment(line_id=first.pk, delivered=Decimal("6"), user=seller)
    order.refresh_from_db()
    first.refresh_from_db()
    assert (order.status, first.delivered_quantity) == (OrderStatus.FULFILLING, Decimal("6"))
    # Five more than the four still open: refused, nothing changes.
    with pytest.raises(ValidationError, match="但只訂購 10"):
        services.record_fulfilment(line_id=first.pk, delivered=Decimal("5"), user=seller)
    with pytest.raises(ValidationError, match="但只出貨 6"):
        services.record_fulfilment(line_id=first.pk, returned=Decimal("7"), user=seller)
    with pytest.raises(ValidationError, match="沖銷數量超過"):
        services.record_fulfilment(line_id=second.pk, delivered=Decimal("-1"), user=seller)
    first.refresh_from_db()
    assert (first.delivered_quantity, first.returned_quantity) == (Decimal("6"), Decimal("0"))
    services.record_fulfilment(line_id=first.pk, returned=Decimal("2"), user=seller)
    services.record_fulfilment(line_id=first.pk, delivered=Decimal("-1"), user=seller)  # a reversed delivery
    first.refresh_from_db()
    assert (first.delivered_quantity, first.returned_quantity) == (Decimal("5"), Decimal("2"))


def test_a_draft_order_is_not_delivered(team):
    seller, _colleague = team
    from .factories import make_order

    order = make_order(seller)
    line = order.lines.get()
    with pytest.raises(ValidationError, match="只有已核准或執行中的訂單才能出貨"):
        services.record_fulfilment(line_id=line.pk, delivered=Decimal("1"), user=seller)
    line.refresh_from_db()
    assert line.delivered_quantity == 0


def test_delivered_quantities_are_invoiced_and_the_order_completes_when_all_is_done(team):
    seller, _colleague = team
    client = client_for(seller)
    order = approved_order(seller, lines=[(Decimal("10"), Decimal("100"))])
    (line,) = order_lines(order)
    services.record_fulfilment(line_id=line.pk, delivered=Decimal("4"), user=seller)
    response = client.post(f"/sales/salesorder/{order.pk}/do/invoice_delivered/")
    invoice = Invoice.objects.get(order=order)
    assert response.url == f"/sales/invoice/{invoice.pk}/"
    assert [(row.quantity, row.line_total) for row in invoice.lines.all()] == [(Decimal("4"), Decimal("420.00"))]
    services.issue_invoice(record=invoice, user=seller)
    # Nothing more delivered: nothing more to invoice; the page says so and writes nothing.
    response = client.post(f"/sales/salesorder/{order.pk}/do/invoice_delivered/", follow=True)
    assert "此訂單已出貨的部分都已開票。" in response.content.decode()
    assert Invoice.objects.filter(order=order).count() == 1
    services.record_fulfilment(line_id=line.pk, delivered=Decimal("6"), user=seller)
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLING  # delivered in full, invoiced only in part
    rest = services.invoice_from_order(record=order, user=seller, delivered=True)
    services.issue_invoice(record=rest, user=seller)
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    # A return reopens it.
    services.record_fulfilment(line_id=line.pk, returned=Decimal("1"), user=seller)
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLING


def test_credit_notes_take_invoiced_amounts_back_and_lower_what_is_owed(team):
    seller, _colleague = team
    client = client_for(seller)
    customer = make_customer(seller, "青藍折讓客戶")
    order = approved_order(seller, customer, lines=[(Decimal("10"), Decimal("100"))])  # 1,000 + 5% tax = 1,050
    invoice = services.issue_invoice(record=services.invoice_from_order(record=order, user=seller), user=seller)
    assert client.post("/sales/receipt/add/", receipt_data(customer, 500, [(invoice, 500)])).status_code == 302
    # The member makes a credit note from the invoice and lowers it to three pieces.
    response = client.post(f"/sales/invoice/{invoice.pk}/do/credit/")
    note = Invoice.objects.get(kind=InvoiceKind.CREDIT_NOTE)
    assert response.url == f"/sales/invoice/{note.pk}/"
    assert (note.credited_invoice, note.code.startswith("CN-"), note.total) == (invoice, True, Decimal("1050.00"))
    line = note.lines.get()
    form = {
        "customer": str(customer.pk), "order": str(order.pk), "invoice_date": str(note.invoice_date), "due_date": str(note.due_date), "currency": str(note.currency_id),
        "owner": str(seller.pk), "notes": "退回三件", "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "1",
        "lines-0-id": str(line.pk), "lines-0-order_line": str(line.order_line_id), "lines-0-product": "", "lines-0-description": line.description,
        "lines-0-quantity": "3", "lines-0-unit_price": "100", "lines-0-discount": "0", "lines-0-tax_rate": str(line.tax_rate_id),
    }
    assert client.post(f"/sales/invoice/{note.pk}/edit/", form).status_code == 302
    note.refresh_from_db()
    assert note.total == Decimal("315.00")
    services.issue_invoice(record=note, user=seller)
    invoice.refresh_from_db()
    note.refresh_from_db()
    # 1,050 − 500 paid − 315 credited = 235 still owed.
    assert (invoice.paid_amount, invoice.credited_amount, invoice.balance, invoice.balance_base) == (
        Decimal("500.00"), Decimal("315.00"), Decimal("235.00"), Decimal("235.00"),
    )
    assert (note.credited_amount, note.balance_base) == (Decimal("315.00"), Decimal("0.00"))
    assert services.unpaid_receivables(customer.pk) == Decimal("235.00")
    # The other seven: 735, of which 235 closes the invoice and 500 stays the customer's credit.
    rest = services.credit_note_from_invoice(record=invoice, user=seller)
    assert [(row.quantity, row.line_total) for row in rest.lines.all()] == [(Decimal("7"), Decimal("735.00"))]
    services.issue_invoice(record=rest, user=seller)
    invoice.refresh_from_db()
    rest.refresh_from_db()
    assert (invoice.status, invoice.credited_amount, invoice.balance_base) == (InvoiceStatus.PAID, Decimal("550.00"), Decimal("0.00"))
    assert (rest.credited_amount, rest.balance_base) == (Decimal("235.00"), Decimal("-500.00"))
    assert services.unpaid_receivables(customer.pk) == Decimal("-500.00")
    customer.refresh_from_db()
    assert customer.lifetime_revenue == Decimal("0.00")  # 1,000 invoiced, 300 + 700 credited
    # Nothing is left to credit; the invoice cannot be cancelled while notes stand against it.
    with pytest.raises(ValidationError, match="此發票已全部折讓"):
        services.credit_note_from_invoice(record=invoice, user=seller)
    with pytest.raises(ValidationError):
        services.cancel_invoice(record=invoice, user=seller)
    # Cancelling the second note gives the invoice its open balance back.
    services.cancel_invoice(record=rest, user=seller)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.credited_amount, invoice.balance_base) == (InvoiceStatus.ISSUED, Decimal("315.00"), Decimal("235.00"))


def test_a_credit_note_beyond_the_invoiced_quantity_is_refused(team):
    seller, _colleague = team
    order = approved_order(seller, lines=[(Decimal("10"), Decimal("100"))])
    first = services.invoice_from_order(record=order, user=seller)
    line = first.lines.get()
    line.quantity = Decimal("4")
    line.save()
    services.invoice_saved(invoice=first, user=seller)
    services.issue_invoice(record=first, user=seller)
    note = services.credit_note_from_invoice(record=first, user=seller)
    note_line = note.lines.get()
    assert note_line.quantity == Decimal("4")
    note_line.quantity = Decimal("5")
    note_line.save()
    services.invoice_saved(invoice=note, user=seller)
    with pytest.raises(ValidationError, match="未折讓的只有 4"):
        services.issue_invoice(record=note, user=seller)
    note.refresh_from_db()
    assert note.status == InvoiceStatus.DRAFT


def test_a_return_makes_the_credit_note_of_what_was_invoiced(team):
    seller, _colleague = team
    order = approved_order(seller, lines=[(Decimal("10"), Decimal("100")), (Decimal("2"), Decimal("30"))])
    first, second = order_lines(order)
    services.record_fulfilment(line_id=first.pk, delivered=Decimal("10"), user=seller)
    invoice = services.issue_invoice(record=services.invoice_from_order(record=order, user=seller, delivered=True), user=seller)
    services.record_fulfilment(line_id=first.pk, returned=Decimal("4"), user=seller)
    note = services.credit_note_for_return(quantities={first.pk: Decimal("4")}, user=seller)
    assert (note.kind, note.status, note.credited_invoice, note.order) == (InvoiceKind.CREDIT_NOTE, InvoiceStatus.DRAFT, invoice, order)
    assert [(row.order_line_id, row.quantity, row.line_total) for row in note.lines.all()] == [(first.pk, Decimal("4"), Decimal("420.00"))]
    # The second line was never delivered nor invoiced: nothing to credit.
    assert services.credit_note_for_return(quantities={second.pk: Decimal("1")}, user=seller) is None
    with pytest.raises(ValidationError, match="退貨數量必須大於零"):
        services.credit_note_for_return(quantities={first.pk: Decimal("0")}, user=seller)
    assert Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).count() == 1


def test_the_variance_report_shows_what_differs_in_the_members_scope(team):
    seller, colleague = team
    mine = approved_order(seller, lines=[(Decimal("10"), Decimal("100"))])
    theirs = approved_order(colleague, lines=[(Decimal("3"), Decimal("100"))])
    done = approved_order(seller, lines=[(Decimal("1"), Decimal("100"))])
    (line,) = order_lines(mine)
    services.record_fulfilment(line_id=line.pk, delivered=Decimal("4"), user=seller)
    (done_line,) = order_lines(done)
    services.record_fulfilment(line_id=done_line.pk, delivered=Decimal("1"), user=seller)
    services.issue_invoice(record=services.invoice_from_order(record=done, user=seller), user=seller)
    page = client_for(seller).get("/sales/fulfilment/").content.decode()
    assert f'data-fulfilment-order="{mine.pk}"' in page
    assert f'data-fulfilment-order="{theirs.pk}"' not in page  # the colleague's order
    assert f'data-fulfilment-order="{done.pk}"' not in page  # delivered and invoiced as ordered
    assert 'data-to-deliver>6<' in page
    page = client_for(seller).get("/sales/fulfilment/?all=1").content.decode()
    assert f'data-fulfilment-order="{done.pk}"' in page
    assert SalesOrderLine.objects.get(pk=line.pk).delivered_quantity == Decimal("4")


def test_an_invoice_line_picks_only_lines_of_its_own_order(team):
    """Order lines have no grants of their own: a member sees the lines of the orders they may
    view (core: a Child's line goes with its record), and an invoice line offers only its
    invoice's order's lines (Child.limit)."""
    seller, colleague = team
    order = approved_order(seller, lines=[(Decimal("10"), Decimal("100"))])
    other = approved_order(seller, lines=[(Decimal("1"), Decimal("100"))])
    theirs = approved_order(colleague, lines=[(Decimal("3"), Decimal("100"))])
    assert set(SalesOrderLine.objects.restrict(seller, "view").values_list("order_id", flat=True)) == {order.pk, other.pk}
    invoice = services.invoice_from_order(record=order, user=seller)
    page = client_for(seller).get(f"/sales/invoice/{invoice.pk}/edit/").content.decode()
    (line,) = order_lines(order)
    assert f'<option value="{line.pk}" selected>' in page
    for stranger in order_lines(other) + order_lines(theirs):
        assert f'<option value="{stranger.pk}"' not in page
    invoice_line = invoice.lines.get()
    form = {
        "customer": str(order.customer_id), "order": str(order.pk), "invoice_date": str(invoice.invoice_date), "due_date": str(invoice.due_date),
        "currency": str(invoice.currency_id), "owner": str(seller.pk), "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "1",
        "lines-0-id": str(invoice_line.pk), "lines-0-order_line": str(order_lines(theirs)[0].pk), "lines-0-description": "x",
        "lines-0-quantity": "1", "lines-0-unit_price": "100", "lines-0-discount": "0", "lines-0-tax_rate": str(invoice_line.tax_rate_id),
    }
    assert client_for(seller).post(f"/sales/invoice/{invoice.pk}/edit/", form).status_code == 400
    invoice_line.refresh_from_db()
    assert invoice_line.order_line_id == line.pk
