"""Browser tests: real Chromium (Debian's, never a downloaded one) driven by Playwright
against pytest-django's live server.

Playwright's sync API runs an event loop in the test thread, which trips Django's
"async-unsafe" guard on every ORM call the test itself makes; the ORM calls here happen
strictly between browser steps, never concurrently, so the guard is switched off."""

import os

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

import re  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

import pytest  # noqa: E402

CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def chromium_path():
    return os.environ.get("QINGLAN_CHROMIUM") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    if not os.path.exists(path):
        pytest.skip(f"no Chromium at {path} (set QINGLAN_CHROMIUM)")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@dataclass
class Watch:
    """What a page did that a user would not see: dialogs it opened, scripts the content
    security policy blocked, uncaught errors."""

    dialogs: list = field(default_factory=list)
    console_errors: list = field(default_factory=list)
    page_errors: list = field(default_factory=list)


def watch(page):
    seen = Watch()

    def on_dialog(dialog):
        seen.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("console", lambda message: message.type == "error" and seen.console_errors.append(message.text))
    page.on("pageerror", lambda error: seen.page_errors.append(str(error)))
    page.watch = seen
    return page


@pytest.fixture
def open_page(browser, live_server):
    """open_page(locale="en-US", viewport=DESKTOP) -> a fresh page (own cookies) whose
    relative URLs go to the live server; ``page.watch`` collects dialogs and errors."""
    contexts = []

    def open_(locale="en-US", viewport=None, **options):
        context = browser.new_context(
            base_url=live_server.url,
            locale=locale,
            viewport=viewport or DESKTOP,
            timezone_id="Asia/Taipei",
            **options,
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return watch(context.new_page())

    yield open_
    for context in contexts:
        context.close()


def log_in(page, username, password):
    """Sign in through the real login form, as a member would."""
    page.goto("/accounts/login/")
    page.fill('input[name="login"]', username)
    page.fill('input[name="password"]', password)
    with page.expect_navigation():
        page.locator('form:has(input[name="login"]) button[type="submit"]').click()
    assert "/accounts/login/" not in page.url, f"still on the login page: {page.url}"
    return page


@pytest.fixture
def admin(transactional_db):
    from qinglan.core.testing import make_member

    return make_member("admin", superuser=True, display_name="Admin")


@pytest.fixture
def admin_page(open_page, admin):
    """A desktop page in English signed in as the superuser `admin`."""
    from qinglan.core.testing import PASSWORD

    return log_in(open_page(), admin.username, PASSWORD)


def table_rows(page, container="#object-list"):
    """The visible text of each body row of the list table, cells joined by ' | '."""
    rows = page.locator(f"{container} table tbody tr")
    return [re.sub(r"\s+", " ", " | ".join(cell.strip() for cell in row.locator("td").all_inner_texts())).strip() for row in rows.all()]


def quick_search(page, text):
    """Type into the list's quick-search box and wait until htmx has swapped in the results
    for the whole text (hx-push-url updates the address once the swap has settled; answers
    to a partial text, sent when typing stalls, do not count)."""
    page.locator("#ql-quick-search").press_sequentially(text, delay=20)
    page.wait_for_function("text => new URLSearchParams(location.search).get('q') === text", arg=text)


def choose(page, select, text, typed=None):
    """Pick a record in a search-as-you-type reference field (`select` is the CSS id of the
    underlying select) as a member does: type part of its name, click the match."""
    box = page.locator(f"{select}_search")
    box.click()
    box.fill(typed if typed is not None else text)
    page.locator(f"{select}_listbox [role=option]", has_text=text).first.click()
    page.locator(f"{select}_listbox").wait_for(state="hidden")


def offered(page, select, typed=""):
    """The names a search-as-you-type reference field offers after typing `typed`: read once
    the list shows the answer to that very text (focusing the box already asks for the empty
    text's answer, which may come before or after the keys are pressed)."""
    box = page.locator(f"{select}_search")
    box.click()
    box.fill(typed) if typed else box.press("ArrowDown")
    listbox = page.locator(f"{select}_listbox")
    page.wait_for_function(
        "([id, text]) => { const list = document.getElementById(id); return list && list.classList.contains('show') && list.dataset.query === text; }",
        arg=[f"{select[1:]}_listbox", typed.strip()],
    )
    return listbox.locator("[role=option]").all_inner_texts()
