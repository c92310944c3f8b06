"""Demo data for `qinglan demo`: a small Taiwanese trading company with departments,
positions, members and roles. Loaded once (skipped when a company profile exists); then each
business app's ``demo.load_demo()`` adds its own records."""

from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from qinglan.core.permissions import ACTIONS, Scope
from qinglan.core.registry import registry

from .models import (
    CompanyProfile,
    Currency,
    Department,
    ExchangeRate,
    Group,
    NumberSequence,
    Position,
    Role,
    RolePermission,
    User,
)

DEMO_PASSWORD = "qinglan-demo-2026"
DEMO_LOGINS = (
    ("admin", "系統管理員 (administrator, everything)"),
    ("manager", "業務部經理 (sales manager: own department and below)"),
    ("sales", "業務員 (salesperson: own records)"),
)

DEPARTMENTS = {
    "總經理室": {"code": "GM", "children": {}},
    "業務部": {"code": "SALES", "children": {"北區業務組": {"code": "SALES-N"}, "南區業務組": {"code": "SALES-S"}}},
    "財務部": {"code": "FIN", "children": {}},
    "倉儲物流部": {"code": "WH", "children": {}},
    "資訊部": {"code": "IT", "children": {}},
}

MEMBERS = [
    # username, display name, department code, position, manager username
    ("admin", "林志明", "IT", "資訊主管", None),
    ("manager", "陳美玲", "SALES", "業務經理", None),
    ("sales", "王大同", "SALES-N", "業務專員", "manager"),
    ("sales2", "張雅婷", "SALES-S", "業務專員", "manager"),
    ("finance", "李家豪", "FIN", "會計", None),
    ("warehouse", "黃建國", "WH", "倉管員", None),
    ("ceo", "吳淑芬", "GM", "總經理", None),
]


def _create_departments(tree, parent=None):
    for name, spec in tree.items():
        department = Department(name=name, code=spec["code"])
        department.new_parent = parent
        department.save()
        _create_departments(spec.get("children", {}), department)


def load_demo():
    """The organisation, then every other Qinglan app's demo records, in one transaction."""
    import importlib
    import importlib.util

    from django.apps import apps

    with transaction.atomic():
        if not _load_organisation():
            return False
        for app_config in apps.get_app_configs():
            name = f"{app_config.name}.demo"
            if app_config.name.startswith("qinglan.") and app_config.label != "org" and importlib.util.find_spec(name):
                importlib.import_module(name).load_demo()
    return True


def _load_organisation():
    if CompanyProfile.objects.exists():
        return False
    twd = Currency.objects.create(code="TWD", name="新臺幣", symbol="NT$", decimal_places=0)
    cny = Currency.objects.create(code="CNY", name="人民幣", symbol="¥")
    usd = Currency.objects.create(code="USD", name="US Dollar", symbol="$")
    first_of_year = timezone.localdate().replace(month=1, day=1)
    ExchangeRate.objects.create(currency=cny, date=first_of_year, rate=Decimal("4.45"))
    ExchangeRate.objects.create(currency=usd, date=first_of_year, rate=Decimal("32.20"))
    CompanyProfile.objects.create(
        name="青藍貿易股份有限公司", short_name="青藍貿易", tax_id="24567890", address="臺北市中山區南京東路二段100號",
        phone="02-2501-0000", email="service@qinglan.example", base_currency=twd,
    )
    _create_departments(DEPARTMENTS)
    positions = {name: Position.objects.create(name=name, level=level) for level, name in enumerate(["總經理", "業務經理", "資訊主管", "會計", "業務專員", "倉管員"], 1)}
    members = {}
    for username, display, department_code, position, manager in MEMBERS:
        member = User.objects.create_user(
            username=username, password=DEMO_PASSWORD, display_name=display, email=f"{username}@qinglan.example",
            department=Department.objects.get(code=department_code), position=positions[position],
            manager=members.get(manager), is_superuser=username == "admin", is_staff=username == "admin",
        )
        members[username] = member
    for code in ("SALES", "SALES-N", "SALES-S"):
        Department.objects.filter(code=code).update(head=members["manager"])
    Department.objects.filter(code="IT").update(head=members["admin"])

    everything = list(ACTIONS)
    org_types = [ContentType.objects.get_for_model(r.model) for r in registry if r.app_label == "org"]
    manager_role = Role.objects.create(name="業務主管", description="看得到本部門及下屬部門的成員")
    sales_role = Role.objects.create(name="業務員", description="只看得到自己的資料")
    for content_type in org_types:
        RolePermission.objects.create(role=manager_role, content_type=content_type, actions=["view", "export"], scope=Scope.SUBTREE)
        RolePermission.objects.create(role=sales_role, content_type=content_type, actions=["view"], scope=Scope.OWN)
    user_type = ContentType.objects.get_for_model(User)
    RolePermission.objects.filter(role=manager_role, content_type=user_type).update(actions=["view", "change", "export"])
    manager_role.members.add(members["manager"])
    sales_role.members.add(members["sales"], members["sales2"])
    hr = Role.objects.create(name="人事管理", description="維護組織與成員")
    for content_type in org_types:
        RolePermission.objects.create(role=hr, content_type=content_type, actions=everything, scope=Scope.ALL)
    group = Group.objects.create(name="管理團隊", description="各部門主管")
    group.members.add(members["ceo"], members["manager"])

    NumberSequence.objects.create(code="so", name="銷售訂單", prefix="SO-{year}-")
    NumberSequence.objects.create(code="qt", name="報價單", prefix="QT-{year}-")
    return True
