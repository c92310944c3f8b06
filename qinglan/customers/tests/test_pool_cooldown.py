"""The cool-down of the public pool (公海): a member from whom a customer went to the pool
(released, or returned by the nightly job) may claim it back only after its level's reclaim
days; other members claim it at once, a level with 0 days holds nobody back, a manager's
reassignment is no claim — driven over HTTP where a member would act."""

import datetime

from django.core.exceptions import ValidationError
from django.test import TestCase
from django.utils import timezone, translation

from qinglan.core.permissions import Scope
from qinglan.core.registry import registry
from qinglan.core.testing import grant, make_department, make_member
from qinglan.customers import pool
from qinglan.customers.choices import TransferKind
from qinglan.customers.models import Customer, CustomerLevel, PoolCustomer, PoolTransfer

from .factories import make_customer

CLAIM_SELECTED_URL = "/customers/poolcustomer/claim-selected/"


def claim_url(customer):
    return registry.get(PoolCustomer).url("action", customer, name="claim")


def shown(moment):
    """How the refusal shows a moment: local time, to the minute, never earlier than meant."""
    local = timezone.localtime(moment)
    rounded = local.replace(second=0, microsecond=0)
    if rounded < local:
        rounded += datetime.timedelta(minutes=1)
    return rounded.strftime("%Y-%m-%d %H:%M")


def move_back(transfer, delta):
    """Let time pass for a transfer (the claim itself runs at the real now)."""
    PoolTransfer.objects.filter(pk=transfer.pk).update(at=transfer.at - delta)
    transfer.refresh_from_db()
    return transfer


class ReclaimCoolDownTests(TestCase):
    def setUp(self):
        self.sales = make_department("業務部")
        self.weekly = CustomerLevel.objects.create(name="一般", pool_days=30, reclaim_days=7)
        self.free = CustomerLevel.objects.create(name="自由", pool_days=30, reclaim_days=0)
        self.member = make_member("sales", department=self.sales, language="en")
        self.colleague = make_member("colleague", department=self.sales, language="en")
        for member in (self.member, self.colleague):
            grant(member, Customer, ["view", "change"], scope=Scope.OWN)
        self.client.force_login(self.member)

    def release_over_http(self, customer, reason="暫無需求"):
        response = self.client.post(registry.get(Customer).url("release", customer), {"reason": reason})
        self.assertEqual(response.status_code, 302)
        customer.refresh_from_db()
        self.assertTrue(customer.in_pool)
        return PoolTransfer.objects.filter(customer=customer, kind=TransferKind.RELEASE).latest("at")

    def assert_in_pool(self, *customers):
        for customer in customers:
            customer.refresh_from_db()
            self.assertTrue(customer.in_pool, customer.name)
            self.assertIsNone(customer.owner_id, customer.name)

    # ---- released by the member -----------------------------------------------------------------
    def test_released_customer_cannot_be_claimed_back_until_the_reclaim_days_passed(self):
        mine = make_customer(self.member, "釋放後想領回的客戶", level=self.weekly)
        released = self.release_over_http(mine)

        response = self.client.post(claim_url(mine), follow=True)
        until = released.at + datetime.timedelta(days=7)
        self.assertContains(
            response,
            f"“釋放後想領回的客戶” went from you to the public pool recently: you may claim it again from {shown(until)}.",
        )
        self.assert_in_pool(mine)
        self.assertFalse(PoolTransfer.objects.filter(customer=mine, kind=TransferKind.CLAIM).exists())

        # a minute short of seven days: still refused
        move_back(released, datetime.timedelta(days=7) - datetime.timedelta(minutes=1))
        self.assertContains(self.client.post(claim_url(mine), follow=True), "you may claim it again from")
        self.assert_in_pool(mine)

        # seven days after the release: claimed
        move_back(released, datetime.timedelta(minutes=1))
        response = self.client.post(claim_url(mine), follow=True)
        self.assertNotContains(response, "you may claim it again from")
        mine.refresh_from_db()
        self.assertEqual(mine.owner, self.member)
        self.assertFalse(mine.in_pool)
        transfer = PoolTransfer.objects.filter(customer=mine).latest("at")
        self.assertEqual((transfer.kind, transfer.to_owner), (TransferKind.CLAIM, self.member))

    def test_another_member_may_claim_it_at_once(self):
        mine = make_customer(self.member, "別人可領的客戶", level=self.weekly)
        self.release_over_http(mine)
        self.client.force_login(self.colleague)
        response = self.client.post(claim_url(mine), follow=True)
        self.assertNotContains(response, "you may claim it again from")
        mine.refresh_from_db()
        self.assertEqual(mine.owner, self.colleague)
        self.assertFalse(mine.in_pool)

    def test_no_cool_down_when_the_level_has_zero_reclaim_days(self):
        mine = make_customer(self.member, "零天等級的客戶", level=self.free)
        self.release_over_http(mine)
        self.client.post(claim_url(mine))
        mine.refresh_from_db()
        self.assertEqual(mine.owner, self.member)
        # …nor for a customer without a level
        plain = make_customer(self.member, "無等級的客戶")
        self.release_over_http(plain)
        self.client.post(claim_url(plain))
        plain.refresh_from_db()
        self.assertEqual(plain.owner, self.member)

    def test_the_days_are_read_from_the_level_at_claim_time(self):
        mine = make_customer(self.member, "等級調整的客戶", level=self.weekly)
        self.release_over_http(mine)
        CustomerLevel.objects.filter(pk=self.weekly.pk).update(reclaim_days=0)
        self.client.post(claim_url(mine))
        mine.refresh_from_db()
        self.assertEqual(mine.owner, self.member)

    # ---- returned by the nightly job --------------------------------------------------------------
    def test_customer_returned_by_the_nightly_job_is_held_back_from_its_former_owner(self):
        idle = make_customer(self.member, "久未跟進的客戶", level=self.weekly)
        long_ago = timezone.now() - datetime.timedelta(days=40)
        Customer.objects.filter(pk=idle.pk).update(created=long_ago, last_activity_at=long_ago)
        self.assertEqual(pool.return_idle_customers(), 1)
        returned = PoolTransfer.objects.get(customer=idle, kind=TransferKind.RETURN)
        self.assertEqual(returned.from_owner, self.member)

        response = self.client.post(CLAIM_SELECTED_URL, {"pk": [idle.pk]}, follow=True)
        self.assertContains(response, f"you may claim it again from {shown(returned.at + datetime.timedelta(days=7))}")
        self.assertContains(response, "“久未跟進的客戶”")
        self.assert_in_pool(idle)

        move_back(returned, datetime.timedelta(days=7, seconds=1))
        response = self.client.post(CLAIM_SELECTED_URL, {"pk": [idle.pk]}, follow=True)
        self.assertContains(response, "You claimed 1 customer.")
        idle.refresh_from_db()
        self.assertEqual(idle.owner, self.member)

    # ---- claim several ------------------------------------------------------------------------------
    def test_claim_selected_is_all_or_nothing(self):
        held = make_customer(self.member, "冷卻中的客戶", level=self.weekly)
        self.release_over_http(held)
        others = [make_customer(self.colleague, f"同事釋放的客戶{n}", level=self.weekly) for n in range(2)]
        for customer in others:
            pool.release(customer=customer, user=self.colleague)

        response = self.client.post(CLAIM_SELECTED_URL, {"pk": [held.pk, *[c.pk for c in others]]}, follow=True)
        self.assertContains(response, "“冷卻中的客戶” went from you to the public pool recently")
        self.assertNotContains(response, "You claimed")
        self.assert_in_pool(held, *others)
        self.assertFalse(PoolTransfer.objects.filter(kind=TransferKind.CLAIM).exists())

        # without the held-back customer the others are claimed
        response = self.client.post(CLAIM_SELECTED_URL, {"pk": [c.pk for c in others]}, follow=True)
        self.assertContains(response, "You claimed 2 customers.")
        self.assertEqual(set(Customer.objects.filter(owner=self.member).values_list("pk", flat=True)), {c.pk for c in others})

    def test_service_names_every_held_back_customer(self):
        held = [make_customer(self.member, f"冷卻客戶{n}", level=self.weekly) for n in range(2)]
        for customer in held:
            pool.release(customer=customer, user=self.member)
        with self.assertRaises(ValidationError) as refused:
            pool.claim_many(customers=held, user=self.member)
        self.assertEqual(len(refused.exception.messages), 2)
        self.assertIn("“冷卻客戶0”", refused.exception.messages[0])
        self.assertIn("“冷卻客戶1”", refused.exception.messages[1])
        self.assertEqual(Customer.objects.filter(owner=self.member).count(), 0)

    def test_only_the_latest_time_it_left_the_member_counts(self):
        customer = make_customer(self.member, "來回多次的客戶", level=self.weekly)
        first = self.release_over_http(customer)
        move_back(first, datetime.timedelta(days=30))
        self.client.post(claim_url(customer))
        customer.refresh_from_db()
        self.assertEqual(customer.owner, self.member, "the old release is past its cool-down")
        self.release_over_http(customer)
        self.assertContains(self.client.post(claim_url(customer), follow=True), "you may claim it again from")
        self.assert_in_pool(customer)

    # ---- not a claim ------------------------------------------------------------------------------
    def test_a_managers_reassignment_is_not_held_back(self):
        mine = make_customer(self.member, "主管指派回來的客戶", level=self.weekly)
        self.release_over_http(mine)
        manager = make_member("manager", department=self.sales, language="en")
        grant(manager, Customer, ["view", "change"], scope=Scope.ALL)
        self.client.force_login(manager)
        response = self.client.post(
            "/customers/customer/reassign-selected/", {"pk": [mine.pk], "to_owner": self.member.pk, "_apply": "1"}
        )
        self.assertEqual(response.status_code, 302)
        mine.refresh_from_db()
        self.assertEqual(mine.owner, self.member)
        self.assertFalse(mine.in_pool)

    # ---- languages and set-up -----------------------------------------------------------------------
    def test_refusal_in_chinese(self):
        mine = make_customer(self.member, "中文訊息客戶", level=self.weekly)
        released = self.release_over_http(mine)
        until = shown(released.at + datetime.timedelta(days=7))
        self.member.language = "zh-hant"
        self.member.save()
        response = self.client.post(claim_url(mine), follow=True, HTTP_ACCEPT_LANGUAGE="zh-hant")
        self.assertContains(response, f"「中文訊息客戶」最近才從您手中進入公海：您自 {until} 起才能再領取。")
        with translation.override("zh-hans"):
            with self.assertRaisesMessage(ValidationError, f"您自 {until} 起才能再领取"):
                pool.claim(customer=mine, user=self.member)

    def test_reclaim_days_on_the_level_form(self):
        admin = make_member("admin", superuser=True, language="en")
        self.client.force_login(admin)
        resource = registry.get(CustomerLevel)
        self.assertContains(self.client.get(resource.url("add")), 'name="reclaim_days"')
        response = self.client.post(resource.url("add"), {"name": "重點", "order": "2", "pool_days": "60", "reclaim_days": "14"})
        self.assertEqual(response.status_code, 302)
        self.assertEqual(CustomerLevel.objects.get(name="重點").reclaim_days, 14)
        self.assertContains(self.client.get(resource.list_url), "Days before a former owner may claim again")
        # optional: left empty on the form, or not sent by an API client, it is 0
        response = self.client.post(resource.url("add"), {"name": "空白", "order": "3", "reclaim_days": ""})
        self.assertEqual(response.status_code, 302)
        self.assertEqual(CustomerLevel.objects.get(name="空白").reclaim_days, 0)
        api = self.client.post("/api/customers/customerlevels/", {"name": "API", "order": 4}, content_type="application/json")
        self.assertEqual(api.status_code, 201, api.content)
        self.assertEqual(api.json()["reclaim_days"], 0)
        self.assertEqual(CustomerLevel.objects.get(name="API").reclaim_days, 0)
