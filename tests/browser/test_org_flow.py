"""A superuser signs in, creates a department and a member in it through the forms, then
finds both again with the quick search (htmx, as you type) and the department filter."""

import pytest

from qinglan.core.testing import PASSWORD, make_department, make_member

from .conftest import choose, log_in, offered, quick_search, table_rows

pytestmark = pytest.mark.browser


def test_department_and_member_created_then_found(open_page, admin):
    noise_department = make_department("Finance", code="FIN")
    make_member("noise", department=noise_department, display_name="Noise Person")

    page = log_in(open_page(), admin.username, PASSWORD)
    assert page.locator("h1").inner_text().startswith("Welcome")

    # A department through its add form.
    page.goto("/org/department/add/")
    page.fill("#id_name", "Research & Development 研發部")
    page.fill("#id_code", "RND")
    page.fill("#id_phone", "02-2345-6789")
    page.fill("#id_description", "Builds the product.")
    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()
    assert page.locator(".alert-success").is_visible()
    assert page.locator("h1").inner_text() == "Research & Development 研發部"

    # A member in that department through the member add form (password is required).
    page.goto("/org/user/add/")
    page.fill("#id_username", "lin.meiling")
    page.fill("#id_display_name", "林美玲")
    page.fill("#id_email", "meiling@example.com")
    page.fill("#id_mobile", "0912-345-678")
    choose(page, "#id_department", "Research & Development 研發部", typed="研發")
    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()
    # Without a password the form comes back with an error and nothing is saved.
    assert page.locator("#id_password ~ .invalid-feedback, #id_password + .invalid-feedback").count() >= 1
    assert page.input_value("#id_username") == "lin.meiling"
    page.fill("#id_password", "Quite-long-pass-42")
    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()
    assert page.locator(".alert-success").is_visible(), page.content()[:3000]
    assert page.locator("h1").inner_text() == "林美玲"
    assert "Research & Development 研發部" in page.locator("main").inner_text()

    # The department list: quick search narrows it as you type.
    page.goto("/org/department/")
    assert len(table_rows(page)) == 2
    quick_search(page, "研發")
    rows = table_rows(page)
    assert len(rows) == 1 and "Research & Development 研發部" in rows[0] and "RND" in rows[0]
    page.locator("#ql-quick-search").fill("")
    quick_search(page, "FIN")
    rows = table_rows(page)
    assert len(rows) == 1 and "Finance" in rows[0]

    # The member list: quick search by display name, then by part of the username.
    page.goto("/org/user/")
    assert len(table_rows(page)) == 3  # admin, noise, the new member
    quick_search(page, "美玲")
    rows = table_rows(page)
    assert len(rows) == 1
    assert "lin.meiling" in rows[0] and "林美玲" in rows[0] and "Research & Development 研發部" in rows[0]
    page.locator("#ql-quick-search").fill("")
    quick_search(page, "noise")
    rows = table_rows(page)
    assert len(rows) == 1 and "Noise Person" in rows[0]

    # The department filter (a normal GET form) shows only that department's members.
    page.goto("/org/user/")
    choose(page, "#id_department", "Research & Development 研發部", typed="研發")
    with page.expect_navigation():
        page.locator("#ql-filter-form").get_by_role("button", name="Apply").click()
    rows = table_rows(page)
    assert len(rows) == 1 and "lin.meiling" in rows[0]
    assert "Research & Development 研發部" in page.locator("main").inner_text()  # the active-filter chip

    # Quick search inside the filtered list keeps the filter.
    quick_search(page, "noise")
    assert "No records found." in table_rows(page)[0]
    page.locator("#ql-quick-search").fill("")
    quick_search(page, "lin")
    rows = table_rows(page)
    assert len(rows) == 1 and "lin.meiling" in rows[0]

    # Following the row's link opens the member.
    with page.expect_navigation():
        page.locator("#object-list table tbody").get_by_role("link", name="lin.meiling").click()
    assert page.locator("h1").inner_text() == "林美玲"
    assert not page.watch.dialogs and not page.watch.page_errors


def test_traditional_chinese_for_a_zh_tw_browser(open_page, admin):
    from django.utils import translation
    from django.utils.text import capfirst

    from qinglan.org.models import User

    with translation.override("zh-hant"):
        required, save = translation.gettext("This field is required."), translation.gettext("Save")
        members = capfirst(User._meta.verbose_name_plural)
    assert required != "This field is required." and save != "Save", "no Traditional Chinese catalogue"

    page = open_page(locale="zh-TW")
    page.goto("/accounts/login/")
    assert page.locator("html").get_attribute("lang") == "zh-hant"
    assert "登入" in page.locator("main").inner_text()

    log_in(page, admin.username, PASSWORD)
    page.goto("/org/user/")
    assert page.locator("html").get_attribute("lang") == "zh-hant"
    assert page.locator("h1").inner_text().strip() == members
    page.goto("/org/user/add/")
    page.fill("#id_username", "chen")
    with page.expect_navigation():
        page.get_by_role("button", name=save, exact=True).click()
    assert required in page.locator("#id_password ~ .invalid-feedback").inner_text()


def test_member_language_setting_beats_the_browser(open_page):
    make_member("english", display_name="English Speaker", language="en")
    page = log_in(open_page(locale="zh-TW"), "english", PASSWORD)
    assert page.locator("html").get_attribute("lang") == "en"


def test_filter_choices_name_only_members_in_scope(open_page):
    from qinglan.core.testing import grant
    from qinglan.org.models import User

    sales = make_department("Sales")
    finance = make_department("Finance")
    member = make_member("scoped", department=sales, display_name="Scoped Member")
    make_member("colleague", department=sales, display_name="Sales Colleague")
    make_member("outsider", department=finance, display_name="Outsider Person")
    grant(member, User, ["view", "add"], scope="department")

    page = log_in(open_page(), "scoped", PASSWORD)
    page.goto("/org/user/")
    rows = " ".join(table_rows(page))
    assert "Sales Colleague" in rows and "Outsider Person" not in rows  # the rows are restricted…
    options = offered(page, "#id_manager")  # …and so are the filter's choices
    assert "Sales Colleague" in options and "Scoped Member" in options
    assert "Outsider Person" not in options
    assert offered(page, "#id_manager", "Outsider") == []
    # The member form's manager field offers the same members.
    page.goto("/org/user/add/")
    assert "Outsider Person" not in offered(page, "#id_manager", "o")
