"""permissions.may(user, action, record): the same answer as restrict(), and no query when a
grant covers every record."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from qinglan.core.permissions import Scope, may, unrestricted
from qinglan.core.testing import client_for, grant, make_member
from qinglan.customers.models import Customer


@pytest.mark.django_db
def test_may_answers_as_restrict_does_and_asks_the_database_only_when_it_must():
    owner, other, manager, boss = (make_member(name) for name in ("owner", "other", "manager", "boss"))
    boss.is_superuser = True
    boss.save()
    grant(owner, Customer, ["view", "change"], scope=Scope.OWN)
    grant(manager, Customer, ["view"], scope=Scope.ALL)
    grant(manager, Customer, ["change"], scope=Scope.ALL, constraints={"status": "active"}, role_name="active-only")
    mine = Customer.objects.create(code="C-1", name="青藍科技", owner=owner, status="prospect")
    theirs = Customer.objects.create(code="C-2", name="藍天貿易", owner=other, status="active")

    for member, action, record in [(owner, "view", mine), (owner, "view", theirs), (owner, "change", theirs), (other, "view", mine),
                                   (manager, "view", theirs), (manager, "change", mine), (manager, "change", theirs), (manager, "delete", mine),
                                   (boss, "delete", theirs)]:
        expected = Customer.objects.restrict(member, action).filter(pk=record.pk).exists()
        with CaptureQueriesContext(connection) as queries:
            answer = may(member, action, record)
        assert answer == expected, (member.username, action, record.name)
        # no query for a superuser or a grant of all records without constraints (grants read once per member object)
        if member is boss or (member is manager and action == "view"):
            assert unrestricted(member, Customer, action) and len(queries) == 0
    assert not unrestricted(manager, Customer, "change") and not unrestricted(owner, Customer, "view")

    # A share counts as the member's own, through may() as through restrict().
    from qinglan.core.services import share_record

    share_record(record=theirs, member=owner, user=boss, can_change=False)
    assert may(owner, "view", theirs) and not may(owner, "change", theirs)


@pytest.mark.django_db
def test_the_record_page_offers_changing_only_within_the_scope():
    owner, other = make_member("owner"), make_member("other")
    grant(owner, Customer, ["view", "change"], scope=Scope.OWN)
    grant(owner, Customer, ["view"], scope=Scope.ALL, role_name="see-all")
    mine = Customer.objects.create(code="C-1", name="青藍科技", owner=owner)
    theirs = Customer.objects.create(code="C-2", name="藍天貿易", owner=other)
    client = client_for(owner)
    assert f'/customers/customer/{mine.pk}/edit/' in client.get(f"/customers/customer/{mine.pk}/").content.decode()
    page = client.get(f"/customers/customer/{theirs.pk}/")
    assert page.status_code == 200 and f'/customers/customer/{theirs.pk}/edit/' not in page.content.decode()
