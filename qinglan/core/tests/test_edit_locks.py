"""Locks another module adds to records of any resource (core.resources.add_edit_lock), asked
after the resource's own edit_lock by every generic path; and template panels added by another
module that have nothing to say about a record are left out of its page."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from qinglan.core import detail, resources
from qinglan.core import services as core_services
from qinglan.core.registry import registry
from qinglan.core.resources import Panel
from qinglan.core.testing import make_member
from qinglan.customers.models import Customer
from qinglan.customers.tests.factories import make_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def module_locks(monkeypatch):
    """Locks added by a test only, gone after it."""
    monkeypatch.setattr(resources, "_edit_locks", list(resources._edit_locks))
    monkeypatch.setattr(detail, "_extra_panels", {})


def test_a_lock_added_by_another_module_holds_on_every_generic_path(module_locks):
    admin = make_member("locks-admin", superuser=True, language="en")
    locked = make_customer(admin, "鎖定客戶")
    free = make_customer(admin, "自由客戶")
    seen = []

    def lock(record, action):
        seen.append(action)
        return "Held by another module." if isinstance(record, Customer) and record.pk == locked.pk else None

    resources.add_edit_lock(lock)
    resource = registry.get(Customer)
    assert resource.locked(locked, "change") == "Held by another module."
    assert resource.locked(free, "delete") is None and "delete" in seen
    client = Client()
    client.force_login(admin)
    page = client.get(resource.url("detail", locked)).content.decode()
    assert "Held by another module." in page and resource.url("edit", locked) not in page
    assert client.get(resource.url("edit", locked)).status_code == 302
    with pytest.raises(ValidationError, match="Held by another module"):
        core_services.bulk_update(resource=resource, queryset=Customer.objects.filter(pk=locked.pk), changes={"notes": "x"}, user=admin)
    with pytest.raises(ValidationError, match="Held by another module"):
        core_services.delete_record(record=locked, user=admin)
    assert core_services.bulk_update(resource=resource, queryset=Customer.objects.filter(pk=free.pk), changes={"notes": "x"}, user=admin) == 1


def test_a_template_panel_with_nothing_to_say_is_left_out(module_locks, tmp_path, settings):
    admin = make_member("panels-admin", superuser=True, language="en")
    (tmp_path / "empty_panel.html").write_text("{% if record.notes %}<p>{{ record.notes }}</p>{% endif %}\n", encoding="utf-8")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0].get("DIRS", []), tmp_path]}]
    detail.add_panel(Customer, Panel("Module notes", template="empty_panel.html", side=True))
    resource = registry.get(Customer)
    client = Client()
    client.force_login(admin)
    assert ">Module notes<" not in client.get(resource.url("detail", make_customer(admin, "無備註"))).content.decode()
    assert ">Module notes<" in client.get(resource.url("detail", make_customer(admin, "有備註", notes="重要"))).content.decode()
