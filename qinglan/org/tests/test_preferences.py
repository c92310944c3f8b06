"""What the shell and the organisation pages show a member, over HTTP: the theme, the time
zone choice, the brand, translated labels for assistive technology, the department's place
in the organisation and the wording of role permissions."""

import re
from html import unescape

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from qinglan.core.permissions import Scope
from qinglan.core.testing import PASSWORD, grant, make_department, make_member
from qinglan.org.models import Department, Role, RolePermission, User


@pytest.fixture
def admin(db):
    return make_member("admin", superuser=True, display_name="管理員")


@pytest.fixture
def client(admin):
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hant")
    client.force_login(admin)
    return client


def html_tag(html):
    return re.search(r"<html[^>]*>", html).group(0)


def text_of(fragment):
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", fragment))).strip()


# ---- theme ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "theme,bs_theme",
    [("light", "light"), ("dark", "dark"), ("auto", "light")],  # "auto": theme.js picks at load
)
def test_theme_is_rendered_on_the_html_element(client, admin, theme, bs_theme):
    admin.theme = theme
    admin.save()
    html = client.get("/").content.decode()
    tag = html_tag(html)
    assert f'data-bs-theme="{bs_theme}"' in tag
    assert f'data-ql-theme="{theme}"' in tag


def test_theme_script_runs_in_the_head_before_the_style_sheets_with_the_nonce(client):
    response = client.get("/")
    html = response.content.decode()
    head = html.split("</head>")[0]
    script = re.search(r'<script src="([^"]*theme\.js)" nonce="([^"]+)"></script>', head)
    assert script, "theme.js is not loaded in <head>"
    assert head.index("theme.js") < head.index("bootstrap.min.css")
    assert f"'nonce-{script.group(2)}'" in response.headers["Content-Security-Policy"]
    source = finders.find("qinglan/theme.js")
    assert source, "qinglan/theme.js is not a static file"
    text = open(source, encoding="utf-8").read()
    assert "prefers-color-scheme: dark" in text and "data-bs-theme" in text and "change" in text


def test_profile_offers_the_automatic_theme_and_saves_it(client, admin):
    html = client.get("/me/").content.decode()
    assert re.search(r'<option value="auto"[^>]*>自動</option>', html)
    response = client.post("/me/", profile_data(admin, theme="auto"))
    assert response.status_code == 302
    admin.refresh_from_db()
    assert admin.theme == "auto"
    assert 'data-ql-theme="auto"' in html_tag(client.get("/").content.decode())


# ---- time zone -----------------------------------------------------------------------------


def profile_data(user, **changes):
    data = {
        "display_name": user.display_name,
        "email": user.email,
        "phone": "",
        "mobile": "",
        "language": "",
        "time_zone": user.time_zone,
        "theme": user.theme,
        "accent_color": user.accent_color,
    }
    data.update(changes)
    return data


def test_time_zone_is_a_select_with_the_common_zones_first(client):
    html = client.get("/me/").content.decode()
    select = re.search(r'<select name="time_zone"[^>]*>(.*?)</select>', html, re.S)
    assert select, "the time zone is not a <select>"
    values = re.findall(r'<option value="([^"]*)"', select.group(1))
    assert values[:4] == ["", "Asia/Taipei", "Asia/Shanghai", "Asia/Hong_Kong"]
    rest = values[4:]
    assert rest == sorted(rest) and len(rest) > 300
    assert "Europe/Berlin" in rest and "America/New_York" in rest and "Asia/Taipei" not in rest
    assert "預設（Asia/Taipei）" in select.group(1)
    assert 'label="常用時區"' in select.group(1)


def test_valid_time_zone_is_saved_and_used(client, admin):
    response = client.post("/me/", profile_data(admin, time_zone="Europe/Berlin"))
    assert response.status_code == 302
    admin.refresh_from_db()
    assert admin.time_zone == "Europe/Berlin"
    html = client.get("/me/").content.decode()
    assert re.search(r'<option value="Europe/Berlin" selected>', html)
    # and it can be set back to the default
    client.post("/me/", profile_data(admin, time_zone=""))
    admin.refresh_from_db()
    assert admin.time_zone == ""


@pytest.mark.parametrize("value", ["Mars/Olympus_Mons", "UTC+8", "../../etc/passwd", "Asia/taipei", "localtime"])
def test_invalid_time_zone_is_refused_with_a_translated_error(client, admin, value):
    response = client.post("/me/", profile_data(admin, time_zone=value))
    assert response.status_code == 400
    assert f"「{value}」不是有效的時區，請從清單中選擇。" in unescape(response.content.decode())
    admin.refresh_from_db()
    assert admin.time_zone == ""


def test_invalid_time_zone_error_in_simplified_chinese_and_english(client, admin):
    response = client.post("/me/", profile_data(admin, time_zone="Nowhere/City"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "“Nowhere/City”不是有效的时区，请从列表中选择。" in unescape(response.content.decode())
    response = client.post("/me/", profile_data(admin, time_zone="Nowhere/City"), HTTP_ACCEPT_LANGUAGE="en")
    assert "“Nowhere/City” is not a time zone. Choose one from the list." in unescape(response.content.decode())


# ---- brand, labels ---------------------------------------------------------------------------


def test_brand_reads_qinglan_in_both_scripts_on_the_app_and_the_login_page(client):
    html = client.get("/").content.decode()
    assert re.search(r"<title>首頁 · 青藍 Qinglan</title>", html)
    brand = re.search(r'<a class="navbar-brand[^"]*"[^>]*data-testid="brand">(.*?)</a>', html, re.S)
    assert text_of(brand.group(1)) == "青藍 Qinglan"

    html = Client(HTTP_ACCEPT_LANGUAGE="zh-hant").get("/accounts/login/").content.decode()
    assert re.search(r"<title>登入 · 青藍 Qinglan</title>", html)
    brand = re.search(r'<div[^>]*data-testid="brand">(.*?)</div>', html, re.S)
    assert text_of(brand.group(1)) == "青藍 Qinglan"

    html = Client(HTTP_ACCEPT_LANGUAGE="en").get("/accounts/login/").content.decode()
    assert re.search(r"<title>Sign In · 青藍 Qinglan</title>", html)


def test_breadcrumbs_are_labelled_in_the_members_language(client):
    department = make_department("業務部")
    for url in (f"/org/department/{department.pk}/", f"/org/department/{department.pk}/edit/", "/org/department/import/"):
        html = client.get(url).content.decode()
        assert '<nav aria-label="導覽路徑">' in html, url
        assert 'aria-label="breadcrumb"' not in html, url
    html = client.get(f"/org/department/{department.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert '<nav aria-label="导航路径">' in html


def test_attributes_read_by_assistive_technology_are_translated(client):
    """No aria-label, title, placeholder or alt left in English on the main pages."""
    department = make_department("業務部")
    for url in ("/", "/org/department/", f"/org/department/{department.pk}/", f"/org/department/{department.pk}/edit/", "/me/"):
        html = client.get(url).content.decode()
        for attribute, value in re.findall(r'\b(aria-label|title|placeholder|alt)="([^"]*)"', html):
            assert not re.search(r"[A-Za-z]{3,}", value), f"{url}: {attribute}={value!r} is not translated"


def test_active_filter_chip_uses_a_full_width_colon_in_chinese(client):
    make_department("業務部", code="S1")
    html = client.get("/org/department/", {"head": make_member("head1").pk}).content.decode()
    chips = re.findall(r'<span class="badge text-bg-light border me-1" data-filter-chip>([^<]*)</span>', html)
    assert chips and all("：" in chip and ": " not in chip for chip in chips), chips


# ---- department path -------------------------------------------------------------------------


def test_department_shows_its_path_as_a_trail_without_a_label_colon(client):
    top = make_department("總公司")
    sales = make_department("業務部", parent=top)
    north = make_department("北區業務組", parent=sales)
    html = client.get(f"/org/department/{north.pk}/").content.decode()
    trail = re.search(r'<nav aria-label="組織中的位置" data-testid="department-path">(.*?)</nav>', html, re.S)
    assert trail, "no path trail"
    items = re.findall(r'<li class="breadcrumb-item[^"]*"[^>]*>(.*?)</li>', trail.group(1), re.S)
    assert [text_of(item) for item in items] == ["總公司", "業務部", "北區業務組"]
    assert f'href="/org/department/{top.pk}/"' in items[0] and f'href="/org/department/{sales.pk}/"' in items[1]
    assert 'aria-current="page"' in trail.group(1)
    assert "路徑:" not in html and "Path:" not in html


def test_department_trail_links_only_departments_the_member_may_view(db):
    top = make_department("總公司")
    sales = make_department("業務部", parent=top)
    member = make_member("mei", department=sales)
    grant(member, Department, ["view"], scope=Scope.SUBTREE)
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hant")
    assert client.login(username="mei", password=PASSWORD)
    html = client.get(f"/org/department/{sales.pk}/").content.decode()
    trail = re.search(r'data-testid="department-path">(.*?)</nav>', html, re.S).group(1)
    assert "總公司" in trail and f"/org/department/{top.pk}/" not in trail


# ---- role permissions ------------------------------------------------------------------------


def test_role_form_names_resources_by_menu_group_in_menu_order(client):
    role = Role.objects.create(name="業務")
    html = client.get(f"/org/role/{role.pk}/edit/").content.decode()
    select = re.search(r'<select name="permissions-0-content_type"[^>]*>(.*?)</select>', html, re.S).group(1)
    labels = [unescape(label) for label in re.findall(r'<option value="\d+"[^>]*>([^<]*)</option>', select)]
    from django.utils import translation

    from qinglan.core.menu import MENU_GROUPS

    organisation = [label for label in labels if label.startswith("組織 · ")]
    assert organisation == ["組織 · 部門", "組織 · 成員", "組織 · 職位", "組織 · 群組", "組織 · 角色"]
    assert "系統設定 · 標籤" in labels and "系統設定 · 幣別" in labels
    with translation.override("zh-hant"):
        menu_order = [str(label) for _key, label, _icon in MENU_GROUPS]
    groups = [label.split(" · ")[0] for label in labels]
    assert groups == sorted(groups, key=menu_order.index), "resources are not grouped as in the menu"


def test_role_form_in_english_capitalises_group_and_resource(client):
    role = Role.objects.create(name="sales")
    html = client.get(f"/org/role/{role.pk}/edit/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert ">Organisation · Departments</option>" in html
    assert ">System settings · Tags</option>" in html


def test_role_page_lists_permissions_by_resource_and_actions_in_words(client):
    from django.contrib.contenttypes.models import ContentType

    role = Role.objects.create(name="業務主管")
    RolePermission.objects.create(
        role=role, content_type=ContentType.objects.get_for_model(User), actions=["export", "view"], scope=Scope.SUBTREE
    )
    html = client.get(f"/org/role/{role.pk}/").content.decode()
    rows = [[text_of(cell) for cell in re.findall(r"<td>(.*?)</td>", row, re.S)] for row in re.findall(r"<tr>(.*?)</tr>", html, re.S)]
    assert ["組織 · 成員", "檢視、匯出", "本部門及下級部門", "—"] in rows
    html = client.get(f"/org/role/{role.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Organisation · Members" in html and "view, export" in html
    assert "[&#x27;" not in html


# ---- language ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "browser,language,members",
    [
        ("zh-TW,zh;q=0.9,en;q=0.8", "zh-hant", "成員"),
        ("zh-HK", "zh-hant", "成員"),
        ("zh-CN,zh;q=0.9", "zh-hans", "成员"),
        ("zh-SG", "zh-hans", "成员"),
        ("en-US,en;q=0.9", "en", "Members"),
        ("fr-FR", "zh-hant", "成員"),  # a language Qinglan does not speak: the default, Traditional Chinese
    ],
)
def test_the_browser_language_chooses_the_pages_language(admin, browser, language, members):
    client = Client(HTTP_ACCEPT_LANGUAGE=browser)
    assert f'lang="{language}"' in html_tag(client.get("/accounts/login/").content.decode())
    client.force_login(admin)
    html = client.get("/org/user/").content.decode()
    assert f'lang="{language}"' in html_tag(html)
    assert re.search(rf"<title>\s*{members} ·", html)


def test_the_members_language_setting_beats_the_browser(client, admin):
    for setting, language in (("zh-hans", "zh-hans"), ("en", "en"), ("", "zh-hant")):
        User.objects.filter(pk=admin.pk).update(language=setting)
        html = client.get("/org/user/", HTTP_ACCEPT_LANGUAGE="zh-TW").content.decode()
        assert f'lang="{language}"' in html_tag(html), setting
