"""A model nobody has seen before gets list, detail, forms, import, export, bulk edit, API
and permissions from its registration alone: model and registration together are the 20
lines between the markers below; everything else here is test scaffolding."""

from django.contrib.contenttypes.models import ContentType
from django.db import connection, models
from django.test import override_settings

from qinglan.core import testing
from qinglan.core.models import OwnedModel
from qinglan.core.permissions import Scope
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

    def test_bulk_action_gets_a_button_and_only_the_records_in_scope(self):
        from qinglan.core.resources import BulkAction

        self.resource.bulk_actions = {"stamp": BulkAction("gadget_stamp", "Stamp", permission="change")}
        try:
            self.grant("view")
            mine, theirs = self.create_record(name="mine"), self.create_record(name="theirs")
            self.assertNotContains(self.client.get(self.resource.list_url), 'formaction="/throwaway/gadget/stamp/"')
            self.grant("view", "change", scope=Scope.OWN)
            Gadget.objects.filter(pk=theirs.pk).update(owner=testing.make_member("someone"))
            self.assertContains(self.client.get(self.resource.list_url), 'formaction="/throwaway/gadget/stamp/"')
            self.client.post("/throwaway/gadget/stamp/", {"pk": [mine.pk, theirs.pk]})
            self.assertEqual(dict(Gadget.objects.values_list("name", "notes")), {"mine": "stamped", "theirs": ""})
        finally:
            self.resource.bulk_actions = {}

    # ---- sharing (owned records) ----------------------------------------------------
    def test_share_gives_view_then_change_and_can_be_withdrawn(self):
        owner = testing.make_member("owner")
        testing.grant(owner, Gadget, ["view", "change"], scope=Scope.OWN)
        gadget = self.create_record()
        Gadget.objects.filter(pk=gadget.pk).update(owner=owner)
        self.grant("view", "change", "delete", scope=Scope.OWN)
        detail, edit = self.resource.url("detail", gadget), self.resource.url("edit", gadget)
        self.assertEqual(self.client.get(detail).status_code, 404)

        owner_client = self.client_class()
        owner_client.force_login(owner)
        share_url = self.resource.url("share", gadget)
        self.assertEqual(owner_client.post(share_url, {"member": self.member.pk}).status_code, 302)
        self.assertEqual(self.client.get(detail).status_code, 200)
        self.assertEqual(self.client.get(edit).status_code, 404)  # a plain share is read-only
        self.assertNotIn(gadget.pk, testing.list_pks(self.client.get(self.resource.list_url + "?colour=blue")))
        self.assertIn(gadget.pk, testing.list_pks(self.client.get(self.resource.list_url)))

        owner_client.post(share_url, {"member": self.member.pk, "can_change": "1"})
        self.assertEqual(self.client.get(edit).status_code, 200)
        self.assertEqual(self.client.post(self.resource.url("delete", gadget)).status_code, 404)  # never delete

        owner_client.post(share_url, {"member": self.member.pk, "remove": "1"})
        self.assertEqual(self.client.get(detail).status_code, 404)

    def test_only_who_may_change_the_record_may_share_it(self):
        gadget = self.create_record()
        reader = testing.make_member("reader")
        testing.grant(reader, Gadget, ["view"])
        reader_client = self.client_class()
        reader_client.force_login(reader)
        self.assertEqual(reader_client.post(self.resource.url("share", gadget), {"member": reader.pk}).status_code, 403)

    # ---- object actions bound to services ------------------------------------------
    def test_object_action_runs_its_service_with_its_permission(self):
        from django.core.exceptions import ValidationError

        from qinglan.core.resources import Action

        def paint_blue(*, record, user):
            if record.colour == "blue":
                raise ValidationError("already blue")
            record.colour = "blue"
            record.save()

        self.resource.actions = {"paint": Action(service=paint_blue, label="Paint blue", permission="approve")}
        self.addCleanup(delattr, self.resource, "actions")
        gadget = self.create_record()
        self.grant("view")
        url = self.resource.url("action", gadget, name="paint")
        self.assertNotContains(self.client.get(self.resource.url("detail", gadget)), "Paint blue")
        self.assertEqual(self.client.post(url).status_code, 404)  # no 'approve' permission
        self.grant("view", "approve")
        self.assertContains(self.client.get(self.resource.url("detail", gadget)), "Paint blue")
        self.client.post(url)
        gadget.refresh_from_db()
        self.assertEqual(gadget.colour, "blue")
        response = self.client.post(url, follow=True)
        self.assertContains(response, "already blue")
