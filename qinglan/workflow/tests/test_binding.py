"""Binding business records to processes (binding.py, services.submit_for_approval): a real
model (customers.Customer) is bound through the public API in these tests only; submitting
starts the process about the record when the condition holds, the record is locked for every
generic path while it waits, its page shows the approval, and the module's callbacks follow
the outcome (approved, rejected, withdrawn) inside the transaction that decided it."""

import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.utils import translation

from qinglan.core import services as core_services
from qinglan.core.registry import registry
from qinglan.core.testing import grant, make_member
from qinglan.customers.models import Customer
from qinglan.customers.tests.factories import make_customer
from qinglan.org.models import Role
from qinglan.workflow import binding, services
from qinglan.workflow.choices import InstanceStatus, TaskStatus
from qinglan.workflow.models import ProcessInstance, TaskEvent, WorkTask

from .factories import bpmn


class Calls(list):
    """What the bound module was told, in order: (outcome, customer pk, member, reason)."""


def _set_status(record, user, status):
    # through the generic bulk-edit service, which refuses a locked record: the lock must
    # already be released when the module is called back
    resource = registry.get(Customer)
    core_services.bulk_update(resource=resource, queryset=Customer.objects.filter(pk=record.pk), changes={"status": status}, user=user)


@pytest.fixture
def bound():
    """customers.Customer bound to customer_credit for a credit limit over 100,000 (unbound after)."""
    calls = Calls()

    def approved(record, user):
        calls.append(("approved", record.pk, user, ""))
        _set_status(record, record.owner, "active")

    def rejected(record, user, reason):
        calls.append(("rejected", record.pk, user, reason))
        _set_status(record, record.owner, "lost")

    def withdrawn(record, user, reason):
        calls.append(("withdrawn", record.pk, user, reason))

    binding.bind(
        "customers.Customer", action="submit", process_key="customer_credit", condition="credit_limit > 100000",
        data=lambda customer: {"credit_limit": customer.credit_limit, "customer": customer.name},
        on_approved=approved, on_rejected=rejected, on_withdrawn=withdrawn,
    )
    yield calls
    binding.unbind(Customer)


@pytest.fixture
def people(db):
    reviewers = [make_member(f"reviewer{n}", language="en") for n in range(2)]
    role = Role.objects.create(name="信用審核")
    role.members.add(*reviewers)
    sales = make_member("sales", language="en")
    grant(sales, Customer, ["view", "add", "change", "delete"])
    services.deploy(xml=bpmn("customer_credit.bpmn"))
    return {"reviewers": reviewers, "sales": sales, "director": make_member("director", language="en"), "outsider": make_member("outsider", language="en")}


def open_row(instance):
    return WorkTask.objects.get(instance=instance, status=TaskStatus.OPEN)


@pytest.mark.django_db
def test_submitting_starts_the_process_about_the_record_only_when_the_condition_holds(bound, people):
    sales = people["sales"]
    small = make_customer(sales, "小額客戶", credit_limit=Decimal("50000"))
    assert services.submit_for_approval(record=small, user=sales) is None  # within the condition: no approval
    assert not services.in_approval(small) and not ProcessInstance.objects.exists()

    customer = make_customer(sales, "青藍科技", credit_limit=Decimal("250000.50"))
    instance = services.submit_for_approval(record=customer, user=sales)
    assert instance.record == customer and instance.initiator == sales
    assert instance.title == "Customer credit review: 青藍科技"
    # the binding's data, as plain JSON values the gateways compare
    assert instance.data == {"credit_limit": 250000.5, "customer": "青藍科技", "record_owner": "sales"}
    assert services.pending_instance(customer) == instance and services.in_approval(customer)
    row = open_row(instance)
    assert (row.bpmn_id, row.candidate_role.name) == ("review", "信用審核")

    # a second submission while it waits is refused with the reason, and starts nothing
    with pytest.raises(ValidationError, match="Waiting for approval in the process “Customer credit review” \\(step: Credit review\\)"):
        services.submit_for_approval(record=customer, user=sales)
    assert ProcessInstance.objects.count() == 1


@pytest.mark.django_db
def test_the_data_reaches_the_gateways(bound, people):
    customer = make_customer(people["sales"], "大客戶", credit_limit=Decimal("2000000"))
    instance = services.submit_for_approval(record=customer, user=people["sales"])
    assert open_row(instance).assignee == people["director"]


@pytest.mark.django_db
def test_a_record_in_approval_is_locked_on_every_generic_path(bound, people):
    sales = people["sales"]
    customer = make_customer(sales, "青藍科技", credit_limit=Decimal("250000"))
    instance = services.submit_for_approval(record=customer, user=sales)
    resource = registry.get(Customer)
    reason = resource.locked(customer, "change")
    assert reason == "Waiting for approval in the process “Customer credit review” (step: Credit review); it cannot be changed until the approval ends."
    assert resource.locked(customer, "delete") == reason
    assert resource.locked(make_customer(sales, "別的客戶"), "change") is None  # only the record in approval

    client = Client()
    client.force_login(sales)
    page = client.get(resource.url("detail", customer)).content.decode()
    assert "data-edit-lock" in page and "Customer credit review" in page
    assert resource.url("edit", customer) not in page and resource.url("delete", customer) not in page
    response = client.get(resource.url("edit", customer))
    assert response.status_code == 302 and response.url == customer.get_absolute_url()
    with pytest.raises(ValidationError, match="Waiting for approval"):
        core_services.bulk_update(resource=resource, queryset=Customer.objects.filter(pk=customer.pk), changes={"status": "active"}, user=sales)
    with pytest.raises(ValidationError, match="Waiting for approval"):
        core_services.delete_record(record=customer, user=sales)
    api = client.patch(f"/api/customers/customers/{customer.pk}/", {"notes": "改"}, content_type="application/json")
    assert api.status_code == 400 and "Waiting for approval" in api.content.decode()
    customer.refresh_from_db()
    assert customer.status == "prospect" and customer.notes == ""

    # returned to the initiator, it still waits
    services.return_task(task=open_row(instance), user=people["reviewers"][0], to="initiator", comment="補財報")
    assert "returned to sales to revise" in resource.locked(customer, "change")
    services.resubmit(instance=instance, user=sales)
    services.complete(task=open_row(instance), user=people["reviewers"][1], outcome="approve")
    assert resource.locked(customer, "change") is None


@pytest.mark.django_db
def test_approval_calls_the_module_back_in_the_same_transaction(bound, people):
    sales, reviewer = people["sales"], people["reviewers"][0]
    customer = make_customer(sales, "青藍科技", credit_limit=Decimal("250000"))
    instance = services.submit_for_approval(record=customer, user=sales)
    services.complete(task=open_row(instance), user=reviewer, outcome="approve", comment="同意")
    assert bound == [("approved", customer.pk, reviewer, "")]
    customer.refresh_from_db()
    assert customer.status == "active"
    assert ProcessInstance.objects.get(pk=instance.pk).status == InstanceStatus.APPROVED
    assert not services.in_approval(customer)
    # approved, it may be submitted again (a new approval)
    again = services.submit_for_approval(record=customer, user=sales)
    assert again.pk != instance.pk and services.pending_instance(customer) == again


@pytest.mark.django_db
def test_rejection_passes_the_reason(bound, people):
    sales, reviewer = people["sales"], people["reviewers"][1]
    customer = make_customer(sales, "青藍科技", credit_limit=Decimal("250000"))
    instance = services.submit_for_approval(record=customer, user=sales)
    services.complete(task=open_row(instance), user=reviewer, outcome="reject", comment="信用紀錄不足")
    assert bound == [("rejected", customer.pk, reviewer, "信用紀錄不足")]
    customer.refresh_from_db()
    assert customer.status == "lost"


@pytest.mark.django_db
def test_withdrawal_by_the_initiator_or_through_the_record(bound, people):
    sales = people["sales"]
    customer = make_customer(sales, "青藍科技", credit_limit=Decimal("250000"))
    instance = services.submit_for_approval(record=customer, user=sales)
    services.withdraw(instance=instance, user=sales, comment="資料有誤")
    assert bound == [("withdrawn", customer.pk, sales, "資料有誤")]
    assert not services.in_approval(customer)

    # the module withdraws through the record: the initiator, an administrator or whoever may change it
    services.submit_for_approval(record=customer, user=sales)
    with pytest.raises(PermissionDenied):
        services.withdraw_approval(record=customer, user=people["outsider"], comment="")
    assert services.in_approval(customer)
    root = make_member("root", superuser=True)
    withdrawn = services.withdraw_approval(record=customer, user=root, comment="訂單取消")
    assert withdrawn.status == InstanceStatus.WITHDRAWN
    assert bound[-1] == ("withdrawn", customer.pk, root, "訂單取消")
    assert services.withdraw_approval(record=customer, user=root) is None  # nothing pending any more


@pytest.mark.django_db
def test_a_module_refusing_the_outcome_undoes_the_approval(people):
    def refuse(record, user):
        Customer.objects.filter(pk=record.pk).update(notes="half-written")
        raise ValidationError("The customer was merged meanwhile; it cannot be approved.")

    binding.bind(Customer, process_key="customer_credit", data=lambda record: {"credit_limit": record.credit_limit}, on_approved=refuse)
    try:
        customer = make_customer(people["sales"], "青藍科技", credit_limit=Decimal("10"))
        instance = services.submit_for_approval(record=customer, user=people["sales"])
        row = open_row(instance)
        with pytest.raises(ValidationError, match="merged meanwhile"):
            services.complete(task=row, user=people["reviewers"][0], outcome="approve")
        # nothing of the approval nor of the callback was kept
        instance = ProcessInstance.objects.get(pk=instance.pk)
        assert instance.status == InstanceStatus.RUNNING and instance.revision == 1
        assert open_row(instance) == row
        assert not TaskEvent.objects.filter(instance=instance, kind="approved").exists()
        customer.refresh_from_db()
        assert customer.notes == ""
    finally:
        binding.unbind(Customer)


@pytest.mark.django_db
def test_the_record_page_shows_the_approval(bound, people):
    sales, reviewer = people["sales"], people["reviewers"][0]
    customer = make_customer(sales, "青藍科技", credit_limit=Decimal("250000"))
    client = Client()
    client.force_login(sales)
    url = registry.get(Customer).url("detail", customer)
    page = client.get(url).content.decode()
    assert 'data-testid="record-approval"' in page and "Not submitted for approval yet. Submitting it starts: Customer credit review" in page

    instance = services.submit_for_approval(record=customer, user=sales)
    page = client.get(url).content.decode()
    panel = page.split('data-testid="record-approval"')[1].split('data-testid="detail-side"')[0]
    assert f'href="/workflow/instance/{instance.pk}/"' in panel or f"/instance/{instance.pk}/" in panel
    assert "Credit review" in panel and "role 信用審核" in panel and "running" in panel

    # a member who may view the customer may follow its approval; the instance page links back
    viewer = make_member("viewer", language="en")
    grant(viewer, Customer, ["view"])
    viewer_client = Client()
    viewer_client.force_login(viewer)
    instance_page = viewer_client.get(instance.get_page_url())
    assert instance_page.status_code == 200
    assert f'href="{customer.get_absolute_url()}"' in instance_page.content.decode()
    outsider = Client()
    outsider.force_login(people["outsider"])
    assert outsider.get(instance.get_page_url()).status_code == 404

    services.complete(task=open_row(instance), user=reviewer, outcome="approve")
    page = client.get(url).content.decode()
    assert 'data-status="approved"' in page

    # unbound, a record that never went through approval shows no panel
    binding.unbind(Customer)
    other = make_customer(sales, "別的客戶")
    assert 'data-testid="record-approval"' not in client.get(registry.get(Customer).url("detail", other)).content.decode()


@pytest.mark.django_db
def test_choosing_among_bindings_and_clear_errors(people):
    sales = people["sales"]
    customer = make_customer(sales, "青藍科技", credit_limit=Decimal("250000"))
    with pytest.raises(ValidationError, match="No process is bound to customers"):
        services.submit_for_approval(record=customer, user=sales)
    with pytest.raises(ImproperlyConfigured):
        binding.bind(Customer, process_key="customer_credit", condition="__import__('os')")
    with pytest.raises(ImproperlyConfigured):
        binding.bind("customers.Nothing", process_key="customer_credit")
    binding.bind(Customer, process_key="customer_credit", condition=lambda record: record.credit_limit > 1000)
    binding.bind(Customer, process_key="customer_credit_other", action="close", condition="missing_field > 1")
    try:
        assert [b.process_key for b in binding.bindings_for(customer)] == ["customer_credit", "customer_credit_other"]
        assert [b.process_key for b in binding.bindings_for(customer, "submit")] == ["customer_credit"]
        with pytest.raises(ValidationError, match="No process “nope” is bound"):
            services.submit_for_approval(record=customer, user=sales, process_key="nope")
        # an expression over data the record does not give is refused with the reason, nothing started
        with pytest.raises(ValidationError, match="uses the field “missing_field”"):
            services.submit_for_approval(record=customer, user=sales, action="close")
        assert not ProcessInstance.objects.exists()
        # binding the same model and process again replaces the binding
        binding.bind(Customer, process_key="customer_credit", condition=lambda record: False)
        assert len(binding.bindings_for(customer, "submit")) == 1
        assert services.submit_for_approval(record=customer, user=sales) is None
        # a bound process that is not deployed says so
        binding.bind(Customer, process_key="not_deployed")
        with pytest.raises(ValidationError, match="There is no active process “not_deployed”"):
            services.submit_for_approval(record=customer, user=sales, process_key="not_deployed")
    finally:
        assert binding.unbind(Customer) == 3
    assert binding.bindings_for(customer) == []


def _at_once(count, work):
    barrier = threading.Barrier(count)
    results = []

    def run(index):
        translation.activate("en")
        try:
            barrier.wait()
            work(index)
            results.append("ok")
        except (ValidationError, PermissionDenied) as error:
            results.append(" ".join(getattr(error, "messages", [str(error)])))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL (SQLite serialises every writer)")
def test_two_approvers_at_once_settle_the_record_once(bound, people):
    sales = people["sales"]
    for round_ in range(3):
        customer = make_customer(sales, f"青藍科技{round_}", credit_limit=Decimal("250000"))
        instance = services.submit_for_approval(record=customer, user=sales)
        row = open_row(instance)
        outcomes = ["approve", "reject"]
        results = _at_once(2, lambda index: services.complete(task=row.pk, user=people["reviewers"][index], outcome=outcomes[index]))
        assert results.count("ok") == 1, results
        calls = [call for call in bound if call[1] == customer.pk]
        assert len(calls) == 1, calls
        customer.refresh_from_db()
        assert customer.status == ("active" if calls[0][0] == "approved" else "lost")


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL (SQLite serialises every writer)")
def test_two_submissions_at_once_start_one_approval(bound, people):
    sales = people["sales"]
    customer = make_customer(sales, "青藍科技", credit_limit=Decimal("250000"))
    results = _at_once(2, lambda index: services.submit_for_approval(record=customer, user=sales))
    assert results.count("ok") == 1 and "Waiting for approval" in [r for r in results if r != "ok"][0], results
    assert ProcessInstance.objects.filter(object_id=str(customer.pk)).count() == 1
