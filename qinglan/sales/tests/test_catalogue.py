"""The static HTML catalogue: made from the Catalogue page as a zip (and by the command as a
folder) with an index, category and product pages linked relatively, prices of the chosen
price list, only the active products the member may view; bad input changes nothing."""

import io
import re
import zipfile
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import Client

from qinglan.core.permissions import Scope
from qinglan.core.testing import grant, make_department, make_member
from qinglan.org.models import CompanyProfile, Currency
from qinglan.products.models import Product
from qinglan.products.tests.factories import make_category, make_product
from qinglan.sales.models import PriceList, PriceRule

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    cny = Currency.objects.create(code="CNY", name="人民幣", decimal_places=2)
    CompanyProfile.objects.create(name="青藍貿易", base_currency=cny)
    owner = make_member("pm", department=make_department("產品部"))
    office = make_category("辦公用品")
    pens = make_category("書寫工具", parent=office)
    make_product("PEN-1", "鋼珠筆 <b>0.5</b>", pens, owner=owner, list_price=Decimal("30"), attributes={})
    make_product("PEN-OLD", "停產鋼筆", pens, owner=owner, list_price=Decimal("99"), status="discontinued")
    make_category("空類別")
    dealers = PriceList.objects.create(name="經銷價")
    PriceRule.objects.create(price_list=dealers, method="discount", value=Decimal("10"))
    return owner, office, pens, dealers


def test_the_catalogue_zip_has_linked_pages_with_the_lists_prices(shop):
    owner, office, pens, dealers = shop
    member = make_member("seller", department=owner.department)
    grant(member, Product, ["view"], scope=Scope.ALL)
    grant(member, PriceList, ["view"], scope=Scope.ALL)
    client = Client()
    client.force_login(member)
    assert client.get("/sales/catalogue/").status_code == 200
    response = client.post("/sales/catalogue/", {"price_list": str(dealers.pk)})
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = set(archive.namelist())
    product = Product.objects.get(code="PEN-1")
    assert {"catalogue/index.html", "catalogue/style.css", f"catalogue/categories/{office.pk}.html", f"catalogue/categories/{pens.pk}.html",
            f"catalogue/products/{product.pk}.html"} <= names
    assert not any("空類別" in archive.read(name).decode() for name in names if name.endswith(".html"))  # no empty categories
    index = archive.read("catalogue/index.html").decode()
    assert f'href="categories/{office.pk}.html"' in index and "辦公用品" in index
    category = archive.read(f"catalogue/categories/{pens.pk}.html").decode()
    assert f'href="../products/{product.pk}.html"' in category and "CNY 27.00" in category  # 30 less 10%
    assert "停產鋼筆" not in category  # only active products
    page = archive.read(f"catalogue/products/{product.pk}.html").decode()
    assert "鋼珠筆 &lt;b&gt;0.5&lt;/b&gt;" in page and "<b>0.5</b>" not in page  # escaped
    assert "價目表「經銷價」" in page and 'href="../style.css"' in page
    # Every relative link points at a file of the site.
    for name in names:
        if name.endswith(".html"):
            base = name.rsplit("/", 1)[0]
            for link in re.findall(r'href="([^"#]+)"', archive.read(name).decode()):
                target = "/".join(part for part in f"{base}/{link}".split("/"))
                parts = []
                for part in target.split("/"):
                    if part == "..":
                        parts.pop()
                    elif part and part != ".":
                        parts.append(part)
                assert "/".join(parts) in names, (name, link)


def test_the_catalogue_needs_product_and_price_list_views(shop):
    member = make_member("outsider", department=make_department("財務部"))
    grant(member, Product, ["view"], scope=Scope.ALL)
    client = Client()
    client.force_login(member)
    assert client.get("/sales/catalogue/").status_code == 403
    grant(member, PriceList, ["view"], scope=Scope.ALL)
    assert client.post("/sales/catalogue/", {"price_list": "999999"}).status_code == 400


def test_the_command_writes_a_folder(shop, tmp_path):
    make_member("admin", superuser=True)
    call_command("catalogue", out=str(tmp_path / "site"), price_list="經銷價", language="zh-hans")
    index = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert 'lang="zh-hans"' in index and "产品目录" in index
