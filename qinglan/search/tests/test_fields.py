"""field:value filters and recency in the ranking, through the service, the page and the API;
field filters never widen the member's scope."""

import datetime

from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from qinglan.core.testing import make_member
from qinglan.customers.models import Customer
from qinglan.customers.tests.factories import make_customer
from qinglan.search import index
from qinglan.search.models import SearchEntry
from qinglan.search.service import search

from .test_search import SearchTestCase


class FieldFilterTests(SearchTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.wang = make_member("wang", display_name="王大明", department=cls.north)
        cls.active = make_customer(cls.wang, "活躍合同客戶", status="active")
        cls.lost = make_customer(cls.wang, "流失合同客戶", status="lost", email="lost@example.com")

    def titles(self, user, text, **kwargs):
        return {hit.title for group in search(user, text, **kwargs).groups for hit in group.hits}

    def test_choices_by_value_or_label(self):
        self.assertEqual(self.titles(self.admin, "合同 status:active"), {"活躍合同客戶"})
        self.assertEqual(self.titles(self.admin, "合同 status:LOST"), {"流失合同客戶"})
        self.assertEqual(self.titles(self.admin, "合同 status:潛在"), {"青藍科技合同管理有限公司"})  # prospect's label
        self.assertEqual(self.titles(self.admin, "合同 狀態:流失"), {"流失合同客戶"})
        self.assertEqual(self.titles(self.admin, "合同 -status:lost", types=["customers.customer"]), {"活躍合同客戶", "青藍科技合同管理有限公司"})
        self.assertEqual(self.titles(self.admin, "合同 status:nonsense"), set())

    def test_references_by_name(self):
        self.assertEqual(self.titles(self.admin, "合同 owner:王"), {"活躍合同客戶", "流失合同客戶"})
        self.assertEqual(self.titles(self.admin, '合同 owner:"王大明"'), {"活躍合同客戶", "流失合同客戶"})
        self.assertEqual(self.titles(self.admin, "owner:alice 客戶"), {"重要客戶北極星"})
        # contacts are filtered by their customer
        self.assertEqual(self.titles(self.admin, "合同 customer:青藍"), {"林合同"})

    def test_a_filter_alone_lists_the_records_newest_first(self):
        results = search(self.admin, "owner:wang")
        self.assertEqual([hit.title for group in results.groups for hit in group.hits], ["流失合同客戶", "活躍合同客戶"])
        self.assertEqual(results.total, 2)
        self.assertEqual(self.titles(self.admin, "owner:wang -流失"), {"活躍合同客戶"})
        self.assertEqual(self.titles(self.admin, "type:customer email:lost@"), {"流失合同客戶"})

    def test_unknown_fields_are_words(self):
        make_customer(self.admin, "Visit http example")
        index.rebuild()
        self.assertEqual(self.titles(self.admin, "http://example"), {"Visit http example"})
        self.assertEqual(self.titles(self.admin, "colour:red"), set())
        self.assertEqual(search(self.admin, "colour:red").message, "")

    def test_only_types_with_the_field(self):
        # Contacts have no status: a status filter leaves them out.
        results = search(self.admin, "合同 status:prospect")
        self.assertEqual({group.key for group in results.facets}, {"customers.customer"})

    def test_filters_stay_inside_the_scope(self):
        self.assertEqual(self.titles(self.alice, "owner:bob 客户"), set())
        self.assertEqual(search(self.alice, "owner:bob").total, 0)
        self.assertEqual(search(self.alice, "owner:wang").total, 0)
        self.assertEqual(self.titles(self.alice, "status:prospect"), {"青藍科技合同管理有限公司", "重要客戶北極星"})
        self.client.force_login(self.alice)
        body = self.client.get("/api/search/", {"q": "status:prospect"}).json()
        self.assertEqual({facet["type"]: facet["count"] for facet in body["facets"]}, {"customers.customer": 2})
        html = self.client.get("/search/", {"q": "owner:bob"}).content.decode()
        self.assertNotIn("客户服务中心", html)

    def test_hostile_field_values(self):
        for text in ("status:'; DROP TABLE x; --", 'owner:"', "owner:%", "created:9999-99-99", "created:2026-02-30",
                     "is_customer:maybe", "owner:" + "王" * 300, "a" * 60 + ":b", "-status:", "status:active " * 30):
            self.assertGreaterEqual(search(self.admin, text).total, 0, text)
            self.client.force_login(self.admin)
            self.assertEqual(self.client.get("/search/", {"q": text}).status_code, 200)
        self.assertTrue(Customer.objects.exists())


class RecencyTests(SearchTestCase):
    def age(self, record, days):
        SearchEntry.objects.filter(content_type=ContentType.objects.get_for_model(Customer), object_id=record.pk).update(
            updated=timezone.now() - datetime.timedelta(days=days)
        )

    def test_recent_records_first_among_equals(self):
        old = make_customer(self.admin, "北斗星貿易 old")
        new = make_customer(self.admin, "北斗星貿易 new")
        index.rebuild()
        self.age(old, 700)
        self.age(new, 1)
        titles = [hit.title for group in search(self.admin, "北斗星", types=["customers.customer"]).groups for hit in group.hits]
        self.assertEqual(titles, ["北斗星貿易 new", "北斗星貿易 old"])
        self.age(old, 0)
        self.age(new, 700)
        titles = [hit.title for group in search(self.admin, "北斗星", types=["customers.customer"]).groups for hit in group.hits]
        self.assertEqual(titles, ["北斗星貿易 old", "北斗星貿易 new"])

    def test_relevance_outweighs_recency(self):
        in_name = make_customer(self.admin, "南極光顧問")
        in_email = make_customer(self.admin, "某某公司", email="nanjiguang@example.com", short_name="南極光")
        index.rebuild()
        self.age(in_name, 1000)
        self.age(in_email, 0)
        titles = [hit.title for group in search(self.admin, "南極光", types=["customers.customer"]).groups for hit in group.hits]
        self.assertEqual(titles, ["南極光顧問", "某某公司"])
