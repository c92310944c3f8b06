"""Material mapping (物料對照): partners' item codes for our products, looked up by
`product_for_party_code` (for imports of their orders), entering purchase order and receipt
lines by the supplier's code through the forms, and the code shown on the documents."""

from decimal import Decimal

import pytest
from django.test import Client

from qinglan.core import testing
from qinglan.core.permissions import Scope
from qinglan.core.testing import grant, make_member
from qinglan.customers.models import Customer
from qinglan.customers.tests.factories import make_customer
from qinglan.inventory import services
from qinglan.inventory.models import PartyItemCode, PurchaseReceipt, StockDocumentLine
from qinglan.products.models import Product
from qinglan.purchasing.models import PurchaseOrder, PurchaseOrderLine

from .factories import make_product, make_warehouse, stock_clerk

pytestmark = pytest.mark.django_db


@pytest.fixture
def mapped():
    clerk = stock_clerk()
    supplier = make_customer(clerk, "日本電裝", is_supplier=True)
    other = make_customer(clerk, "另一家供應商", is_supplier=True)
    relay = make_product("OUR-RELAY", "繼電器")
    fuse = make_product("OUR-FUSE", "保險絲")
    PartyItemCode.objects.create(party=supplier, code="DN-7788", name="Relay 12V", product=relay)
    PartyItemCode.objects.create(party=other, code="DN-7788", name="別家的同號", product=fuse)
    return {"clerk": clerk, "supplier": supplier, "other": other, "relay": relay, "fuse": fuse, "warehouse": make_warehouse("MAPW", "電子倉")}


def test_product_for_party_code_is_per_partner(mapped):
    assert services.product_for_party_code(mapped["supplier"], "DN-7788").product == mapped["relay"]
    assert services.product_for_party_code(mapped["other"].pk, " dn-7788 ").product == mapped["fuse"]  # trimmed, case ignored
    assert services.product_for_party_code(mapped["supplier"], "NOPE") is None
    assert services.product_for_party_code(None, "DN-7788") is None


def client_for(member):
    client = Client()
    client.force_login(member)
    return client


def order_form(supplier, warehouse, *lines):
    data = {"supplier": str(supplier.pk), "warehouse": str(warehouse.pk), "order_date": "2026-11-27", "lines-TOTAL_FORMS": str(len(lines)), "lines-INITIAL_FORMS": "0"}
    for index, (code, product, quantity) in enumerate(lines):
        data.update({f"lines-{index}-supplier_code": code, f"lines-{index}-product": str(product.pk) if product else "",
                     f"lines-{index}-quantity": quantity, f"lines-{index}-unit_price": "5"})
    return data


def test_a_purchase_order_line_is_entered_by_the_suppliers_code(mapped):
    client = client_for(mapped["clerk"])
    response = client.post("/purchasing/purchaseorder/add/", order_form(mapped["supplier"], mapped["warehouse"], ("DN-7788", None, "10"), ("", mapped["fuse"], "3")))
    assert response.status_code == 302, response.content.decode()[:2000]
    order = PurchaseOrder.objects.get()
    relay_line, fuse_line = order.lines.order_by("pk")
    assert (relay_line.product, relay_line.supplier_code) == (mapped["relay"], "DN-7788")
    assert (fuse_line.product, fuse_line.supplier_code) == (mapped["fuse"], "")  # this supplier has no code for fuses
    page = client.get(f"/purchasing/purchaseorder/{order.pk}/").content.decode()
    assert "DN-7788" in page
    # Receiving it carries the supplier's code onto the receipt.
    from qinglan.purchasing import services as purchasing

    purchasing.place_order(record=order, user=mapped["clerk"])
    receipt = purchasing.receipt_for_order(record=order, user=mapped["clerk"])
    assert receipt.lines.get(product=mapped["relay"]).party_code == "DN-7788"


def test_an_unknown_or_contradicting_code_is_refused_and_nothing_is_written(mapped):
    client = client_for(mapped["clerk"])
    response = client.post("/purchasing/purchaseorder/add/", order_form(mapped["supplier"], mapped["warehouse"], ("XX-1", None, "10")))
    assert response.status_code == 400 and "XX-1" in response.content.decode()
    response = client.post("/purchasing/purchaseorder/add/", order_form(mapped["supplier"], mapped["warehouse"], ("DN-7788", mapped["fuse"], "10")))
    assert response.status_code == 400
    # Neither a code nor a product: the product is required.
    response = client.post("/purchasing/purchaseorder/add/", order_form(mapped["supplier"], mapped["warehouse"], ("", None, "10")))
    assert response.status_code == 400
    assert not PurchaseOrder.objects.exists() and not PurchaseOrderLine.objects.exists()


def test_a_receipt_line_is_entered_by_the_suppliers_code(mapped):
    client = client_for(mapped["clerk"])
    response = client.post("/inventory/purchasereceipt/add/", {
        "partner": str(mapped["other"].pk), "warehouse": str(mapped["warehouse"].pk), "document_date": "2026-11-27",
        "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "0", "lines-0-party_code": "DN-7788", "lines-0-quantity": "4", "lines-0-unit_cost": "2",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    line = StockDocumentLine.objects.get()
    assert (line.product, line.party_code, line.base_quantity) == (mapped["fuse"], "DN-7788", Decimal(4))  # the other supplier's meaning of the code
    # A receipt entered by product gets the supplier's code for it.
    receipt = services.create_document(kind="receipt", warehouse=mapped["warehouse"], partner=mapped["supplier"], user=mapped["clerk"],
                                       lines=[{"product": mapped["relay"], "quantity": Decimal(1), "unit_cost": Decimal(1)}])
    services.document_saved(document=receipt)
    assert receipt.lines.get().party_code == "DN-7788"
    page = client.get(PurchaseReceipt.objects.get(pk=receipt.pk).get_absolute_url()).content.decode()
    assert "DN-7788" in page


class PartyItemCodeTests(testing.ResourceTestCase):
    model = PartyItemCode
    bulk_edit_data = {"notes": "新包裝"}

    def setUp(self):
        super().setUp()
        testing.grant(self.member, Product, ["view"])
        testing.grant(self.member, Customer, ["view"])
        self.party = make_customer(self.member, "對照客戶", is_customer=True)
        self.product = make_product("MAP-1", "對照產品")
        self.form_data = {"party": str(self.party.pk), "code": "C-001", "name": "他們的品名", "product": str(self.product.pk)}
        self.second_form_data = {**self.form_data, "code": "C-002"}
        self.update_data = {**self.form_data, "name": "改過的品名"}
        self.csv_data = f"party,code,name,product\n{self.party.code},C-101,甲,MAP-1\n{self.party.code},C-102,乙,MAP-1\n"

    def test_a_code_is_unique_per_partner(self):
        self.grant("view", "add")
        PartyItemCode.objects.create(party=self.party, code="C-001", product=self.product)
        response = self.post_form(self.resource.url("add"), self.form_data)
        self.assertEqual(response.status_code, 400)
        self.assertEqual(PartyItemCode.objects.count(), 1)


def test_mappings_follow_the_partners_scope(mapped):
    member = make_member("mapper")
    grant(member, PartyItemCode, ["view"], scope=Scope.OWN)
    assert not PartyItemCode.objects.restrict(member, "view").exists()
    Customer.objects.filter(pk=mapped["supplier"].pk).update(owner=member)
    assert list(PartyItemCode.objects.restrict(member, "view").values_list("code", "party")) == [("DN-7788", mapped["supplier"].pk)]
