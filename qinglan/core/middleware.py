"""Request middleware: login required everywhere but the public paths; sessions kept alive;
the member's own language and time zone; a request id for the change log."""

import time
import uuid
import zoneinfo

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.utils import timezone, translation

from .changelog import current_request_id

PUBLIC_PREFIXES = ("/accounts/", "/static/", "/api/", "/healthz", "/i18n/", "/favicon.ico")


class LoginRequiredMiddleware:
    """Every page needs a signed-in member, except login, password reset, static files and
    the API (which answers 401/403 itself)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.user.is_authenticated and not request.path.startswith(PUBLIC_PREFIXES):
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        return self.get_response(request)


class SessionRenewalMiddleware:
    """A session ends after SESSION_COOKIE_AGE without a request. Renewing it on every request
    would write the session row on every page view (a committed write on PostgreSQL, a write
    lock on SQLite); it is renewed when the last renewal is SESSION_RENEW_SECONDS old, so an
    idle session ends at most that much earlier than the configured age."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        session = getattr(request, "session", None)
        if user is not None and user.is_authenticated and session is not None and not session.modified:
            now = int(time.time())
            if now - session.get("_renewed", 0) >= settings.SESSION_RENEW_SECONDS:
                session["_renewed"] = now  # modified: SessionMiddleware saves it with a new expiry
        return response


class UserPreferencesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = current_request_id.set(uuid.uuid4())
        user = getattr(request, "user", None)
        try:
            if user is not None and user.is_authenticated:
                if user.language:
                    translation.activate(user.language)
                    request.LANGUAGE_CODE = translation.get_language()
                if user.time_zone:
                    try:
                        timezone.activate(zoneinfo.ZoneInfo(user.time_zone))
                    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                        timezone.deactivate()
            return self.get_response(request)
        finally:
            current_request_id.reset(token)
            timezone.deactivate()
