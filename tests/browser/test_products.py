"""The catalogue in real Chromium: choosing a category on the product form brings its
attribute inputs (htmx, under the content security policy), a bad value is refused in the
member's language, and the find page narrows by a ticked value and counts again."""

import pytest

from .conftest import choose, log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def catalogue(transactional_db):
    from qinglan.core import testing
    from qinglan.products.models import Attribute, Category, Product, ProductVariant, Unit

    from qinglan.products.tests.factories import make_attribute, make_category, make_product, make_unit

    tea = make_category("茶葉", code="TEA")
    make_attribute(tea, "origin", "產地", "choice", options=["阿里山", "梨山"], required=True, order=10)
    make_attribute(tea, "net_weight", "淨重", "number", unit="g", order=20)
    unit = make_unit("can", "罐")
    make_product("TE-1", "阿里山烏龍", tea, unit=unit, attributes={"origin": "阿里山", "net_weight": "150"})
    make_product("TE-2", "梨山烏龍", tea, unit=unit, attributes={"origin": "梨山", "net_weight": "75"})
    member = testing.make_member("pm")
    for model in (Product, ProductVariant, Category, Attribute, Unit):
        testing.grant(member, model, ["view", "add", "change"])
    return {"member": member, "password": testing.PASSWORD}


def test_product_form_follows_the_category_and_the_find_page_narrows(open_page, catalogue):
    page = log_in(open_page(locale="zh-TW"), catalogue["member"].username, catalogue["password"])
    page.goto("/products/product/add/")
    inputs = page.locator("[data-testid=attribute-inputs]")
    assert "請先選擇類別" in inputs.inner_text()
    choose(page, "#id_category", "茶葉")
    page.locator("#id_attributes__origin").wait_for()  # swapped in by htmx for the chosen category
    page.fill("#id_code", "TE-3")
    page.fill("#id_name", "杉林溪高山茶")
    choose(page, "#id_base_unit", "罐")
    page.select_option("#id_attributes__origin", "梨山")
    page.fill("#id_attributes__net_weight", "很多")
    page.get_by_role("button", name="儲存", exact=True).click()
    page.wait_for_load_state("networkidle")
    assert "「淨重」：請輸入數字，例如 6.1。" in page.content()
    page.fill("#id_attributes__net_weight", "300")
    page.get_by_role("button", name="儲存", exact=True).click()
    page.wait_for_url("**/products/product/*/")
    panel = page.locator("[data-testid=product-attributes]").inner_text()
    assert "梨山" in panel and "300 g" in panel

    page.goto("/products/find/")
    page.get_by_role("link", name="茶葉").click()
    page.wait_for_load_state("networkidle")
    assert "3 項產品" in page.locator("[data-testid=find-count]").inner_text()
    page.get_by_label("梨山").check()  # htmx reloads the page part with the choice
    page.wait_for_function("() => document.querySelector('[data-testid=find-count]').innerText.includes('2 項產品')")
    results = page.locator("[data-testid=find-results]").inner_text()
    assert "TE-2" in results and "TE-3" in results and "TE-1" not in results
    assert "attr=origin" in page.url
    blocked = [text for text in page.watch.console_errors if "Content Security Policy" in text or "Refused" in text]
    assert blocked == [] and page.watch.page_errors == []
