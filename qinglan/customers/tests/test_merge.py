"""Merging two customers through the compare page: everything linked moves, chosen values
win, the merged record goes, both change histories tell it, and only members who may change
both and delete the merged one can do it."""

from django.contrib.contenttypes.models import ContentType
from django.test import TestCase

from qinglan.core.models import ObjectChange, RecordShare
from qinglan.core.permissions import Scope
from qinglan.core.testing import grant, make_department, make_member
from qinglan.customers.choices import TransferKind
from qinglan.customers.merge import merge_customers
from qinglan.customers.models import Activity, Contact, Customer, CustomerAddress, PoolTransfer
from qinglan.extras.models import Attachment, Comment, Tag, TaggedItem

from .factories import make_customer


class MergeTestCase(TestCase):
    def setUp(self):
        self.sales = make_department("業務部")
        self.me = make_member("me", department=self.sales)
        self.colleague = make_member("colleague", department=self.sales, display_name="王小明")
        grant(self.me, Customer, ["view", "change", "delete"], scope=Scope.DEPARTMENT)
        self.keep = make_customer(self.me, "青藍科技股份有限公司", phone="02-2345-6789", tax_id="12345678")
        self.merge = make_customer(
            self.colleague, "青蓝科技有限公司", email="info@qinglan.tw", website="https://qinglan.tw", notes="舊資料", is_supplier=True,
        )
        self.client.force_login(self.me)

    def url(self, keep=None, merge=None):
        return f"/customers/customer/{(keep or self.keep).pk}/merge/{(merge or self.merge).pk}/"

    def link_everything(self, customer):
        content_type = ContentType.objects.get_for_model(Customer)
        contact = Contact.objects.create(customer=customer, name="陳美玲")
        activity = Activity.objects.create(customer=customer, owner=self.colleague, subject="拜訪")
        address = CustomerAddress.objects.create(customer=customer, line="台北市信義路五段7號")
        transfer = PoolTransfer.objects.create(customer=customer, kind=TransferKind.CLAIM, to_owner=self.colleague)
        comment = Comment.objects.create(content_type=content_type, object_id=customer.pk, user=self.colleague, text="重要客戶")
        attachment = Attachment.objects.create(content_type=content_type, object_id=customer.pk, uploaded_by=self.colleague, file="attachments/x.pdf", name="x.pdf")
        tagged = TaggedItem.objects.create(tag=Tag.objects.get_or_create(name="VIP", slug="vip")[0], content_type=content_type, object_id=customer.pk)
        share = RecordShare.objects.create(content_type=content_type, object_id=customer.pk, user=self.me)
        other_tag = TaggedItem.objects.create(tag=Tag.objects.get_or_create(name="重要", slug="important")[0], content_type=content_type, object_id=customer.pk)
        return [contact, activity, address, transfer, comment, attachment, tagged, share, other_tag]


class MergeTests(MergeTestCase):
    def test_compare_page_shows_both_sides(self):
        response = self.client.get(self.url())
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, 'data-testid="merge-compare"')
        self.assertContains(response, "info@qinglan.tw")
        self.assertContains(response, 'name="choice_name"')
        self.assertNotContains(response, 'name="choice_name_key"')

    def test_merge_moves_everything_and_deletes_the_merged_record(self):
        linked = self.link_everything(self.merge)
        keep_tag = TaggedItem.objects.create(
            tag=Tag.objects.get(slug="vip"), content_type=ContentType.objects.get_for_model(Customer), object_id=self.keep.pk
        )
        response = self.client.post(self.url(), {"choice_name": "merge", "choice_phone": "keep"})
        self.assertEqual(response.status_code, 302)
        self.assertEqual(response["Location"], f"/customers/customer/{self.keep.pk}/")
        self.assertFalse(Customer.objects.filter(pk=self.merge.pk).exists())
        tagged = linked.pop(6)  # the same tag as keep's: not doubled
        self.assertFalse(TaggedItem.objects.filter(pk=tagged.pk, object_id=self.merge.pk).exists())
        for row in linked:
            row.refresh_from_db()  # still there …
            self.assertEqual(getattr(row, "customer_id", getattr(row, "object_id", None)), self.keep.pk, type(row))  # … on keep
        self.assertEqual(TaggedItem.objects.filter(object_id=self.keep.pk, content_type=keep_tag.content_type).count(), 2)

        self.keep.refresh_from_db()
        self.assertEqual(self.keep.name, "青蓝科技有限公司")  # chosen
        self.assertEqual(self.keep.name_key, "青藍科技")
        self.assertEqual(self.keep.phone, "02-2345-6789")  # kept
        self.assertEqual(self.keep.email, "info@qinglan.tw")  # empty, filled from the merged one
        self.assertEqual(self.keep.website, "https://qinglan.tw")
        self.assertTrue(self.keep.is_supplier)  # a role on either side stays
        self.assertIsNotNone(self.keep.last_activity_at)  # follow-ups moved, dates refreshed

        self.assertTrue(PoolTransfer.objects.filter(customer=self.keep, kind=TransferKind.MERGE, by=self.me).exists())
        content_type = ContentType.objects.get_for_model(Customer)
        kept_log = ObjectChange.objects.get(content_type=content_type, object_id=self.keep.pk, action="update")
        self.assertEqual(kept_log.postchange_data["merged_from"]["id"], self.merge.pk)
        merged_log = ObjectChange.objects.get(content_type=content_type, object_id=self.merge.pk, action="delete")
        self.assertEqual(merged_log.postchange_data["merged_into"]["id"], self.keep.pk)

    def test_merged_code_may_be_chosen(self):
        code = self.merge.code
        self.client.post(self.url(), {"choice_code": "merge"})
        self.keep.refresh_from_db()
        self.assertEqual(self.keep.code, code)

    def test_merge_from_the_list_and_the_report(self):
        response = self.client.post("/customers/customer/merge-selected/", {"pk": [self.merge.pk, self.keep.pk]})
        self.assertRedirects(response, self.url(), fetch_redirect_response=False)
        response = self.client.post("/customers/customer/merge-selected/", {"pk": [self.keep.pk]})
        self.assertRedirects(response, "/customers/customer/", fetch_redirect_response=False)
        response = self.client.get("/customers/customer/duplicates/")
        self.assertContains(response, self.url())
        response = self.client.get(f"/customers/customer/{self.keep.pk}/")
        self.assertContains(response, 'data-testid="possible-duplicates"')
        self.assertContains(response, self.url())

    def test_merge_with_itself_is_refused(self):
        from django.core.exceptions import ValidationError

        with self.assertRaises(ValidationError):
            merge_customers(keep=self.keep, merge=self.keep, user=self.me)
        self.assertEqual(self.client.get(self.url(merge=self.keep)).status_code, 404)

    def test_pick_the_other_customer(self):
        response = self.client.get(f"/customers/customer/{self.keep.pk}/merge/")
        self.assertContains(response, 'name="other"')
        response = self.client.get(f"/customers/customer/{self.keep.pk}/merge/", {"other": self.merge.pk})
        self.assertContains(response, 'data-testid="merge-compare"')


class MergePermissionTests(MergeTestCase):
    def assertRefused(self, status=403):
        self.assertEqual(self.client.post(self.url()).status_code, status)
        self.assertTrue(Customer.objects.filter(pk=self.merge.pk).exists())

    def test_without_delete_permission(self):
        other = make_member("no-delete", department=self.sales)
        grant(other, Customer, ["view", "change"], scope=Scope.DEPARTMENT)
        self.client.force_login(other)
        self.assertEqual(self.client.get(self.url()).status_code, 403)
        self.assertRefused()

    def test_may_delete_only_own_records(self):
        other = make_member("own-delete", department=self.sales)
        grant(other, Customer, ["view", "change"], scope=Scope.DEPARTMENT)
        grant(other, Customer, ["delete"], scope=Scope.OWN, role_name="own-delete-own")
        self.client.force_login(other)
        self.assertRefused()

    def test_customer_outside_scope_is_not_found(self):
        stranger = make_member("stranger", department=make_department("南區"))
        grant(stranger, Customer, ["view", "change", "delete"], scope=Scope.DEPARTMENT)
        self.client.force_login(stranger)
        self.assertRefused(404)

    def test_service_checks_change_on_both(self):
        from django.core.exceptions import PermissionDenied

        viewer = make_member("viewer", department=self.sales)
        grant(viewer, Customer, ["view", "delete"], scope=Scope.ALL)
        grant(viewer, Customer, ["change"], scope=Scope.OWN, role_name="viewer-own")
        with self.assertRaises(PermissionDenied):
            merge_customers(keep=self.keep, merge=self.merge, user=viewer)
        self.assertTrue(Customer.objects.filter(pk=self.merge.pk).exists())
