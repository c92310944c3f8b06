"""Names found by pinyin and pinyin initials, through the page, the API and the service."""

from qinglan.customers.tests.factories import make_contact, make_customer
from qinglan.search import index
from qinglan.search.service import search

from .test_search import SearchTestCase


class PinyinTests(SearchTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.zhongshan = make_customer(cls.alice, "中山公司")
        cls.chongqing = make_customer(cls.bob, "重慶銀行股份有限公司")
        cls.zs_trading = make_customer(cls.alice, "ZS Trading")
        cls.zeng = make_contact(cls.zhongshan, "曾小明")

    def hits(self, user, text, **kwargs):
        return [hit for group in search(user, text, **kwargs).groups for hit in group.hits]

    def test_initials_and_full_pinyin_find_the_name(self):
        for text in ("zsgs", "zhongshan", "zhongshangongsi", "ZSGS", "ｚｓｇｓ", "zhongshan gongsi"):
            self.assertIn("中山公司", {hit.title for hit in self.hits(self.admin, text, types=["customers.customer"])}, text)
        hit = self.hits(self.admin, "zsgs", types=["customers.customer"])[0]
        self.assertEqual(str(hit.title_html), "<mark>中山公司</mark>")
        self.assertIn("重慶銀行股份有限公司", {hit.title for hit in self.hits(self.admin, "cqyh")})
        self.assertIn("重慶銀行股份有限公司", {hit.title for hit in self.hits(self.admin, "chongqing yinhang")})

    def test_surnames_with_two_readings(self):
        for text in ("zxm", "cxm", "zengxiaoming"):
            self.assertEqual({hit.title for hit in self.hits(self.admin, text, types=["customers.contact"])}, {"曾小明"}, text)

    def test_pinyin_ranks_below_the_words_themselves(self):
        hits = self.hits(self.admin, "zs", types=["customers.customer"])
        self.assertEqual([hit.title for hit in hits][:2], ["ZS Trading", "中山公司"])

    def test_suggestions_match_pinyin_as_typed(self):
        self.client.force_login(self.admin)
        html = self.client.get("/search/", {"q": "zhongsh"}, HTTP_HX_REQUEST="true").content.decode()
        self.assertIn("中山公司", html)
        body = self.client.get("/api/search/", {"q": "zsg", "prefix": "1"}).json()
        self.assertIn("中山公司", {hit["title"] for group in body["groups"] for hit in group["results"]})

    def test_pinyin_follows_scope(self):
        self.assertEqual(self.hits(self.alice, "cqyh"), [])  # bob's customer
        self.assertEqual(search(self.alice, "chongqing").total, 0)
        self.assertEqual({hit.title for hit in self.hits(self.bob, "cqyh")}, {"重慶銀行股份有限公司"})
        self.client.force_login(self.alice)
        body = self.client.get("/api/search/", {"q": "cqyh"}).json()
        self.assertEqual((body["total"], body["facets"]), (0, []))

    def test_renaming_changes_the_pinyin(self):
        self.zhongshan.name = "南海公司"
        self.zhongshan.save()
        index.index_record(type(self.zhongshan), self.zhongshan.pk)
        self.assertNotIn("南海公司", {hit.title for hit in self.hits(self.admin, "zsgs")})
        self.assertIn("南海公司", {hit.title for hit in self.hits(self.admin, "nhgs")})
