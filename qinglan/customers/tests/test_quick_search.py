"""Quick search of customers (the list's ?q= and the autocomplete endpoint): by the start of the
name in any width or script (繁/简), by phone number in any format, by code; within the
member's scope. Prefixes of indexed keys, so it stays fast at a million customers."""

import pytest
from django.test import Client

from qinglan.core.permissions import Scope
from qinglan.core.testing import grant, list_pks, make_department, make_member
from qinglan.customers.models import Customer

from .factories import make_customer


@pytest.fixture
def sales():
    department = make_department("業務一部")
    member = make_member("search-sales", department=department)
    grant(member, Customer, ["view"], scope=Scope.DEPARTMENT)
    colleague = make_member("search-colleague", department=department)
    stranger = make_member("search-stranger", department=make_department("業務二部"))
    client = Client()
    client.force_login(member)
    return member, colleague, stranger, client


def found(client, text):
    return list_pks(client.get("/customers/customer/", {"q": text}))


def autocomplete(client, text):
    return {row["id"] for row in client.get("/customers/customer/autocomplete/", {"q": text}).json()["results"]}


@pytest.mark.django_db
def test_name_prefix_in_any_width_and_script(sales):
    member, colleague, _stranger, client = sales
    qinglan = make_customer(colleague, "青藍科技股份有限公司")
    acme = make_customer(member, "ACME Trading Co., Ltd.")
    make_customer(member, "藍天實業有限公司")  # contains 藍 but does not start with it
    for text in ("青藍", "青蓝科", "青藍科技股份有限公司", " 青蓝 科技 "):
        assert found(client, text) == {qinglan.pk}, text
        assert autocomplete(client, text) == {qinglan.pk}, text
    for text in ("acme", "ＡＣＭＥ ｔｒａ", "Acme Trading"):
        assert found(client, text) == {acme.pk}, text
        assert autocomplete(client, text) == {acme.pk}, text
    assert found(client, "科技") == set()  # a prefix search: the middle of a name is not a start


@pytest.mark.django_db
def test_phone_in_any_format_and_code(sales):
    member, _colleague, _stranger, client = sales
    taipei = make_customer(member, "台北客戶", phone="02-2345-6789")
    mobile = make_customer(member, "手機客戶", mobile="+886 912 345 678")
    for text in ("02-2345-6789", "(02) 2345 6789", "+886 2 2345 6789", "0223456789", "2234"):
        assert found(client, text) == {taipei.pk}, text
    for text in ("0912-345-678", "0912345678", "+886-912", "0912 3"):
        assert found(client, text) == {mobile.pk}, text
        assert autocomplete(client, text) == {mobile.pk}, text
    assert found(client, taipei.code) == {taipei.pk}


@pytest.mark.django_db
def test_search_stays_within_the_scope(sales):
    _member, _colleague, stranger, client = sales
    make_customer(stranger, "青藍科技股份有限公司", phone="02-2345-6789")
    assert found(client, "青藍") == set()
    assert found(client, "02-2345") == set()
    assert autocomplete(client, "青藍") == set()


@pytest.mark.django_db
def test_search_text_that_folds_to_nothing_finds_nothing(sales):
    member, _colleague, _stranger, client = sales
    make_customer(member, "青藍科技股份有限公司")
    assert found(client, "%") == set()
    assert found(client, "_") == set()
    assert found(client, "\x00") != set()  # only a NUL: no search at all, the whole list


def test_contacts_and_follow_ups_are_found_by_prefix(db):
    from django.test import Client

    from qinglan.core.testing import list_pks, make_member
    from qinglan.customers.models import Activity, Contact

    from .factories import make_customer

    admin = make_member("admin", superuser=True)
    client = Client()
    client.force_login(admin)
    customer = make_customer(admin, "青藍科技股份有限公司")
    contact = Contact(customer=customer, name="陳 美玲", mobile="0912-345-678", email="MeiLing@Example.com")
    from qinglan.customers.services import prepare_contact

    prepare_contact(contact=contact, user=admin, created=True)
    contact.save()
    activity = Activity.objects.create(customer=customer, owner=admin, subject="年度拜訪")
    for typed in ("陈美", "+886 912 345", "meiling@"):
        assert list_pks(client.get("/customers/contact/", {"q": typed})) == {contact.pk}, typed
    assert list_pks(client.get("/customers/contact/", {"q": "美玲"})) == set()  # prefixes only
    assert list_pks(client.get("/customers/activity/", {"q": "青蓝"})) == {activity.pk}


@pytest.mark.django_db
def test_public_pool_is_searched_by_prefix_too(sales):
    """The pool is as big as the customers: its quick search (list and autocomplete) uses the
    same indexed key prefixes, and finds pool customers whoever owned them before."""
    from qinglan.core.registry import registry
    from qinglan.customers.models import PoolCustomer

    member, _colleague, stranger, client = sales
    assert registry.get(PoolCustomer).search_prefix == registry.get(Customer).search_prefix
    pooled = make_customer(stranger, "青藍科技股份有限公司", phone="02-2345-6789")
    Customer.objects.filter(pk=pooled.pk).update(owner=None, department=None, in_pool=True)
    owned = make_customer(member, "青藍貿易有限公司", phone="02-2345-6780")  # not in the pool

    def pool_found(text):
        return list_pks(client.get("/customers/poolcustomer/", {"q": text}))

    def pool_autocomplete(text):
        return {row["id"] for row in client.get("/customers/poolcustomer/autocomplete/", {"q": text}).json()["results"]}

    for text in ("青藍", "青蓝科", " 青蓝 科技 ", "02-2345-6789", "(02) 2345 6789", "+886 2 2345", "0223456789", pooled.code):
        assert pool_found(text) == {pooled.pk}, text
        assert pool_autocomplete(text) == {pooled.pk}, text
    assert pool_found("科技") == set()  # a prefix search: the middle of a name is not a start
    assert found(client, "青藍") == {owned.pk}  # the customer list does not show the pool's
