"""Typo tolerance for Latin words: corrections shown with no results, offered with few, never
derived from records outside the member's scope."""

from django.db import connection

from qinglan.customers.tests.factories import make_customer
from qinglan.search import fuzzy, index
from qinglan.search.service import search

from .test_search import HOSTILE, SearchTestCase


def test_distance_and_keys():
    assert fuzzy.distance("qinglan", "qinglna") == 1  # transposition
    assert fuzzy.distance("qinglan", "qinlan") == 1
    assert fuzzy.distance("trading", "tradnig") == 1
    assert fuzzy.distance("kitten", "sitting") == 3
    assert fuzzy.deletion_keys("abc") == {"abc", "bc", "ac", "ab"}
    assert fuzzy.vocabulary_words("Ｑｉｎｇｌａｎ Trading Co. 青藍 x1 ab") == {"qinglan", "trading"}


class CorrectionTests(SearchTestCase):
    def titles(self, user, text, **kwargs):
        return {hit.title for group in search(user, text, **kwargs).groups for hit in group.hits}

    def test_misspelt_words_show_the_corrected_results(self):
        for typed in ("qinglna", "Qinglna Tradnig", "qnglan", "ｑｉｎｇｌｎａ", "tradin type:customer"):
            results = search(self.admin, typed)
            self.assertIn("Qinglan Trading Companies", {hit.title for group in results.groups for hit in group.hits}, typed)
            self.assertEqual(results.corrected_from, typed)
        self.assertEqual(search(self.admin, "Qinglna Tradnig").text, "qinglan trading")
        self.assertEqual(search(self.admin, "qinglan").corrected_from, "")  # nothing to correct

    def test_short_words_allow_one_edit_only(self):
        make_customer(self.admin, "Acme Widgets")
        index.rebuild()
        self.assertEqual(self.titles(self.admin, "acne"), {"Acme Widgets"})
        self.assertEqual(self.titles(self.admin, "axne"), set())

    def test_trigrams_find_more_on_postgresql(self):
        self.assertEqual(fuzzy.trigram_index_available(), connection.vendor == "postgresql")
        found = self.titles(self.admin, "qinglanxx")  # two letters added: no deletion key finds it
        if connection.vendor == "postgresql":
            self.assertIn("Qinglan Trading Companies", found)
        else:
            self.assertEqual(found, set())

    def test_few_results_offer_a_correction(self):
        make_customer(self.admin, "中山公司")
        make_customer(self.admin, "Zhongshen Logistics")
        make_customer(self.admin, "Zhongshen Foods")
        index.rebuild()
        results = search(self.admin, "zhongshan")
        self.assertEqual({hit.title for group in results.groups for hit in group.hits}, {"中山公司"})
        self.assertEqual((results.suggestion, results.corrected_from), ("zhongshen", ""))
        self.client.force_login(self.admin)
        html = self.client.get("/search/", {"q": "zhongshan"}).content.decode()
        self.assertIn('data-testid="search-suggestion"', html)
        self.assertIn("/search/?q=zhongshen", html)

    def test_page_and_api_tell_what_was_corrected(self):
        self.client.force_login(self.admin)
        html = self.client.get("/search/", {"q": "qinglna"}).content.decode()
        self.assertIn('data-testid="search-corrected"', html)
        self.assertIn("<mark>Qinglan</mark> Trading Companies", html)
        body = self.client.get("/api/search/", {"q": "qinglna"}).json()
        # qinglan is also the pinyin of 青藍 (青藍科技合同管理有限公司)
        self.assertEqual((body["q"], body["corrected_from"], body["total"]), ("qinglan", "qinglna", 2))

    def test_no_correction_from_records_outside_the_scope(self):
        # "Qinglan Trading Companies" is bob's: alice gets no correction towards it.
        for text in ("compnies", "qinglna tradnig", "tradnig"):
            results = search(self.alice, text)
            self.assertEqual((results.total, results.corrected_from, results.suggestion), (0, "", ""), text)
        self.client.force_login(self.alice)
        html = self.client.get("/search/", {"q": "qinglna tradnig"}).content.decode()
        self.assertNotIn('data-testid="search-corrected"', html)
        self.assertNotIn('data-testid="search-suggestion"', html)
        self.assertNotIn("Trading", html)
        body = self.client.get("/api/search/", {"q": "tradnig"}).json()
        self.assertEqual((body["total"], body["corrected_from"], body["suggestion"], body["facets"]), (0, "", "", []))
        # bob, who owns it, is corrected.
        self.assertEqual(search(self.bob, "qinglna tradnig").corrected_from, "qinglna tradnig")
        # alice's own 青藍 is found by the corrected pinyin, and only that.
        self.assertEqual(self.titles(self.alice, "qinglna", types=["customers.customer"]), {"青藍科技合同管理有限公司"})

    def test_vocabulary_follows_the_index(self):
        customer = make_customer(self.admin, "Borealis Shipping")
        self.assertFalse(fuzzy.is_known("borealis"))
        index.index_record(type(customer), customer.pk)
        self.assertTrue(fuzzy.is_known("borealis"))
        self.assertEqual(self.titles(self.admin, "borealsi shiping"), {"Borealis Shipping"})

    def test_hostile_queries_with_corrections(self):
        for text in [*HOSTILE, "a" * 31, "abcdefghijklmnopqrstuvwxyzabcd " * 10, "qinglna " * 40]:
            self.assertGreaterEqual(search(self.admin, text).total, 0)
