"""Fixed processes other modules ship (services.register_fixed_process): a BPMN file in the
module's own folder, registered under its process ID, deployed by ensure_fixed_processes()
once per change of the file, and deployed on first use by start() and submit_for_approval()
when no version of it is in the database yet (a fresh install, a test database)."""

from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured

from qinglan.core.testing import make_member
from qinglan.customers.models import Customer
from qinglan.customers.tests.factories import make_customer
from qinglan.org.models import Role
from qinglan.workflow import binding, services
from qinglan.workflow.choices import InstanceStatus, ProcessKind, TaskStatus
from qinglan.workflow.models import ProcessDefinition, WorkTask

from .factories import bpmn


@pytest.fixture
def shipped(tmp_path):
    """A module folder with its own process file, registered as customer_credit (unregistered after)."""
    folder = tmp_path / "customers_module" / "processes"
    folder.mkdir(parents=True)
    path = folder / "customer_credit.bpmn"
    path.write_text(bpmn("customer_credit.bpmn"), encoding="utf-8")
    services.register_fixed_process("customer_credit", path)
    yield path
    services.unregister_fixed_process("customer_credit")


@pytest.fixture
def reviewers(db):
    members = [make_member(f"reviewer{n}", language="en") for n in range(2)]
    Role.objects.create(name="信用審核").members.add(*members)
    return members


@pytest.mark.django_db
def test_ensure_deploys_a_registered_file_once_per_change(shipped):
    deployed = services.ensure_fixed_processes()
    assert "customer_credit" in {d.key for d in deployed}
    assert services.ensure_fixed_processes() == []  # unchanged files: nothing new
    definition = ProcessDefinition.objects.get(key="customer_credit")
    assert (definition.kind, definition.version, definition.name) == (ProcessKind.FIXED, 1, "Customer credit review")

    shipped.write_text(shipped.read_text(encoding="utf-8").replace("Credit review", "Credit check"), encoding="utf-8")
    (changed,) = services.ensure_fixed_processes()
    assert (changed.key, changed.version, changed.task_rules["review"]["name"]) == ("customer_credit", 2, "Credit check")
    assert services.ensure_fixed_processes() == []


@pytest.mark.django_db
def test_start_deploys_a_registered_process_on_first_use(shipped, reviewers):
    assert not ProcessDefinition.objects.filter(key="customer_credit").exists()
    applicant = make_member("applicant", language="en")
    instance = services.start(definition_key="customer_credit", initiator=applicant, data={"credit_limit": 5000})
    assert (instance.definition.key, instance.definition.version, instance.definition.kind) == ("customer_credit", 1, ProcessKind.FIXED)
    row = WorkTask.objects.get(instance=instance, status=TaskStatus.OPEN)
    assert row.candidate_role.name == "信用審核"
    services.complete(task=row, user=reviewers[0], outcome="approve")
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.APPROVED
    # deployed once: the next start uses the same version
    services.start(definition_key="customer_credit", initiator=applicant, data={"credit_limit": 5000})
    assert ProcessDefinition.objects.filter(key="customer_credit").count() == 1


@pytest.mark.django_db
def test_an_inactive_fixed_process_is_not_deployed_again_behind_the_administrator(shipped):
    (definition,) = [d for d in services.ensure_fixed_processes() if d.key == "customer_credit"]
    ProcessDefinition.objects.filter(pk=definition.pk).update(active=False)
    with pytest.raises(Exception, match="There is no active process “customer_credit”"):
        services.start(definition_key="customer_credit", initiator=make_member("applicant"))
    assert ProcessDefinition.objects.filter(key="customer_credit").count() == 1


@pytest.mark.django_db
def test_submit_for_approval_deploys_the_bound_fixed_process(shipped, reviewers):
    binding.bind("customers.Customer", process_key="customer_credit", condition="credit_limit > 100000",
                 data=lambda customer: {"credit_limit": customer.credit_limit})
    try:
        sales = make_member("sales", language="en")
        customer = make_customer(sales, "青藍科技", credit_limit=Decimal("250000"))
        instance = services.submit_for_approval(record=customer, user=sales)
        assert instance.definition.key == "customer_credit" and instance.record == customer
        assert instance.title == "Customer credit review: 青藍科技"
        assert services.in_approval(customer)
    finally:
        binding.unbind(Customer)


@pytest.mark.django_db
def test_the_shipped_leave_request_is_deployed_on_first_use():
    instance = services.start(
        definition_key="leave_request", initiator=make_member("applicant"), data={"leave_type": "annual", "days": 1, "reason": "休假"}
    )
    assert instance.definition.kind == ProcessKind.FIXED


def test_registration_is_checked(tmp_path):
    with pytest.raises(ImproperlyConfigured, match="there is no file"):
        services.register_fixed_process("nothing_here", tmp_path / "missing.bpmn")
    other = tmp_path / "other.bpmn"
    other.write_text(bpmn("countersign.bpmn"), encoding="utf-8")
    with pytest.raises(ImproperlyConfigured, match="already registered"):
        services.register_fixed_process("leave_request", other)
    # the same registration again is harmless (ready() may run twice)
    services.register_fixed_process("leave_request", services.PROCESSES_DIR / "leave_request.bpmn")
    assert "nothing_here" not in services.FIXED_PROCESSES


@pytest.mark.django_db
def test_a_file_whose_process_id_is_not_its_key_is_refused_and_deploys_nothing(tmp_path):
    path = tmp_path / "wrong.bpmn"
    path.write_text(bpmn("countersign.bpmn"), encoding="utf-8")
    services.register_fixed_process("not_its_id", path)
    try:
        with pytest.raises(ImproperlyConfigured, match="its ID must be the key"):
            services.ensure_fixed_process("not_its_id")
        assert not ProcessDefinition.objects.exists()
        broken = tmp_path / "broken.bpmn"
        broken.write_text("<not-bpmn/>", encoding="utf-8")
        services.unregister_fixed_process("not_its_id")
        services.register_fixed_process("not_its_id", broken)
        with pytest.raises(ImproperlyConfigured, match="is refused"):
            services.start(definition_key="not_its_id", initiator=make_member("applicant"))
        assert not ProcessDefinition.objects.exists()
    finally:
        services.unregister_fixed_process("not_its_id")
