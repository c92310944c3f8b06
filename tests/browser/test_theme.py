"""The "auto" theme in a real browser: Bootstrap's theme follows the system's light or dark
setting (prefers-color-scheme) from the first paint and when it changes, with no script
blocked by the content security policy; a fixed theme stays as chosen."""

import pytest

from .conftest import log_in

pytestmark = pytest.mark.browser


def bs_theme(page):
    return page.evaluate("document.documentElement.getAttribute('data-bs-theme')")


def wait_for_theme(page, expected, timeout_ms=3000):
    """Polls from the test (the page's CSP forbids the eval that wait_for_function needs)."""
    for _attempt in range(timeout_ms // 50):
        if bs_theme(page) == expected:
            return
        page.wait_for_timeout(50)
    assert bs_theme(page) == expected


def body_background(page):
    return page.evaluate("getComputedStyle(document.body).backgroundColor")


@pytest.fixture
def member(transactional_db):
    from qinglan.core.testing import make_member

    return make_member("mei", display_name="陳美玲")


def sign_in(open_page, member, theme, color_scheme):
    from qinglan.core.testing import PASSWORD

    member.theme = theme
    member.save()
    page = open_page(locale="zh-TW", color_scheme=color_scheme)
    return log_in(page, member.username, PASSWORD)


def test_auto_theme_follows_the_system_setting_and_its_changes(open_page, member):
    page = sign_in(open_page, member, "auto", "dark")
    page.goto("/me/")
    assert bs_theme(page) == "dark"
    dark_background = body_background(page)
    page.emulate_media(color_scheme="light")
    wait_for_theme(page, "light")
    assert body_background(page) != dark_background
    page.emulate_media(color_scheme="dark")
    wait_for_theme(page, "dark")
    assert body_background(page) == dark_background
    blocked = [text for text in page.watch.console_errors if "Content Security Policy" in text or "Refused" in text]
    assert blocked == [] and page.watch.page_errors == []


def test_auto_theme_is_dark_before_the_first_paint(open_page, member):
    """theme.js runs in <head>: the body is never drawn light first on a dark system."""
    page = sign_in(open_page, member, "auto", "dark")
    # Notes the theme when the parser first adds the <body>, before anything of it is drawn.
    page.add_init_script(
        "new MutationObserver((changes, observer) => {"
        " if (document.body) { window.__firstTheme = document.documentElement.getAttribute('data-bs-theme'); observer.disconnect(); }"
        "}).observe(document, {childList: true, subtree: true});"
    )
    page.goto("/")
    page.wait_for_load_state("load")
    assert page.evaluate("window.__firstTheme") == "dark"


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_fixed_theme_ignores_the_system_setting(open_page, member, theme):
    other = "light" if theme == "dark" else "dark"
    page = sign_in(open_page, member, theme, other)
    page.goto("/")
    assert bs_theme(page) == theme
    page.emulate_media(color_scheme=theme)
    page.emulate_media(color_scheme=other)
    page.wait_for_timeout(100)
    assert bs_theme(page) == theme


def test_brand_reads_the_same_on_the_login_page_and_in_the_app(open_page, member):
    from qinglan.core.testing import PASSWORD

    page = open_page(locale="zh-TW")
    page.goto("/accounts/login/")
    assert page.get_by_test_id("brand").inner_text().split() == ["青藍", "Qinglan"]
    assert page.title().endswith("· 青藍 Qinglan")
    log_in(page, member.username, PASSWORD)
    assert page.get_by_test_id("brand").inner_text().split() == ["青藍", "Qinglan"]
    assert page.title().endswith("· 青藍 Qinglan")
