from allauth.account.adapter import DefaultAccountAdapter


class AccountAdapter(DefaultAccountAdapter):
    """Members are created by administrators; nobody signs themselves up."""

    def is_open_for_signup(self, request):
        return False
