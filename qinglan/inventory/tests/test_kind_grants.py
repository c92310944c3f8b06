"""Per-kind grants on stock documents: the seven lists share one content type, so a role gets
one kind by a grant on stock documents narrowed by services.kind_constraints(kind). A member
granted purchase receipts that way sees, opens and adds receipts, and neither sees nor opens
nor posts nor adds scrap — through the pages and the API."""

from decimal import Decimal

import pytest
from django.test import Client

from qinglan.core.permissions import Scope
from qinglan.core.testing import grant, make_member
from qinglan.inventory import services
from qinglan.inventory.choices import DocumentKind
from qinglan.inventory.models import PurchaseReceipt, StockDocument, StockScrap, Warehouse
from qinglan.products.models import Product

from .factories import make_product, make_warehouse, receive, stock_clerk

pytestmark = pytest.mark.django_db


def test_a_member_granted_receipts_cannot_see_scrap():
    clerk = stock_clerk()
    warehouse = make_warehouse("KGW", "總倉")
    product = make_product("KG-1", "紙箱")
    receipt = receive(warehouse, product, 10, user=clerk)
    scrap = services.create_document(kind=DocumentKind.SCRAP, warehouse=warehouse, user=clerk, lines=[{"product": product, "quantity": Decimal(1)}])
    member = make_member("receiver")
    grant(member, PurchaseReceipt, ["view", "add", "change"], scope=Scope.ALL, constraints=services.kind_constraints(DocumentKind.RECEIPT))
    grant(member, Warehouse, ["view"])
    grant(member, Product, ["view"])
    client = Client()
    client.force_login(member)
    assert f"/inventory/purchasereceipt/{receipt.pk}/" in client.get("/inventory/purchasereceipt/").content.decode()
    assert client.get(f"/inventory/purchasereceipt/{receipt.pk}/").status_code == 200
    assert client.get(f"/inventory/stockscrap/{scrap.pk}/").status_code == 404
    assert f"/inventory/stockscrap/{scrap.pk}/" not in client.get("/inventory/stockscrap/").content.decode()
    assert client.get(f"/api/inventory/stockscraps/{scrap.pk}/").status_code == 404
    assert client.get("/api/inventory/stockscraps/").json()["results"] == []
    client.post(f"/inventory/stockscrap/{scrap.pk}/do/post/")
    scrap.refresh_from_db()
    assert scrap.status == "draft"
    # Adding: a receipt yes, a scrap record no (nothing written).
    lines = {"lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "0", "lines-0-product": str(product.pk), "lines-0-quantity": "1"}
    response = client.post("/inventory/purchasereceipt/add/", {"warehouse": str(warehouse.pk), "document_date": "2026-11-27", **lines})
    assert response.status_code == 302
    before = StockDocument.objects.count()
    response = client.post("/inventory/stockscrap/add/", {"warehouse": str(warehouse.pk), "document_date": "2026-11-27", "reason": "破損", **lines})
    assert response.status_code in (400, 403)
    assert StockDocument.objects.count() == before and not StockScrap.objects.exclude(pk=scrap.pk).exists()


def _menu_links(client):
    """The list pages the side menu offers (its entries' data-menu keys, as list URLs)."""
    import re

    page = client.get("/").content.decode()
    return {f"/inventory/{name}/" for name in re.findall(r'data-menu="inventory\.([a-z]+)"', page)}


def test_the_menu_lists_only_the_kinds_a_member_is_granted():
    from qinglan.inventory.models import SalesDelivery, StockAdjustment, StockTransfer

    receiver = make_member("menu-receiver")
    grant(receiver, PurchaseReceipt, ["view", "add"], constraints=services.kind_constraints(DocumentKind.RECEIPT))
    client = Client()
    client.force_login(receiver)
    links = _menu_links(client)
    assert "/inventory/purchasereceipt/" in links
    for model in (StockScrap, SalesDelivery, StockTransfer, StockAdjustment):
        assert f"/inventory/{model._meta.model_name}/" not in links
        assert not services.kind_granted(receiver, model.document_kind)

    # Two kinds in one grant (a list of constraint groups, or kind__in): both lists, no others.
    two = make_member("menu-two-kinds")
    grant(two, StockDocument, ["view"], constraints=[{"kind": "receipt"}, {"kind__in": ["scrap"]}])
    client.force_login(two)
    links = _menu_links(client)
    assert {"/inventory/purchasereceipt/", "/inventory/stockscrap/"} <= links
    assert "/inventory/salesdelivery/" not in links

    # A grant on stock documents without constraints (or narrowed by something else than the
    # kind) lists every kind, as before.
    clerk = make_member("menu-clerk")
    grant(clerk, StockDocument, ["view"], constraints={"status": "draft"})
    client.force_login(clerk)
    links = _menu_links(client)
    assert {f"/inventory/{model._meta.model_name}/" for model in (PurchaseReceipt, StockScrap, SalesDelivery, StockTransfer, StockAdjustment)} <= links
