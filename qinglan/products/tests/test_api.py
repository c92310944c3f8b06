"""The product API (generated from the registration): attribute values as a JSON object
checked like the form's, clear 400s, and the member's scope on reads and writes."""

import json

import pytest
from django.test import Client

from qinglan.core import testing
from qinglan.core.models import APIToken
from qinglan.core.permissions import Scope
from qinglan.products.models import AttributeValue, Product

from .factories import make_attribute, make_category, make_product, make_unit


@pytest.fixture
def api(db):
    category = make_category("筆記型電腦", code="LAPTOP")
    make_attribute(category, "ram", "記憶體", "choice", options=["8GB", "16GB"], required=True)
    make_attribute(category, "screen_size", "螢幕尺寸", "number", unit="吋")
    member = testing.make_member("pm")
    testing.grant(member, Product, ["view", "add", "change", "delete"], scope=Scope.OWN)
    _token, key = APIToken.issue(user=member, name="t")
    client = Client(HTTP_AUTHORIZATION=f"Token {key}", HTTP_ACCEPT_LANGUAGE="zh-hant")

    def call(method, url, data=None):
        return getattr(client, method)(url, data=json.dumps(data) if data is not None else None, content_type="application/json")

    return call, member, category


def test_create_read_and_update_with_attributes(api):
    call, member, category = api
    unit = make_unit("unit", "台")
    new = {"code": "NB-1", "name": "輕薄筆電", "category": category.pk, "base_unit": unit.pk, "list_price": "35900", "attributes": {"ram": "16gb", "screen_size": 14}}
    response = call("post", "/api/products/products/", new)
    assert response.status_code == 400 and response.json() == {"price_currency": ["請選擇此金額的幣別。"]}  # no base currency to assume
    from qinglan.org.models import CompanyProfile, Currency

    twd = Currency.objects.create(code="TWD", name="新臺幣", decimal_places=0)
    CompanyProfile.objects.create(name="青藍貿易", base_currency=twd)
    response = call("post", "/api/products/products/", new)
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["price_currency"] == twd.pk and data["list_price"] == "35900.00"
    assert data["attributes"] == {"ram": "16GB", "screen_size": "14"}
    assert data["owner"] == member.pk and data["status"] == "active"
    product = Product.objects.get(pk=data["id"])
    assert AttributeValue.objects.filter(product=product).count() == 2
    response = call("patch", f"/api/products/products/{product.pk}/", {"attributes": {"ram": "8GB"}})
    assert response.status_code == 200, response.content
    assert response.json()["attributes"] == {"ram": "8GB"}
    assert list(AttributeValue.objects.filter(product=product).values_list("key", flat=True)) == ["8GB"]


def test_bad_attribute_values_answer_400_and_write_nothing(api):
    call, _member, category = api
    unit = make_unit("unit", "台")
    response = call("post", "/api/products/products/", {
        "code": "NB-2", "name": "壞資料", "category": category.pk, "base_unit": unit.pk, "attributes": {"ram": "4GB", "screen_size": "大", "colour": "黑"},
    })
    assert response.status_code == 400
    messages = response.json()["attributes"]
    assert "「記憶體」：「4GB」不在選項中（8GB、16GB）。" in messages
    assert "「螢幕尺寸」：請輸入數字，例如 6.1。" in messages
    assert "「colour」不是類別「筆記型電腦」的屬性。" in messages
    response = call("post", "/api/products/products/", {"code": "NB-3", "name": "x", "category": category.pk, "base_unit": unit.pk, "attributes": ["ram"]})
    assert response.status_code == 400
    response = call("post", "/api/products/products/", {"code": "NB-4", "name": "x", "category": category.pk, "base_unit": unit.pk, "barcode": "4006381333932", "attributes": {"ram": "8GB"}})
    assert response.status_code == 400 and "檢查碼應為 1" in response.json()["barcode"][0]
    assert not Product.objects.exists()


def test_scoped_member_reads_all_but_changes_only_own(api):
    call, member, category = api
    testing.grant(member, Product, ["view"], scope=Scope.ALL, role_name="everyone reads")
    theirs = make_product("NB-9", "別人的筆電", category, owner=testing.make_member("other"), attributes={"ram": "8GB"})
    mine = make_product("NB-8", "我的筆電", category, owner=member, attributes={"ram": "8GB"})
    listed = {row["code"] for row in call("get", "/api/products/products/").json()["results"]}
    assert listed == {"NB-8", "NB-9"}
    assert call("patch", f"/api/products/products/{theirs.pk}/", {"name": "改名"}).status_code == 404
    assert call("delete", f"/api/products/products/{theirs.pk}/").status_code == 404
    assert call("patch", f"/api/products/products/{mine.pk}/", {"name": "我的新筆電"}).status_code == 200
    theirs.refresh_from_db()
    assert theirs.name == "別人的筆電"
    # and through the pages
    client = Client()
    client.force_login(member)
    assert client.get(f"/products/product/{theirs.pk}/").status_code == 200
    assert client.get(f"/products/product/{theirs.pk}/edit/").status_code == 404
    assert client.post(f"/products/product/{theirs.pk}/edit/", {"code": "NB-9", "name": "x"}).status_code == 404


def test_member_without_the_right_sees_nothing(api):
    _call, _member, category = api
    make_product("NB-7", "筆電", category, attributes={"ram": "8GB"})
    stranger = testing.make_member("stranger")
    _token, key = APIToken.issue(user=stranger, name="t")
    client = Client()
    client.force_login(stranger)
    for url in ("/products/product/", "/products/find/", "/products/productvariant/", "/products/product/export/?format=csv"):
        assert client.get(url).status_code == 403, url
    assert client.get("/api/products/products/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 403
    assert "查找產品" not in client.get("/").content.decode()  # no menu entry


def test_constraint_hides_discontinued_products(api):
    _call, _member, category = api
    make_product("NB-5", "在售", category, attributes={"ram": "8GB"})
    make_product("NB-6", "停產", category, attributes={"ram": "8GB"}, status="discontinued")
    sales = testing.make_member("sales")
    testing.grant(sales, Product, ["view"], constraints={"status": "active"})
    client = Client()
    client.force_login(sales)
    page = client.get("/products/product/").content.decode()
    assert "NB-5" in page and "NB-6" not in page
    assert client.get(f"/products/product/{Product.objects.get(code='NB-6').pk}/").status_code == 404
