"""The main pages as a member sees them, on a laptop and on a phone, with the demo company:
they render, nothing spills sideways out of the page, no script fails and nothing the
content security policy blocks. With QINGLAN_SHOTS=<folder> each page is also saved as a
screenshot (<page>-desktop.png, <page>-phone.png) for a person to look at."""

import os
from pathlib import Path

import pytest

from .conftest import DESKTOP, PHONE, choose, log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def demo(transactional_db):
    from qinglan.org.demo import DEMO_PASSWORD, load_demo
    from qinglan.org.models import Role, User

    load_demo()
    return {
        "password": DEMO_PASSWORD,
        "member": User.objects.get(username="manager").pk,
        "role": Role.objects.get(name="業務主管").pk,
    }


def pages(demo):
    return [
        ("home", "/"),
        ("member-list", "/org/user/"),
        ("member-detail", f"/org/user/{demo['member']}/"),
        ("member-add", "/org/user/add/"),
        ("department-list", "/org/department/"),
        ("role-edit", f"/org/role/{demo['role']}/edit/"),
        ("import", "/org/user/import/"),
        ("profile", "/me/"),
    ]


def check(page, name, viewport_name):
    page.wait_for_load_state("networkidle")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{name} ({viewport_name}) is {overflow}px wider than the screen"
    assert page.watch.page_errors == [], f"{name}: {page.watch.page_errors}"
    blocked = [text for text in page.watch.console_errors if "Content Security Policy" in text or "Refused" in text]
    assert blocked == [], f"{name}: {blocked}"
    assert page.locator("h1, .display-6").first.is_visible(), f"{name} has no visible heading"
    folder = os.environ.get("QINGLAN_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}-{viewport_name}.png"), full_page=True)


@pytest.mark.parametrize("viewport_name,viewport", [("desktop", DESKTOP), ("phone", PHONE)])
def test_main_pages_fit_the_screen(open_page, demo, viewport_name, viewport):
    page = open_page(locale="zh-TW", viewport=viewport, is_mobile=viewport is PHONE, has_touch=viewport is PHONE)
    page.goto("/accounts/login/")
    check(page, "login", viewport_name)
    log_in(page, "admin", demo["password"])
    for name, url in pages(demo):
        response = page.goto(url)
        assert response.ok, f"{url}: HTTP {response.status}"
        check(page, name, viewport_name)


def test_phone_menu_and_folded_filters(open_page, demo):
    page = open_page(viewport=PHONE, is_mobile=True, has_touch=True)
    log_in(page, "admin", demo["password"])
    page.goto("/org/department/")
    sidebar = page.locator("#ql-sidebar")
    assert not sidebar.is_visible()
    page.get_by_role("button", name="Menu").click()
    sidebar.wait_for(state="visible")
    with page.expect_navigation():
        sidebar.get_by_role("link", name="Members").click()
    assert page.url.endswith("/org/user/")

    # The filters are folded away above the list until asked for.
    filters = page.locator("#ql-filter-form")
    assert not filters.is_visible()
    assert page.locator("#object-list table").is_visible()
    page.get_by_role("button", name="Show or hide the filters").click()
    filters.wait_for(state="visible")
    choose(page, "#id_department", "業務部")
    with page.expect_navigation():
        filters.get_by_role("button", name="Apply").click()
    # In use, they stay open and say how many there are.
    assert filters.is_visible()
    assert page.locator(".card-header .badge").inner_text() == "1"
    assert page.watch.page_errors == []


def test_api_docs_render_every_operation_under_the_content_security_policy(admin_page):
    """Swagger UI (from drf-spectacular-sidecar, no CDN) starts from a script file, not an
    inline script the CSP would block, and lists the API's operations."""
    page = admin_page
    response = page.goto("/api/docs/")
    assert response.ok
    # the operations render as one scrolls; the first group's are there at once
    # (the schema of every resource is built on request: slow on a busy machine)
    page.locator(".opblock-summary-path").first.wait_for(state="visible", timeout=120_000)
    assert page.locator(".opblock-summary-path").first.inner_text().startswith("/api/")
    assert page.locator(".opblock-summary-method", has_text="GET").count() >= 1
    blocked = [text for text in page.watch.console_errors if "Content Security Policy" in text or "Refused" in text]
    assert blocked == [] and page.watch.page_errors == []
    assert page.evaluate("[...document.scripts].filter((s) => !s.src).length") == 0
