"""Services of the catalogue: attribute values by type and category, barcodes, unit
conversions (cycles, zero factors, a product's own conversions), category moves."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from qinglan.products import services
from qinglan.products.models import AttributeValue, Product, ProductVariant
from qinglan.products.validators import gtin_check_digit, validate_barcode

from .factories import make_attribute, make_category, make_conversion, make_product, make_unit, make_variant


@pytest.fixture
def phones(db):
    """手機 (screen size, OS, 5G) / 智慧型手機 (battery, release date, colour and storage per variant)."""
    phones = make_category("手機", code="PHONE")
    make_attribute(phones, "screen_size", "螢幕尺寸", "number", unit="吋", required=True, order=10)
    make_attribute(phones, "os", "作業系統", "choice", options=["iOS", "Android"], order=20)
    make_attribute(phones, "has_5g", "支援 5G", "boolean", order=30)
    smart = make_category("智慧型手機", phones, code="SMART")
    make_attribute(smart, "battery", "電池容量", "number", unit="mAh", order=10)
    make_attribute(smart, "release_date", "上市日期", "date", order=20)
    make_attribute(smart, "nickname", "暱稱", "text", order=30)
    make_attribute(smart, "colour", "顏色", "choice", options=["黑色", "白色"], for_variants=True, required=True, order=40)
    return phones, smart


def test_sub_category_inherits_the_attributes_above_it(phones):
    phones_category, smart = phones
    assert [a.code for a in services.attributes_for(smart)] == ["screen_size", "os", "has_5g", "battery", "release_date", "nickname", "colour"]
    assert [a.code for a in services.attributes_for(phones_category)] == ["screen_size", "os", "has_5g"]
    assert [a.code for a in services.attributes_for(smart, for_variants=True)] == ["colour"]


def test_values_are_checked_and_stored_by_type(phones):
    _phones, smart = phones
    product = make_product(
        "P1", "測試手機", smart,
        attributes={"screen_size": "６.１０ 吋", "os": "android", "has_5g": "是", "battery": "4,500", "release_date": "2024/3/7".replace("/3/7", "/03/07"), "nickname": " 旗艦 "},
    )
    assert product.attributes == {"screen_size": "6.1", "os": "Android", "has_5g": True, "battery": "4500", "release_date": "2024-03-07", "nickname": "旗艦"}
    index = dict(AttributeValue.objects.filter(product=product).values_list("attribute__code", "key"))
    assert index == {"screen_size": "6.1", "os": "Android", "has_5g": "1", "battery": "4500", "release_date": "2024-03-07", "nickname": "旗艦"}
    assert AttributeValue.objects.get(product=product, attribute__code="battery").number == Decimal("4500")


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ({"screen_size": "大"}, "「螢幕尺寸」：請輸入數字，例如 6.1。"),
        ({"screen_size": "6.1", "os": "Symbian"}, "「作業系統」：「Symbian」不在選項中（iOS、Android）。"),
        ({"screen_size": "6.1", "has_5g": "maybe"}, "「支援 5G」：請回答是或否。"),
        ({"screen_size": "6.1", "release_date": "2024-13-01"}, "「上市日期」：請輸入日期，例如 2026-11-27。"),
        ({"screen_size": "1e20"}, "「螢幕尺寸」：數字太大。"),
        ({"screen_size": "6.123456789"}, "「螢幕尺寸」：最多 8 位小數。"),
        ({"os": "iOS"}, "「螢幕尺寸」為必填。"),
        ({"screen_size": "6.1", "weight": "1"}, "「weight」不是類別「智慧型手機」的屬性。"),
        ({"screen_size": "6.1", "colour": "黑色"}, "「顏色」依規格不同：請在每個規格上設定。"),
    ],
)
def test_bad_values_get_a_clear_translated_error(phones, attributes, message):
    _phones, smart = phones
    product = Product(code="P2", name="壞資料", category=smart, base_unit=make_unit("pcs"), attributes=attributes)
    with translation.override("zh-hant"), pytest.raises(ValidationError) as raised:
        product.full_clean()
    assert message in raised.value.message_dict["attributes"]


def test_error_in_simplified_chinese_and_english(phones):
    _phones, smart = phones
    product = Product(code="P3", name="x", category=smart, base_unit=make_unit("pcs"), attributes={"screen_size": "big"})
    with translation.override("zh-hans"), pytest.raises(ValidationError) as raised:
        product.full_clean()
    assert "“螢幕尺寸”：请输入数字，例如 6.1。" in raised.value.message_dict["attributes"]
    with translation.override("en"), pytest.raises(ValidationError) as raised:
        product.full_clean()
    assert "“螢幕尺寸”: enter a number, e.g. 6.1." in raised.value.message_dict["attributes"]


def test_variant_values_and_their_checks(phones):
    _phones, smart = phones
    product = make_product("P4", "規格手機", smart, attributes={"screen_size": "6.1"})
    variant = make_variant(product, "P4-W", {"colour": "白色"})
    assert variant.name == "白色"
    assert AttributeValue.objects.filter(product=product, variant=variant, key="白色").exists()
    for attributes, message in (({}, "“顏色” is required."), ({"colour": "白色", "screen_size": "6"}, "“螢幕尺寸” is set on the product, not on each variant.")):
        with translation.override("en"), pytest.raises(ValidationError) as raised:
            ProductVariant(product=product, code="P4-X", attributes=attributes).full_clean()
        assert message in raised.value.message_dict["attributes"]


def test_product_cannot_move_to_a_category_lacking_its_variants_attributes(phones):
    phones_category, smart = phones
    product = make_product("P5", "手機", smart, attributes={"screen_size": "6.1"})
    make_variant(product, "P5-B", {"colour": "黑色"})
    product.category = phones_category
    with pytest.raises(ValidationError) as raised:
        product.full_clean()
    assert "category" in raised.value.message_dict


def test_gtin_check_digits():
    assert gtin_check_digit("400638133393") == "1"  # EAN-13 4006381333931
    validate_barcode("4006381333931")
    validate_barcode("036000291452")  # UPC-A
    validate_barcode("96385074")  # EAN-8
    validate_barcode("ABC-123-XYZ")  # not a GTIN: taken as it is
    with translation.override("zh-hant"), pytest.raises(ValidationError) as raised:
        validate_barcode("4006381333932")
    assert raised.value.messages == ["這不是有效的 EAN-13 條碼：檢查碼應為 1。"]
    with pytest.raises(ValidationError):
        validate_barcode("036000291453")
    with pytest.raises(ValidationError):
        validate_barcode("條碼123")


def test_barcode_is_normalised_and_unique_across_products_and_variants(phones):
    _phones, smart = phones
    product = make_product("P6", "條碼手機", smart, attributes={"screen_size": "6"}, barcode="４００６ 381-333931")
    assert product.barcode == "4006381333931"
    with pytest.raises(ValidationError) as raised:
        ProductVariant(product=product, code="P6-B", attributes={"colour": "黑色"}, barcode="4006381333931").full_clean()
    assert "barcode" in raised.value.message_dict
    variant = make_variant(product, "P6-W", {"colour": "白色"}, barcode="036000291452")
    with pytest.raises(ValidationError) as raised:
        Product(code="P7", name="x", category=smart, base_unit=product.base_unit, attributes={"screen_size": "6"}, barcode=variant.barcode).full_clean()
    assert "barcode" in raised.value.message_dict


def test_attribute_code_must_be_unique_along_the_tree(phones):
    phones_category, smart = phones
    with pytest.raises(ValidationError) as raised:
        make_attribute(smart, "os", "系統")
    assert "code" in raised.value.message_dict
    with pytest.raises(ValidationError):
        make_attribute(phones_category, "battery", "電池")  # a sub-category has it
    laptops = make_category("筆電")
    make_attribute(laptops, "screen_size", "螢幕尺寸", "number")  # another branch: allowed


def test_attribute_in_use_keeps_its_code_type_and_used_options(phones):
    phones_category, smart = phones
    make_product("P8", "選項手機", smart, attributes={"screen_size": "6", "os": "iOS"})
    os_attribute = phones_category.attributes.get(code="os")
    for change, field in (({"code": "system"}, "code"), ({"type": "text"}, "type"), ({"options": ["Android"]}, "options")):
        candidate = phones_category.attributes.get(code="os")
        for name, value in change.items():
            setattr(candidate, name, value)
        with pytest.raises(ValidationError) as raised:
            services.check_attribute(attribute=candidate)
        assert field in raised.value.message_dict
    os_attribute.options = ["iOS", "Android", "HarmonyOS"]
    services.check_attribute(attribute=os_attribute)  # adding an option is fine
    with pytest.raises(ValidationError):
        services.check_attribute(attribute=type(os_attribute)(category=smart, code="size", name="尺寸", type="choice", options=[]))


def test_category_move_keeps_the_attributes_in_use(phones):
    phones_category, smart = phones
    other = make_category("其他")
    make_product("P9", "移動手機", smart, attributes={"screen_size": "6"})
    with pytest.raises(ValidationError):
        services.check_category_move(category=smart, new_parent=other)
    empty = make_category("空類別", phones_category)
    services.check_category_move(category=empty, new_parent=other)  # no products: may move


# ---- units ---------------------------------------------------------------------------------------


@pytest.fixture
def units(db):
    return {code: make_unit(code, name) for code, name in (("pcs", "個"), ("box", "箱"), ("dozen", "打"), ("kg", "公斤"), ("g", "克"), ("pallet", "棧板"))}


def test_convert_quantity_through_shared_conversions(units):
    make_conversion(units["box"], "12", units["pcs"])
    make_conversion(units["pallet"], "40", units["box"])
    make_conversion(units["dozen"], "12", units["pcs"])
    assert services.convert_quantity(product=None, quantity=Decimal("2.5"), from_unit=units["box"], to_unit=units["pcs"]) == Decimal("30")
    assert services.convert_quantity(product=None, quantity=Decimal("1"), from_unit=units["pallet"], to_unit=units["dozen"]) == Decimal("40")
    assert services.convert_quantity(product=None, quantity=Decimal("7"), from_unit=units["pcs"], to_unit=units["box"]) == Decimal("0.583333")
    assert services.convert_quantity(product=None, quantity=Decimal("7"), from_unit=units["pcs"], to_unit=units["box"], places=2) == Decimal("0.58")
    assert services.unit_factor(product=None, from_unit=units["pcs"], to_unit=units["pallet"]).denominator == 480
    with translation.override("en"), pytest.raises(ValidationError) as raised:
        services.convert_quantity(product=None, quantity=Decimal("1"), from_unit=units["kg"], to_unit=units["pcs"])
    assert raised.value.messages == ["There is no conversion from 公斤 to 個 for every product."]


def test_product_conversion_overrides_the_shared_one(units):
    make_conversion(units["box"], "12", units["pcs"])
    category = make_category("充電器")
    charger = make_product("CH1", "充電器", category, unit=units["pcs"])
    make_conversion(units["box"], "50", units["pcs"], product=charger)
    other = make_product("CH2", "另一個充電器", category, unit=units["pcs"])
    assert services.to_base_unit(product=charger, quantity=Decimal("2"), unit=units["box"]) == Decimal("100")
    assert services.to_base_unit(product=other, quantity=Decimal("2"), unit=units["box"]) == Decimal("24")
    assert [(str(c), own) for c, own in services.effective_conversions(charger)] == [("1 箱 = 50 個", True)]


def test_cycles_and_bad_factors_are_refused(units):
    make_conversion(units["box"], "12", units["pcs"])
    make_conversion(units["dozen"], "12", units["pcs"])
    with translation.override("zh-hant"), pytest.raises(ValidationError) as raised:
        make_conversion(units["box"], "1", units["dozen"])
    assert raised.value.messages == ["箱 與 打 已可經由其他單位換算；再加一條換算會形成循環。"]
    with pytest.raises(ValidationError) as raised:
        make_conversion(units["kg"], "0", units["g"])
    assert "factor" in raised.value.message_dict
    with pytest.raises(ValidationError):
        make_conversion(units["kg"], "-5", units["g"])
    with pytest.raises(ValidationError):
        make_conversion(units["kg"], "1", units["kg"])
    with pytest.raises(ValidationError):
        make_conversion(units["pcs"], "0.1", units["box"])  # the same two units again, the other way round


def test_shared_conversion_may_not_close_a_cycle_with_a_products_own(units):
    category = make_category("紙")
    paper = make_product("PP1", "影印紙", category, unit=units["pcs"])
    make_conversion(units["box"], "5", units["dozen"], product=paper)
    make_conversion(units["dozen"], "12", units["pcs"])
    with translation.override("en"), pytest.raises(ValidationError) as raised:
        make_conversion(units["box"], "12", units["pcs"])
    assert "PP1 影印紙" in raised.value.messages[0]
    with pytest.raises(ValidationError):
        make_conversion(units["pcs"], "1", units["box"], product=paper)  # a cycle within the product's own


def test_edit_of_a_conversion_is_not_its_own_cycle(units):
    conversion = make_conversion(units["box"], "12", units["pcs"])
    conversion.factor = Decimal("24")
    conversion.full_clean()
    conversion.save()
    assert services.convert_quantity(product=None, quantity=1, from_unit=units["box"], to_unit=units["pcs"]) == 24


def test_a_category_with_sub_categories_is_not_deleted(phones, client):
    from qinglan.core import testing
    from qinglan.products.models import Category

    phones_category, smart = phones
    parent = make_category("配件")
    child = make_category("充電器", parent)
    parent.refresh_from_db()
    client.force_login(testing.make_member("admin", superuser=True))
    response = client.post(f"/products/category/{parent.pk}/delete/", follow=True)
    assert "配件 有子類別，請先刪除或移走它們。" in response.content.decode()
    assert Category.objects.filter(pk__in=[parent.pk, child.pk]).count() == 2
    client.post(f"/products/category/{phones_category.pk}/delete/")  # its attributes are in the way too
    assert Category.objects.filter(pk__in=[phones_category.pk, smart.pk]).count() == 2
    assert client.post(f"/products/category/{child.pk}/delete/").status_code == 302
    assert client.post(f"/products/category/{parent.pk}/delete/").status_code == 302
    assert not Category.objects.filter(pk__in=[parent.pk, child.pk]).exists()


def test_category_page_lists_own_inherited_and_lower_attributes(phones, client):
    from qinglan.core import testing

    phones_category, smart = phones
    make_attribute(make_category("折疊手機", phones_category), "colour", "顏色", "choice", options=["金色"], for_variants=True)
    client.force_login(testing.make_member("admin", superuser=True))
    page = client.get(f"/products/category/{phones_category.pk}/").content.decode()
    assert page.count("子類別另有") == 1
    below = page.split("子類別另有：", 1)[1].split("</p>", 1)[0]
    assert below.count("顏色") == 1 and "電池容量" in below  # two sub-categories have a 顏色: named once
    page = client.get(f"/products/category/{smart.pk}/").content.decode()
    assert "螢幕尺寸" in page and "本類別" in page  # inherited from 手機, and its own
