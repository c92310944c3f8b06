"""Signing in and out, lock-out, passwords, two-factor authentication, sessions and API
tokens, all through HTTP as a browser or an API client would use them."""

import base64
import hashlib
import hmac
import re
import struct
import time
from datetime import timedelta
from html import unescape

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from qinglan.core.models import APIToken
from qinglan.core.testing import PASSWORD, grant, make_member

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Fresh-Orchid-Lantern-77"
LOGIN_URL = "/accounts/login/"
USERS_API = "/api/org/users/"


@pytest.fixture
def client():
    """A browser that asks for English, so messages can be compared with the source text."""
    return Client(headers={"accept-language": "en"})


@pytest.fixture
def alice():
    return make_member("alice", email="alice@example.com")


def sign_in(client, login, password=PASSWORD):
    return client.post(LOGIN_URL, {"login": login, "password": password})


def signed_in_user_id(client):
    return client.session.get("_auth_user_id")


def page_text(response):
    return unescape(response.content.decode())


def csrf_free(response):
    """The page without its per-request tokens, to compare two responses."""
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode())
    html = re.sub(r'"X-CSRFToken": "[^"]*"', "", html)
    return re.sub(r'nonce="[^"]*"', "", html)


# ---- RFC 6238 (TOTP over RFC 4226 HOTP), written here so the test does not trust the
# code it checks.
def hotp(secret_base32, counter, digits=6):
    key = base64.b32decode(secret_base32.upper() + "=" * (-len(secret_base32) % 8))
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**digits).zfill(digits)


def totp(secret_base32, period=30):
    # Tolerance is zero: a code computed just before a period ends would be stale when it
    # arrives, so wait for the next period then.
    if period - time.time() % period < 2:
        time.sleep(period - time.time() % period + 0.1)
    return hotp(secret_base32, int(time.time()) // period)


def test_totp_helper_matches_rfc_6238_reference_values():
    # RFC 6238 appendix B, SHA-1 secret "12345678901234567890", truncated to 6 digits.
    secret = base64.b32encode(b"12345678901234567890").decode()
    assert hotp(secret, 59 // 30, digits=8) == "94287082"
    assert hotp(secret, 1111111109 // 30, digits=8) == "07081804"
    assert hotp(secret, 1234567890 // 30) == "005924"


# ---- signing in and out ------------------------------------------------------------------
def test_login_page_is_a_bootstrap_form_for_anonymous_visitors(client):
    response = client.get(LOGIN_URL)
    assert response.status_code == 200
    html = page_text(response)
    assert re.search(r'<form method="post" action="/accounts/login/"', html)
    assert re.search(r'<input class="form-control" type="text" name="login" id="id_login"', html)
    assert re.search(r'<input class="form-control" type="password" name="password" id="id_password"', html)
    assert 'class="btn btn-primary" type="submit"' in html
    assert 'href="/accounts/password/reset/"' in html
    # Nobody signs themselves up, so the page does not suggest it.
    assert "/accounts/signup/" not in html


def test_every_page_redirects_to_login_when_signed_out(client, alice):
    for path in ("/", "/me/", "/me/tokens/", "/accounts/2fa/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith(LOGIN_URL), path
        assert "next=" in response["Location"], path


def test_login_with_username(client, alice):
    response = sign_in(client, "alice")
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert signed_in_user_id(client) == str(alice.pk)
    assert client.get("/").status_code == 200


def test_login_with_email(client, alice):
    response = sign_in(client, "alice@example.com")
    assert response.status_code == 302
    assert signed_in_user_id(client) == str(alice.pk)
    assert client.get("/").status_code == 200


def test_wrong_password_is_refused_and_the_form_kept(client, alice):
    response = sign_in(client, "alice", "not-the-password")
    assert response.status_code == 200
    html = page_text(response)
    assert "The username and/or password you specified are not correct." in html
    assert 'class="alert alert-danger"' in html
    assert 'value="alice"' in html
    assert "not-the-password" not in html  # a typed password is never sent back
    assert signed_in_user_id(client) is None


def test_what_was_typed_is_escaped_when_the_form_comes_back(client):
    response = sign_in(client, '"><script>alert(1)</script>', "whatever")
    html = response.content.decode()
    assert "<script>alert(1)" not in html
    assert 'value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in html


def test_logout_asks_on_get_and_signs_out_on_post(client, alice):
    sign_in(client, "alice")
    confirm = client.get("/accounts/logout/")
    assert confirm.status_code == 200
    assert 'action="/accounts/logout/"' in confirm.content.decode()
    assert signed_in_user_id(client) == str(alice.pk)  # a GET alone does not sign out

    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert signed_in_user_id(client) is None
    assert client.get("/").status_code == 302


# ---- lock-out ------------------------------------------------------------------------------
def test_five_failed_logins_lock_the_account(client, alice):
    bob = make_member("bob", email="bob@example.com")
    for _attempt in range(5):
        response = sign_in(client, "alice", "wrong-guess")
        assert "The username and/or password you specified are not correct." in page_text(response)

    refused = sign_in(client, "alice")
    assert refused.status_code == 200
    assert "Too many failed login attempts. Try again later." in page_text(refused)
    assert signed_in_user_id(client) is None

    # The lock-out is for the account, whichever name it is signed in with.
    refused = sign_in(client, "alice@example.com")
    assert "Too many failed login attempts. Try again later." in page_text(refused)
    assert signed_in_user_id(client) is None

    # Another member signs in as usual, from the same browser.
    response = sign_in(client, "bob")
    assert response.status_code == 302
    assert signed_in_user_id(client) == str(bob.pk)


def test_failures_under_the_email_address_count_for_the_username_too(client, alice):
    for _attempt in range(5):
        sign_in(client, "Alice@Example.com", "wrong-guess")
    refused = sign_in(client, "alice")
    assert "Too many failed login attempts. Try again later." in page_text(refused)
    assert signed_in_user_id(client) is None


def test_successful_logins_are_not_counted_as_attempts(client, alice):
    for _attempt in range(4):
        sign_in(client, "alice", "wrong-guess")
    for _login in range(2):
        assert sign_in(client, "alice").status_code == 302
        client.post("/accounts/logout/")
    # Failures are still remembered: the fifth one locks the account.
    sign_in(client, "alice", "wrong-guess")
    refused = sign_in(client, "alice")
    assert "Too many failed login attempts. Try again later." in page_text(refused)


def test_a_password_reset_lifts_the_lock_out(client, alice):
    for _attempt in range(5):
        sign_in(client, "alice", "wrong-guess")
    assert "Too many failed login attempts." in page_text(sign_in(client, "alice"))

    client.post("/accounts/password/reset/", {"email": "alice@example.com"})
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+/)", mail.outbox[-1].body).group(1)
    form_url = client.get(link)["Location"]
    assert client.post(form_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}).status_code == 302

    assert sign_in(client, "alice", NEW_PASSWORD).status_code == 302


# ---- passwords ------------------------------------------------------------------------------
def test_password_change_needs_the_current_password(client, alice):
    sign_in(client, "alice")
    page = client.get("/accounts/password/change/")
    assert page.status_code == 200
    assert re.search(r'<input class="form-control" type="password" name="oldpassword"', page.content.decode())

    response = client.post(
        "/accounts/password/change/", {"oldpassword": "not-it", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 200
    assert "Please type your current password." in page_text(response)
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_a_weak_new_password_is_refused(client, alice):
    sign_in(client, "alice")
    response = client.post(
        "/accounts/password/change/", {"oldpassword": PASSWORD, "password1": "12345678", "password2": "12345678"}
    )
    assert response.status_code == 200
    html = page_text(response)
    assert "This password is too common." in html
    assert "This password is entirely numeric." in html
    assert 'class="form-control is-invalid" type="password" name="password1"' in html
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_password_change(client, alice):
    sign_in(client, "alice")
    response = client.post(
        "/accounts/password/change/", {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)
    assert signed_in_user_id(client) == str(alice.pk)  # the member stays signed in

    client.post("/accounts/logout/")
    assert sign_in(client, "alice", PASSWORD).status_code == 200
    assert sign_in(client, "alice", NEW_PASSWORD).status_code == 302


def test_password_reset_by_email(client, alice):
    assert client.get("/accounts/password/reset/").status_code == 200
    response = client.post("/accounts/password/reset/", {"email": "alice@example.com"})
    assert response.status_code == 302
    done = client.get(response["Location"])
    assert done.status_code == 200
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@example.com"]
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+/)", message.body).group(1)

    # The link moves the key into the session and lands on a form without it in the URL.
    landing = client.get(link)
    assert landing.status_code == 302
    form_url = landing["Location"]
    form_page = client.get(form_url)
    assert form_page.status_code == 200
    assert re.search(r'<input class="form-control" type="password" name="password1"', form_page.content.decode())

    weak = client.post(form_url, {"password1": "password", "password2": "password"})
    assert weak.status_code == 200
    assert "This password is too common." in page_text(weak)

    response = client.post(form_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302
    assert client.get(response["Location"]).status_code == 200
    assert signed_in_user_id(client) is None  # reset does not sign in by itself

    assert sign_in(client, "alice", PASSWORD).status_code == 200
    assert sign_in(client, "alice", NEW_PASSWORD).status_code == 302

    # The link works once.
    client.post("/accounts/logout/")
    used = client.get(link, follow=True)
    assert "The password reset link was invalid" in page_text(used)


def test_password_reset_for_an_unknown_address_looks_the_same(client, alice):
    known = client.post("/accounts/password/reset/", {"email": "alice@example.com"})
    unknown = client.post("/accounts/password/reset/", {"email": "nobody@example.com"})
    assert (unknown.status_code, unknown["Location"]) == (known.status_code, known["Location"])
    assert csrf_free(client.get(unknown["Location"])) == csrf_free(client.get(known["Location"]))
    # No reset link goes to an address without an account.
    links = [m for m in mail.outbox if "/accounts/password/reset/key/" in m.body]
    assert [m.to for m in links] == [["alice@example.com"]]


# ---- two-factor authentication ---------------------------------------------------------------
def confirm_password(client, path):
    """Open `path`, confirming the password first when allauth asks for it again."""
    page = client.get(path)
    if page.status_code == 302 and page["Location"].startswith("/accounts/reauthenticate/"):
        form = client.get(page["Location"])
        assert re.search(r'<input class="form-control" type="password" name="password"', form.content.decode())
        wrong = client.post(page["Location"], {"password": "not-it"})
        assert "Incorrect password." in page_text(wrong)
        confirmed = client.post(page["Location"], {"password": PASSWORD})
        assert confirmed.status_code == 302
        assert confirmed["Location"] == path
        page = client.get(path)
    return page


def activate_totp(client):
    """Turn on TOTP through the MFA pages; returns the secret."""
    page = confirm_password(client, "/accounts/2fa/totp/activate/")
    assert page.status_code == 200
    html = page.content.decode()
    secret = re.search(r'id="authenticator_secret" value="([A-Z2-7=]+)"', html).group(1)
    wrong = client.post("/accounts/2fa/totp/activate/", {"code": "000000" if totp(secret) != "000000" else "111111"})
    assert wrong.status_code == 200
    assert "Incorrect code." in page_text(wrong)
    response = client.post("/accounts/2fa/totp/activate/", {"code": totp(secret)})
    assert response.status_code == 302, page_text(response)
    return secret


def test_totp_two_factor_login(client, alice):
    from allauth.mfa.models import Authenticator

    sign_in(client, "alice")
    index = client.get("/accounts/2fa/")
    assert index.status_code == 200
    assert "An authenticator app is not active." in page_text(index)

    secret = activate_totp(client)
    assert Authenticator.objects.filter(user=alice, type=Authenticator.Type.TOTP).exists()
    assert "Authentication using an authenticator app is active." in page_text(client.get("/accounts/2fa/"))
    client.post("/accounts/logout/")

    # The password alone leads to the second step, without a session.
    response = sign_in(client, "alice")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert signed_in_user_id(client) is None
    assert client.get("/").status_code == 302
    step = client.get("/accounts/2fa/authenticate/")
    assert step.status_code == 200
    assert re.search(r'<input class="form-control" type="text" name="code" id="id_code"', step.content.decode())

    good_code = totp(secret)
    wrong = client.post("/accounts/2fa/authenticate/", {"code": str((int(good_code) + 1) % 1000000).zfill(6)})
    assert wrong.status_code == 200
    assert "Incorrect code." in page_text(wrong)
    assert signed_in_user_id(client) is None

    response = client.post("/accounts/2fa/authenticate/", {"code": totp(secret)})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert signed_in_user_id(client) == str(alice.pk)
    assert client.get("/").status_code == 200


def test_totp_code_is_not_accepted_without_the_password_step(client, alice):
    sign_in(client, "alice")
    secret = activate_totp(client)
    client.post("/accounts/logout/")
    response = client.post("/accounts/2fa/authenticate/", {"code": totp(secret)})
    assert signed_in_user_id(client) is None
    assert response.status_code in (302, 404)


def test_a_password_reset_request_does_not_block_two_factor(client, alice):
    from allauth.mfa.models import Authenticator

    # Anybody may ask for a reset link for alice's address; allauth then records that
    # address as unverified, which must not keep alice from turning on two-factor.
    Client().post("/accounts/password/reset/", {"email": "alice@example.com"})
    sign_in(client, "alice")
    activate_totp(client)
    assert Authenticator.objects.filter(user=alice, type=Authenticator.Type.TOTP).exists()


def test_mfa_management_pages(client, alice):
    from allauth.mfa.models import Authenticator

    sign_in(client, "alice")
    activate_totp(client)

    codes = client.get("/accounts/2fa/recovery-codes/")
    assert codes.status_code == 200
    assert re.search(r'<textarea class="form-control font-monospace" id="recovery_codes"', codes.content.decode())
    assert client.get("/accounts/2fa/recovery-codes/generate/").status_code == 200

    deactivate = confirm_password(client, "/accounts/2fa/totp/deactivate/")
    assert deactivate.status_code == 200
    assert 'class="btn btn-danger" type="submit"' in deactivate.content.decode()
    response = client.post("/accounts/2fa/totp/deactivate/")
    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=alice, type=Authenticator.Type.TOTP).exists()


# ---- sessions and password storage -----------------------------------------------------------
def test_session_cookie_lasts_twelve_hours(client, alice):
    response = sign_in(client, "alice")
    assert response.status_code == 302
    cookie = response.cookies["sessionid"]
    assert int(cookie["max-age"]) == 12 * 3600
    # Each request renews it: the limit is on inactivity.
    assert int(client.get("/").cookies["sessionid"]["max-age"]) == 12 * 3600


def test_passwords_are_stored_with_argon2(alice):
    assert alice.password.startswith("argon2")
    assert get_user_model().objects.get(pk=alice.pk).check_password(PASSWORD)


# ---- API tokens --------------------------------------------------------------------------------
@pytest.fixture
def reader(alice):
    """alice, allowed to list members, so a working token gets 200 from the API."""
    grant(alice, get_user_model(), ["view"])
    return alice


def api(key):
    return Client(headers={"authorization": f"Token {key}", "accept-language": "en"})


def test_token_created_in_the_ui_is_shown_once(client, alice, reader):
    sign_in(client, "alice")
    response = client.post("/me/tokens/", {"name": "laptop script", "write_enabled": "on", "expires": ""})
    assert response.status_code == 200
    key = re.search(r'data-testid="new-token">([^<]+)</code>', response.content.decode()).group(1)
    token = APIToken.objects.get(user=alice)
    assert token.name == "laptop script"
    assert token.prefix == key[:8]
    assert token.key_hash != key and key not in token.key_hash

    listing = client.get("/me/tokens/").content.decode()
    assert key not in listing
    assert f"<code>{token.prefix}…</code>" in listing
    assert "laptop script" in listing

    assert api(key).get(USERS_API).status_code == 200
    assert api(key[:-1] + ("x" if key[-1] != "x" else "y")).get(USERS_API).status_code == 401


def test_revoked_token_stops_working(client, alice, reader):
    _token, key = APIToken.issue(user=alice, name="old")
    assert api(key).get(USERS_API).status_code == 200
    token = APIToken.objects.get(user=alice)

    # Another member cannot revoke it.
    intruder = Client()
    intruder.force_login(make_member("mallory"))
    assert intruder.post(f"/me/tokens/{token.pk}/revoke/").status_code == 404
    assert api(key).get(USERS_API).status_code == 200

    sign_in(client, "alice")
    assert client.get(f"/me/tokens/{token.pk}/revoke/").status_code == 405
    response = client.post(f"/me/tokens/{token.pk}/revoke/")
    assert response.status_code == 302
    assert not APIToken.objects.filter(pk=token.pk).exists()
    assert api(key).get(USERS_API).status_code in (401, 403)


def test_read_only_token_cannot_write():
    admin = make_member("boss", superuser=True)
    _token, read_only = APIToken.issue(user=admin, name="reports", write_enabled=False)
    _token, writer = APIToken.issue(user=admin, name="sync", write_enabled=True)
    data = {"username": "newcomer", "email": "newcomer@example.com"}

    assert api(read_only).get(USERS_API).status_code == 200
    refused = api(read_only).post(USERS_API, data, content_type="application/json")
    assert refused.status_code == 403
    assert "read-only" in refused.content.decode()
    assert not get_user_model().objects.filter(username="newcomer").exists()

    # The same request with a token that may write gets past authentication.
    allowed = api(writer).post(USERS_API, data, content_type="application/json")
    assert allowed.status_code in (200, 201), allowed.content
    assert get_user_model().objects.filter(username="newcomer").exists()


def test_expired_token_is_refused(alice, reader):
    _token, expired = APIToken.issue(user=alice, name="old", expires=timezone.now() - timedelta(minutes=1))
    _token, current = APIToken.issue(user=alice, name="new", expires=timezone.now() + timedelta(days=1))
    response = api(expired).get(USERS_API)
    assert response.status_code == 401
    assert "expired" in response.content.decode()
    assert api(current).get(USERS_API).status_code == 200


def test_token_of_an_inactive_member_is_refused(alice, reader):
    _token, key = APIToken.issue(user=alice, name="script")
    assert api(key).get(USERS_API).status_code == 200
    alice.is_active = False
    alice.save()
    assert api(key).get(USERS_API).status_code in (401, 403)


def test_token_create_command_prints_a_working_key(alice, reader, capsys):
    call_command("token", "create", "alice")
    key = capsys.readouterr().out.strip()
    assert key.startswith("ql_")
    assert APIToken.objects.get(user=alice).key_hash == APIToken.hash_key(key)
    assert api(key).get(USERS_API).status_code == 200



def test_members_cannot_manage_their_own_sign_in_addresses(client, django_user_model):
    from qinglan.core.testing import make_member

    member = make_member("mail-owner", email="owner@example.com")
    client.force_login(member)
    response = client.post("/accounts/email/", {"email": "attacker@example.com", "action_add": "1"})
    assert response.status_code in (301, 302) and response["Location"].endswith("/me/")
    from allauth.account.models import EmailAddress

    assert not EmailAddress.objects.filter(email="attacker@example.com").exists()
