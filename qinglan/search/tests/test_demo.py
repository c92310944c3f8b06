"""The issue's "Done when", end to end in the demo company (``qinglan demo``'s data, its PDF,
DOCX and XLSX attachments extracted and the index built as the demo builds it): 合同, 客户 /
客戶, a contact's pinyin initials, a phrase from a PDF attachment and a misspelt English company
name each find the right record first; a salesperson (own records only) never sees a result or
a count from outside their scope, on the page, in the suggestions or through the API."""

from django.test import TestCase

from qinglan.core.registry import registry
from qinglan.customers.models import Contact, Customer
from qinglan.org.demo import load_demo
from qinglan.org.models import User
from qinglan.search.index import resource_for_label
from qinglan.search.service import search
from qinglan.search.text import pinyin_tokens


class DemoSearchTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        with cls.captureOnCommitCallbacks(execute=True):  # the attachments' job and the index
            load_demo()
        cls.admin = User.objects.get(username="admin")
        cls.sales = User.objects.get(username="sales")

    def first(self, user, text):
        results = search(user, text)
        self.assertTrue(results.groups, text)
        return results, results.groups[0].hits[0]

    def test_contract(self):
        results, hit = self.first(self.admin, "合同")
        self.assertIn("合同", hit.title)
        self.assertIn("<mark>合同</mark>", hit.title_html)

    def test_customer_in_simplified_and_traditional(self):
        simplified, hit = self.first(self.admin, "客户")
        traditional, _hit = self.first(self.admin, "客戶")
        self.assertIn("客戶", hit.title)
        self.assertEqual(
            [(group.key, group.count, [h.object_id for h in group.hits]) for group in simplified.groups],
            [(group.key, group.count, [h.object_id for h in group.hits]) for group in traditional.groups],
        )

    def test_contact_by_pinyin_initials(self):
        initials = {}
        for contact in Contact.objects.order_by("pk"):
            initials.setdefault(pinyin_tokens(contact.name)[0], []).append(contact)
        code, (contact,) = next((code, found) for code, found in initials.items() if len(found) == 1 and len(code) == 3)
        results, hit = self.first(self.admin, code)
        self.assertEqual((hit.resource.label, hit.object_id, hit.title), ("customers.contact", contact.pk, contact.name))
        self.assertIn("<mark>", hit.title_html)

    def test_phrase_from_a_pdf_attachment(self):
        results, hit = self.first(self.admin, '"主軸更換"')
        owner = Customer.objects.filter(short_name="台灣精密機械").order_by("pk").first()
        self.assertEqual((hit.object_id, hit.attachment), (owner.pk, "年度設備維護合約.pdf"))
        self.assertIn("<mark>主軸更換</mark>", hit.snippet)

    def test_misspelt_english_company_name(self):
        results, hit = self.first(self.admin, "Taiwan Precison Machinary")
        self.assertEqual(results.corrected_from, "Taiwan Precison Machinary")
        self.assertEqual(results.text.lower(), "taiwan precision machinery")
        self.assertTrue(hit.title.startswith("台灣精密機械"), hit.title)
        self.client.force_login(self.admin)
        body = self.client.get("/api/search/", {"q": "Pacfic Shiping"}).json()
        self.assertEqual(body["corrected_from"], "Pacfic Shiping")
        self.assertTrue(body["groups"][0]["results"][0]["title"].startswith("太平洋航運"))

    def in_scope(self, user, label, object_id):
        """Whether a resource of the type (customers, or the public pool's) shows the record."""
        concrete = resource_for_label(label).model._meta.concrete_model
        viewers = [resource for resource in registry if resource.model._meta.concrete_model is concrete]
        return any(resource.model._default_manager.restrict(user, "view").filter(pk=object_id).exists() for resource in viewers)

    def all_ids(self, user, text, label):
        """Every result of one type, page after page."""
        found, page = [], 1
        while True:
            results = search(user, text, types=[label], page=page)
            found += [hit.object_id for group in results.groups for hit in group.hits]
            if not results.has_next:
                return found
            page += 1

    def test_the_salesperson_sees_nothing_outside_their_scope(self):
        for text in ("合同", "客户", "客戶", "主軸更換", "Taiwan Precison Machinary", "公司", "報價", "status:active"):
            mine = search(self.sales, text)
            everything = search(self.admin, text)
            for group in mine.groups:
                for hit in group.hits:
                    self.assertTrue(self.in_scope(self.sales, group.key, hit.object_id), (text, hit.title))
            for facet in mine.facets:
                # Exactly the records of the administrator's results the salesperson may view.
                visible = [pk for pk in self.all_ids(self.admin, text, facet.key) if self.in_scope(self.sales, facet.key, pk)]
                self.assertEqual(facet.count, len(visible), (text, facet.key))
                self.assertEqual(sorted(self.all_ids(self.sales, text, facet.key)), sorted(visible), (text, facet.key))
            self.assertLessEqual({facet.key for facet in mine.facets}, {facet.key for facet in everything.facets})
        # The PDF belongs to a customer the salesperson does not own: no hit, no count.
        self.assertEqual((search(self.sales, "主軸更換").total, search(self.sales, "主軸更換").facets), (0, []))
        self.assertEqual(search(self.admin, "主軸更換").total, 1)

    def test_the_salesperson_on_the_page_the_suggestions_and_the_api(self):
        owner = Customer.objects.filter(short_name="台灣精密機械").order_by("pk").first()
        self.assertFalse(self.in_scope(self.sales, "customers.customer", owner.pk))
        name = owner.name
        self.client.force_login(self.sales)
        page = self.client.get("/search/", {"q": "主軸更換"}).content.decode()
        suggestions = self.client.get("/search/", {"q": "主軸"}, headers={"HX-Request": "true"}).content.decode()
        body = self.client.get("/api/search/", {"q": "台灣精密機械"}).json()
        for html in (page, suggestions):
            self.assertNotIn(name, html)
        shown = [(group["type"], result["id"]) for group in body["groups"] for result in group["results"]]
        self.assertTrue(all(self.in_scope(self.sales, label, pk) for label, pk in shown))
        for facet in body["facets"]:
            visible = [pk for pk in self.all_ids(self.admin, "台灣精密機械", facet["type"]) if self.in_scope(self.sales, facet["type"], pk)]
            self.assertEqual(facet["count"], len(visible), facet["type"])
