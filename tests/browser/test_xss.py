"""Stored and reflected script payloads, entered through the real forms, must come back as
plain text on every page that shows them: lists, detail pages and their tabs, edit forms,
confirmations, global search, the top bar's suggestions, the list's quick search,
notifications and the change log.

The pages are visited with the content security policy bypassed (``bypass_csp``): the CSP
forbids inline scripts, but escaping has to hold on its own, so a payload that reached the
DOM as markup would run here and be caught."""

import pytest

from qinglan.core.testing import PASSWORD, make_member

from .conftest import choose, log_in, offered, quick_search, table_rows

pytestmark = pytest.mark.browser

SCRIPT = "<script>window.__xss=1</script>"
IMG = '"><img src=x onerror="window.__xss=1">'
SVG = "<svg onload=window.__xss=1>"
JS_URL = "javascript:window.__xss=1"
SINGLE_QUOTE = "'><svg/onload=window.__xss=1>"

DEPARTMENT_NAME = f"{SCRIPT}{IMG} {SVG}"
DEPARTMENT_DESCRIPTION = "\n".join([SCRIPT, IMG, SVG, JS_URL, SINGLE_QUOTE])
MEMBER_NAME = f"{IMG}{SVG}"
COMMENT = f"{SCRIPT}\n{IMG}\n{SVG}\n{JS_URL} @reviewer"
# A file name cannot hold "/", and browsers send a '"' in it as "%22" (as the HTML
# standard says), which is how it is stored and shown.
FILE_NAMES = [f"{IMG}.txt", f"{SVG}.txt", f"{JS_URL}.txt", "'><svg onload=window.__xss=1>.txt"]
SHOWN_FILE_NAMES = [name.replace('"', "%22") for name in FILE_NAMES]
TAG_NAME = f"{SVG}{SCRIPT}"[:100]
CHOICE = f"{SINGLE_QUOTE}{SCRIPT}"
FIELD_LABEL = f"Note {IMG}"

# Elements or attributes a payload would have created had it been parsed as markup.
FIND_INJECTED = r"""() => {
  const found = [];
  const short = (el) => el.outerHTML.slice(0, 160);
  for (const el of document.querySelectorAll("*")) {
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      if (name.startsWith("on")) found.push(short(el));
      if (["href", "src", "action", "formaction", "xlink:href", "data"].includes(name) && /^\s*javascript:/i.test(attr.value)) found.push(short(el));
    }
  }
  for (const script of document.scripts) if (!script.src) found.push(short(script));
  for (const el of document.querySelectorAll('img[src="x"], iframe, object, embed, svg svg')) found.push(short(el));
  return found;
}"""


def assert_safe(page, *texts, where=""):
    """No payload ran or became markup, and each of `texts` is visible as text."""
    where = where or page.url
    page.wait_for_load_state("networkidle")
    assert page.evaluate("typeof window.__xss") == "undefined", f"a payload ran on {where}"
    assert page.watch.dialogs == [], f"a dialog opened on {where}: {page.watch.dialogs}"
    assert page.evaluate(FIND_INJECTED) == [], f"markup injected on {where}"
    assert page.watch.page_errors == [], f"script errors on {where}: {page.watch.page_errors}"
    visible = page.locator("body").inner_text()
    for text in texts:
        assert text in visible, f"{text!r} is not shown as text on {where}"


def visit(page, url, *texts):
    response = page.goto(url)
    assert response.ok, f"{url}: HTTP {response.status}"
    assert_safe(page, *texts, where=url)
    return page


def save(page, name="Save"):
    with page.expect_navigation():
        page.locator("main").get_by_role("button", name=name, exact=True).click()


@pytest.fixture
def xss_page(open_page, admin):
    page = open_page(bypass_csp=True)
    return log_in(page, admin.username, PASSWORD)


@pytest.fixture
def stored(xss_page, admin):
    """Payloads entered through the add forms, the comment form and the upload form."""
    from django.contrib.contenttypes.models import ContentType

    from qinglan.extras.models import FieldDef, Tag
    from qinglan.org.models import Department, User

    page = xss_page
    make_member("reviewer", superuser=True, display_name="Reviewer")
    Tag.objects.create(name=TAG_NAME, color="#aa3355")
    FieldDef.objects.create(
        content_type=ContentType.objects.get_for_model(User),
        name="note",
        label=FIELD_LABEL,
        type="choice",
        choices=[CHOICE, "plain"],
        help_text=SVG,
        show_in_list=True,
        filterable=True,
    )

    page.goto("/org/department/add/")
    page.fill("#id_name", DEPARTMENT_NAME)
    page.fill("#id_code", "XSS")
    page.fill("#id_phone", JS_URL)
    page.fill("#id_description", DEPARTMENT_DESCRIPTION)
    save(page)
    assert_safe(page, DEPARTMENT_NAME, where="department saved")
    department = Department.objects.get(code="XSS")

    page.goto("/org/user/add/")
    page.fill("#id_username", "xss.member")
    page.fill("#id_display_name", MEMBER_NAME)
    page.fill("#id_first_name", SCRIPT)
    page.fill("#id_last_name", JS_URL)
    page.fill("#id_employee_number", SVG)
    page.fill("#id_email", "xss@example.com")
    page.fill("#id_password", "Quite-long-pass-42")
    choose(page, "#id_department", DEPARTMENT_NAME)
    choose(page, "#id_tags", TAG_NAME)
    page.select_option("#id_cf_note", label=CHOICE)
    save(page)
    assert_safe(page, MEMBER_NAME, DEPARTMENT_NAME, CHOICE, where="member saved")
    member = User.objects.get(username="xss.member")
    assert member.display_name == MEMBER_NAME and member.custom_field_data == {"note": CHOICE}

    page.goto(f"/org/user/{member.pk}/comments/")
    page.fill("#id_text", COMMENT)
    save(page, "Add comment")
    page.goto(f"/org/department/{department.pk}/comments/")
    page.fill("#id_text", COMMENT)
    save(page, "Add comment")

    for url in (f"/org/user/{member.pk}/attachments/", f"/org/department/{department.pk}/attachments/"):
        for name in FILE_NAMES:
            page.goto(url)
            page.set_input_files('input[type="file"][name="file"]', files=[{"name": name, "mimeType": "text/plain", "buffer": b"hello\n"}])
            save(page, "Upload")
            assert page.locator(".alert-success").count() == 1, page.locator("main").inner_text()[:500]
    assert sorted(attachment.name for attachment in _attachments(member)) == sorted(SHOWN_FILE_NAMES)
    return department, member


def _attachments(record):
    from qinglan.extras.models import Attachment

    return Attachment.objects.for_record(record)


def test_stored_payloads_stay_text_everywhere(xss_page, stored):
    page = xss_page
    department, member = stored
    description_lines = DEPARTMENT_DESCRIPTION.splitlines()

    visit(page, "/org/department/", DEPARTMENT_NAME, JS_URL)
    visit(page, f"/org/department/{department.pk}/", DEPARTMENT_NAME, *description_lines, MEMBER_NAME)
    assert page.title().startswith(DEPARTMENT_NAME)
    visit(page, f"/org/department/{department.pk}/comments/", *COMMENT.splitlines())
    visit(page, f"/org/department/{department.pk}/attachments/", *SHOWN_FILE_NAMES)
    visit(page, f"/org/department/{department.pk}/changes/", DEPARTMENT_NAME)
    visit(page, f"/org/department/{department.pk}/delete/", DEPARTMENT_NAME)
    visit(page, f"/org/department/{department.pk}/edit/", DEPARTMENT_NAME)
    assert page.input_value("#id_name") == DEPARTMENT_NAME
    assert page.input_value("#id_description") == DEPARTMENT_DESCRIPTION
    assert page.input_value("#id_phone") == JS_URL

    visit(page, "/org/user/", MEMBER_NAME, DEPARTMENT_NAME, CHOICE, FIELD_LABEL)
    row = next(row for row in table_rows(page) if "xss.member" in row)
    assert MEMBER_NAME in row and DEPARTMENT_NAME in row and CHOICE in row
    visit(page, f"/org/user/?department={department.pk}", MEMBER_NAME, f"{DEPARTMENT_NAME}")
    visit(page, f"/org/user/{member.pk}/", MEMBER_NAME, DEPARTMENT_NAME, SCRIPT, JS_URL, SVG, CHOICE, FIELD_LABEL)
    assert page.title().startswith(MEMBER_NAME)
    visit(page, f"/org/user/{member.pk}/comments/", *COMMENT.splitlines())
    visit(page, f"/org/user/{member.pk}/attachments/", *SHOWN_FILE_NAMES)
    visit(page, f"/org/user/{member.pk}/changes/", MEMBER_NAME)
    visit(page, f"/org/user/{member.pk}/edit/", MEMBER_NAME, FIELD_LABEL, SVG)
    assert page.input_value("#id_display_name") == MEMBER_NAME
    assert page.locator("#id_department option:checked").inner_text() == DEPARTMENT_NAME
    assert page.locator("#id_tags option:checked").inner_text() == TAG_NAME
    assert page.input_value("#id_department_search") == DEPARTMENT_NAME
    assert page.locator(".ql-ac-chip").inner_text().strip() == TAG_NAME
    assert page.input_value("#id_cf_note") == CHOICE
    visit(page, "/org/user/add/")
    assert DEPARTMENT_NAME in offered(page, "#id_department")
    assert MEMBER_NAME in offered(page, "#id_manager")
    assert_safe(page, where="reference choices")
    visit(page, "/changelog/", DEPARTMENT_NAME, MEMBER_NAME)

    # Bulk delete's confirmation lists the chosen records by name.
    visit(page, "/org/user/")
    page.locator(f'#object-list input[name="pk"][value="{member.pk}"]').check()
    with page.expect_navigation():
        page.get_by_role("button", name="Delete selected").click()
    assert_safe(page, MEMBER_NAME, where="bulk delete confirmation")

    # A download is always an attachment with a neutral type, whatever its name says.
    attachment = next(iter(_attachments(member)))
    response = page.request.get(f"/extras/attachments/{attachment.pk}/download/")
    assert response.ok
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"].startswith("attachment")


def test_search_and_suggestions_show_payloads_as_text(xss_page, stored):
    page = xss_page
    department, member = stored

    visit(page, "/search/?q=__xss", DEPARTMENT_NAME, MEMBER_NAME)
    results = page.locator("main .ql-search-results").inner_text()
    assert DEPARTMENT_NAME in results and MEMBER_NAME in results
    page.goto("/search/?" + _query(q=SVG))
    assert_safe(page, f"“{SVG}”", DEPARTMENT_NAME, MEMBER_NAME, where="search for a payload")

    # Search as you type in the top bar (htmx swaps the suggestions in).
    visit(page, "/")
    box = page.locator("header input.ql-search")
    with page.expect_response(lambda response: "/search/" in response.url and response.request.headers.get("hx-request") == "true"):
        box.press_sequentially(SVG, delay=10)
    page.wait_for_load_state("networkidle")
    suggestions = page.locator("#ql-search-suggestions")
    suggestions.get_by_text(MEMBER_NAME).wait_for()
    assert DEPARTMENT_NAME in suggestions.inner_text()
    assert_safe(page, MEMBER_NAME, DEPARTMENT_NAME, where="top bar suggestions")

    # The list's quick search (htmx replaces the table).
    visit(page, "/org/user/")
    quick_search(page, SVG)
    rows = table_rows(page)
    assert len(rows) == 1 and MEMBER_NAME in rows[0]
    assert_safe(page, MEMBER_NAME, DEPARTMENT_NAME, where="quick search")
    visit(page, "/org/department/?" + _query(q=SVG), DEPARTMENT_NAME)


def test_mention_notification_shows_payload_as_text(open_page, stored):
    _department, member = stored
    page = log_in(open_page(bypass_csp=True), "reviewer", PASSWORD)
    visit(page, "/me/notifications/", MEMBER_NAME, SCRIPT, IMG)
    with page.expect_navigation():
        page.locator("main .list-group a").filter(has_text=MEMBER_NAME).first.click()
    assert page.url.endswith(f"/org/user/{member.pk}/comments/")
    assert_safe(page, *COMMENT.splitlines())


def _query(**params):
    from urllib.parse import urlencode

    return urlencode(params)


def test_reflected_payloads_and_javascript_urls(xss_page, admin):
    from qinglan.org.models import CompanyProfile, Department

    page = xss_page
    for url in (
        "/org/user/?" + _query(q=IMG, sort=SVG, page_size=SCRIPT, after=IMG, department=SVG),
        "/org/department/?" + _query(before=SCRIPT, last=SVG, x=IMG),
        "/search/?" + _query(q=IMG + SCRIPT),
        "/org/user/add/?" + _query(display_name=IMG, username=SVG),
    ):
        visit(page, url)

    # The quick search's own hidden fields carry the other parameters back unharmed.
    visit(page, "/org/user/?" + _query(foo=IMG, q=SVG))
    assert page.input_value('input[type="hidden"][name="foo"]') == IMG
    assert page.input_value("#ql-quick-search") == SVG

    # `next` never sends the browser to a javascript: URL after a save.
    page.goto("/org/department/add/?" + _query(next=JS_URL))
    page.fill("#id_name", "Safe after save")
    save(page)
    department = Department.objects.get(name="Safe after save")
    assert page.url.endswith(f"/org/department/{department.pk}/")
    assert_safe(page, "Safe after save")

    # A javascript: website is refused, so it never becomes a link.
    page.goto("/org/companyprofile/add/")
    page.fill("#id_name", "ACME")
    page.fill("#id_website", JS_URL)
    response_status = []
    page.on("response", lambda response: response.request.method == "POST" and response_status.append(response.status))
    save(page)
    assert response_status == [400]
    assert not CompanyProfile.objects.exists()
    assert_safe(page)


def _csv(*rows):
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()


def _import(page, name, content):
    """Upload a file on the import page and check it with the guessed column mapping."""
    page.goto("/org/user/import/")
    page.set_input_files('input[type="file"][name="file"]', files=[{"name": name, "mimeType": "text/csv", "buffer": content}])
    save(page, "Upload")
    assert "/import/" in page.url and page.url.rstrip("/").split("/")[-1].isdigit(), page.url
    assert_safe(page, where=f"mapping of {name}")
    return page


def test_imported_payloads_stay_text(xss_page):
    from qinglan.org.models import User

    page = xss_page
    # Column names, cell values and the messages quoting them, from a file.
    _import(page, "bad.csv", _csv(["username", "display_name", "department", SVG], ["imp.bad", IMG, SCRIPT, "x"]))
    assert page.locator(f'label:text-is("{SVG}")').count() == 1  # an unknown column, shown by its name
    save(page, "Check the file")
    page.locator('[data-testid="import-errors"]').wait_for()
    assert_safe(page, SCRIPT, where="import errors")
    assert not User.objects.filter(username="imp.bad").exists()

    _import(page, f"{SVG}.csv", _csv(["username", "display_name", "last_name"], ["imp.ok", IMG, SCRIPT]))
    assert_safe(page, SVG, where="mapping page naming the file")
    save(page, "Check the file")
    page.locator('[data-testid="import-ok"]').wait_for()
    assert_safe(page, IMG, SCRIPT, where="import preview")
    with page.expect_navigation():
        page.locator("main").get_by_role("button", name="Import 1 row").click()
    assert User.objects.get(username="imp.ok").display_name == IMG
    assert_safe(page, IMG, where="list after the import")
    visit(page, "/org/user/import/", SVG)  # "your recent imports" names the file
