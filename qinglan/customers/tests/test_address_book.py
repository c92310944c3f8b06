"""The personal address book: only contacts the member may view, grouped by initial or
surname, with tel:/mailto: links, this month's birthdays marked, quick search and keyset
pages."""

import datetime
import re

from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from qinglan.core import testing
from qinglan.core.permissions import Scope
from qinglan.customers.addressbook_views import PAGE_SIZE, group_of
from qinglan.customers.models import Contact, Customer

from .factories import make_contact, make_customer

URL = reverse("customers:addressbook")


def contact_ids(response):
    return [int(pk) for pk in re.findall(r'data-contact="(\d+)"', response.content.decode())]


class GroupingTests(TestCase):
    def test_groups(self):
        self.assertEqual(group_of("alice Wang"), "A")
        self.assertEqual(group_of("Émile"), "E")
        self.assertEqual(group_of("陳美玲"), "陳")
        self.assertEqual(group_of("歐陽娜娜"), "歐陽")
        self.assertEqual(group_of("１２３"), "#")
        self.assertEqual(group_of(""), "#")


class AddressBookTests(TestCase):
    def setUp(self):
        self.sales = testing.make_department("業務部")
        self.member = testing.make_member("mei", department=self.sales, language="en")
        self.stranger = testing.make_member("stranger", department=testing.make_department("研發部"))
        self.mine = make_customer(self.member, "青藍科技")
        self.theirs = make_customer(self.stranger, "別家公司")
        today = timezone.localdate()
        other_month = today.replace(day=1) - datetime.timedelta(days=40)
        self.chen = make_contact(
            self.mine, name="陳美玲", mobile="0912-345-678", phone="+886 2 2345 6789", email="mei@example.com",
            birthday=today.replace(year=1985, day=1),
        )
        self.alice = make_contact(self.mine, "Alice Wang", email="alice@example.com", birthday=other_month.replace(year=1990))
        self.hidden = make_contact(self.theirs, "Bob Secret", mobile="0900-000-000")
        self.client.force_login(self.member)

    def grant(self, scope=Scope.OWN):
        testing.grant(self.member, Contact, ["view"], scope=scope)
        testing.grant(self.member, Customer, ["view"], scope=scope)

    def test_refused_without_view_permission_and_absent_from_menu(self):
        self.assertEqual(self.client.get(URL).status_code, 403)
        self.grant()
        home = self.client.get(reverse("home")).content.decode()
        self.assertIn(f'href="{URL}"', home)

    def test_lists_only_contacts_in_scope_grouped_with_links(self):
        self.grant()
        response = self.client.get(URL)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(contact_ids(response), [self.alice.pk, self.chen.pk], "name order: Latin, then Chinese")
        html = response.content.decode()
        self.assertNotIn("Bob Secret", html)
        self.assertEqual(re.findall(r"<h2[^>]*data-group>([^<]+)</h2>", html), ["A", "陳"])
        self.assertIn('href="tel:0912345678"', html)
        self.assertIn('href="tel:+886223456789"', html)
        self.assertIn('href="mailto:mei@example.com"', html)
        self.assertEqual(html.count("data-birthday"), 1, "only this month's birthday is marked")
        self.assertRegex(html, rf'data-contact="{self.chen.pk}"')
        # the wider scope shows the other department's contact too
        self.grant(scope=Scope.ALL)
        self.assertIn(self.hidden.pk, contact_ids(self.client.get(URL)))

    def test_quick_search_birthdays_and_jump(self):
        self.grant()
        self.assertEqual(contact_ids(self.client.get(URL, {"q": "0912"})), [self.chen.pk])
        self.assertEqual(contact_ids(self.client.get(URL, {"q": "青藍"})), [self.alice.pk, self.chen.pk])
        self.assertEqual(contact_ids(self.client.get(URL, {"q": "Secret"})), [])
        self.assertEqual(contact_ids(self.client.get(URL, {"birthdays": "1"})), [self.chen.pk])
        self.assertEqual(contact_ids(self.client.get(URL, {"from": "cjk"})), [self.chen.pk])
        self.assertEqual(contact_ids(self.client.get(URL, {"from": "B"})), [self.chen.pk])
        partial = self.client.get(URL, {"q": "alice"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="addressbook-results")
        self.assertNotIn("<html", partial.content.decode())
        self.assertEqual(contact_ids(partial), [self.alice.pk])

    def test_keyset_pages(self):
        self.grant()
        Contact.objects.bulk_create(Contact(customer=self.mine, name=f"Member {number:03d}") for number in range(PAGE_SIZE + 20))
        Contact.objects.bulk_create(Contact(customer=self.theirs, name=f"Member X{number:03d}") for number in range(30))
        first = self.client.get(URL)
        self.assertEqual(len(contact_ids(first)), PAGE_SIZE)
        cursor = first.context["page"].next_cursor
        second = self.client.get(URL, {"after": cursor})
        ids = contact_ids(first) + contact_ids(second)
        self.assertEqual(len(ids), PAGE_SIZE + 22)
        self.assertEqual(len(set(ids)), len(ids))
        self.assertEqual(set(ids), set(Contact.objects.filter(customer=self.mine).values_list("pk", flat=True)))
        names = [Contact.objects.get(pk=pk).name for pk in ids]
        self.assertEqual(names, sorted(names))
        back = self.client.get(URL, {"before": second.context["page"].prev_cursor})
        self.assertEqual(contact_ids(back), contact_ids(first))
