"""Purchase requests (請購) through the paths members take: a requester submits, the
requester's manager approves (or rejects) from the workflow, purchasing converts the request
into one purchase order per chosen supplier through the conversion page, never beyond what
was requested; cancelling an order gives its quantities back to the request."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import translation

from qinglan.core import testing
from qinglan.core.permissions import Scope
from qinglan.core.testing import grant, make_department, make_member
from qinglan.customers.models import Customer
from qinglan.customers.tests.factories import make_customer
from qinglan.inventory.models import Warehouse
from qinglan.inventory.tests.factories import make_product, make_warehouse
from qinglan.products.models import Product
from qinglan.purchasing import requisitions, services
from qinglan.purchasing.choices import PurchaseStatus, RequestStatus
from qinglan.purchasing.models import PurchaseOrder, PurchaseOrderLine, PurchaseRequest
from qinglan.workflow import services as workflow
from qinglan.workflow.models import WorkTask

from .factories import make_request

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def team():
    department = make_department("生產部")
    boss = make_member("plant-boss", department=department)
    requester = make_member("planner", department=department, manager=boss)
    buyer = make_member("buyer", department=make_department("採購部"))
    grant(requester, PurchaseRequest, ["view", "add", "change", "delete"], scope=Scope.OWN)
    grant(boss, PurchaseRequest, ["view"], scope=Scope.DEPARTMENT)
    grant(buyer, PurchaseRequest, ["view"], scope=Scope.ALL)
    grant(buyer, PurchaseOrder, ["view", "add", "change", "delete"], scope=Scope.ALL)
    grant(buyer, Customer, ["view"], scope=Scope.ALL)
    warehouse = make_warehouse("PRW", "原料倉")
    bolts, nuts = make_product("PR-B", "螺栓", cost=Decimal(3)), make_product("PR-N", "螺帽", cost=Decimal(1))
    first = make_customer(buyer, "五金甲", is_supplier=True)
    second = make_customer(buyer, "五金乙", is_supplier=True)
    request = make_request(requester, warehouse=warehouse, lines=[(bolts, 100, first), (nuts, 500)], reason="新產線開工")
    return {"requester": requester, "boss": boss, "buyer": buyer, "request": request, "bolts": bolts, "nuts": nuts, "first": first, "second": second}


def client_for(member):
    client = Client()
    client.force_login(member)
    return client


def approve(request, member, outcome="approve", comment=""):
    task = WorkTask.objects.get(instance=workflow.pending_instance(request), status="open")
    workflow.complete(task=task, user=member, outcome=outcome, comment=comment)
    request.refresh_from_db()
    return task


def test_the_requesters_manager_approves_from_the_workflow(team):
    request, requester, boss = team["request"], team["requester"], team["boss"]
    assert request.code.startswith("PR-")
    response = client_for(requester).post(f"/purchasing/purchaserequest/{request.pk}/do/submit/")
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == RequestStatus.SUBMITTED
    # Locked while it waits: the requester cannot change it.
    response = client_for(requester).patch(f"/api/purchasing/purchaserequests/{request.pk}/", {"reason": "改"}, content_type="application/json")
    assert response.status_code == 400
    task = WorkTask.objects.get(instance=workflow.pending_instance(request), status="open")
    assert task.assignee == boss
    with pytest.raises(PermissionDenied):
        workflow.complete(task=task, user=team["buyer"], outcome="approve")
    approve(request, boss, comment="同意")
    assert (request.status, request.decided_by) == (RequestStatus.APPROVED, boss)


def test_a_rejected_request_keeps_the_reason_and_can_be_reopened(team):
    request, requester = team["request"], team["requester"]
    requisitions.submit_request(record=request, user=requester)
    approve(request, team["boss"], outcome="reject", comment="預算不足")
    assert (request.status, request.decision_note) == (RequestStatus.REJECTED, "預算不足")
    with pytest.raises(ValidationError):
        requisitions.convert_request(record=request, user=team["buyer"], choices=[])
    requisitions.reopen_request(record=request, user=requester)
    request.refresh_from_db()
    assert request.status == RequestStatus.DRAFT


def test_cancelling_a_submitted_request_withdraws_its_approval(team):
    request, requester = team["request"], team["requester"]
    requisitions.submit_request(record=request, user=requester)
    requisitions.cancel_request(record=request, user=requester)
    request.refresh_from_db()
    assert request.status == RequestStatus.CANCELLED and workflow.pending_instance(request) is None


def test_an_empty_request_is_not_submitted(team):
    empty = make_request(team["requester"], warehouse=Warehouse.objects.get(code="PRW"))
    with pytest.raises(ValidationError, match="at least one line"):
        requisitions.submit_request(record=empty, user=team["requester"])
    empty.refresh_from_db()
    assert empty.status == RequestStatus.DRAFT and workflow.pending_instance(empty) is None


def convert_data(request, **per_line):
    """The conversion page's form: {line id: (supplier, quantity, price)}."""
    data = {}
    for line_id, (supplier, quantity, price) in per_line.items():
        data.update({f"supplier-{line_id}": str(supplier.pk) if supplier else "", f"quantity-{line_id}": quantity, f"price-{line_id}": price})
    return data


def test_conversion_makes_one_order_per_supplier_and_never_orders_beyond_the_request(team):
    request, buyer = team["request"], team["buyer"]
    requisitions.submit_request(record=request, user=team["requester"])
    approve(request, team["boss"])
    bolts_line, nuts_line = request.lines.order_by("pk")
    client = client_for(buyer)
    page = client.get(f"/purchasing/purchaserequest/{request.pk}/convert/")
    assert page.status_code == 200 and f'data-convert-line="{bolts_line.pk}"' in page.content.decode()
    # Beyond what was requested: refused, nothing written.
    response = client.post(f"/purchasing/purchaserequest/{request.pk}/convert/", {
        f"supplier-{bolts_line.pk}": str(team["first"].pk), f"quantity-{bolts_line.pk}": "120", f"price-{bolts_line.pk}": "3",
    })
    assert response.status_code == 400 and "120" in response.content.decode()
    assert not PurchaseOrder.objects.exists()
    # Bolts from the first supplier in full, part of the nuts from the second; the rest later.
    response = client.post(f"/purchasing/purchaserequest/{request.pk}/convert/", {
        f"supplier-{bolts_line.pk}": str(team["first"].pk), f"quantity-{bolts_line.pk}": "100", f"price-{bolts_line.pk}": "2.8",
        f"supplier-{nuts_line.pk}": str(team["second"].pk), f"quantity-{nuts_line.pk}": "300", f"price-{nuts_line.pk}": "",
    })
    assert response.status_code == 302
    orders = list(PurchaseOrder.objects.order_by("supplier_id"))
    assert [order.supplier for order in orders] == [team["first"], team["second"]]
    assert all(order.request == request and order.warehouse.code == "PRW" and order.status == PurchaseStatus.DRAFT for order in orders)
    line = orders[0].lines.get()
    assert (line.request_line, line.quantity, line.unit_price) == (bolts_line, Decimal(100), Decimal("2.8"))
    assert orders[1].lines.get().unit_price == Decimal(1)  # the product's cost when no price was given
    request.refresh_from_db()
    nuts_line.refresh_from_db()
    assert request.status == RequestStatus.PARTLY_ORDERED and nuts_line.ordered_quantity == 300
    page = client.get(f"/purchasing/purchaserequest/{request.pk}/").content.decode()
    assert orders[0].code in page and orders[1].code in page
    # Raising a converted line beyond the request is refused.
    with pytest.raises(ValidationError, match="600.*500"):
        PurchaseOrderLine.objects.filter(request_line=nuts_line).update(quantity=Decimal(600))
        services.order_saved(order=orders[1])
    PurchaseOrderLine.objects.filter(request_line=nuts_line).update(quantity=Decimal(300))
    # The rest of the nuts; the request is then fully ordered.
    requisitions.convert_request(record=request, user=buyer, choices=[{"line": nuts_line.pk, "supplier": team["second"], "quantity": Decimal(200), "unit_price": None}])
    request.refresh_from_db()
    assert request.status == RequestStatus.ORDERED
    # A cancelled order gives its quantities back.
    services.cancel_order(record=orders[0], user=buyer)
    request.refresh_from_db()
    bolts_line.refresh_from_db()
    assert request.status == RequestStatus.PARTLY_ORDERED and bolts_line.ordered_quantity == 0


def test_converting_needs_the_add_grant_on_purchase_orders(team):
    request = team["request"]
    requisitions.submit_request(record=request, user=team["requester"])
    approve(request, team["boss"])
    line = request.lines.first()
    with pytest.raises(PermissionDenied):
        requisitions.convert_request(record=request, user=team["requester"], choices=[{"line": line.pk, "supplier": team["first"], "quantity": Decimal(1)}])
    with pytest.raises(ValidationError, match="not a supplier"):
        buyer = make_customer(team["buyer"], "只是客戶")
        requisitions.convert_request(record=request, user=team["buyer"], choices=[{"line": line.pk, "supplier": buyer, "quantity": Decimal(1)}])
    assert client_for(team["requester"]).get(f"/purchasing/purchaserequest/{request.pk}/convert/").status_code == 403
    assert not PurchaseOrder.objects.exists()


class PurchaseRequestTests(testing.ResourceTestCase):
    model = PurchaseRequest
    bulk_edit_data = {"notes": "月底前"}

    def setUp(self):
        super().setUp()
        for model in (Warehouse, Product):
            testing.grant(self.member, model, ["view"])
        self.warehouse = make_warehouse("PRQ", "請購倉")
        self.form_data = {"warehouse": str(self.warehouse.pk), "reason": "補充庫存", "needed_by": "2026-12-10"}
        self.update_data = {**self.form_data, "notes": "急件"}
        self.csv_data = "warehouse,reason,needed_by\nPRQ,補充庫存,2026-12-10\nPRQ,新專案,2026-12-20\n"
