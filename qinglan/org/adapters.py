from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.utils import filter_users_by_email
from django.contrib.auth import get_user_model


class AccountAdapter(DefaultAccountAdapter):
    """Members are created by administrators; nobody signs themselves up."""

    def is_open_for_signup(self, request):
        return False

    def _get_login_attempts_cache_key(self, request, **credentials):
        # allauth counts failed logins per typed name, so a member locked out under their
        # username could still be guessed at under their e-mail address. Count them per
        # member instead (this is allauth's only hook for the "login_failed" key; a
        # successful password reset clears it through the same method).
        member = self._member_for_login(credentials)
        if member is not None:
            return f"member:{member.pk}"
        return super()._get_login_attempts_cache_key(request, **credentials)

    @staticmethod
    def _member_for_login(credentials):
        if credentials.get("email"):
            candidates = filter_users_by_email(credentials["email"])
        elif credentials.get("username"):
            candidates = list(get_user_model()._default_manager.filter(username__iexact=credentials["username"])[:2])
        else:
            return None
        return candidates[0] if len(candidates) == 1 else None
