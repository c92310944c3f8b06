"""Full-text search through the real pages and API: Chinese words, 繁/简 and width folding,
permissions on results and counts, the index following the forms, hostile queries, rebuild."""

import io

from django.core.management import CommandError, call_command
from django.test import TestCase
from django.utils import timezone

from qinglan.core.models import APIToken
from qinglan.core.permissions import Scope
from qinglan.core.testing import grant, make_department, make_member
from qinglan.customers.models import Contact, Customer
from qinglan.customers.tests.factories import make_contact, make_customer
from qinglan.search import index
from qinglan.search.models import SearchEntry
from qinglan.search.service import search

HOSTILE = [
    '"',
    '"""',
    "合同\"",
    "NEAR(合同 客戶, 2)",
    "a* OR b*",
    "^title : 合同",
    "tokens_a:合同",
    "( ( ( ) ) )",
    "-",
    "--",
    "-合同",
    "type:",
    "type:nothing-like-this",
    "'; DROP TABLE search_searchentry; --",
    "1' OR '1'='1",
    "' UNION SELECT password FROM org_user --",
    "%_\\%",
    "！？。，、；：「」『』",
    "*",
    "合" * 1000,
    "Ｑ" * 5000,
    "<script>alert(1)</script>",
    "\x00\x01",
    "🙂🙂🙂",
]


class SearchTestCase(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.north = make_department("北區業務部")
        cls.south = make_department("南區業務部")
        cls.alice = make_member("alice", department=cls.north)
        cls.bob = make_member("bob", department=cls.south)
        cls.admin = make_member("boss", superuser=True)
        grant(cls.alice, Customer, ["view"], scope=Scope.OWN)
        grant(cls.alice, Contact, ["view"], scope=Scope.OWN)
        grant(cls.bob, Customer, ["view"], scope=Scope.OWN)
        cls.contract = make_customer(cls.alice, "青藍科技合同管理有限公司")
        cls.traditional = make_customer(cls.alice, "重要客戶北極星")
        cls.simplified = make_customer(cls.bob, "客户服务中心")
        cls.latin = make_customer(cls.bob, "Qinglan Trading Companies")
        cls.bobs_contact = make_contact(cls.simplified, "陳合同")
        cls.alices_contact = make_contact(cls.contract, "林合同")

    def setUp(self):
        index.rebuild()

    def titles(self, user, text, **kwargs):
        return {hit.title for group in search(user, text, **kwargs).groups for hit in group.hits}


class ChineseTextTests(SearchTestCase):
    def test_two_character_words_inside_longer_names(self):
        self.assertIn("青藍科技合同管理有限公司", self.titles(self.admin, "合同"))
        self.assertIn("重要客戶北極星", self.titles(self.admin, "客戶"))

    def test_simplified_finds_traditional_and_back(self):
        self.assertIn("重要客戶北極星", self.titles(self.admin, "客户"))
        self.assertIn("客户服务中心", self.titles(self.admin, "客戶"))
        self.assertIn("客户服务中心", self.titles(self.admin, "客戶服務"))

    def test_full_width_finds_latin(self):
        self.assertIn("Qinglan Trading Companies", self.titles(self.admin, "Ｑｉｎｇｌａｎ"))
        self.assertIn("Qinglan Trading Companies", self.titles(self.admin, "company"))

    def test_words_phrases_and_exclusions(self):
        self.assertEqual(self.titles(self.admin, "合同 青藍", types=["customers.customer"]), {"青藍科技合同管理有限公司"})
        # 林合同's customer is 青藍科技合同管理有限公司: contacts are indexed with their customer's name.
        self.assertEqual(self.titles(self.admin, '"合同管理"'), {"青藍科技合同管理有限公司", "林合同"})
        self.assertEqual(self.titles(self.admin, '"管理合同"'), set())
        self.assertNotIn("青藍科技合同管理有限公司", self.titles(self.admin, "合同 -青藍"))
        self.assertEqual(self.titles(self.admin, "合同 -青藍"), {"陳合同"})

    def test_type_filter_and_paging(self):
        for serial in range(25):
            make_customer(self.admin, f"分頁測試公司{serial:02d}")
        index.rebuild(index.resource_for_label("customers.customer"))
        first = search(self.admin, "分頁測試", types=["customers.customer"])
        self.assertEqual(len(first.groups[0].hits), 20)
        self.assertTrue(first.has_next)
        self.assertEqual(first.groups[0].count, 25)
        second = search(self.admin, "type:customer 分頁測試", page=2)
        self.assertEqual(len(second.groups[0].hits), 5)
        self.assertFalse(second.has_next)
        names = {hit.title for hit in first.groups[0].hits} | {hit.title for hit in second.groups[0].hits}
        self.assertEqual(len(names), 25)

    def test_snippets_and_titles_are_escaped_with_marks(self):
        make_customer(self.admin, "<b>合同</b> 測試", email="contract@example.com")
        index.rebuild()
        hit = next(hit for group in search(self.admin, "合同 測試").groups for hit in group.hits if "測試" in hit.title)
        self.assertEqual(str(hit.title_html), "&lt;b&gt;<mark>合同</mark>&lt;/b&gt; <mark>測試</mark>")


class PermissionTests(SearchTestCase):
    def test_member_sees_only_results_and_counts_in_scope(self):
        results = search(self.alice, "合同")
        found = {hit.title for group in results.groups for hit in group.hits}
        self.assertEqual(found, {"青藍科技合同管理有限公司", "林合同"})
        self.assertEqual({group.key: group.count for group in results.facets}, {"customers.customer": 1, "customers.contact": 1})
        self.assertEqual(results.total, 2)
        self.assertEqual(self.titles(self.alice, "客户"), {"重要客戶北極星"})
        self.assertEqual(self.titles(self.alice, "trading"), set())

    def test_types_without_view_permission_are_left_out(self):
        results = search(self.bob, "合同")  # bob may view customers, not contacts
        self.assertEqual([group.key for group in results.facets], [])
        self.assertEqual(self.titles(self.bob, "陳合同"), set())
        self.assertEqual(self.titles(self.bob, "客戶"), {"客户服务中心"})
        nobody = make_member("nobody", department=self.north)
        self.assertEqual(search(nobody, "合同").total, 0)

    def test_page_shows_only_records_in_scope(self):
        self.client.force_login(self.alice)
        html = self.client.get("/search/", {"q": "合同"}).content.decode()
        self.assertIn(f"/customers/customer/{self.contract.pk}/", html)
        self.assertNotIn("陳合同", html)
        self.assertNotIn(f"/customers/contact/{self.bobs_contact.pk}/", html)

    def test_pool_customers_are_found_and_linked_to_the_pool(self):
        pooled = make_customer(None, "公海合同客戶")
        Customer.objects.filter(pk=pooled.pk).update(in_pool=True, pooled_at=timezone.now())
        index.rebuild()
        hits = [hit for group in search(self.alice, "公海合同").groups for hit in group.hits]
        self.assertEqual([hit.title for hit in hits], ["公海合同客戶"])
        self.assertIn("pool", hits[0].url)
        self.assertEqual(self.client.get(hits[0].url).status_code, 302)  # not logged in here
        self.client.force_login(self.alice)
        self.assertEqual(self.client.get(hits[0].url).status_code, 200)


class IndexFollowsFormsTests(SearchTestCase):
    def post(self, url, data=None):
        from qinglan.core.registry import registry

        management = {}
        for name in registry.get(Customer).formsets():
            management.update({f"{name}-TOTAL_FORMS": "0", f"{name}-INITIAL_FORMS": "0"})
        with self.captureOnCommitCallbacks(execute=True):
            return self.client.post(url, {**management, **(data or {})})

    def test_create_edit_delete_through_the_forms(self):
        self.client.force_login(self.admin)
        data = {"kind": "company", "name": "曙光合同印刷有限公司", "status": "prospect", "is_customer": "on", "phone": "02-8888-1234"}
        response = self.post("/customers/customer/add/", data)
        self.assertEqual(response.status_code, 302)
        customer = Customer.objects.get(name="曙光合同印刷有限公司")
        self.assertIn("曙光合同印刷有限公司", self.titles(self.admin, "曙光"))

        response = self.post(f"/customers/customer/{customer.pk}/edit/", {**data, "name": "晨曦彩色印刷有限公司"})
        self.assertEqual(response.status_code, 302)
        self.assertEqual(self.titles(self.admin, "曙光"), set())
        self.assertIn("晨曦彩色印刷有限公司", self.titles(self.admin, "晨曦"))

        response = self.post(f"/customers/customer/{customer.pk}/delete/")
        self.assertEqual(response.status_code, 302)
        self.assertEqual(self.titles(self.admin, "晨曦"), set())
        self.assertFalse(SearchEntry.objects.filter(object_id=customer.pk, title__contains="晨曦").exists())

    def test_renaming_a_customer_reindexes_its_contacts(self):
        self.client.force_login(self.admin)
        data = {"kind": "company", "name": "青藍科技合同管理有限公司", "status": "prospect", "is_customer": "on"}
        response = self.post(f"/customers/customer/{self.contract.pk}/edit/", {**data, "name": "藍天白雲有限公司"})
        self.assertEqual(response.status_code, 302)
        self.assertIn("林合同", self.titles(self.admin, "藍天白雲", types=["customers.contact"]))


class HostileQueryTests(SearchTestCase):
    def test_hostile_queries_give_a_clean_page(self):
        self.client.force_login(self.alice)
        for text in HOSTILE:
            for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
                response = self.client.get("/search/", {"q": text}, **headers)
                self.assertEqual(response.status_code, 200, text)
                self.assertNotIn("<script>alert", response.content.decode())
            response = self.client.get("/search/", {"q": text, "type": "customers.customer", "page": "x"})
            self.assertEqual(response.status_code, 200, text)

    def test_hostile_queries_through_the_service(self):
        for text in HOSTILE:
            for user in (self.admin, self.alice):
                results = search(user, text, page="-5")
                self.assertGreaterEqual(results.total, 0)

    def test_suggestions_match_the_last_word_as_typed(self):
        self.client.force_login(self.admin)
        html = self.client.get("/search/", {"q": "Qingl"}, HTTP_HX_REQUEST="true").content.decode()
        self.assertIn("<mark>Qingl</mark>an Trading Companies", html)
        self.assertNotIn("<html", html)
        self.assertEqual(self.titles(self.admin, "Qingl"), set())  # the results page wants whole words

    def test_fts_operators_are_only_words(self):
        self.assertEqual(self.titles(self.admin, "合同 NEAR"), set())
        self.assertIn("青藍科技合同管理有限公司", self.titles(self.admin, "合同*"))


class APITests(SearchTestCase):
    def test_api_answers_with_the_same_permissions(self):
        _token, key = APIToken.issue(user=self.alice, name="search")
        response = self.client.get("/api/search/", {"q": "合同"}, HTTP_AUTHORIZATION=f"Token {key}")
        self.assertEqual(response.status_code, 200)
        body = response.json()
        self.assertEqual(body["total"], 2)
        titles = {hit["title"] for group in body["groups"] for hit in group["results"]}
        self.assertEqual(titles, {"青藍科技合同管理有限公司", "林合同"})
        self.assertEqual({facet["type"]: facet["count"] for facet in body["facets"]}, {"customers.customer": 1, "customers.contact": 1})
        self.assertIn("<mark>合同</mark>", body["groups"][0]["results"][0]["title_html"])

    def test_api_type_filter_session_auth_and_hostile_input(self):
        self.client.force_login(self.admin)
        body = self.client.get("/api/search/", {"q": "合同", "type": "customers.contact"}).json()
        self.assertEqual([group["type"] for group in body["groups"]], ["customers.contact"])
        for text in HOSTILE:
            self.assertEqual(self.client.get("/api/search/", {"q": text}).status_code, 200, text)

    def test_api_needs_authentication(self):
        self.assertIn(self.client.get("/api/search/", {"q": "合同"}).status_code, (401, 403))


class RebuildCommandTests(SearchTestCase):
    def test_rebuild_all_and_one_type(self):
        SearchEntry.objects.all().delete()
        out = io.StringIO()
        call_command("search", "rebuild", stdout=out)
        self.assertIn("records/s", out.getvalue())
        self.assertIn("青藍科技合同管理有限公司", self.titles(self.admin, "合同"))
        count = SearchEntry.objects.count()

        out = io.StringIO()
        call_command("search", "rebuild", "--resource", "customers.customer", stdout=out)
        self.assertIn("customers.customer: 4 records", out.getvalue())
        self.assertNotIn("customers.contact", out.getvalue())
        self.assertEqual(SearchEntry.objects.count(), count)

        with self.assertRaises(CommandError):
            call_command("search", "rebuild", "--resource", "nothing.here", stdout=io.StringIO())
