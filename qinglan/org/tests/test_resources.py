"""Conformance tests of the organisation resources (ResourceTestCase drives UI and API)."""

from qinglan.core import testing
from qinglan.org.models import CompanyProfile, Currency, Department, Dictionary, Group, NumberSequence, Position, Role, User


class DepartmentTests(testing.ResourceTestCase):
    model = Department
    form_data = {"name": "業務部", "code": "SALES", "phone": "02-1234-5678"}
    update_data = {"name": "業務一部"}
    csv_data = "name,code,phone\n北區業務組,N1,02-1111\n南區業務組,S1,07-2222\n"
    bulk_edit_data = {"phone": "02-9999-0000"}

    def test_tree_parent_and_move(self):
        self.grant("view", "add", "change")
        parent = testing.make_department("總公司")
        response = self.post_form(self.resource.url("add"), {"name": "研發部", "parent": parent.pk})
        self.assertEqual(response.status_code, 302)
        child = Department.objects.get(name="研發部")
        self.assertEqual(child.parent, parent)
        other = testing.make_department("分公司")
        self.post_form(self.resource.url("edit", child), {"name": "研發部", "parent": other.pk})
        child.refresh_from_db()
        self.assertEqual(child.parent, other)
        self.assertTrue(child.path.startswith(other.path))


class MemberTests(testing.ResourceTestCase):
    model = User
    form_data = {"username": "wang", "display_name": "王小明", "email": "wang@example.com", "password": "Quite-long-pass-42", "is_active": "on"}
    update_data = {"display_name": "王大明"}
    csv_data = "username,display_name,email\nlin,林一,lin@example.com\nchen,陳二,chen@example.com\n"
    bulk_edit_data = {"is_active": ""}

    def test_new_member_can_sign_in_with_given_password(self):
        self.grant("view", "add")
        self.post_form(self.resource.url("add"), self.form_data)
        self.client.logout()
        self.assertTrue(self.client.login(username="wang", password="Quite-long-pass-42"))

    def test_weak_password_is_refused(self):
        self.grant("view", "add")
        response = self.post_form(self.resource.url("add"), {**self.form_data, "password": "123"})
        self.assertEqual(response.status_code, 400)
        self.assertFalse(User.objects.filter(username="wang").exists())

    def test_department_scope_shows_only_own_department(self):
        sales = testing.make_department("業務部")
        north = testing.make_department("北區", parent=sales)
        finance = testing.make_department("財務部")
        self.member.department = sales
        self.member.save()
        colleague = testing.make_member("colleague", department=sales)
        below = testing.make_member("below", department=north)
        outsider = testing.make_member("outsider", department=finance)
        self.grant("view", scope="department")
        pks = testing.list_pks(self.client.get(self.resource.list_url))
        self.assertEqual(pks, {self.member.pk, colleague.pk})
        self.grant("view", scope="subtree")
        pks = testing.list_pks(self.client.get(self.resource.list_url))
        self.assertEqual(pks, {self.member.pk, colleague.pk, below.pk})
        self.assertNotIn(outsider.pk, pks)

    def test_avatar_must_be_a_real_small_image(self):
        from django.core.files.uploadedfile import SimpleUploadedFile

        self.grant("view", "change")
        url = self.resource.url("edit", self.member)
        data = {"username": "tester", "is_active": "on"}
        fake = SimpleUploadedFile("me.png", b"<script>alert(1)</script>", content_type="image/png")
        self.assertEqual(self.post_form(url, {**data, "avatar": fake}).status_code, 400)
        import io

        from PIL import Image

        buffer = io.BytesIO()
        Image.new("RGB", (8, 8), "blue").save(buffer, "PNG")
        real = SimpleUploadedFile("me.png", buffer.getvalue(), content_type="image/png")
        self.assertEqual(self.post_form(url, {**data, "avatar": real}).status_code, 302)
        self.member.refresh_from_db()
        self.assertTrue(self.member.avatar.name.startswith("avatars/"))


class PositionTests(testing.ResourceTestCase):
    model = Position
    form_data = {"name": "業務專員", "level": "3"}
    update_data = {"level": "4"}
    csv_data = "name,level\n經理,2\n助理,5\n"
    bulk_edit_data = {"level": "7"}

    def test_position_in_use_cannot_be_deleted_and_says_why(self):
        self.grant("view", "delete")
        position = self.create_record()
        testing.make_member("holder", position=position, display_name="持有人")
        response = self.client.post(self.resource.url("delete", position), follow=True)
        self.assertContains(response, "持有人")
        self.assertTrue(Position.objects.filter(pk=position.pk).exists())
        response = self.client.post(self.resource.url("bulk_delete"), {"pk": [position.pk], "_confirm": "1"}, follow=True)
        self.assertContains(response, "持有人")
        self.assertTrue(Position.objects.filter(pk=position.pk).exists())
        response = self.api("delete", f"/api/{self.resource.api_prefix}/{position.pk}/")
        self.assertEqual(response.status_code, 400)
        self.assertIn("持有人", response.content.decode())
        self.assertTrue(Position.objects.filter(pk=position.pk).exists())


class GroupTests(testing.ResourceTestCase):
    model = Group
    form_data = {"name": "管理團隊", "description": "各部門主管"}
    update_data = {"description": "主管群"}
    csv_data = "name,description\n專案小組,跨部門\n品質小組,品管\n"
    bulk_edit_data = {"description": "已整併"}


class RoleTests(testing.ResourceTestCase):
    model = Role
    form_data = {"name": "業務員", "description": "自己的資料"}
    update_data = {"description": "只看自己的資料"}
    csv_data = "name,description\n財務,財務人員\n倉管,倉庫人員\n"


class CompanyProfileTests(testing.ResourceTestCase):
    model = CompanyProfile
    form_data = {"name": "青藍貿易股份有限公司", "tax_id": "24567890", "credit_control": "block", "quote_discount_limit": "10"}
    update_data = {"short_name": "青藍"}


class DictionaryTests(testing.ResourceTestCase):
    model = Dictionary
    form_data = {"code": "industry", "name": "行業"}
    update_data = {"name": "產業"}
    csv_data = "code,name\nsource,來源\nlevel,等級\n"

    def test_options_are_edited_as_child_lines(self):
        self.grant("view", "add")
        data = {
            "code": "level", "name": "等級",
            "items-TOTAL_FORMS": "2", "items-INITIAL_FORMS": "0",
            "items-0-value": "a", "items-0-label": "A 級", "items-0-order": "1", "items-0-active": "on",
            "items-1-value": "b", "items-1-label": "B 級", "items-1-order": "2", "items-1-active": "on",
        }
        response = self.client.post(self.resource.url("add"), data)
        self.assertEqual(response.status_code, 302)
        self.assertEqual(Dictionary.objects.get(code="level").choices(), [("a", "A 級"), ("b", "B 級")])


class CurrencyTests(testing.ResourceTestCase):
    model = Currency
    form_data = {"code": "TWD", "name": "新臺幣", "symbol": "NT$", "decimal_places": "0", "active": "on"}
    second_form_data = {"code": "USD", "name": "US Dollar", "decimal_places": "2"}
    update_data = {"name": "新台幣"}
    csv_data = "code,name,decimal_places\nJPY,日圓,0\nEUR,歐元,2\n"
    bulk_edit_data = {"decimal_places": "3"}

    def test_exchange_rates_are_edited_as_lines_and_used_for_amounts(self):
        import datetime
        from decimal import Decimal

        from qinglan.org.models import CompanyProfile, ExchangeRate
        from qinglan.org.services import convert, to_base

        self.grant("view", "add", "change")
        rates = {"rates-TOTAL_FORMS": "2", "rates-INITIAL_FORMS": "0",
                 "rates-0-date": "2026-01-01", "rates-0-rate": "31.5", "rates-1-date": "2026-03-01", "rates-1-rate": "32.25"}
        response = self.client.post(self.resource.url("add"), {"code": "USD", "name": "美元", "decimal_places": "2", "active": "on", **rates})
        self.assertEqual(response.status_code, 302)
        usd = Currency.objects.get(code="USD")
        self.assertEqual(sorted(usd.rates.values_list("rate", flat=True)), [Decimal("31.5"), Decimal("32.25")])
        self.assertContains(self.client.get(self.resource.url("detail", usd)), "32.25")
        twd = Currency.objects.create(code="TWD", name="新臺幣", decimal_places=0)
        CompanyProfile.objects.create(name="青藍", base_currency=twd)
        # the rate valid on a day is the latest one from or before it
        self.assertEqual(to_base(Decimal("10"), usd, on=datetime.date(2026, 2, 15)), Decimal("315.00"))
        self.assertEqual(to_base(Decimal("10"), usd, on=datetime.date(2026, 3, 1)), Decimal("322.50"))
        self.assertIsNone(to_base(Decimal("10"), usd, on=datetime.date(2025, 12, 31)))  # no rate known yet
        self.assertEqual(convert(Decimal("645"), twd, usd, on=datetime.date(2026, 3, 2)), Decimal("20.00"))
        # a rate of zero or below, or two rates on one day, are refused and nothing is written
        for bad in ({"rates-1-rate": "0"}, {"rates-1-rate": "-3"}, {"rates-1-date": "2026-01-01"}):
            response = self.client.post(self.resource.url("add"), {"code": "EUR", "name": "歐元", "decimal_places": "2", **rates, **bad})
            self.assertEqual(response.status_code, 400, bad)
        self.assertFalse(Currency.objects.filter(code="EUR").exists())
        self.assertEqual(ExchangeRate.objects.count(), 2)

    def test_lowercase_code_is_refused(self):
        self.grant("view", "add")
        response = self.post_form(self.resource.url("add"), {**self.form_data, "code": "twd"})
        self.assertEqual(response.status_code, 400)


class NumberSequenceTests(testing.ResourceTestCase):
    model = NumberSequence
    form_data = {"code": "so", "name": "銷售訂單", "prefix": "SO-{year}-", "padding": "5", "next_value": "1"}
    update_data = {"padding": "6"}

