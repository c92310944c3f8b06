"""Finding products: quick search by prefixes (code, name folded 繁/简 and width, barcode, a
variant's code), the category filter with sub-categories, the attribute filter, and the find
page's facets with their counts, all within what the member may view."""

import pytest
from django.test import Client

from qinglan.core import testing
from qinglan.core.permissions import Scope
from qinglan.core.registry import registry
from qinglan.products import facets
from qinglan.products.models import Product

from .factories import make_attribute, make_category, make_product, make_variant


@pytest.fixture
def catalogue(db):
    tea = make_category("茶葉", code="TEA")
    make_attribute(tea, "origin", "產地", "choice", options=["阿里山", "梨山", "凍頂"], order=10)
    make_attribute(tea, "roasted", "焙火", "boolean", order=20)
    make_attribute(tea, "net_weight", "淨重", "number", unit="g", order=30)
    make_attribute(tea, "note", "備註", "text", order=40, filterable=False)
    oolong = make_category("烏龍茶", tea, code="OOLONG")
    make_attribute(oolong, "grade", "等級", "choice", options=["特級", "一級"], for_variants=True, order=10)
    coffee = make_category("咖啡", code="COFFEE")
    owner = testing.make_member("owner")
    products = {
        "ali": make_product("TE-ALI", "阿里山高山茶", oolong, owner=owner, barcode="4006381333931", attributes={"origin": "阿里山", "roasted": "否", "net_weight": "150"}),
        "li": make_product("TE-LI", "梨山茶", oolong, owner=owner, attributes={"origin": "梨山", "roasted": False, "net_weight": "75"}),
        "dd": make_product("TE-DD", "凍頂烏龍", oolong, owner=owner, attributes={"origin": "凍頂", "roasted": True, "net_weight": "300"}),
        "ali2": make_product("TE-ALI2", "阿里山金萱", tea, owner=owner, attributes={"origin": "阿里山", "roasted": True, "net_weight": "150"}),
        "cafe": make_product("CF-1", "綜合咖啡豆", coffee, owner=owner),
    }
    make_variant(products["li"], "TE-LI-S", {"grade": "特級"}, barcode="036000291452")
    make_variant(products["dd"], "TE-DD-1", {"grade": "一級"})
    for category in (tea, oolong, coffee):
        category.refresh_from_db()  # a root added after it (siblings sort by name) moved its path
    return {"tea": tea, "oolong": oolong, "coffee": coffee, "owner": owner, **products}


def viewer_client(scope=Scope.ALL, constraints=None):
    member = testing.make_member("viewer")
    testing.grant(member, Product, ["view", "export"], scope=scope, constraints=constraints)
    client = Client()
    client.force_login(member)
    return client, member


def codes(queryset):
    return sorted(queryset.values_list("code", flat=True))


def test_quick_search_by_prefixes(catalogue):
    resource = registry.get(Product)
    find = lambda text: codes(Product.objects.filter(resource.quick_search_q(text)))  # noqa: E731
    assert find("te-a") == ["TE-ALI", "TE-ALI2"]
    assert find("阿里山") == ["TE-ALI", "TE-ALI2"]
    assert find("阿里山 高山") == ["TE-ALI"]  # spaces and width folded like the stored key
    assert find("梨山") == ["TE-LI"]
    assert find("冻顶") == ["TE-DD"]  # Simplified finds Traditional
    assert find("4006381") == ["TE-ALI"]
    assert find("0360002") == ["TE-LI"]  # a variant's barcode
    assert find("te-dd-1") == ["TE-DD"]  # a variant's code
    assert find("山") == []  # a prefix, not a word inside


def test_list_filters_by_category_with_sub_categories_and_by_attributes(catalogue):
    client, _member = viewer_client()
    url = registry.get(Product).list_url
    in_tea = testing.list_pks(client.get(url, {"category": catalogue["tea"].pk}))
    assert in_tea == {catalogue[key].pk for key in ("ali", "li", "dd", "ali2")}
    only_oolong = testing.list_pks(client.get(url, {"category": catalogue["oolong"].pk}))
    assert only_oolong == {catalogue[key].pk for key in ("ali", "li", "dd")}
    chosen = testing.list_pks(client.get(url, {"category": catalogue["tea"].pk, "attr": ["origin=阿里山", "roasted=1"]}))
    assert chosen == {catalogue["ali2"].pk}
    either = testing.list_pks(client.get(url, {"attr": ["origin=阿里山", "origin=梨山", "net_weight=100..200"]}))
    assert either == {catalogue["ali"].pk, catalogue["ali2"].pk}
    by_variant = testing.list_pks(client.get(url, {"attr": "grade=特級"}))
    assert by_variant == {catalogue["li"].pk}


def test_export_and_api_take_the_same_filters(catalogue):
    client, member = viewer_client()
    response = client.get(registry.get(Product).url("export"), {"format": "csv", "category": catalogue["oolong"].pk, "attr": "origin=凍頂"})
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "TE-DD" in text and "TE-ALI" not in text
    from qinglan.core.models import APIToken

    _token, key = APIToken.issue(user=member, name="t")
    response = client.get("/api/products/products/", {"category": catalogue["tea"].pk, "attr": "roasted=0"}, HTTP_AUTHORIZATION=f"Token {key}")
    assert sorted(row["code"] for row in response.json()["results"]) == ["TE-ALI", "TE-LI"]


def test_facet_counts_follow_the_other_choices(catalogue):
    base = Product.objects.filter(category__path__startswith=catalogue["tea"].path)
    from qinglan.products.services import attributes_for

    attributes = attributes_for(catalogue["oolong"])
    result = {facet["attribute"].code: facet for facet in facets.facets(base, attributes, facets.parse_selection(["origin=阿里山"]))}
    origin = {row["value"]: (row["count"], row["chosen"]) for row in result["origin"]["values"]}
    assert origin == {"阿里山": (2, True), "梨山": (1, False), "凍頂": (1, False)}  # counted without its own choice
    roasted = {row["value"]: row["count"] for row in result["roasted"]["values"]}
    assert roasted == {"1": 1, "0": 1}  # among the 阿里山 teas
    assert result["net_weight"]["range"] is True
    assert (result["net_weight"]["smallest"], result["net_weight"]["largest"]) == ("150", "150")  # among the 阿里山 teas
    assert "note" not in result  # not offered as a filter
    assert "grade" not in result  # no 阿里山 tea has variants with a grade: nothing to offer
    everything = {facet["attribute"].code: facet for facet in facets.facets(base, attributes, {})}
    assert {row["value"]: row["count"] for row in everything["grade"]["values"]} == {"特級": 1, "一級": 1}
    assert facets.bounded(base, limit=3) == (3, False)
    assert facets.bounded(base, limit=4) == (4, True)


def test_find_page(catalogue):
    client, _member = viewer_client()
    response = client.get("/products/find/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "茶葉" in page and "咖啡" in page
    response = client.get("/products/find/", {"category": catalogue["tea"].pk, "attr": "origin=阿里山", "min.net_weight": "100", "max.net_weight": "200"})
    page = response.content.decode()
    assert 'data-testid="find-facets"' in page
    assert "TE-ALI2" in page and ">TE-ALI<" in page  # both 阿里山 teas weigh 150 g
    assert "TE-LI" not in page and "TE-DD" not in page
    assert 'name="attr" value="origin=阿里山"' in page and "checked" in page
    assert "烏龍茶" in page  # the sub-category with its count


def test_find_page_and_counts_show_only_what_the_member_may_view(catalogue):
    client, _member = viewer_client(constraints={"status": "active"})
    Product.objects.filter(pk=catalogue["li"].pk).update(status="discontinued")
    page = client.get("/products/find/", {"category": catalogue["tea"].pk}).content.decode()
    assert "TE-LI" not in page
    assert "2 項產品" not in page  # never counted
    base = Product.objects.restrict(_member, "view").filter(category__path__startswith=catalogue["tea"].path)
    assert codes(base) == ["TE-ALI", "TE-ALI2", "TE-DD"]
    stranger = Client()
    stranger.force_login(testing.make_member("stranger"))
    assert stranger.get("/products/find/").status_code == 403


def test_attribute_inputs_follow_the_chosen_category(catalogue):
    client, _member = viewer_client()
    html = client.get("/products/attribute-inputs/", {"category": catalogue["oolong"].pk}).content.decode()
    assert 'name="attributes__origin"' in html and 'name="attributes__net_weight"' in html
    assert "attributes__grade" not in html  # set per variant
    html = client.get("/products/attribute-inputs/", {"kind": "variant", "product": catalogue["li"].pk}).content.decode()
    assert 'name="attributes__grade"' in html and "attributes__origin" not in html


def test_list_filter_box_takes_typed_pairs(catalogue):
    client, _member = viewer_client()
    url = registry.get(Product).list_url
    response = client.get(url, {"attr": "origin=阿里山；roasted=1"})
    assert testing.list_pks(response) == {catalogue["ali2"].pk}
    assert 'value="origin=阿里山；roasted=1"' in response.content.decode()  # kept as typed
    repeated = client.get(url, {"attr": ["origin=阿里山", "roasted=1"]})  # as the find page links
    assert testing.list_pks(repeated) == {catalogue["ali2"].pk}
    assert 'value="origin=阿里山; roasted=1"' in repeated.content.decode()
    assert testing.list_pks(client.get(url, {"attr": "origin=不存在"})) == set()


def test_facet_counts_stop_at_the_sample_and_say_so(catalogue, monkeypatch):
    from qinglan.products.services import attributes_for

    monkeypatch.setattr(facets, "FACET_SAMPLE", 2)
    base = Product.objects.filter(category__path__startswith=catalogue["tea"].path)
    result = {facet["attribute"].code: facet for facet in facets.facets(base, attributes_for(catalogue["tea"]), {})}
    rows = result["origin"]["values"]
    assert sum(row["count"] for row in rows) == 2  # the first two teas only
    assert all(not row["exact"] for row in rows)
    monkeypatch.setattr(facets, "FACET_SAMPLE", 4)
    result = {facet["attribute"].code: facet for facet in facets.facets(base, attributes_for(catalogue["tea"]), {})}
    assert {row["value"]: (row["count"], row["exact"]) for row in result["origin"]["values"]} == {"阿里山": (2, True), "梨山": (1, True), "凍頂": (1, True)}
