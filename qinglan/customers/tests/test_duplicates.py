"""Duplicate customers: the normalised keys, the rules, and how members meet them — the add
form's warning and "save anyway", the API's 400, import check errors (nothing written), what
a member learns of customers outside their scope, and the duplicates report."""

import json
import re

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.utils import translation

from qinglan.core.models import APIToken
from qinglan.core.permissions import Scope
from qinglan.core.testing import grant, make_department, make_member
from qinglan.customers.duplicates import Candidate, duplicate_groups, find_duplicates
from qinglan.customers.models import Contact, Customer
from qinglan.customers.normalize import email_key, name_key, phone_key, tax_id_key, without_place

from .factories import make_customer


class NameKeyTests(TestCase):
    def assertSameKey(self, *names):
        keys = {name: name_key(name) for name in names}
        self.assertEqual(len(set(keys.values())), 1, keys)

    def test_width_case_and_legal_forms(self):
        self.assertSameKey("ＡＣＭＥ　有限公司", "Acme Co., Ltd.", "ACME Co. Limited", "acme corporation", "The ACME Company", "Ａｃｍｅ Inc.")
        self.assertEqual(name_key("Acme Co., Ltd."), "acme")

    def test_simplified_and_traditional(self):
        self.assertSameKey("青蓝科技", "青藍科技股份有限公司", "青蓝科技有限公司", "青藍科技（股）公司", "青藍 科技 股份有限公司", "青藍科技(股)公司")
        self.assertEqual(name_key("青蓝科技"), "青藍科技")
        self.assertSameKey("台湾积体电路制造股份有限公司", "臺灣積體電路製造股份有限公司", "台灣積體電路製造")

    def test_spaces_and_full_width_inside_chinese_names(self):
        self.assertSameKey("永豐 電子", "永豐電子", "永豐　電子企業社", "永豐電子有限責任公司")

    def test_ampersand_and_the(self):
        self.assertSameKey("Johnson & Johnson", "Johnson and Johnson", "JOHNSON ＆ JOHNSON Inc.")
        self.assertSameKey("The Blue Ocean Group", "Blue Ocean")

    def test_names_made_only_of_legal_words_are_kept(self):
        self.assertEqual(name_key("公司"), "公司")
        self.assertEqual(name_key("The"), "the")
        self.assertEqual(name_key("大公司"), "大公司")  # one character left would say nothing

    def test_place_prefix(self):
        self.assertEqual(without_place(name_key("台灣青藍科技有限公司")), "青藍科技")
        self.assertEqual(without_place(name_key("上海华联贸易")), "華聯貿易")

    def test_other_keys(self):
        self.assertEqual(phone_key("+886 2 2345-6789"), phone_key("(02) 2345 6789"))
        self.assertEqual(phone_key("０２－２３４５－６７８９"), "223456789")
        self.assertEqual(tax_id_key(" ９１３１ 0000-ab "), "91310000AB")
        self.assertEqual(email_key(" Sales@Example.COM "), "sales@example.com")


class RuleTests(TestCase):
    def setUp(self):
        self.owner = make_member("owner")
        self.blue = make_customer(self.owner, "青藍科技股份有限公司", tax_id="12345678", phone="02-2345-6789", email="info@qinglan.tw")
        self.other = make_customer(self.owner, "北極星光電", phone="07-111-2222")
        Contact.objects.create(customer=self.other, name="林志明", mobile="0912-345-678", phone_key=phone_key("0912-345-678"), email="lin@polaris.tw")

    def reasons(self, **values):
        return {match.customer.pk: match.reasons for match in find_duplicates(Candidate(**values))}

    def test_same_name_in_simplified_or_full_width(self):
        self.assertEqual(self.reasons(name="青蓝科技有限公司"), {self.blue.pk: ["name"]})
        self.assertEqual(self.reasons(name="青藍　科技"), {self.blue.pk: ["name"]})
        self.assertEqual(self.reasons(name="Acme"), {})

    def test_similar_names(self):
        self.assertEqual(self.reasons(name="青藍科技顧問有限公司"), {self.blue.pk: ["similar_name"]})  # starts with 青藍科技
        self.assertEqual(self.reasons(name="青藍科"), {})  # too short to say
        self.assertEqual(self.reasons(name="臺灣青藍科技"), {self.blue.pk: ["similar_name"]})  # place name in front
        self.assertEqual(self.reasons(name="青藍科枝股份有限公司"), {self.blue.pk: ["similar_name"]})  # a typo
        longer = make_customer(self.owner, "北極星光電科技材料")
        self.assertEqual(self.reasons(name="北極星光電"), {self.other.pk: ["name"], longer.pk: ["similar_name"]})

    def test_place_names_before_an_existing_name(self):
        shanghai = make_customer(self.owner, "上海华联贸易有限公司")
        self.assertEqual(self.reasons(name="華聯貿易"), {shanghai.pk: ["similar_name"]})  # the place added
        self.assertEqual(self.reasons(name="臺灣華聯貿易"), {shanghai.pk: ["similar_name"]})  # another place
        self.assertEqual(self.reasons(name="上海華聯貿易股份有限公司"), {shanghai.pk: ["name"]})  # the same place, 繁
        self.assertEqual(self.reasons(name="臺灣聯華貿易"), {})

    def test_tax_id_phone_and_email(self):
        self.assertEqual(self.reasons(tax_id=" 1234 5678 "), {self.blue.pk: ["tax_id"]})
        self.assertEqual(self.reasons(phones=("+886 2 2345 6789",)), {self.blue.pk: ["phone"]})
        self.assertEqual(self.reasons(phones=("+886-912-345-678",)), {self.other.pk: ["phone"]})  # a contact's mobile
        self.assertEqual(self.reasons(emails=("INFO@qinglan.tw",)), {self.blue.pk: ["email"]})
        self.assertEqual(self.reasons(emails=("Lin@Polaris.TW",)), {self.other.pk: ["email"]})  # a contact's e-mail
        self.assertEqual(self.reasons(phones=("123",)), {})  # too short to mean anything

    def test_strongest_reason_first_and_self_excluded(self):
        matches = find_duplicates(Candidate(name="北極星光電", tax_id="12345678"))
        self.assertEqual([m.customer.pk for m in matches], [self.blue.pk, self.other.pk])
        self.assertEqual(find_duplicates(Candidate(name="青藍科技", tax_id="12345678", exclude_pk=self.blue.pk)), [])

    def test_lookups_are_bounded_queries(self):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            find_duplicates(Candidate(name="青藍科技顧問", tax_id="1", phones=("0223456789",), emails=("a@b.tw",)))
        self.assertLessEqual(len(queries), 10)
        for query in queries:
            # A LIMIT, a list of ids, or at most 20 rows per looked-up value (ROW_NUMBER).
            bounded = "LIMIT" in query["sql"] or '"id" IN' in query["sql"] or re.search(r'ROW_NUMBER\(\) OVER .* <= \d+', query["sql"])
            self.assertTrue(bounded, query["sql"])


NO_ADDRESSES = {"addresses-TOTAL_FORMS": "0", "addresses-INITIAL_FORMS": "0"}


class MemberTestCase(TestCase):
    """Two salespeople in two departments; `me` sees only my department's customers."""

    def setUp(self):
        self.north = make_department("北區業務")
        self.south = make_department("南區業務")
        self.me = make_member("me", department=self.north)
        self.colleague = make_member("colleague", department=self.south, display_name="王小明")
        for member, scope in ((self.me, Scope.DEPARTMENT), (self.colleague, Scope.DEPARTMENT)):
            grant(member, Customer, ["view", "add", "change", "import"], scope=scope)
        self.mine = make_customer(self.me, "青藍科技股份有限公司", phone="02-2345-6789")
        self.theirs = make_customer(self.colleague, "北極星光電股份有限公司", tax_id="87654321", phone="07-111-2222")
        self.client.force_login(self.me)

    def add(self, **data):
        return self.client.post("/customers/customer/add/", {**NO_ADDRESSES, "kind": "company", "status": "prospect", "is_customer": "on", **data})


class FormTests(MemberTestCase):
    def test_warning_links_visible_matches_and_needs_confirmation(self):
        response = self.add(name="青蓝科技有限公司")
        self.assertEqual(response.status_code, 400)
        self.assertContains(response, 'data-testid="duplicate-warning"', status_code=400)
        self.assertContains(response, f'href="/customers/customer/{self.mine.pk}/"', status_code=400)
        self.assertContains(response, 'name="confirm_duplicates"', status_code=400)
        self.assertEqual(Customer.objects.count(), 2)
        response = self.add(name="青蓝科技有限公司", confirm_duplicates="on")
        self.assertEqual(response.status_code, 302)
        self.assertEqual(Customer.objects.count(), 3)

    def test_match_outside_scope_names_only_its_owner(self):
        response = self.add(name="北极星光电", phone="(07) 111 2222")
        self.assertEqual(response.status_code, 400)
        text = response.content.decode()
        self.assertIn("王小明", text)
        self.assertNotIn(f"/customers/customer/{self.theirs.pk}/", text)
        self.assertNotIn(self.theirs.code, text)
        self.assertNotIn("北極星光電股份有限公司", text)

    def test_same_tax_id_is_refused_even_when_confirmed(self):
        response = self.add(name="全新名稱", tax_id="8765 4321", confirm_duplicates="on")
        self.assertEqual(response.status_code, 400)
        self.assertContains(response, "王小明", status_code=400)
        self.assertNotContains(response, self.theirs.code, status_code=400)
        self.assertFalse(Customer.objects.filter(name="全新名稱").exists())

    def test_messages_in_the_members_language(self):
        with translation.override("zh-hant"):
            response = self.client.post(
                "/customers/customer/add/", {**NO_ADDRESSES, "kind": "company", "status": "prospect", "name": "北極星光電", "tax_id": "87654321"},
                HTTP_ACCEPT_LANGUAGE="zh-hant",
            )
        self.assertContains(response, "王小明", status_code=400)
        self.assertContains(response, "統一編號", status_code=400)

    def test_editing_without_touching_the_keys_does_not_warn(self):
        twin = make_customer(self.me, "青藍科技")
        data = {**NO_ADDRESSES, "kind": "company", "name": twin.name, "code": twin.code, "status": "active", "is_customer": "on", "owner": self.me.pk}
        response = self.client.post(f"/customers/customer/{twin.pk}/edit/", data)
        self.assertEqual(response.status_code, 302)
        response = self.client.post(f"/customers/customer/{twin.pk}/edit/", {**data, "phone": "02 2345 6789"})
        self.assertContains(response, 'data-testid="duplicate-warning"', status_code=400)


class APITests(MemberTestCase):
    def post(self, data):
        _token, key = APIToken.issue(user=self.me, name="test")
        return self.client.post(
            "/api/customers/customers/", data=json.dumps({"kind": "company", "status": "prospect", **data}),
            content_type="application/json", HTTP_AUTHORIZATION=f"Token {key}",
        )

    def test_duplicate_is_a_400_listing_it_unless_confirmed(self):
        response = self.post({"name": "青蓝科技"})
        self.assertEqual(response.status_code, 400, response.content)
        duplicates = response.json()["duplicates"]
        self.assertEqual([(d["id"], d["reasons"]) for d in duplicates], [(self.mine.pk, ["name"])])
        response = self.post({"name": "青蓝科技", "confirm_duplicates": True})
        self.assertEqual(response.status_code, 201, response.content)

    def test_hidden_match_is_described_without_its_name(self):
        response = self.post({"name": "Other", "phone": "+886 7 111 2222"})
        self.assertEqual(response.status_code, 400)
        [duplicate] = response.json()["duplicates"]
        self.assertEqual(duplicate["owner"], "王小明")
        self.assertNotIn("id", duplicate)
        self.assertNotIn("北極星", response.content.decode())

    def test_tax_id_blocks_even_when_confirmed(self):
        response = self.post({"name": "Other", "tax_id": "87654321", "confirm_duplicates": True})
        self.assertEqual(response.status_code, 400)
        self.assertTrue(response.json()["duplicates"][0]["blocking"])
        self.assertIn("tax_id", response.json())


class ImportTests(MemberTestCase):
    def check(self, content):
        upload = SimpleUploadedFile("customers.csv", content.encode(), content_type="text/csv")
        response = self.client.post("/customers/customer/import/", {"file": upload})
        job_url = response["Location"]
        headers = content.splitlines()[0].split(",")
        self.client.post(job_url, {f"column_{i}": header for i, header in enumerate(headers)})
        return job_url

    def test_duplicate_rows_are_errors_and_nothing_is_written(self):
        job_url = self.check(
            "name,kind,status,phone,tax_id\n"
            "青蓝科技有限公司,company,prospect,,\n"  # row 2: mine, by name
            "全新貿易,company,prospect,0988-000-111,\n"  # row 3: new
            "全新貿易股份有限公司,company,prospect,,\n"  # row 4: same as row 3
            "另一家,company,prospect,,87654321\n"  # row 5: their tax ID
            "無關公司,company,prospect,,\n"  # row 6: fine
        )
        response = self.client.get(job_url)
        self.assertContains(response, 'data-testid="import-errors"')
        from qinglan.core.models import ImportJob

        job = ImportJob.objects.get()
        by_row = {}
        for error in job.errors:
            by_row.setdefault(error["row"], []).append(error["message"])
        self.assertEqual(sorted(by_row), [2, 4, 5])
        self.assertIn(self.mine.code, " ".join(by_row[2]))
        self.assertIn("3", " ".join(by_row[4]))
        self.assertIn("王小明", " ".join(by_row[5]))
        self.assertNotIn(self.theirs.code, json.dumps(job.errors, ensure_ascii=False))
        self.client.post(job_url, {"_confirm": "1"})
        self.assertEqual(Customer.objects.count(), 2)

    def test_clean_file_imports(self):
        job_url = self.check("name,kind,status\n日昇能源,company,prospect\n藍海餐飲,company,prospect\n")
        self.assertContains(self.client.get(job_url), 'data-testid="import-ok"')
        self.client.post(job_url, {"_confirm": "1"})
        self.assertEqual(Customer.objects.count(), 4)


class ReportTests(MemberTestCase):
    def test_groups_of_visible_customers_by_name_phone_and_tax_id(self):
        twin = make_customer(self.me, "青蓝科技", tax_id="11112222")
        make_customer(self.me, "Ｑｉｎｇｌａｎ", phone="02 2345 6789", tax_id="11112222")
        make_customer(self.colleague, "青藍科技有限公司")  # outside my scope: not in my groups
        groups, _next = duplicate_groups(self.me, by="name")
        self.assertEqual([(key, {c.pk for c in members}) for key, members in groups], [("青藍科技", {self.mine.pk, twin.pk})])
        groups, _next = duplicate_groups(self.me, by="phone")
        self.assertEqual(len(groups[0][1]), 2)
        groups, _next = duplicate_groups(self.me, by="tax_id")
        self.assertEqual(groups[0][0], "11112222")

        response = self.client.get("/customers/customer/duplicates/")
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, 'data-testid="duplicate-group"', count=1)
        self.assertContains(response, twin.get_absolute_url())
        self.assertNotContains(response, "merge/")  # no delete permission, no merge buttons
        self.assertContains(self.client.get("/customers/customer/"), "/customers/customer/duplicates/")

    def test_report_pages_by_key(self):
        for index in range(5):
            make_customer(self.me, f"重複客戶{index}甲")
            make_customer(self.me, f"重複客戶{index}甲公司")
        groups, next_key = duplicate_groups(self.me, by="name", size=2)
        self.assertEqual(len(groups), 2)
        more, _after = duplicate_groups(self.me, by="name", size=10, after=next_key)
        self.assertEqual(len(more), 3)
        response = self.client.get("/customers/customer/duplicates/", {"after": next_key})
        self.assertContains(response, 'data-testid="duplicate-group"', count=3)

    def test_report_needs_view_permission(self):
        self.client.force_login(make_member("nobody"))
        self.assertEqual(self.client.get("/customers/customer/duplicates/").status_code, 403)
