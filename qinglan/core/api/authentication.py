from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from ..models import APIToken


class TokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Token <key>`` with a per-member API token."""

    keyword = "Token"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid token header."))
        try:
            key = header[1].decode()
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed(_("Invalid token header.")) from exc
        token = APIToken.objects.select_related("user").filter(key_hash=APIToken.hash_key(key)).first()
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if token.expires and token.expires < timezone.now():
            raise exceptions.AuthenticationFailed(_("This token has expired."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("This member is inactive."))
        if request.method not in ("GET", "HEAD", "OPTIONS") and not token.write_enabled:
            raise exceptions.PermissionDenied(_("This token is read-only."))
        now = timezone.now()
        if token.last_used is None or (now - token.last_used).total_seconds() > 60:
            APIToken.objects.filter(pk=token.pk).update(last_used=now)
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword
