"""What keeps a search cheap at any size, through the service, the page and the API: a very
common word is ranked among the newest matches in the member's scope (never the scope applied
after), field:value on text fields narrowed by the index and folded 繁/简, snippets of long
documents read a piece at a time, PDFs read for a bounded time, and typo tolerance with and
without pg_trgm."""

import random
import unittest

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.test import override_settings

from qinglan.customers.tests.factories import make_contact, make_customer
from qinglan.search import fuzzy, index
from qinglan.search.models import DocumentText, SearchEntry
from qinglan.search.service import document_snippet, search

from . import files
from .test_documents import AttachmentTestCase
from .test_search import SearchTestCase


class CommonWordRankingTests(SearchTestCase):
    """With QINGLAN_SEARCH_RANK_CANDIDATES = 5, a type with more than 5 matches in scope is
    ranked among its 5 newest matches in scope."""

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        # Alice's twelve first, then Bob's eight: the newest matches overall are all Bob's.
        cls.mine = [make_customer(cls.alice, f"常見詞 甲{number:02d}") for number in range(12)]
        cls.theirs = [make_customer(cls.bob, f"常見詞 乙{number:02d}") for number in range(8)]

    def setUp(self):
        index.rebuild(index.resource_for_label("customers.customer"))

    def titles(self, results):
        return [hit.title for group in results.groups for hit in group.hits]

    @override_settings(QINGLAN_SEARCH_RANK_CANDIDATES=5)
    def test_the_scope_comes_before_the_candidates(self):
        results = search(self.alice, "常見詞")
        self.assertEqual([(facet.key, facet.count) for facet in results.facets], [("customers.customer", 12)])
        # The five newest of hers, not the five newest overall (Bob's) filtered away to none.
        self.assertEqual(sorted(self.titles(results)), [f"常見詞 甲{number:02d}" for number in range(7, 12)])
        results = search(self.bob, "常見詞")
        self.assertEqual(results.facets[0].count, 8)
        self.assertTrue(all(title.startswith("常見詞 乙") for title in self.titles(results)))
        self.client.force_login(self.alice)
        body = self.client.get("/api/search/", {"q": "常見詞"}).json()
        self.assertEqual((body["total"], body["facets"][0]["count"]), (12, 12))
        self.assertNotIn("乙", str(body))

    @override_settings(QINGLAN_SEARCH_RANK_CANDIDATES=5)
    def test_relevance_still_orders_the_candidates(self):
        for number in range(6):
            make_customer(self.alice, f"Nimbus Trading {number}")
        # The newest match has the word only in its e-mail: ranked below the names.
        make_customer(self.alice, "某某有限公司", email="nimbus@example.com")
        index.rebuild(index.resource_for_label("customers.customer"))
        titles = self.titles(search(self.alice, "nimbus", types=["customers.customer"]))
        self.assertEqual(titles, ["Nimbus Trading 5", "Nimbus Trading 4", "Nimbus Trading 3", "Nimbus Trading 2", "某某有限公司"])

    @override_settings(QINGLAN_SEARCH_RANK_CANDIDATES=5)
    def test_pages_of_one_type_stop_at_the_candidates(self):
        first = search(self.alice, "常見詞", types=["customers.customer"], page_size=3)
        second = search(self.alice, "常見詞", types=["customers.customer"], page=2, page_size=3)
        self.assertEqual((len(first.groups[0].hits), first.has_next), (3, True))
        self.assertEqual((len(second.groups[0].hits), second.has_next), (2, False))
        self.assertEqual(first.groups[0].count, 12)  # the count is not cut by the ranking bound
        self.assertFalse(set(self.titles(first)) & set(self.titles(second)))

    def test_below_the_bound_every_match_is_ranked(self):
        results = search(self.alice, "常見詞", types=["customers.customer"], page_size=20)
        self.assertEqual(len(results.groups[0].hits), 12)

    @override_settings(QINGLAN_SEARCH_RANK_CANDIDATES=5)
    def test_types_under_the_bound_are_ranked_in_full(self):
        customer = self.mine[0]
        for number in range(3):
            make_contact(customer, f"常見詞聯絡人{number}")
        index.rebuild(index.resource_for_label("customers.contact"))
        from qinglan.core.permissions import Scope
        from qinglan.core.testing import grant
        from qinglan.customers.models import Contact

        grant(self.alice, Contact, ["view"], scope=Scope.ALL)
        groups = {group.key: len(group.hits) for group in search(self.alice, "常見詞").groups}
        self.assertEqual(groups, {"customers.customer": 5, "customers.contact": 3})


class WindowTests(SearchTestCase):
    """QINGLAN_SEARCH_WINDOW: a search reads at most a type's newest `window` matches of its
    words (10 times as many for a type where the member's scope holds too few of them)."""

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.mine = [make_customer(cls.alice, f"窗口詞 甲{number:02d}") for number in range(12)]
        cls.theirs = [make_customer(cls.bob, f"窗口詞 乙{number:02d}") for number in range(8)]
        make_contact(cls.mine[0], "窗口詞聯絡人")

    def setUp(self):
        index.rebuild(index.resource_for_label("customers.customer"))
        index.rebuild(index.resource_for_label("customers.contact"))

    def counts(self, user, text, **kwargs):
        return {facet.key: facet.shown_count for facet in search(user, text, **kwargs).facets}

    def titles(self, results):
        return sorted(hit.title for group in results.groups for hit in group.hits)

    @override_settings(QINGLAN_SEARCH_WINDOW=10)
    def test_counts_within_the_newest_matches_are_lower_bounds(self):
        # 20 customers match: the newest 10 are read; the one contact is counted exactly.
        self.assertEqual(self.counts(self.admin, "窗口詞"), {"customers.customer": "10+", "customers.contact": "1"})
        self.assertEqual(self.counts(self.bob, "窗口詞"), {"customers.customer": "8+"})
        self.client.force_login(self.admin)
        body = self.client.get("/api/search/", {"q": "窗口詞"}).json()
        facets = {facet["type"]: (facet["count"], facet["count_capped"]) for facet in body["facets"]}
        self.assertEqual(facets["customers.customer"], (10, True))
        self.assertTrue(body["total_capped"])
        self.assertIn('data-testid="search-count">10+<', self.client.get("/search/", {"q": "窗口詞"}).content.decode())

    @override_settings(QINGLAN_SEARCH_WINDOW=5)
    def test_a_thin_scope_reads_ten_times_further(self):
        # The newest 5 are all Bob's: Alice's are found in the newest 50 (all 20), exactly.
        results = search(self.alice, "窗口詞", types=["customers.customer"], page_size=20)
        self.assertEqual((results.groups[0].count, results.groups[0].capped), (12, False))
        self.assertEqual(self.titles(results), [f"窗口詞 甲{number:02d}" for number in range(12)])

    @override_settings(QINGLAN_SEARCH_WINDOW=1)
    def test_only_what_is_in_scope_within_the_wider_window(self):
        # Newest 10: Bob's 8 and Alice's 2 newest.
        results = search(self.alice, "窗口詞", types=["customers.customer"])
        self.assertEqual(results.groups[0].shown_count, "2+")
        self.assertEqual(self.titles(results), ["窗口詞 甲10", "窗口詞 甲11"])

    def test_the_words_of_most_searches_are_read_in_full(self):
        self.assertEqual(self.counts(self.alice, "窗口詞"), {"customers.customer": "12", "customers.contact": "1"})


class FieldValueTests(SearchTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.person = make_contact(cls.contract, "林大同", email="lin@qinglan.example")

    def titles(self, user, text, **kwargs):
        return {hit.title for group in search(user, text, **kwargs).groups for hit in group.hits}

    def test_text_values_are_folded_traditional_and_simplified(self):
        self.assertEqual(self.titles(self.admin, "name:青蓝科技"), {"青藍科技合同管理有限公司"})
        self.assertEqual(self.titles(self.admin, "name:青藍科技"), {"青藍科技合同管理有限公司"})
        self.assertEqual(self.titles(self.admin, "name:客戶服務"), {"客户服务中心"})
        self.assertEqual(self.titles(self.admin, "name:ＱＩＮＧ", types=["customers.customer"]), {"Qinglan Trading Companies"})
        hit = search(self.admin, "name:青蓝科技").groups[0].hits[0]
        self.assertIn("<mark>青藍科技</mark>", hit.title_html)
        # References too: contacts by their customer's name written in Simplified.
        self.assertEqual(self.titles(self.admin, "customer:青蓝"), {"林大同", "林合同"})

    def test_text_values_are_found_from_the_start_of_a_word(self):
        self.assertEqual(self.titles(self.admin, "email:lin@qing", types=["customers.contact"]), {"林大同"})
        self.assertEqual(self.titles(self.admin, "科技 name:合同管理"), {"青藍科技合同管理有限公司"})
        self.assertEqual(self.titles(self.admin, "name:藍科"), {"青藍科技合同管理有限公司"})  # Chinese: anywhere
        self.assertEqual(self.titles(self.admin, "email:nothere"), set())
        self.assertEqual(self.titles(self.admin, '-name:"青藍科技" type:customer'), {"重要客戶北極星", "客户服务中心", "Qinglan Trading Companies"})

    def test_text_values_stay_inside_the_scope(self):
        self.assertEqual(self.titles(self.alice, "name:客户"), {"重要客戶北極星"})
        self.assertEqual(search(self.alice, "name:服务中心").total, 0)
        self.client.force_login(self.alice)
        body = self.client.get("/api/search/", {"q": "name:服務"}).json()
        self.assertEqual((body["total"], body["facets"]), (0, []))


class LongDocumentTests(AttachmentTestCase):
    def test_snippet_of_a_phrase_deep_in_a_long_document(self):
        filler = "這是一段沒有關鍵字的填充文字。" * 20000  # 300,000 characters
        text = filler + "保固期間主軸免費更換" + filler
        self.upload(self.alice, self.contract, "長文件.txt", text.encode())
        # Words, not a "phrase": PostgreSQL keeps word positions only up to 16,383, so a phrase
        # that far into a document matches on SQLite alone.
        hits = [hit for group in search(self.alice, "主軸免費更換").groups for hit in group.hits]
        self.assertEqual([(hit.title, hit.attachment) for hit in hits], [("青藍科技合同管理有限公司", "長文件.txt")])
        self.assertIn("<mark>主軸免費更換</mark>", hits[0].snippet)
        self.assertTrue(hits[0].snippet.startswith("…") and hits[0].snippet.endswith("…"))
        self.assertLess(len(hits[0].snippet), 300)

    def test_a_document_of_many_distinct_words_is_indexed(self):
        # 150,000 characters drawn at random: ~150,000 distinct bigrams, a tsvector of over
        # 2 MB that PostgreSQL refuses (the limit is 1 MB); the row keeps what fits.
        rng = random.Random(7)
        text = "冷鏈倉儲合約開頭" + "".join(chr(0x4E00 + rng.randrange(20000)) for _ in range(150000))
        self.upload(self.alice, self.contract, "大文件.txt", text.encode())
        self.assertEqual(DocumentText.objects.get(name="大文件.txt").status, DocumentText.Status.OK)
        hits = [hit for group in search(self.alice, "冷鏈倉儲合約").groups for hit in group.hits]
        self.assertEqual([(hit.title, hit.attachment) for hit in hits], [("青藍科技合同管理有限公司", "大文件.txt")])
        entry = SearchEntry.objects.get(object_id=self.contract.pk, content_type__model="customer")
        document_tokens = DocumentText.objects.get(name="大文件.txt").tokens
        if connection.vendor == "postgresql":
            self.assertLess(len(entry.tokens_d), len(document_tokens))  # cut to what fits
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_column_size(vector) FROM search_searchentry WHERE id = %s", [entry.pk])
                self.assertLess(cursor.fetchone()[0], 1_048_576)
        else:
            self.assertIn(document_tokens, entry.tokens_d)

    def test_fit_tsvector(self):
        self.assertEqual(index.fit_tsvector("甲 乙 甲", budget=100), "甲 乙 甲")
        self.assertEqual(index.fit_tsvector("甲乙 丙丁 戊己", budget=30), "甲乙")  # 16 bytes a new token
        self.assertEqual(index.fit_tsvector("甲乙 甲乙 丙丁", budget=40, used=20), "甲乙 甲乙")

    def test_pieces_read_one_at_a_time(self):
        text = "前言" * 30000 + "合同" + "後記" * 10
        reads = []

        def read(start, size):
            reads.append((start, size))
            return text[start : start + size]

        snippet = document_snippet((read, len(text)), ["合同"], chunk=20000)
        self.assertIn("<mark>合同</mark>", snippet)
        # 60,000 characters before it: found in the third piece (40,000 to 60,000 and a margin).
        self.assertEqual(len(reads), 3)
        self.assertTrue(all(size < 21000 for _start, size in reads))
        self.assertEqual(document_snippet("合同在最前面", ["合同"]), "<mark>合同</mark>在最前面")
        self.assertIsNone(document_snippet((read, len(text)), ["沒有"]))


class PdfTimeLimitTests(AttachmentTestCase):
    @override_settings(QINGLAN_SEARCH_PDF_SECONDS=0)
    def test_a_pdf_past_the_time_limit_is_skipped_and_the_record_still_found(self):
        attachment = self.upload(self.alice, self.contract, "慢.pdf", files.pdf("主軸更換保固三年"))
        row = DocumentText.objects.get(attachment=attachment)
        self.assertEqual(row.status, DocumentText.Status.FAILED)
        self.assertIn("longer than 0 s", row.error)
        self.assertEqual(search(self.alice, "主軸更換").total, 0)
        self.assertIn("青藍科技合同管理有限公司", [hit.title for group in search(self.alice, "青藍科技").groups for hit in group.hits])
        self.client.force_login(self.alice)
        self.assertEqual(self.client.get(f"/customers/customer/{self.contract.pk}/").status_code, 200)

    def test_within_the_limit_it_is_read(self):
        attachment = self.upload(self.alice, self.contract, "快.pdf", files.pdf("主軸更換保固三年"))
        self.assertEqual(DocumentText.objects.get(attachment=attachment).status, DocumentText.Status.OK)
        self.assertEqual(search(self.alice, "主軸更換").total, 1)


class TypoFallbackTests(SearchTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        make_customer(cls.alice, "Meridian Optics Limited")
        make_customer(cls.alice, "Keystone Machinery Limited")

    def setUp(self):
        index.rebuild(index.resource_for_label("customers.customer"))
        self.forget_trigram_index()

    def tearDown(self):
        self.forget_trigram_index()

    def forget_trigram_index(self):
        """fuzzy caches on the connection whether the trigram index is there."""
        connections[DEFAULT_DB_ALIAS].__dict__.pop("_qinglan_trigram_index", None)

    def corrected(self, text):
        results = search(self.alice, text)
        return results.corrected_from, [hit.title for group in results.groups for hit in group.hits]

    def test_deletion_keys_alone(self):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("DROP INDEX IF EXISTS search_term_trgm")  # rolled back with the test
        self.assertFalse(fuzzy.trigram_index_available())
        self.assertEqual(self.corrected("Meridain Optics"), ("Meridain Optics", ["Meridian Optics Limited"]))
        self.assertEqual(self.corrected("keystnoe"), ("keystnoe", ["Keystone Machinery Limited"]))
        # Two substitutions far apart share no deletion key: without trigrams, no correction.
        self.assertEqual(fuzzy.candidates("mackinerx"), [])
        self.assertEqual(self.corrected("mackinerx"), ("", []))

    @unittest.skipUnless(connection.vendor == "postgresql", "pg_trgm is PostgreSQL's")
    def test_with_pg_trgm(self):
        self.assertTrue(fuzzy.trigram_index_available())
        # Two substitutions far apart: no deletion key in common, but trigram neighbours.
        self.assertNotIn("machinery", fuzzy._key_candidates("mackinerx"))
        self.assertEqual(fuzzy.candidates("mackinerx"), ["machinery"])
        self.assertEqual(self.corrected("mackinerx"), ("mackinerx", ["Keystone Machinery Limited"]))
        self.assertEqual(self.corrected("Meridain Optics"), ("Meridain Optics", ["Meridian Optics Limited"]))
