"""Record pages in two columns: panels declared with `side=True` (by the resource, or added by
another module with `core.detail.add_panel`) go to a narrower side column; a page without
any side panel keeps its one column."""

import pytest
from django.test import Client

from qinglan.core import detail
from qinglan.core.registry import registry
from qinglan.core.resources import Panel
from qinglan.core.testing import make_department, make_member
from qinglan.customers.models import Customer
from qinglan.customers.tests.factories import make_customer


@pytest.fixture
def admin_client(db):
    admin = make_member("columns-admin", superuser=True, language="en")
    client = Client()
    client.force_login(admin)
    return admin, client


@pytest.fixture
def extra_panels(monkeypatch):
    """add_panel registrations made by a test only, gone after it."""
    monkeypatch.setattr(detail, "_extra_panels", {})


def columns(html):
    """(main column, side column) of a two-column record page."""
    assert html.count('data-testid="detail-side"') == 1
    main, side = html.split('data-testid="detail-side"')
    return main.split('data-testid="detail-main"')[1], side


def test_customer_page_puts_the_record_left_and_what_goes_with_it_right(admin_client):
    admin, client = admin_client
    customer = make_customer(admin, "青藍科技股份有限公司")
    html = client.get(registry.get(Customer).url("detail", customer)).content.decode()
    assert 'data-testid="detail-columns"' in html
    main, side = columns(html)
    for title in ("Classification", "Reach", "Contacts", "Follow-ups", "addresses"):
        assert f">{title}<" in main and f">{title}<" not in side, title
    for title in ("Follow-up", "Owner changes", "Possible duplicates", "Value", "Shared with"):
        assert f">{title}<" in side and f">{title}<" not in main, title
    # the main column keeps the resource's order
    assert main.index(">Contacts<") < main.index(">Follow-ups<") < main.index(">addresses<")
    assert side.index(">Follow-up<") < side.index(">Owner changes<") < side.index(">Value<")


def test_a_page_without_side_panels_keeps_one_column(admin_client):
    admin, client = admin_client
    response = client.get(registry.get(type(admin)).url("detail", admin))
    html = response.content.decode()
    assert 'data-testid="detail-columns"' not in html and 'data-testid="detail-side"' not in html
    assert response.context["panels"].side == []
    assert [panel["title"] for panel in response.context["panels"].main] == [panel["title"] for panel in response.context["panels"]]


def test_a_module_chooses_the_column_of_the_panel_it_adds(admin_client, extra_panels):
    admin, client = admin_client
    department = make_department("業務部")
    resource = registry.get(type(department))
    assert not any(panel.side for panel in resource.get_panels())

    # a side panel added to a one-column page makes it two columns
    detail.add_panel(type(department), Panel("Quarterly targets", ("code",), side=True))
    main, side = columns(client.get(resource.url("detail", department)).content.decode())
    assert ">Quarterly targets<" in side and ">Quarterly targets<" not in main
    assert ">Department<" in main

    # on the customer page: after the resource's own panels of the chosen column
    detail.add_panel(Customer, Panel("Sales orders", ("name",)))
    detail.add_panel(Customer, Panel("Open invoices", ("code",), side=True))
    customer = make_customer(admin, "青藍科技股份有限公司")
    main, side = columns(client.get(registry.get(Customer).url("detail", customer)).content.decode())
    assert main.index(">Follow-ups<") < main.index(">Sales orders<") and ">Sales orders<" not in side
    assert side.index(">Value<") < side.index(">Open invoices<") and ">Open invoices<" not in main
