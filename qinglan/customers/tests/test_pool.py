"""The public pool (公海): the nightly return of idle customers, claims within limits (also two
at once on PostgreSQL), release, bulk reassignment within the member's scope, the transfer
log, follow-up reminders — driven over HTTP where a member would act."""

import datetime
import threading

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import TestCase
from django.utils import timezone, translation

from qinglan.core import events
from qinglan.core.models import ObjectChange
from qinglan.core.permissions import Scope
from qinglan.core.registry import registry
from qinglan.core.testing import grant, list_pks, make_department, make_member
from qinglan.customers import pool, tasks
from qinglan.customers.choices import TransferKind
from qinglan.customers.models import Activity, ClaimLimit, Customer, CustomerLevel, PoolCustomer, PoolTransfer
from qinglan.customers.reminders import send_follow_up_reminders
from qinglan.extras.models import Notification

from .factories import make_customer

NOW = datetime.datetime(2026, 11, 20, 2, 30, tzinfo=datetime.UTC)


def days_ago(days):
    return NOW - datetime.timedelta(days=days)


def put_in_pool(customer):
    Customer.objects.filter(pk=customer.pk).update(owner=None, department=None, in_pool=True, pooled_at=days_ago(1))
    customer.refresh_from_db()
    return customer


def claim_url(customer):
    return registry.get(PoolCustomer).url("action", customer, name="claim")


class PoolReturnTests(TestCase):
    def setUp(self):
        self.sales = make_department("業務部")
        self.owner = make_member("owner", department=self.sales)
        self.monthly = CustomerLevel.objects.create(name="一般", pool_days=30)
        self.quarterly = CustomerLevel.objects.create(name="重點", pool_days=90)
        self.never = CustomerLevel.objects.create(name="VIP")  # no pool days: never returns

    def customer(self, name, level, *, last=None, created=None, owned_since=None):
        record = make_customer(self.owner, name, level=level)
        Customer.objects.filter(pk=record.pk).update(
            last_activity_at=last, created=created or days_ago(400), owned_since=owned_since
        )
        return record

    def test_returns_exactly_the_idle_customers(self):
        idle = {
            self.customer("一般 40 天未跟進", self.monthly, last=days_ago(40)).pk,
            self.customer("一般 從未跟進 40 天前建立", self.monthly, created=days_ago(40)).pk,
            self.customer("重點 100 天未跟進", self.quarterly, last=days_ago(100)).pk,
        }
        kept = {
            self.customer("一般 10 天前跟進", self.monthly, last=days_ago(10)).pk,
            self.customer("一般 從未跟進 5 天前建立", self.monthly, created=days_ago(5)).pk,
            self.customer("一般 5 天前才領取", self.monthly, last=days_ago(40), owned_since=days_ago(5)).pk,
            self.customer("重點 40 天未跟進", self.quarterly, last=days_ago(40)).pk,
            self.customer("VIP 1000 天未跟進", self.never, last=days_ago(1000)).pk,
            self.customer("無等級", None, last=days_ago(1000)).pk,
        }

        self.assertEqual(pool.return_idle_customers(now=NOW, batch_size=2), 3)  # batches of two: three batches

        in_pool = set(Customer.objects.filter(in_pool=True).values_list("pk", flat=True))
        self.assertEqual(in_pool, idle)
        for record in Customer.objects.filter(pk__in=idle):
            self.assertIsNone(record.owner_id)
            self.assertIsNone(record.department_id)
            self.assertEqual(record.pooled_at, NOW)
        self.assertFalse(Customer.objects.filter(pk__in=kept, in_pool=True).exists())
        self.assertEqual(set(Customer.objects.filter(pk__in=kept).values_list("owner_id", flat=True)), {self.owner.pk})
        transfers = PoolTransfer.objects.filter(kind=TransferKind.RETURN)
        self.assertEqual(set(transfers.values_list("customer_id", flat=True)), idle)
        self.assertEqual(set(transfers.values_list("from_owner_id", flat=True)), {self.owner.pk})
        self.assertTrue(all(transfer.by_id is None and transfer.reason for transfer in transfers))
        changes = ObjectChange.objects.filter(content_type=ContentType.objects.get_for_model(Customer), object_id__in=idle)
        self.assertEqual(changes.count(), 3)
        self.assertEqual({change.postchange_data["in_pool"] for change in changes}, {True})
        notice = Notification.objects.get(user=self.owner)
        self.assertIn("3", notice.title)
        self.assertEqual(notice.url, registry.get(PoolCustomer).list_url)

        self.assertEqual(pool.return_idle_customers(now=NOW), 0, "a second run finds nothing more")

    def test_scheduled_job_runs_the_return_at_night_local_time(self):
        self.customer("一般 40 天未跟進", self.monthly, last=timezone.now() - datetime.timedelta(days=40))
        job = tasks.return_idle_customers_to_pool
        # Huey's clock is naive UTC; 02:30 in Asia/Taipei is 18:30 UTC.
        self.assertTrue(job.task_class().validate_datetime(datetime.datetime(2026, 11, 20, 18, 30)))
        self.assertFalse(job.task_class().validate_datetime(datetime.datetime(2026, 11, 20, 2, 30)))
        self.assertEqual(job.call_local(), 1)
        self.assertEqual(Customer.objects.filter(in_pool=True).count(), 1)


class PoolTests(TestCase):
    """A salesperson whose grant on customers covers their own records only."""

    def setUp(self):
        self.sales = make_department("業務部")
        self.finance = make_department("財務部")
        self.member = make_member("sales", department=self.sales, language="en")
        grant(self.member, Customer, ["view", "change", "export"], scope=Scope.OWN)
        self.client.force_login(self.member)
        self.stranger = make_member("stranger", department=self.finance)
        self.pooled = put_in_pool(make_customer(self.stranger, "公海客戶甲"))
        self.theirs = make_customer(self.stranger, "別人的客戶")

    # ---- seeing the pool ------------------------------------------------------------------------
    def test_pool_shows_every_pool_customer_and_nothing_else(self):
        pool_resource = registry.get(PoolCustomer)
        response = self.client.get(pool_resource.list_url)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(list_pks(response), {self.pooled.pk})
        self.assertEqual(self.client.get(pool_resource.url("detail", self.pooled)).status_code, 200)
        self.assertEqual(self.client.get(pool_resource.url("detail", self.theirs)).status_code, 404)
        export = self.client.get(pool_resource.url("export") + "?format=csv")
        self.assertNotIn("別人的客戶", b"".join(export.streaming_content).decode("utf-8-sig"))
        # …while the member's own customer list shows neither
        self.assertEqual(list_pks(self.client.get(registry.get(Customer).list_url)), set())
        self.assertEqual(self.client.get(registry.get(Customer).url("detail", self.pooled)).status_code, 404)

    def test_pool_is_read_only(self):
        pool_resource = registry.get(PoolCustomer)
        grant(self.member, Customer, ["view", "add", "change", "delete", "import"], scope=Scope.ALL)
        for view in ("edit", "delete"):
            self.assertEqual(self.client.get(pool_resource.url(view, self.pooled)).status_code, 403, view)
        self.assertEqual(self.client.get(pool_resource.url("add")).status_code, 403)
        self.assertNotContains(self.client.get(pool_resource.list_url), pool_resource.url("add"))

    def test_pool_needs_the_customer_view_grant(self):
        outsider = make_member("outsider", department=self.sales)
        self.client.force_login(outsider)
        self.assertEqual(self.client.get(registry.get(PoolCustomer).list_url).status_code, 403)
        self.assertEqual(self.client.post(claim_url(self.pooled)).status_code, 403)

    # ---- claim ------------------------------------------------------------------------------------
    def test_claim_from_the_pool_page(self):
        seen = []
        handler = (lambda event: seen.append(event["event"]))
        events._subscribers.append(("customers.customer.*", handler))
        try:
            with self.captureOnCommitCallbacks(execute=True):
                response = self.client.post(claim_url(self.pooled))
        finally:
            events._subscribers.remove(("customers.customer.*", handler))
        self.assertRedirects(response, registry.get(Customer).url("detail", self.pooled), fetch_redirect_response=False)
        self.pooled.refresh_from_db()
        self.assertEqual(self.pooled.owner, self.member)
        self.assertEqual(self.pooled.department, self.sales, "the department follows the new owner")
        self.assertFalse(self.pooled.in_pool)
        self.assertIsNone(self.pooled.pooled_at)
        self.assertIsNotNone(self.pooled.owned_since)
        transfer = PoolTransfer.objects.get(customer=self.pooled)
        self.assertEqual((transfer.kind, transfer.from_owner, transfer.to_owner, transfer.by), (TransferKind.CLAIM, None, self.member, self.member))
        change = ObjectChange.objects.filter(object_id=self.pooled.pk, content_type=ContentType.objects.get_for_model(Customer)).latest("pk")
        self.assertEqual(change.user, self.member)
        self.assertEqual(seen, ["customers.customer.claimed"])
        # the customer page now shows the transfer history
        page = self.client.get(registry.get(Customer).url("detail", self.pooled))
        self.assertContains(page, 'data-testid="transfers"')
        self.assertContains(page, "claimed from the pool")

    def test_claim_of_a_customer_not_in_the_pool_is_refused(self):
        self.assertEqual(self.client.post(claim_url(self.theirs)).status_code, 404)
        with self.assertRaisesMessage(ValidationError, "not in the public pool"):
            pool.claim(customer=self.theirs, user=self.member)
        self.theirs.refresh_from_db()
        self.assertEqual(self.theirs.owner, self.stranger)
        self.assertFalse(PoolTransfer.objects.exists())

    def test_claim_needs_the_change_grant(self):
        viewer = make_member("viewer", department=self.sales)
        grant(viewer, Customer, ["view"], scope=Scope.OWN)
        self.client.force_login(viewer)
        self.client.post(claim_url(self.pooled))
        self.pooled.refresh_from_db()
        self.assertTrue(self.pooled.in_pool)

    def test_claim_limit_default_and_override(self):
        ClaimLimit.objects.create(member=None, limit=1)
        make_customer(self.member, "已有的客戶")
        response = self.client.post(claim_url(self.pooled), follow=True)
        self.assertContains(response, "You already own 1 customers and may own at most 1")
        self.pooled.refresh_from_db()
        self.assertTrue(self.pooled.in_pool)
        ClaimLimit.objects.create(member=self.member, limit=2)
        self.client.post(claim_url(self.pooled))
        self.pooled.refresh_from_db()
        self.assertEqual(self.pooled.owner, self.member)
        self.assertEqual(pool.claim_limit_for(self.stranger), 1)
        self.assertEqual(pool.claim_limit_for(self.member), 2)

    def test_claim_selected_is_all_or_nothing(self):
        ClaimLimit.objects.create(member=self.member, limit=2)
        more = [put_in_pool(make_customer(self.stranger, f"公海客戶{n}")) for n in range(2)]
        url = "/customers/poolcustomer/claim-selected/"
        self.assertContains(self.client.get(registry.get(PoolCustomer).list_url), f'formaction="{url}"')
        response = self.client.post(url, {"pk": [self.pooled.pk, *[c.pk for c in more]]}, follow=True)
        self.assertContains(response, "You may claim only 2 more customers, and 3 were selected.")
        self.assertEqual(Customer.objects.filter(owner=self.member).count(), 0)
        response = self.client.post(url, {"pk": [c.pk for c in more] + [self.theirs.pk]}, follow=True)
        self.assertContains(response, "You claimed 2 customers.")
        self.assertEqual(set(Customer.objects.filter(owner=self.member).values_list("pk", flat=True)), {c.pk for c in more})

    def test_error_messages_in_traditional_chinese(self):
        ClaimLimit.objects.create(member=None, limit=0)
        self.member.language = "zh-hant"
        self.member.save()
        response = self.client.post(claim_url(self.pooled), follow=True, HTTP_ACCEPT_LANGUAGE="zh-hant")
        self.assertContains(response, "您已擁有 0 個客戶，最多可擁有 0 個")
        with translation.override("zh-hant"):
            with self.assertRaisesMessage(ValidationError, "不在公海中"):
                pool.claim(customer=self.theirs, user=self.member)
            with translation.override("zh-hans"):
                with self.assertRaisesMessage(ValidationError, "不在公海中"):
                    pool.claim(customer=self.theirs, user=self.member)

    # ---- release ------------------------------------------------------------------------------------
    def test_release_with_a_reason(self):
        mine = make_customer(self.member, "我的客戶")
        customer_resource = registry.get(Customer)
        page = self.client.get(customer_resource.url("detail", mine))
        self.assertContains(page, 'data-testid="release"')
        release = customer_resource.url("release", mine)
        self.assertEqual(self.client.get(release).status_code, 200)
        response = self.client.post(release, {"reason": "客戶已無預算"})
        self.assertRedirects(response, registry.get(PoolCustomer).url("detail", mine), fetch_redirect_response=False)
        mine.refresh_from_db()
        self.assertTrue(mine.in_pool)
        self.assertIsNone(mine.owner_id)
        self.assertIsNone(mine.department_id)
        transfer = PoolTransfer.objects.get(customer=mine)
        self.assertEqual((transfer.kind, transfer.from_owner, transfer.to_owner, transfer.reason), (TransferKind.RELEASE, self.member, None, "客戶已無預算"))
        self.assertContains(self.client.get(registry.get(PoolCustomer).url("detail", mine)), "客戶已無預算")
        # in the pool already; someone else's customer is not found
        self.assertEqual(self.client.post(release).status_code, 404)
        self.assertEqual(self.client.post(customer_resource.url("release", self.theirs)).status_code, 404)
        with self.assertRaisesMessage(ValidationError, "in the public pool already"):
            pool.release(customer=mine, user=make_member("boss", superuser=True))


class ReassignTests(TestCase):
    def setUp(self):
        self.sales = make_department("業務部")
        self.finance = make_department("財務部")
        self.manager = make_member("manager", department=self.sales, language="en")
        grant(self.manager, Customer, ["view", "change"], scope=Scope.DEPARTMENT)
        self.client.force_login(self.manager)
        self.colleague = make_member("colleague", department=self.sales)
        self.newcomer = make_member("newcomer", department=self.finance)
        self.outsider = make_member("outsider", department=self.finance)
        self.ours = [make_customer(self.colleague, f"部門客戶{n}") for n in range(2)]
        self.foreign = make_customer(self.outsider, "其他部門的客戶")

    def test_bulk_reassign_only_what_the_member_may_change(self):
        url = "/customers/customer/reassign-selected/"
        self.assertContains(self.client.get(registry.get(Customer).list_url), f'formaction="{url}"')
        picked = [c.pk for c in self.ours] + [self.foreign.pk]
        form = self.client.post(url, {"pk": picked})
        self.assertEqual(form.status_code, 200)
        self.assertNotContains(form, "其他部門的客戶")
        response = self.client.post(url, {"pk": picked, "to_owner": self.newcomer.pk, "reason": "調整業務區域", "_apply": "1"})
        self.assertEqual(response.status_code, 302)
        for record in self.ours:
            record.refresh_from_db()
            self.assertEqual(record.owner, self.newcomer)
            self.assertEqual(record.department, self.finance, "the department follows the new owner")
        self.foreign.refresh_from_db()
        self.assertEqual(self.foreign.owner, self.outsider)
        transfers = PoolTransfer.objects.filter(kind=TransferKind.REASSIGN)
        self.assertEqual(set(transfers.values_list("customer_id", flat=True)), {c.pk for c in self.ours})
        self.assertEqual({(t.from_owner_id, t.to_owner_id, t.by_id, t.reason) for t in transfers}, {(self.colleague.pk, self.newcomer.pk, self.manager.pk, "調整業務區域")})
        self.assertTrue(Notification.objects.filter(user=self.newcomer, event="customers.customer.reassigned").exists())

    def test_reassign_needs_an_owner_and_the_change_grant(self):
        url = "/customers/customer/reassign-selected/"
        response = self.client.post(url, {"pk": [self.ours[0].pk], "_apply": "1"})
        self.assertEqual(response.status_code, 400)
        viewer = make_member("viewer", department=self.sales)
        grant(viewer, Customer, ["view"], scope=Scope.ALL)
        self.client.force_login(viewer)
        self.assertEqual(self.client.post(url, {"pk": [self.ours[0].pk], "to_owner": viewer.pk, "_apply": "1"}).status_code, 403)
        self.ours[0].refresh_from_db()
        self.assertEqual(self.ours[0].owner, self.colleague)

    def test_owner_changed_on_the_edit_form_is_logged(self):
        admin = make_member("admin", superuser=True)
        self.client.force_login(admin)
        record = self.ours[0]
        data = {"kind": "company", "name": record.name, "status": record.status, "is_customer": "on", "owner": self.newcomer.pk,
                "addresses-TOTAL_FORMS": "0", "addresses-INITIAL_FORMS": "0", "code": record.code, "_confirm_duplicates": "1"}
        response = self.client.post(registry.get(Customer).url("edit", record), data)
        self.assertEqual(response.status_code, 302, response.content[:3000])
        transfer = PoolTransfer.objects.get(customer=record)
        self.assertEqual((transfer.kind, transfer.from_owner, transfer.to_owner, transfer.by), (TransferKind.REASSIGN, self.colleague, self.newcomer, admin))
        record.refresh_from_db()
        self.assertEqual(record.department, self.finance)


class ClaimLimitResourceTests(TestCase):
    def test_one_limit_per_member_and_one_default(self):
        admin = make_member("admin", superuser=True, language="en")
        self.client.force_login(admin)
        url = registry.get(ClaimLimit).url("add")
        self.assertEqual(self.client.post(url, {"limit": "50"}).status_code, 302)
        response = self.client.post(url, {"limit": "60"})
        self.assertContains(response, "There already is a claim limit", status_code=400)
        self.assertEqual(self.client.post(url, {"member": admin.pk, "limit": "80"}).status_code, 302)
        self.assertEqual(self.client.post(url, {"member": admin.pk, "limit": "90"}).status_code, 400)
        self.assertEqual(pool.claim_limit_for(admin), 80)
        self.assertEqual(pool.claim_limit_for(make_member("someone")), 50)


class ReminderTests(TestCase):
    def setUp(self):
        self.owner = make_member("owner", language="en")
        self.customer = make_customer(self.owner, "提醒客戶")
        self.today = datetime.date(2026, 11, 20)

    def activity(self, subject, due, **extra):
        return Activity.objects.create(customer=self.customer, owner=self.owner, subject=subject, next_follow_up=due, **extra)

    def test_due_and_overdue_follow_ups_remind_the_owner_once(self):
        due = self.activity("今天要回訪", self.today)
        overdue = self.activity("上週就該回訪", self.today - datetime.timedelta(days=7))
        later = self.activity("下個月再說", self.today + datetime.timedelta(days=30))
        done = self.activity("已提醒過", self.today, reminder_sent=True)
        pooled = put_in_pool(make_customer(self.owner, "公海客戶"))
        orphan = Activity.objects.create(customer=pooled, subject="公海客戶的回訪", next_follow_up=self.today)

        self.assertEqual(send_follow_up_reminders(today=self.today, batch_size=2), 2)
        notices = Notification.objects.filter(user=self.owner, event="customers.follow_up.due")
        self.assertEqual(notices.count(), 2)
        self.assertEqual({n.url for n in notices}, {self.customer.get_absolute_url()})
        self.assertEqual({n.title for n in notices}, {"Follow up today: 提醒客戶", "Overdue follow-up: 提醒客戶 (due 2026-11-13)"})
        self.assertEqual(
            dict(Activity.objects.values_list("pk", "reminder_sent")),
            {due.pk: True, overdue.pk: True, later.pk: False, done.pk: True, orphan.pk: True},
        )
        self.assertEqual(send_follow_up_reminders(today=self.today), 0, "sent once")
        self.assertEqual(notices.count(), 2)

    def test_moving_the_next_date_reminds_again(self):
        admin = make_member("admin", superuser=True)
        self.client.force_login(admin)
        activity = self.activity("回訪", self.today, reminder_sent=True)
        data = {"customer": self.customer.pk, "kind": "call", "subject": "回訪", "occurred_at": "2026-11-19T10:00", "next_follow_up": "2026-11-27", "owner": self.owner.pk}
        self.assertEqual(self.client.post(registry.get(Activity).url("edit", activity), data).status_code, 302)
        activity.refresh_from_db()
        self.assertFalse(activity.reminder_sent)

    def test_reminder_job_is_hourly_and_in_the_owners_language(self):
        self.owner.language = "zh-hant"
        self.owner.save()
        self.activity("回訪", timezone.localdate())
        job = tasks.send_follow_up_reminders
        self.assertTrue(job.task_class().validate_datetime(datetime.datetime(2026, 11, 20, 3, 5)))
        self.assertFalse(job.task_class().validate_datetime(datetime.datetime(2026, 11, 20, 3, 0)))
        self.assertEqual(job.call_local(), 1)
        self.assertEqual(Notification.objects.get(user=self.owner).title, "今天回訪：提醒客戶")


def claim_at_once(pairs):
    """Each (customer, member) claim in its own thread and connection, all let go at the same
    moment; returns "claimed" / "refused" per claim."""
    start = threading.Barrier(len(pairs))
    outcomes = []

    def claim(customer, member):
        try:
            start.wait()
            pool.claim(customer=customer, user=member)
            outcomes.append("claimed")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=pair) for pair in pairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(outcomes)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL (SQLite serialises every writer)")
def test_two_claims_at_once_cannot_both_take_the_last_slot():
    member = make_member("racer")
    grant(member, Customer, ["view", "change"], scope=Scope.OWN)
    owner = make_member("former")
    ClaimLimit.objects.create(member=member, limit=1)
    for round_ in range(5):
        Customer.objects.filter(owner=member).update(owner=owner)
        targets = [put_in_pool(make_customer(owner, f"搶位客戶{round_}-{n}")) for n in range(2)]
        assert claim_at_once([(customer, member) for customer in targets]) == ["claimed", "refused"], round_
        assert Customer.objects.filter(owner=member).count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL (SQLite serialises every writer)")
def test_two_members_claiming_one_customer_at_once():
    members = [make_member(f"racer{n}") for n in range(2)]
    for member in members:
        grant(member, Customer, ["view", "change"], scope=Scope.OWN)
    target = put_in_pool(make_customer(make_member("former"), "搶手客戶"))
    assert claim_at_once([(target, member) for member in members]) == ["claimed", "refused"]
    assert PoolTransfer.objects.filter(customer=target, kind=TransferKind.CLAIM).count() == 1
