"""Conformance tests of the customer resources (ResourceTestCase drives UI and API)."""

from django.test import TestCase

from qinglan.core import testing
from qinglan.core.registry import registry
from qinglan.customers.models import Activity, Contact, Customer, CustomerLevel, Region, ValueGradeRule

from .factories import make_customer


class CustomerTests(testing.ResourceTestCase):
    model = Customer
    form_data = {"kind": "company", "name": "青藍科技股份有限公司", "status": "prospect", "is_customer": "on", "phone": "02-2345-6789"}
    update_data = {"status": "active"}
    csv_data = "name,kind,status,phone\n台灣積體電路,company,active,03-5636688\nACME Co. Ltd.,company,prospect,+1 555 0100\n"
    bulk_edit_data = {"status": "dormant"}
    # A second, different customer (the same name and phone would be refused as a duplicate).
    second_form_data = {"kind": "company", "name": "北極星光電有限公司", "status": "prospect", "is_customer": "on", "phone": "07-555-1234"}

    def test_new_customer_is_numbered_and_keyed(self):
        record = self.create_record()
        self.assertRegex(record.code, r"^C\d{6}$")
        self.assertEqual(record.name_key, "青藍科技")
        self.assertEqual(record.phone_key, "223456789")
        self.assertEqual(record.department_id, self.member.department_id)


class ContactTests(testing.ResourceTestCase):
    model = Contact
    update_data = {"title": "採購經理"}
    bulk_edit_data = {"decision_role": "influencer"}

    def setUp(self):
        super().setUp()
        testing.grant(self.member, Customer, ["view"])  # to pick the customer
        self.customer = make_customer(self.member, "聯絡人測試客戶")
        self.form_data = {"customer": str(self.customer.pk), "name": "陳美玲", "mobile": "0912-345-678"}
        self.update_data = {**self.form_data, "title": "採購經理"}
        self.csv_data = f"customer,name,mobile\n{self.customer.code},林志明,0911-111-111\n{self.customer.code},王小華,0922-222-222\n"


class ActivityTests(testing.ResourceTestCase):
    model = Activity
    bulk_edit_data = {"kind": "visit"}

    def setUp(self):
        super().setUp()
        testing.grant(self.member, Customer, ["view"])  # to pick the customer
        self.customer = make_customer(self.member, "拜訪測試客戶")
        self.form_data = {"customer": str(self.customer.pk), "kind": "call", "subject": "首次電話聯繫", "occurred_at": "2026-11-20T10:00", "next_follow_up": "2099-01-15"}
        self.update_data = {**self.form_data, "outcome": "約好下週拜訪"}
        self.csv_data = f"customer,kind,subject,occurred_at\n{self.customer.code},visit,拜訪,2026-11-21 09:30\n{self.customer.code},note,備忘,2026-11-22 15:00\n"

    def test_follow_up_dates_move_the_customer(self):
        self.grant("view", "add", "delete")
        self.post_form(self.resource.url("add"), self.form_data)
        self.customer.refresh_from_db()
        self.assertEqual(str(self.customer.next_follow_up), "2099-01-15")
        self.assertIsNotNone(self.customer.last_activity_at)
        activity = Activity.objects.get(customer=self.customer)
        self.client.post(self.resource.url("delete", activity))
        self.customer.refresh_from_db()
        self.assertIsNone(self.customer.next_follow_up)
        self.assertIsNone(self.customer.last_activity_at)


class RegionTests(testing.ResourceTestCase):
    model = Region
    form_data = {"name": "北部", "code": "N"}
    update_data = {"name": "北部地區", "code": "N"}
    csv_data = "name,code\n中部,C\n南部,S\n"
    bulk_edit_data = {"name": "區域"}


class CustomerLevelTests(testing.ResourceTestCase):
    model = CustomerLevel
    form_data = {"name": "VIP", "order": "1", "pool_days": "90"}
    update_data = {"pool_days": "60"}
    csv_data = "name,order,pool_days\n重點客戶,2,60\n一般客戶,3,30\n"
    bulk_edit_data = {"pool_days": "45"}


class CustomerPageTests(TestCase):
    """The customer page's contacts and follow-up panels show only what the member may view."""

    def test_contacts_and_timeline_panels(self):
        self.member = testing.make_member("viewer")
        self.client.force_login(self.member)
        testing.grant(self.member, Customer, ["view"])
        self.resource = registry.get(Customer)
        customer = make_customer(self.member, "三六零測試股份有限公司")
        Contact.objects.create(customer=customer, name="主要窗口", is_primary=True, mobile="0912-000-111")
        Activity.objects.create(customer=customer, owner=self.member, kind="visit", subject="年度拜訪")
        page = self.client.get(self.resource.url("detail", customer)).content.decode()
        self.assertNotIn("主要窗口", page)  # no permission on contacts or follow-ups yet
        self.assertNotIn("年度拜訪", page)
        testing.grant(self.member, Contact, ["view", "add"])
        testing.grant(self.member, Activity, ["view"])
        page = self.client.get(self.resource.url("detail", customer)).content.decode()
        self.assertIn("主要窗口", page)
        self.assertIn('href="tel:0912-000-111"', page)
        self.assertIn("年度拜訪", page)
        self.assertIn(f"/customers/contact/add/?customer={customer.pk}", page)
        self.assertNotIn(f"/customers/activity/add/?customer={customer.pk}", page)  # may not add follow-ups


class ValueGradeRuleTests(testing.ResourceTestCase):
    model = ValueGradeRule
    form_data = {"grade": "A", "min_value": "1000000"}
    second_form_data = {"grade": "B", "min_value": "300000"}
    update_data = {"grade": "A", "min_value": "900000"}
    csv_data = "grade,min_value\nC,50000\nD,0\n"
    bulk_edit_data = {"min_value": "10"}


def test_rekey_command_recomputes_stale_keys(db):
    from io import StringIO

    from django.core.management import call_command

    customer = make_customer(testing.make_member("owner"), "青蓝科技股份有限公司")
    contact = Contact.objects.create(customer=customer, name="陳一", mobile="+886 912 345 678", email="Chen@Example.COM")
    Customer.objects.filter(pk=customer.pk).update(name_key="stale", phone_key="0")
    output = StringIO()
    call_command("rekey_customers", stdout=output)
    customer.refresh_from_db()
    contact.refresh_from_db()
    assert customer.name_key == "青藍科技"
    assert (contact.phone_key, contact.email) == ("912345678", "chen@example.com")
    assert "customers: 1 updated" in output.getvalue()


class CustomerLinesEditedByAMemberTests(TestCase):
    """A member (no superuser) edits a customer's existing address lines: the lines' own ids
    are not restricted like references (lines have no grants of their own)."""

    def test_existing_lines_are_changed_and_deleted(self):
        from django.test import Client

        from qinglan.customers.models import CustomerAddress

        member = testing.make_member("address-editor")
        testing.grant(member, Customer, ["view", "change"])
        client = Client()
        client.force_login(member)
        customer = make_customer(member, "地址測試客戶")
        first = CustomerAddress.objects.create(customer=customer, kind="office", city="台北市", line="南京東路 1 號")
        second = CustomerAddress.objects.create(customer=customer, kind="office", city="新竹市", line="光復路 2 號")
        data = {
            "kind": "company", "name": customer.name, "status": customer.status, "is_customer": "on",
            "addresses-TOTAL_FORMS": "2", "addresses-INITIAL_FORMS": "2",
            "addresses-0-id": str(first.pk), "addresses-0-kind": "office", "addresses-0-city": "台北市", "addresses-0-line": "南京東路 100 號",
            "addresses-1-id": str(second.pk), "addresses-1-kind": "office", "addresses-1-city": "新竹市", "addresses-1-line": "光復路 2 號",
            "addresses-1-DELETE": "on",
        }
        response = client.post(registry.get(Customer).url("edit", customer), data)
        self.assertEqual(response.status_code, 302, response.content.decode()[-2000:])
        first.refresh_from_db()
        self.assertEqual(first.line, "南京東路 100 號")
        self.assertFalse(CustomerAddress.objects.filter(pk=second.pk).exists())
