"""Sample records per resource for the permission matrix (see testing.sample_factory)."""

from django.contrib.contenttypes.models import ContentType

from qinglan.core.testing import make_department, make_member, sample_factory
from qinglan.org.models import (
    CompanyProfile,
    Currency,
    Department,
    Dictionary,
    Group,
    NumberSequence,
    Position,
    Role,
    RolePermission,
    User,
)


@sample_factory(Department)
def department(owner, serial):
    record = make_department(f"矩陣部門{serial}", parent=owner.department, head=owner)
    return record, owner, record


@sample_factory(User)
def member(owner, serial):
    record = make_member(f"matrix{serial}", department=owner.department, display_name=f"矩陣成員{serial}")
    return record, record, owner.department


@sample_factory(Position)
def position(owner, serial):
    return Position.objects.create(name=f"矩陣職位{serial}"), None, None


@sample_factory(Group)
def group(owner, serial):
    return Group.objects.create(name=f"矩陣群組{serial}"), None, None


@sample_factory(Role)
def role(owner, serial):
    record = Role.objects.create(name=f"矩陣角色{serial}")
    RolePermission.objects.create(role=record, content_type=ContentType.objects.get_for_model(Position), actions=["view"])
    return record, None, None


@sample_factory(CompanyProfile)
def company(owner, serial):
    return CompanyProfile.objects.create(name=f"矩陣公司{serial}"), None, None


@sample_factory(Dictionary)
def dictionary(owner, serial):
    return Dictionary.objects.create(code=f"matrix{serial}", name=f"矩陣字典{serial}"), None, None


@sample_factory(Currency)
def currency(owner, serial):
    code = "".join(chr(ord("A") + int(digit)) for digit in f"{serial:03d}")  # 3 letters, unique per serial
    return Currency.objects.create(code=code, name=f"矩陣幣{serial}"), None, None


@sample_factory(NumberSequence)
def sequence(owner, serial):
    return NumberSequence.objects.create(code=f"matrix{serial}", name=f"矩陣序號{serial}"), None, None
