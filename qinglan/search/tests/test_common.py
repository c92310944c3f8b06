"""Very common words (QINGLAN_SEARCH_COMMON_TERM): left out of the full-text match when the
query has a rarer word, and checked on the rows the rarer words match — the same records
are found, counted and kept inside the member's scope as when every word is matched by the
index. With the limit at 5 here, 常用 (in 13 customers and a contact) is common, 稀有 (in 4 and a contact) is not."""

from django.test import override_settings

from qinglan.customers.tests.factories import make_contact, make_customer
from qinglan.search import index
from qinglan.search.backends import Backend, clear_frequencies
from qinglan.search.service import search
from qinglan.search.text import parse_query

from .test_search import SearchTestCase

QUERIES = [
    "常用 稀有",
    "稀有 常用",
    '稀有 "常用有限"',
    "常用 稀有 -停業",
    "稀有 有限公司 常用",
    "常用 Nimbus",
    "常用 nimb",  # the last word a prefix: search as you type
    "常用 稀有 email:rare@example.com",
    "常用 不存在的詞",
]


def outcome(results):
    """Everything a member sees of a search: the facets with their counts, and the hits."""
    return (
        [(facet.key, facet.shown_count) for facet in results.facets],
        sorted((hit.resource.label, hit.object_id, str(hit.title_html), str(hit.snippet)) for group in results.groups for hit in group.hits),
        results.suggestion,
        results.corrected_from,
    )


class CommonTermTests(SearchTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        for number in range(4):
            make_customer(cls.alice, f"常用有限公司{number}")
            make_customer(cls.bob, f"常用貿易有限公司{number}")
        cls.rare_mine = make_customer(cls.alice, "稀有常用有限公司", email="rare@example.com")
        cls.rare_closed = make_customer(cls.alice, "稀有常用停業公司")
        cls.rare_theirs = make_customer(cls.bob, "稀有常用科技有限公司")
        cls.rare_alone = make_customer(cls.alice, "稀有材料行")  # 稀有 without 常用
        cls.nimbus = make_customer(cls.alice, "Nimbus 常用有限公司")
        make_contact(cls.rare_mine, "常用聯絡人")

    def setUp(self):
        super().setUp()
        clear_frequencies()

    def tearDown(self):
        clear_frequencies()

    def both(self, user, text, **kwargs):
        clear_frequencies()
        whole = search(user, text, **kwargs)
        clear_frequencies()
        with override_settings(QINGLAN_SEARCH_COMMON_TERM=5):
            split = search(user, text, **kwargs)
        clear_frequencies()
        return whole, split

    def test_the_common_word_is_checked_on_the_rows_of_the_rare_one(self):
        with override_settings(QINGLAN_SEARCH_COMMON_TERM=5):
            query = Backend().split_common(parse_query("常用 稀有"))
        self.assertEqual([term.tokens for term in query.include], [("稀有",)])
        self.assertEqual([term.tokens for term in query.common], [("常用",)])
        self.assertFalse(query.field_rank)
        # Below the limit every word stays in the match.
        self.assertEqual(Backend().split_common(parse_query("常用 稀有")).common, [])

    def test_the_same_records_counts_and_snippets(self):
        for user in (self.admin, self.alice, self.bob):
            for text in QUERIES:
                whole, split = self.both(user, text)
                self.assertEqual(outcome(split), outcome(whole), (user.username, text))

    def test_the_same_within_the_member_scope(self):
        whole, split = self.both(self.alice, "常用 稀有")
        titles = {hit.title for group in split.groups for hit in group.hits}
        self.assertEqual(titles, {"稀有常用有限公司", "稀有常用停業公司", "常用聯絡人"})
        self.assertEqual([(facet.key, facet.count) for facet in split.facets], [("customers.customer", 2), ("customers.contact", 1)])
        self.assertEqual(outcome(split), outcome(whole))
        self.assertEqual({hit.title for group in search(self.bob, "常用 稀有").groups for hit in group.hits}, {"稀有常用科技有限公司"})

    def test_exclusions_phrases_and_pages(self):
        with override_settings(QINGLAN_SEARCH_COMMON_TERM=5):
            # The contact is indexed with its customer's name.
            self.assertEqual(self.titles(self.admin, "常用 稀有 -停業"), {"稀有常用有限公司", "稀有常用科技有限公司", "常用聯絡人"})
            self.assertEqual(self.titles(self.admin, '稀有 "常用有限"'), {"稀有常用有限公司", "常用聯絡人"})
            first = search(self.admin, "常用 稀有", types=["customers.customer"], page_size=2)
            second = search(self.admin, "常用 稀有", types=["customers.customer"], page=2, page_size=2)
        self.assertEqual((len(first.groups[0].hits), first.has_next, first.groups[0].count), (2, True, 3))
        self.assertEqual((len(second.groups[0].hits), second.has_next), (1, False))

    def test_the_api_gives_the_same(self):
        self.client.force_login(self.alice)
        whole = self.client.get("/api/search/", {"q": "稀有 常用"}).json()
        clear_frequencies()
        with override_settings(QINGLAN_SEARCH_COMMON_TERM=5):
            split = self.client.get("/api/search/", {"q": "稀有 常用"}).json()
        self.assertEqual(split, whole)
        self.assertEqual(split["total"], 3)

    def test_only_common_words_are_ranked_by_the_fields_they_are_in(self):
        # The newest record has the word only in its e-mail (weight C); the older ones in
        # their names (weight A) come first.
        make_customer(self.admin, "普通客戶", email="zephyrine@example.com")
        index.rebuild(index.resource_for_label("customers.customer"))
        with override_settings(QINGLAN_SEARCH_COMMON_TERM=5):
            query = Backend().split_common(parse_query("zephyrine"))
            self.assertFalse(query.field_rank)  # in one record: not common
            for number in range(6):
                make_customer(self.admin, f"Zephyrine Trading {number}")
            index.rebuild(index.resource_for_label("customers.customer"))
            clear_frequencies()
            query = Backend().split_common(parse_query("zephyrine"))
            self.assertTrue(query.field_rank)
            titles = [hit.title for group in search(self.admin, "zephyrine", types=["customers.customer"]).groups for hit in group.hits]
        self.assertEqual(titles[-1], "普通客戶")
        self.assertEqual(sorted(titles[:4]), [f"Zephyrine Trading {number}" for number in range(2, 6)])
        # The same set as when every word is ranked by bm25 / ts_rank_cd.
        clear_frequencies()
        self.assertEqual(sorted(titles), sorted(hit.title for group in search(self.admin, "zephyrine", types=["customers.customer"]).groups for hit in group.hits))
