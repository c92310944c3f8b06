"""The pricing engine with hand-checked numbers: which price list applies (customer before
level before region before general; priority; dates; currency), rules (product before
category before everything; quantity tiers; fixed, discount, markup), promotions (percent,
amount, buy X get Y as a gift line), rounding to the currency, the explanation; orders priced
through the form, repricing, and bad input (closed list, currency mismatch, no price)."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from qinglan.core.permissions import Scope
from qinglan.core.testing import grant, make_department, make_member
from qinglan.customers.models import Customer, CustomerLevel, Region
from qinglan.customers.tests.factories import make_customer
from qinglan.org.models import CompanyProfile, Currency, ExchangeRate
from qinglan.products.models import Product
from qinglan.products.tests.factories import make_category, make_product
from qinglan.sales import pricing, services
from qinglan.sales.models import PriceList, PriceRule, Promotion, SalesOrder, SalesOrderLine, TaxRate

pytestmark = pytest.mark.django_db
DAY = datetime.date(2026, 11, 11)


@pytest.fixture
def shop():
    cny = Currency.objects.create(code="CNY", name="人民幣", decimal_places=2)
    usd = Currency.objects.create(code="USD", name="美元", decimal_places=2)
    twd = Currency.objects.create(code="TWD", name="新臺幣", decimal_places=0)
    ExchangeRate.objects.create(currency=usd, date=datetime.date(2026, 1, 1), rate=Decimal("7.2"))
    ExchangeRate.objects.create(currency=twd, date=datetime.date(2026, 1, 1), rate=Decimal("0.225"))
    CompanyProfile.objects.create(name="青藍貿易", base_currency=cny)
    seller = make_member("seller", department=make_department("業務部"))
    grant(seller, Product, ["view"], scope=Scope.ALL)
    electronics = make_category("電子產品")
    phones = make_category("手機", parent=electronics)
    phone = make_product("P-1", "青藍手機", phones, list_price=Decimal("1000"), cost=Decimal("600"))
    cable = make_product("C-1", "充電線", electronics, list_price=Decimal("30"), cost=Decimal("8"))
    return {"cny": cny, "usd": usd, "twd": twd, "seller": seller, "electronics": electronics, "phones": phones, "phone": phone, "cable": cable}


def price(shop, customer, product, quantity, **extra):
    (result,) = pricing.price_lines(customer=customer, items=[(product, Decimal(quantity))], day=DAY, **extra)
    return result


def test_without_lists_the_list_price_applies(shop):
    result = price(shop, None, shop["phone"], 2)
    assert (result.unit_price, result.discount, result.price_list) == (Decimal("1000.00"), 0, None)
    assert result.steps == ["定價 1,000.00"]


def test_the_most_specific_list_wins(shop):
    vip = CustomerLevel.objects.create(name="VIP")
    customer = make_customer(shop["seller"], "青藍百貨", level=vip)
    general = PriceList.objects.create(name="一般價", priority=1)
    PriceRule.objects.create(price_list=general, method="discount", value=Decimal("5"))
    by_level = PriceList.objects.create(name="VIP 價", priority=50)
    by_level.levels.add(vip)
    PriceRule.objects.create(price_list=by_level, method="discount", value=Decimal("10"))
    # Level before general, whatever the priority: 1,000 − 10% = 900.
    result = price(shop, customer, shop["phone"], 1)
    assert (result.price_list, result.unit_price) == (by_level, Decimal("900.00"))
    assert result.steps == ["價目表「VIP 價」：定價 1,000.00 減 10%"]
    # The customer's own list before its level's.
    own = PriceList.objects.create(name="青藍百貨專屬", priority=99)
    own.customers.add(customer)
    PriceRule.objects.create(price_list=own, product=shop["phone"], method="fixed", value=Decimal("850"))
    assert price(shop, customer, shop["phone"], 1).unit_price == Decimal("850.00")
    # A customer's list outside its dates does not apply; a closed list neither.
    own.valid_to = DAY - datetime.timedelta(days=1)
    own.save()
    assert price(shop, customer, shop["phone"], 1).price_list == by_level
    by_level.active = False
    by_level.save()
    assert price(shop, customer, shop["phone"], 1).price_list == general
    # Another customer (no level) gets the general list: 1,000 − 5% = 950.
    assert price(shop, make_customer(shop["seller"], "路人商店"), shop["phone"], 1).unit_price == Decimal("950.00")


def test_a_region_list_covers_sub_regions(shop):
    north = Region(name="華北")
    north.save()
    beijing = Region(name="北京")
    beijing.new_parent = north
    beijing.save()
    customer = make_customer(shop["seller"], "北京客戶", region=beijing)
    regional = PriceList.objects.create(name="華北價")
    regional.regions.add(north)
    PriceRule.objects.create(price_list=regional, method="markup", value=Decimal("25"))
    result = price(shop, customer, shop["phone"], 1)
    assert (result.price_list, result.unit_price) == (regional, Decimal("750.00"))  # cost 600 + 25%
    assert price(shop, make_customer(shop["seller"], "上海客戶"), shop["phone"], 1).price_list is None


def test_rules_product_before_category_before_everything_and_tiers(shop):
    dealers = PriceList.objects.create(name="經銷價")
    PriceRule.objects.create(price_list=dealers, method="discount", value=Decimal("2"))  # everything
    PriceRule.objects.create(price_list=dealers, category=shop["electronics"], method="discount", value=Decimal("10"))
    PriceRule.objects.create(price_list=dealers, product=shop["phone"], method="fixed", value=Decimal("880"))
    PriceRule.objects.create(price_list=dealers, product=shop["phone"], min_quantity=Decimal("10"), method="fixed", value=Decimal("860"))
    PriceRule.objects.create(price_list=dealers, product=shop["phone"], min_quantity=Decimal("100"), method="fixed", value=Decimal("830"))
    PriceRule.objects.create(
        price_list=dealers, product=shop["phone"], min_quantity=Decimal("50"), method="fixed", value=Decimal("1"),
        valid_from=DAY + datetime.timedelta(days=1),  # not yet valid
    )
    assert [price(shop, None, shop["phone"], q).unit_price for q in (1, 9, 10, 99, 100)] == [
        Decimal("880.00"), Decimal("880.00"), Decimal("860.00"), Decimal("860.00"), Decimal("830.00"),
    ]
    # The cable sits in 電子產品: the category's 10% off 30 = 27.
    assert price(shop, None, shop["cable"], 1).unit_price == Decimal("27.00")


def test_currency_lists_convert_and_round_to_the_currency(shop):
    usd_list = PriceList.objects.create(name="USD dealers", currency=shop["usd"])
    PriceRule.objects.create(price_list=usd_list, method="discount", value=Decimal("10"))
    # 1,000 CNY = 138.888… USD; less 10% = 125.00 (rounded half up to cents).
    result = price(shop, None, shop["phone"], 1, currency=shop["usd"])
    assert (result.price_list, result.unit_price) == (usd_list, Decimal("125.00"))
    # In TWD (no list): 1,000 CNY / 0.225 = 4,444.44… → 4,444 (no decimals).
    assert price(shop, None, shop["phone"], 1, currency=shop["twd"]).unit_price == Decimal("4444")
    # The USD list is not offered for a CNY document, and naming it is refused.
    assert price(shop, None, shop["phone"], 1).price_list is None
    with pytest.raises(ValidationError, match="USD"):
        price(shop, None, shop["phone"], 1, price_list=usd_list)


def test_a_closed_list_named_on_a_document_is_refused(shop):
    closed = PriceList.objects.create(name="舊價目表", valid_to=datetime.date(2025, 12, 31))
    with pytest.raises(ValidationError, match="舊價目表"):
        price(shop, None, shop["phone"], 1, price_list=closed)


def test_promotions_percent_amount_and_the_best_one(shop):
    vip = CustomerLevel.objects.create(name="VIP")
    customer = make_customer(shop["seller"], "青藍百貨", level=vip)
    Promotion.objects.create(name="雙十一", kind="percent", percent=Decimal("8"), starts_on=DAY, ends_on=DAY, category=shop["electronics"])
    vip_only = Promotion.objects.create(name="VIP 回饋", kind="amount", amount=Decimal("100"), starts_on=DAY, ends_on=DAY, product=shop["phone"])
    vip_only.levels.add(vip)
    Promotion.objects.create(name="過期", kind="percent", percent=Decimal("50"), starts_on=DAY - datetime.timedelta(days=9), ends_on=DAY - datetime.timedelta(days=1))
    # Everyone: 8% off (80 a phone).
    anyone = price(shop, None, shop["phone"], 1)
    assert (anyone.unit_price, anyone.discount, anyone.promotion.name) == (Decimal("1000.00"), Decimal("8.00"), "雙十一")
    # The VIP gets 100 off each unit, worth more than 8%.
    result = price(shop, customer, shop["phone"], 1)
    assert (result.unit_price, result.discount, result.promotion) == (Decimal("900.00"), 0, vip_only)
    assert result.steps == ["定價 1,000.00", "促銷「VIP 回饋」：每件減 100.00"]


def test_buy_x_get_y_adds_a_gift_line_to_the_order(shop):
    Promotion.objects.create(name="買十送一", kind="gift", buy_quantity=10, free_quantity=1, starts_on=DAY, ends_on=DAY, product=shop["cable"])
    seller = shop["seller"]
    grant(seller, SalesOrder, ["view", "add", "change"], scope=Scope.OWN)
    grant(seller, Customer, ["view"], scope=Scope.OWN)
    customer = make_customer(seller, "青藍百貨")
    exclusive = TaxRate.objects.get(rate=5, inclusive=False)
    client = Client()
    client.force_login(seller)
    response = client.post("/sales/salesorder/add/", {
        "customer": str(customer.pk), "order_date": DAY.isoformat(), "owner": str(seller.pk),
        "lines-TOTAL_FORMS": "2", "lines-INITIAL_FORMS": "0",
        "lines-0-product": str(shop["cable"].pk), "lines-0-quantity": "25", "lines-0-unit_price": "", "lines-0-discount": "0", "lines-0-tax_rate": str(exclusive.pk),
        "lines-1-product": "", "lines-1-description": "安裝服務", "lines-1-quantity": "1", "lines-1-unit_price": "200", "lines-1-discount": "0", "lines-1-tax_rate": str(exclusive.pk),
    })
    assert response.status_code == 302
    order = SalesOrder.objects.get()
    lines = list(order.lines.order_by("id"))
    assert [(line.quantity, line.unit_price, line.promotion_id is not None) for line in lines] == [
        (Decimal("25"), Decimal("30.00"), False), (Decimal("1"), Decimal("200.00"), False), (Decimal("2"), Decimal("0.00"), True),
    ]
    assert lines[2].description == "贈品：買十送一"
    # 25 × 30 = 750 + 200 = 950 net, 5% tax 47.50, 997.50.
    assert (order.subtotal, order.tax_total, order.total) == (Decimal("950.00"), Decimal("47.50"), Decimal("997.50"))
    # Repricing keeps one gift line.
    services.reprice_order(record=order, user=seller)
    assert order.lines.filter(promotion__isnull=False).count() == 1


def test_an_order_line_without_any_price_is_refused_and_nothing_saved(shop):
    seller = shop["seller"]
    grant(seller, SalesOrder, ["view", "add", "change"], scope=Scope.OWN)
    grant(seller, Customer, ["view"], scope=Scope.OWN)
    customer = make_customer(seller, "青藍百貨")
    bare = make_product("X-1", "無價商品", shop["phones"])
    client = Client()
    client.force_login(seller)
    response = client.post("/sales/salesorder/add/", {
        "customer": str(customer.pk), "order_date": DAY.isoformat(), "owner": str(seller.pk),
        "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "0",
        "lines-0-product": str(bare.pk), "lines-0-quantity": "1", "lines-0-unit_price": "", "lines-0-discount": "0",
    })
    assert response.status_code == 400
    assert "「X-1 無價商品」沒有適用於此客戶的價格" in response.content.decode()
    assert not SalesOrder.objects.exists() and not SalesOrderLine.objects.exists()


def test_inclusive_tax_is_rounded_line_by_line_in_the_currency(shop):
    seller = shop["seller"]
    inclusive = TaxRate.objects.get(rate=5, inclusive=True)
    order = SalesOrder(owner=seller, customer=make_customer(seller, "含稅客戶"), currency=shop["twd"], order_date=DAY)
    services.prepare_order(order=order, created=True)
    order.save()
    for quantity, unit_price in ((Decimal("3"), Decimal("333")), (Decimal("1"), Decimal("99"))):
        SalesOrderLine.objects.create(order=order, description="商品", quantity=quantity, unit_price=unit_price, tax_rate=inclusive)
    services.order_saved(order=order, user=seller)
    order.refresh_from_db()
    # 999 incl. → net 951.43 → 951 (TWD), tax 48; 99 → net 94.29 → 94, tax 5.
    assert (order.subtotal, order.tax_total, order.total) == (Decimal("1045.00"), Decimal("53.00"), Decimal("1098.00"))


def test_the_price_check_page_explains_in_the_members_language(shop):
    seller = shop["seller"]
    grant(seller, PriceList, ["view"], scope=Scope.ALL)
    dealers = PriceList.objects.create(name="經銷價")
    PriceRule.objects.create(price_list=dealers, product=shop["phone"], min_quantity=Decimal("10"), method="fixed", value=Decimal("860"))
    client = Client()
    client.force_login(seller)
    page = client.get("/sales/price-check/", {"product": shop["phone"].pk, "quantity": "12", "day": DAY.isoformat()}).content.decode()
    assert "CNY 860.00" in page
    assert "價目表「經銷價」：固定價 860.00，數量 10 起" in page
    assert client.get("/sales/price-check/", {"product": shop["phone"].pk, "quantity": "-1"}).status_code == 400
    other = make_member("other", department=make_department("財務部"))
    client.force_login(other)
    assert client.get("/sales/price-check/").status_code == 403
