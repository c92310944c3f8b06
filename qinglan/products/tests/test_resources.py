"""Conformance tests of the catalogue's resources (ResourceTestCase drives UI and API)."""

from django.test import TestCase

from qinglan.core import testing
from qinglan.products.models import Attribute, AttributeValue, Brand, Category, Product, ProductVariant, Unit, UnitConversion

from .factories import make_attribute, make_category, make_product, make_unit


class ProductTests(testing.ResourceTestCase):
    model = Product
    bulk_edit_data = {"status": "discontinued"}

    def setUp(self):
        super().setUp()
        self.phones = make_category("手機", code="PHONE")
        make_attribute(self.phones, "screen_size", "螢幕尺寸", "number", unit="吋")
        make_attribute(self.phones, "os", "作業系統", "choice", options=["iOS", "Android"])
        self.unit = make_unit("pcs", "個")
        self.form_data = {
            "code": "PH-001", "name": "測試手機", "category": str(self.phones.pk), "status": "active", "base_unit": str(self.unit.pk),
            "attributes": '{"screen_size": "6.1", "os": "iOS"}',
        }
        self.update_data = {**self.form_data, "attributes": '{"screen_size": "6.7", "os": "Android"}'}
        self.csv_data = "code,name,category,base_unit,attributes\nPH-100,匯入手機一,PHONE,pcs,screen_size=6.1; os=iOS\nPH-101,匯入手機二,PHONE,pcs,\n"

    def test_values_are_indexed_after_each_path(self):
        self.grant("view", "add", "change")
        response = self.post_form(self.resource.url("add"), {**self.form_data, "attributes": "", "attributes__screen_size": "6,1 吋", "attributes__os": "ios"})
        self.assertEqual(response.status_code, 302)
        product = Product.objects.get(code="PH-001")
        self.assertEqual(product.attributes, {"screen_size": "6.1", "os": "iOS"})
        self.assertEqual(
            sorted(AttributeValue.objects.filter(product=product).values_list("attribute__code", "key")), [("os", "iOS"), ("screen_size", "6.1")]
        )
        self.post_form(self.resource.url("edit", product), {**self.form_data, "attributes": "", "attributes__screen_size": "6.7"})
        self.assertEqual(list(AttributeValue.objects.filter(product=product).values_list("key", flat=True)), ["6.7"])

    def test_exported_file_imports_again(self):
        """The attribute values are exported as JSON and read back by the import (update by id)."""
        import csv
        import io
        import json

        self.grant("view", "add", "change", "export", "import")
        record = self.create_record()
        response = self.client.get(self.resource.url("export") + "?format=csv")
        rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
        header = next(name for name in rows[0] if name.endswith("[attributes]"))  # "屬性 [attributes]"
        self.assertEqual(json.loads(rows[0][header]), {"screen_size": "6.1", "os": "iOS"})
        rows[0][header] = rows[0][header].replace("6.1", "6.7")
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=["id", "代碼 [code]", "名稱 [name]", header], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        job_url = self._import(out.getvalue(), mapping={"代碼 [code]": "code", "名稱 [name]": "name", header: "attributes"})
        self.assertContains(self.client.get(job_url), 'data-testid="import-ok"')
        self.client.post(job_url, {"_confirm": "1"})
        record.refresh_from_db()
        self.assertEqual(record.attributes["screen_size"], "6.7")
        self.assertEqual(AttributeValue.objects.get(product=record, attribute__code="screen_size").key, "6.7")

    def test_import_writes_the_attribute_index(self):
        self.grant("view", "add", "import")
        job_url = self._import(self.csv_data)
        self.client.post(job_url, {"_confirm": "1"})
        product = Product.objects.get(code="PH-100")
        self.assertEqual(product.attributes, {"screen_size": "6.1", "os": "iOS"})
        self.assertEqual(AttributeValue.objects.filter(product=product).count(), 2)
        self.assertEqual(product.name_key, "匯入手機一")


class ProductVariantTests(testing.ResourceTestCase):
    model = ProductVariant
    bulk_edit_data = {"active": "false"}

    def setUp(self):
        super().setUp()
        testing.grant(self.member, Product, ["view"])  # to pick the product
        category = make_category("耳機")
        make_attribute(category, "colour", "顏色", "choice", options=["黑色", "白色"], for_variants=True)
        self.product = make_product("AU-1", "測試耳機", category, owner=self.member)
        self.form_data = {"product": str(self.product.pk), "code": "AU-1-BK", "attributes": '{"colour": "黑色"}', "active": "on"}
        self.update_data = {**self.form_data, "attributes": '{"colour": "白色"}'}
        self.csv_data = "product,code,attributes\nAU-1,AU-1-W,colour=白色\nAU-1,AU-1-B,colour=黑色\n"

    def test_variant_is_named_by_its_values(self):
        variant = self.create_record()
        self.assertEqual(variant.name, "黑色")

    def test_variant_page_shows_its_values_and_the_products_price(self):
        self.grant("view")
        Product.objects.filter(pk=self.product.pk).update(list_price="2990")
        page = self.client.get(self.resource.url("detail", self.create_record())).content.decode()
        self.assertIn("顏色", page)
        self.assertIn("2,990", page)
        self.assertIn("產品的定價", page)


class CategoryTests(testing.ResourceTestCase):
    model = Category
    form_data = {"name": "電子產品", "code": "ELEC"}
    update_data = {"name": "電子產品類", "code": "ELEC", "description": "3C"}
    csv_data = "name,code\n辦公用品,OFFICE\n食品,FOOD\n"
    bulk_edit_data = {"description": "示範"}


class AttributeTests(testing.ResourceTestCase):
    model = Attribute
    bulk_edit_data = {"order": "5"}

    def setUp(self):
        super().setUp()
        self.category = make_category("服飾", code="WEAR")
        self.form_data = {"category": str(self.category.pk), "code": "size", "name": "尺寸", "type": "choice", "options": "S\nM\nL", "order": "10", "filterable": "on"}
        self.second_form_data = {**self.form_data, "code": "colour", "name": "顏色", "options": "紅\n藍"}
        self.update_data = {**self.form_data, "options": "S\nM\nL\nXL"}
        self.csv_data = "category,code,name,type,options,unit\nWEAR,fit,版型,choice,合身、寬鬆,\nWEAR,length,衣長,number,,cm\n"

    def test_options_are_a_list(self):
        record = self.create_record()
        self.assertEqual(record.options, ["S", "M", "L"])


class BrandTests(testing.ResourceTestCase):
    model = Brand
    form_data = {"name": "蘋果", "name_latin": "Apple"}
    update_data = {"name": "蘋果", "name_latin": "Apple Inc."}
    csv_data = "name,name_latin\n三星,Samsung\n華碩,ASUS\n"
    bulk_edit_data = {"description": "示範品牌"}


class UnitTests(testing.ResourceTestCase):
    model = Unit
    form_data = {"code": "box", "name": "箱"}
    update_data = {"code": "box", "name": "外箱"}
    csv_data = "code,name\nkg,公斤\ng,克\n"
    bulk_edit_data = {"description": "示範"}


class UnitConversionTests(testing.ResourceTestCase):
    model = UnitConversion

    def setUp(self):
        super().setUp()
        units = {code: make_unit(code) for code in ("box", "pcs", "kg", "g", "ream", "sheet")}
        self.form_data = {"from_unit": str(units["box"].pk), "factor": "12", "to_unit": str(units["pcs"].pk)}
        self.second_form_data = {"from_unit": str(units["kg"].pk), "factor": "1000", "to_unit": str(units["g"].pk)}
        self.update_data = {**self.form_data, "factor": "24"}
        self.csv_data = "from_unit,factor,to_unit\nkg,1000,g\nream,500,sheet\n"

    def test_import_refuses_a_cycle_within_the_file(self):
        self.grant("view", "add", "import")
        job_url = self._import("from_unit,factor,to_unit\nbox,12,pcs\npcs,10,sheet\nsheet,0.01,box\n")
        response = self.client.get(job_url)
        self.assertContains(response, 'data-testid="import-errors"')
        self.assertContains(response, "循環")
        self.assertEqual(UnitConversion.objects.count(), 0)


class ProductExtrasTests(TestCase):
    """Custom fields and tags come with the registration, on the form, the page and the API."""

    def test_custom_field_and_tag(self):
        from django.contrib.contenttypes.models import ContentType

        from qinglan.core.models import APIToken
        from qinglan.extras.models import FieldDef, Tag

        FieldDef.objects.create(content_type=ContentType.objects.get_for_model(Product), name="warranty_months", label="保固月數", type="integer")
        tag = Tag.objects.create(name="新品", slug="new")
        member = testing.make_member("pm")
        testing.grant(member, Product, ["view", "add"])
        self.client.force_login(member)
        data = {
            "code": "AC-1", "name": "充電線", "category": make_category("配件").pk, "base_unit": make_unit("pcs").pk,
            "cf_warranty_months": "12", "tags": [tag.pk],
        }
        self.assertEqual(self.client.post("/products/product/add/", data).status_code, 302)
        product = Product.objects.get(code="AC-1")
        self.assertEqual(product.custom_field_data, {"warranty_months": 12})
        self.assertEqual([item.slug for item in product.tag_list], ["new"])
        self.assertIn("保固月數", self.client.get(product.get_absolute_url()).content.decode())
        _token, key = APIToken.issue(user=member, name="t")
        data = self.client.get(f"/api/products/products/{product.pk}/", HTTP_AUTHORIZATION=f"Token {key}").json()
        self.assertEqual((data["custom_fields"], data["tags"]), ({"warranty_months": 12}, ["new"]))
