"""Facet counts are exact up to a limit, then "1,000+": never counted without bound, and
always counted inside the member's scope."""

from django.test import override_settings

from qinglan.core.models import APIToken
from qinglan.customers.models import Customer
from qinglan.search import index
from qinglan.search.service import search

from .test_search import SearchTestCase


class BoundedCountTests(SearchTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        Customer.objects.bulk_create(
            [Customer(owner=cls.alice, department=cls.north, name=f"計數測試客戶{number:04d}", code=f"CNT{number:04d}") for number in range(1001)]
            + [Customer(owner=cls.bob, department=cls.south, name=f"計數測試乙方{number}", code=f"CNTB{number}") for number in range(3)]
        )

    def setUp(self):
        index.rebuild(index.resource_for_label("customers.customer"))

    def test_counts_past_the_limit_are_shown_as_the_limit_and_more(self):
        results = search(self.alice, "計數測試")
        facet = results.facets[0]
        self.assertEqual((facet.key, facet.capped, facet.shown_count), ("customers.customer", True, "1,000+"))
        self.assertEqual(facet.count, 1001)  # counted no further than the limit + 1
        self.assertEqual(results.shown_total, "1,000+")
        self.client.force_login(self.alice)
        html = self.client.get("/search/", {"q": "計數測試"}).content.decode()
        self.assertIn('data-testid="search-count">1,000+<', html)
        self.assertIn("type=customers.customer", html)
        self.assertNotIn("1,001", html)
        self.assertNotIn("1,004", html)
        _token, key = APIToken.issue(user=self.alice, name="counts")
        body = self.client.get("/api/search/", {"q": "計數測試"}, HTTP_AUTHORIZATION=f"Token {key}").json()
        self.assertEqual((body["total"], body["total_capped"]), (1000, True))
        self.assertEqual((body["facets"][0]["count"], body["facets"][0]["count_capped"]), (1000, True))

    def test_counts_under_the_limit_are_exact_and_in_scope(self):
        results = search(self.bob, "計數測試")
        self.assertEqual([(facet.count, facet.capped, facet.shown_count) for facet in results.facets], [(3, False, "3")])
        self.assertEqual(search(self.bob, "乙方").total, 3)
        # One type selected: the pages go on; the count stays bounded.
        results = search(self.alice, "計數測試", types=["customers.customer"], page=2)
        self.assertEqual((len(results.groups[0].hits), results.has_next, results.groups[0].shown_count), (20, True, "1,000+"))

    @override_settings(QINGLAN_COUNT_LIMIT=3)
    def test_types_past_the_first_pass_are_counted_exactly(self):
        # With a limit of 3 the first pass reads 61 matches, all customers (indexed first);
        # the contacts, indexed after them, are counted on their own.
        from qinglan.customers.tests.factories import make_contact

        customer = Customer.objects.get(code="CNT0000")
        make_contact(customer, "計數測試聯絡人甲")
        make_contact(customer, "計數測試聯絡人乙")
        index.rebuild(index.resource_for_label("customers.contact"))
        counts = {facet.key: facet.shown_count for facet in search(self.admin, "計數測試").facets}
        self.assertEqual(counts, {"customers.customer": "3+", "customers.contact": "2"})

    @override_settings(QINGLAN_COUNT_LIMIT=3)
    def test_the_limit_is_a_setting(self):
        self.assertEqual(search(self.bob, "計數測試").facets[0].shown_count, "3")
        self.assertEqual(search(self.admin, "計數測試").facets[0].shown_count, "3+")
        self.client.force_login(self.admin)
        html = self.client.get("/search/", {"q": "計數測試"}).content.decode()
        self.assertIn('data-testid="search-count">3+<', html)
