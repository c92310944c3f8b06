"""The member's own pages: profile and preferences, API tokens."""

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from qinglan.core.forms import StyledFormMixin
from qinglan.core.models import APIToken

from . import services
from .forms import TimeZoneField
from .models import User


class ProfileForm(StyledFormMixin, forms.ModelForm):
    language = forms.ChoiceField(label=gettext_lazy("language"), required=False)
    time_zone = TimeZoneField(label=gettext_lazy("time zone"))

    class Meta:
        model = User
        fields = ("display_name", "email", "phone", "mobile", "avatar", "language", "time_zone", "theme", "accent_color")
        widgets = {"accent_color": forms.TextInput(attrs={"type": "color"})}

    def __init__(self, *args, **kwargs):
        from django.conf import settings

        super().__init__(*args, **kwargs)
        self.fields["language"].choices = [("", _("Same as the browser"))] + list(settings.LANGUAGES)
        self.fields["avatar"].widget.attrs["accept"] = "image/png,image/jpeg,image/gif,image/webp"


class ProfileView(View):
    def get(self, request):
        return render(request, "org/profile.html", {"form": ProfileForm(instance=request.user)})

    def post(self, request):
        form = ProfileForm(request.POST, request.FILES, instance=request.user)
        if form.is_valid():
            services.update_profile(form=form, user=request.user)
            messages.success(request, _("Your preferences were saved."))
            response = redirect("profile")
            from django.conf import settings

            if form.cleaned_data.get("language"):
                response.set_cookie(settings.LANGUAGE_COOKIE_NAME, form.cleaned_data["language"], samesite="Lax")
            return response
        return render(request, "org/profile.html", {"form": form}, status=400)


class TokenForm(StyledFormMixin, forms.Form):
    name = forms.CharField(label=gettext_lazy("name"), max_length=100)
    write_enabled = forms.BooleanField(label=gettext_lazy("may write"), required=False, initial=True)
    expires = forms.DateTimeField(label=gettext_lazy("expires"), required=False, widget=forms.DateTimeInput())


class APITokenView(View):
    def get(self, request, new_key=None, form=None):
        tokens = APIToken.objects.filter(user=request.user)
        return render(request, "org/api_tokens.html", {"tokens": tokens, "form": form or TokenForm(), "new_key": new_key})

    def post(self, request):
        form = TokenForm(request.POST)
        if not form.is_valid():
            return self.get(request, form=form)
        _token, key = APIToken.issue(
            user=request.user,
            name=form.cleaned_data["name"],
            write_enabled=form.cleaned_data["write_enabled"],
            expires=form.cleaned_data["expires"],
        )
        messages.warning(request, _("Copy the key now: it will not be shown again."))
        return self.get(request, new_key=key)


class APITokenRevokeView(View):
    def post(self, request, pk):
        token = get_object_or_404(APIToken, pk=pk, user=request.user)
        token.delete()
        messages.success(request, _("The token was revoked."))
        return redirect("api_tokens")


class ColleagueLookupView(View):
    """Active members by name, for choosing whom to share a record with: every member may
    name a colleague, while the member records themselves stay behind their permissions."""

    limit = 20

    def get(self, request):
        from django.db.models import Q
        from django.http import JsonResponse

        text = (request.GET.get("q") or "").strip()[:100]
        members = User.objects.filter(is_active=True).select_related("department").order_by("username", "pk")
        if text:
            members = members.filter(Q(display_name__icontains=text) | Q(username__istartswith=text) | Q(email__istartswith=text))
        rows = list(members[: self.limit + 1])
        results = [
            {"id": member.pk, "text": f"{member} ({member.username})" + (f" · {member.department}" if member.department_id else "")}
            for member in rows[: self.limit]
        ]
        return JsonResponse({"results": results, "more": len(rows) > self.limit})
