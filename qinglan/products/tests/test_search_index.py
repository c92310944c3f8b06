"""The global search indexes products (their `search` fields) as the product form saves them,
and shows them only to members who may view them."""

from django.test import TestCase

from qinglan.core import testing
from qinglan.core.permissions import Scope
from qinglan.products.models import Product
from qinglan.search.service import search

from .factories import make_category, make_unit


class ProductSearchTests(TestCase):
    def titles(self, user, text):
        return {hit.title for group in search(user, text).groups for hit in group.hits}

    def test_products_saved_by_the_form_are_found_by_words_inside_their_texts(self):
        manager = testing.make_member("pm")
        testing.grant(manager, Product, ["view", "add", "change"], scope=Scope.OWN)
        self.client.force_login(manager)
        category = make_category("茶葉")
        data = {
            "code": "TE-9", "name": "阿里山高山烏龍茶", "category": category.pk, "base_unit": make_unit("can", "罐").pk,
            "description": "手採一心二葉，輕發酵", "status": "active",
        }
        with self.captureOnCommitCallbacks(execute=True):
            self.assertEqual(self.client.post("/products/product/add/", data).status_code, 302)
        self.assertIn("TE-9 阿里山高山烏龍茶", self.titles(manager, "烏龍"))  # a word inside the name
        self.assertIn("TE-9 阿里山高山烏龍茶", self.titles(manager, "发酵"))  # the description, in Simplified
        product = Product.objects.get(code="TE-9")
        with self.captureOnCommitCallbacks(execute=True):
            self.client.post(f"/products/product/{product.pk}/edit/", {**data, "name": "梨山茶"})
        self.assertEqual(self.titles(manager, "烏龍"), set())
        outsider = testing.make_member("outsider")
        testing.grant(outsider, Product, ["view"], scope=Scope.OWN)
        self.assertEqual(self.titles(outsider, "梨山"), set())  # not theirs
