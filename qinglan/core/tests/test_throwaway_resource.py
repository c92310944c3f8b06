"""A model nobody has seen before gets list, detail, forms, import, export, bulk edit, API
and permissions from its registration alone: model and registration together are the 20
lines between the markers below; everything else here is test scaffolding."""

from django.contrib.contenttypes.models import ContentType
from django.db import connection, models
from django.test import override_settings

from qinglan.core import testing
from qinglan.core.models import OwnedModel
from qinglan.core.registry import registry
from qinglan.core.resources import Resource


# --- the whole cost of a new entity: model + registration --------------------------------
class Gadget(OwnedModel):
    name = models.CharField("name", max_length=50, unique=True)
    size = models.PositiveIntegerField("size", default=0)
    colour = models.CharField("colour", max_length=10, choices=[("red", "red"), ("blue", "blue")], default="red")
    notes = models.TextField("notes", blank=True)

    class Meta:
        app_label = "throwaway"

    def __str__(self):
        return self.name


class GadgetResource(Resource):
    columns = ("name", "size", "colour", "owner")
    filters = ("colour", "owner")
    search = {"name": 100, "notes": 1000}
    fieldsets = (("Gadget", ("name", "size", "colour", "notes")),)
# -------------------------------------------------------------------------------------------


@override_settings(ROOT_URLCONF="qinglan.core.tests.throwaway_urls")
class GadgetTests(testing.ResourceTestCase):
    model = Gadget
    form_data = {"name": "widget", "size": "3", "colour": "red"}
    update_data = {"size": "4", "colour": "blue"}
    csv_data = "name,size,colour\nsprocket,1,blue\ncog,2,red\n"
    bulk_edit_data = {"colour": "blue", "size": "9"}

    @classmethod
    def setUpClass(cls):
        registry.register(Gadget, GadgetResource)
        with connection.schema_editor() as editor:
            editor.create_model(Gadget)
        ContentType.objects.get_for_model(Gadget)  # committed now, so no test rolls it back
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        with connection.schema_editor() as editor:
            editor.delete_model(Gadget)
        ContentType.objects.filter(app_label="throwaway").delete()
        ContentType.objects.clear_cache()
        registry.unregister(Gadget)

    def test_filter_sort_and_quick_search(self):
        self.grant("view")
        red = self.create_record(name="alpha", colour="red", size="5")
        blue = self.create_record(name="beta", colour="blue", size="1")
        self.assertEqual(testing.list_pks(self.client.get(self.resource.list_url, {"colour": "blue"})), {blue.pk})
        self.assertEqual(testing.list_pks(self.client.get(self.resource.list_url, {"q": "alp"})), {red.pk})
        html = self.client.get(self.resource.list_url, {"sort": "-size"}).content.decode()
        self.assertLess(html.index(">alpha<"), html.index(">beta<"))
