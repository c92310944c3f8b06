"""The pool customer's page tells a member in the re-claim cool-down from when they may claim
the customer again, instead of offering the Claim button; other members and a member past the
cool-down see no such note and the button."""

import datetime

from django.test import TestCase

from qinglan.core.permissions import Scope
from qinglan.core.registry import registry
from qinglan.core.testing import grant, make_department, make_member
from qinglan.customers.models import Customer, CustomerLevel, PoolCustomer

from .factories import make_customer
from .test_pool_cooldown import claim_url, move_back, shown

NOTE = 'data-testid="reclaim-note"'


class ReclaimNoteTests(TestCase):
    def setUp(self):
        sales = make_department("業務部")
        self.weekly = CustomerLevel.objects.create(name="一般", pool_days=30, reclaim_days=7)
        self.member = make_member("sales", department=sales, language="en")
        self.colleague = make_member("colleague", department=sales, language="en")
        for member in (self.member, self.colleague):
            grant(member, Customer, ["view", "change"], scope=Scope.OWN)
        self.client.force_login(self.member)
        self.customer = make_customer(self.member, "剛釋放的客戶", level=self.weekly)
        response = self.client.post(registry.get(Customer).url("release", self.customer), {"reason": "暫無需求"})
        self.assertEqual(response.status_code, 302)
        self.released = self.customer.transfers.latest("at")

    def pool_page(self, **headers):
        return self.client.get(registry.get(PoolCustomer).url("detail", self.customer), **headers)

    def test_the_former_owner_reads_from_when_they_may_claim_it_again(self):
        until = shown(self.released.at + datetime.timedelta(days=7))
        response = self.pool_page()
        self.assertContains(response, NOTE)
        self.assertContains(response, f"It went from you to the public pool recently: you may claim it again from {until}.")
        self.assertNotContains(response, claim_url(self.customer))  # no Claim button meanwhile
        # the owner changes, listed so they fit the side column
        self.assertContains(response, 'data-testid="transfers"')
        self.assertContains(response, f"by {self.member}")
        self.assertContains(response, "Reason: 暫無需求")
        # the same moment the refusal names when they try anyway
        refused = self.client.post(claim_url(self.customer), follow=True)
        self.assertContains(refused, f"you may claim it again from {until}.")

    def test_in_chinese(self):
        until = shown(self.released.at + datetime.timedelta(days=7))
        for language, text in (
            ("zh-hant", f"此客戶最近才從您手中進入公海：您自 {until} 起才能再領取。"),
            ("zh-hans", f"此客户最近才从您手中进入公海：您自 {until} 起才能再领取。"),
        ):
            self.member.language = language
            self.member.save()
            self.assertContains(self.pool_page(HTTP_ACCEPT_LANGUAGE=language), text)

    def test_no_note_for_another_member_nor_after_the_cool_down(self):
        self.client.force_login(self.colleague)
        self.assertNotContains(self.pool_page(), NOTE)
        self.assertContains(self.pool_page(), claim_url(self.customer))
        self.client.force_login(self.member)
        move_back(self.released, datetime.timedelta(days=7))
        response = self.pool_page()
        self.assertEqual(response.status_code, 200)
        self.assertNotContains(response, NOTE)
        self.assertContains(response, claim_url(self.customer))

    def test_no_note_for_a_member_who_may_not_take_customers(self):
        viewer = make_member("viewer", language="en")
        grant(viewer, Customer, ["view"], scope=Scope.OWN)
        self.client.force_login(viewer)
        self.assertNotContains(self.pool_page(), NOTE)

    def test_no_note_once_claimed(self):
        self.client.force_login(self.colleague)
        self.client.post(claim_url(self.customer))
        self.customer.refresh_from_db()
        self.assertFalse(self.customer.in_pool)
        response = self.client.get(registry.get(Customer).url("detail", self.customer))
        self.assertEqual(response.status_code, 200)
        self.assertNotContains(response, NOTE)
