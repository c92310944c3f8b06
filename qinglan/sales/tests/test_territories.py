"""Territory assignment rules for new customers: by region (with sub-regions), industry,
source and level; to a member or in turn to a department's members; the first rule by order
decides; whoever entered the customer keeps it through a share and the new owner is told —
through the customer form, the import path (create_many) and the API."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from qinglan.core import services as core_services
from qinglan.core.models import RecordShare
from qinglan.core.permissions import Scope
from qinglan.core.registry import registry
from qinglan.core.testing import grant, make_department, make_member
from qinglan.customers.models import Customer, Region
from qinglan.extras.models import Notification
from qinglan.org.models import Dictionary, DictionaryItem
from qinglan.sales.models import TerritoryRule

pytestmark = pytest.mark.django_db
NO_ADDRESSES = {"addresses-TOTAL_FORMS": "0", "addresses-INITIAL_FORMS": "0"}


def region(name, parent=None):
    node = Region(name=name)
    node.new_parent = parent
    node.save()
    node.refresh_from_db()
    return node


@pytest.fixture
def world():
    sales = make_department("業務部")
    north = make_department("北區業務", parent=sales)
    east = region("華東")
    shanghai = region("上海", east)
    south = region("華南")
    industry = DictionaryItem.objects.create(dictionary=Dictionary.objects.get_or_create(code="customer-industry", defaults={"name": "行業"})[0], label="製造業", value="manufacturing")
    carol = make_member("carol", department=sales)
    dave = make_member("dave", department=north)
    erin = make_member("erin", department=north)
    seller = make_member("seller", department=sales)
    for member in (carol, dave, erin, seller):
        grant(member, Customer, ["view", "add", "change"], scope=Scope.OWN)
    by_region = TerritoryRule.objects.create(name="華東區", order=1, member=carol)
    by_region.regions.set([east])
    by_industry = TerritoryRule.objects.create(name="製造業輪派", order=2, team=north)
    by_industry.industries.set([industry])
    return {"shanghai": shanghai, "south": south, "industry": industry, "carol": carol, "dave": dave, "erin": erin, "seller": seller, "north": north}


def test_the_form_gives_a_customer_to_its_territory_and_the_entrant_keeps_it(world):
    client = Client()
    client.force_login(world["seller"])
    answer = client.post("/customers/customer/add/", {**NO_ADDRESSES, "kind": "company", "status": "prospect", "name": "上海精密股份有限公司", "region": world["shanghai"].pk})
    assert answer.status_code == 302, answer.content.decode()[:1500]
    customer = Customer.objects.get(name="上海精密股份有限公司")
    assert customer.owner == world["carol"] and customer.department == world["carol"].department
    assert RecordShare.objects.filter(object_id=customer.pk, user=world["seller"], can_change=True).exists()
    assert client.get(answer.url).status_code == 200  # the seller still opens (and may change) it
    note = Notification.objects.get(user=world["carol"])
    assert "上海精密股份有限公司" in note.title and "華東區" in note.body
    # No rule matches: the one who entered it owns it, nobody is told.
    client.post("/customers/customer/add/", {**NO_ADDRESSES, "kind": "company", "status": "prospect", "name": "廣州貿易有限公司", "region": world["south"].pk})
    assert Customer.objects.get(name="廣州貿易有限公司").owner == world["seller"]
    assert Notification.objects.count() == 1


def test_imports_take_turns_in_the_team_and_the_first_rule_wins(world):
    resource = registry.get(Customer)
    made = [
        Customer(name=f"製造客戶{number}", industry=world["industry"], region=world["shanghai"] if number == 4 else None) for number in range(1, 6)
    ]
    core_services.create_many(resource=resource, records=made, user=world["seller"])
    owners = [Customer.objects.get(name=f"製造客戶{number}").owner.username for number in range(1, 6)]
    assert owners == ["dave", "erin", "dave", "carol", "erin"]  # number 4 is in 華東: rule 1 comes first
    assert TerritoryRule.objects.get(name="製造業輪派").last_given == world["erin"]
    assert RecordShare.objects.filter(user=world["seller"]).count() == 5
    notes = {note.user.username: note.title for note in Notification.objects.all()}
    assert set(notes) == {"dave", "erin", "carol"} and "2" in notes["dave"] and "2" in notes["erin"]
    # A member of the team keeps what they enter; the turn does not move.
    mine = Customer(name="自己的製造客戶", industry=world["industry"])
    core_services.create_many(resource=resource, records=[mine], user=world["dave"])
    assert Customer.objects.get(name="自己的製造客戶").owner == world["dave"]
    assert TerritoryRule.objects.get(name="製造業輪派").last_given == world["erin"]


def test_the_api_follows_the_rules_and_bad_rules_are_refused(world):
    client = Client()
    client.force_login(world["seller"])
    answer = client.post("/api/customers/customers/", {"name": "API 上海客戶", "kind": "company", "status": "prospect", "region": world["shanghai"].pk}, content_type="application/json")
    assert answer.status_code == 201, answer.content.decode()[:500]
    assert Customer.objects.get(name="API 上海客戶").owner == world["carol"]
    with pytest.raises(ValidationError):
        TerritoryRule(name="兩者", member=world["carol"], team=world["north"]).full_clean()
    with pytest.raises(ValidationError):
        TerritoryRule(name="都沒有").full_clean()
    admin = make_member("admin", superuser=True)
    client.force_login(admin)
    refused = client.post("/sales/territoryrule/add/", {"name": "都沒有", "order": 3, "active": "on"})
    assert refused.status_code == 400 and not TerritoryRule.objects.filter(name="都沒有").exists()
