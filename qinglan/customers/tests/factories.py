"""Sample records per resource for the permission matrix (see testing.sample_factory)."""

from django.utils import timezone

from qinglan.core.testing import sample_factory
from qinglan.customers.models import Activity, ClaimLimit, Contact, Customer, CustomerLevel, PoolCustomer, Region, ValueGradeRule
from qinglan.customers.services import prepare_customer


def make_customer(owner, name, **extra):
    customer = Customer(owner=owner, name=name, **extra)
    prepare_customer(customer=customer, user=owner, created=True)
    customer.save()
    return customer


def make_contact(customer, name, **extra):
    """A contact saved as the services save one (with its search keys)."""
    from qinglan.customers.services import prepare_contact

    contact = Contact(customer=customer, name=name, **extra)
    prepare_contact(contact=contact, user=None, created=True)
    contact.save()
    return contact


@sample_factory(Customer)
def customer(owner, serial):
    return make_customer(owner, f"矩陣客戶{serial} matrix"), owner, owner.department


@sample_factory(Contact)
def contact(owner, serial):
    record = Contact.objects.create(customer=make_customer(owner, f"客戶{serial}"), name=f"矩陣聯絡人{serial} matrix")
    return record, owner, owner.department


@sample_factory(Activity)
def activity(owner, serial):
    record = Activity.objects.create(customer=make_customer(owner, f"客戶{serial}"), owner=owner, subject=f"矩陣拜訪{serial} matrix")
    return record, owner, owner.department


@sample_factory(Region)
def region(owner, serial):
    return Region.objects.create(name=f"矩陣區域{serial}", code=f"R{serial}"), None, None


@sample_factory(CustomerLevel)
def level(owner, serial):
    return CustomerLevel.objects.create(name=f"矩陣等級{serial}"), None, None


@sample_factory(PoolCustomer)
def pool_customer(owner, serial):
    """A customer in the public pool: no owner, no department; every viewer sees the pool."""
    record = make_customer(None, f"公海矩陣客戶{serial} matrix")
    Customer.objects.filter(pk=record.pk).update(in_pool=True, pooled_at=timezone.now())
    return PoolCustomer.objects.get(pk=record.pk), None, None


@sample_factory(ClaimLimit)
def claim_limit(owner, serial):
    return ClaimLimit.objects.create(member=owner, limit=10 + serial), None, None


@sample_factory(ValueGradeRule)
def value_grade_rule(owner, serial):
    return ValueGradeRule.objects.create(grade="ABCD"[serial - 1], min_value=1000 * serial), None, None
