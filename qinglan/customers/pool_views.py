"""Pages of the public pool: "Claim selected" on the pool list, "Reassign selected" on the
customer list and "Release to the pool" from a customer's page. Each starts from the records
the member may act on (core.views.selected_queryset / restrict) and calls the pool services."""

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import path, reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.utils.translation import ngettext

from qinglan.core.forms import StyledFormMixin
from qinglan.core.permissions import may
from qinglan.core.registry import registry
from qinglan.core.views import ResourceView, safe_next, selected_queryset
from qinglan.core.widgets import AutocompleteSelect

from . import pool
from .models import Customer, PoolCustomer


def _error_text(error):
    return " ".join(getattr(error, "messages", None) or [str(error) or _("You have no permission to do this.")])


class PoolView(ResourceView):
    def setup(self, request, *args, **kwargs):
        self.resource = registry.get(PoolCustomer)
        super().setup(request, *args, **kwargs)


class CustomerView(ResourceView):
    def setup(self, request, *args, **kwargs):
        self.resource = registry.get(Customer)
        super().setup(request, *args, **kwargs)


class ClaimSelectedView(PoolView):
    """Claim the ticked pool customers: all of them within the member's limit, or none."""

    action = "view"

    def post(self, request):
        selected = list(selected_queryset(self, "view"))
        if not selected:
            messages.warning(request, _("No records were selected."))
        else:
            try:
                claimed = pool.claim_many(customers=selected, user=request.user)
            except (ValidationError, PermissionDenied) as error:
                messages.error(request, _error_text(error))
            else:
                messages.success(
                    request,
                    ngettext("You claimed %(count)d customer.", "You claimed %(count)d customers.", len(claimed)) % {"count": len(claimed)},
                )
        return redirect(safe_next(request, self.resource.list_url))


class ReassignForm(StyledFormMixin, forms.Form):
    # Any active colleague may be the new owner (as with sharing), whatever the acting member
    # may see of the member list.
    to_owner = forms.ModelChoiceField(
        label=gettext_lazy("new owner"),
        queryset=get_user_model().objects.filter(is_active=True),
        widget=AutocompleteSelect(reverse_lazy("org:colleagues")),
    )
    reason = forms.CharField(label=gettext_lazy("reason"), max_length=300, required=False)


class ReassignView(CustomerView):
    """Give the ticked customers the member may change to another member."""

    action = "change"
    template_name = "customers/pool_reassign.html"

    def post(self, request):
        queryset = selected_queryset(self, "change")
        if not queryset.exists():
            messages.warning(request, _("No records were selected."))
            return redirect(safe_next(request, self.resource.list_url))
        form = ReassignForm(request.POST if "_apply" in request.POST else None)
        if "_apply" in request.POST and form.is_valid():
            try:
                count = pool.reassign(
                    customers=queryset, to_owner=form.cleaned_data["to_owner"], user=request.user, reason=form.cleaned_data["reason"]
                )
            except (ValidationError, PermissionDenied) as error:
                form.add_error(None, _error_text(error))
            else:
                messages.success(
                    request,
                    ngettext(
                        "%(count)d customer was given to %(member)s.", "%(count)d customers were given to %(member)s.", count
                    ) % {"count": count, "member": form.cleaned_data["to_owner"]},
                )
                return redirect(safe_next(request, self.resource.list_url))
        context = self.base_context(form=form, records=queryset[:500], next=safe_next(request, ""))
        return render(request, self.template_name, context, status=400 if form.is_bound else 200)


class ReleaseForm(StyledFormMixin, forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("reason"), max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("Tells colleagues who look at the pool why this customer is free."),
    )


class ReleaseView(CustomerView):
    """The owner (or whoever may change the customer) gives it back to the pool, with a reason."""

    action = "change"
    template_name = "customers/pool_release.html"

    def get(self, request, pk):
        record = self.get_object()
        return render(request, self.template_name, self.base_context(record=record, form=ReleaseForm()))

    def post(self, request, pk):
        record = self.get_object()
        form = ReleaseForm(request.POST)
        if form.is_valid():
            try:
                pool.release(customer=record, user=request.user, reason=form.cleaned_data["reason"])
            except (ValidationError, PermissionDenied) as error:
                form.add_error(None, _error_text(error))
            else:
                messages.success(request, _("“%(customer)s” is in the public pool now.") % {"customer": record})
                return redirect(registry.get(PoolCustomer).url("detail", record))
        return render(request, self.template_name, self.base_context(record=record, form=form), status=400)


urlpatterns = [
    path("poolcustomer/claim-selected/", ClaimSelectedView.as_view(), name="pool_claim"),
    path("customer/reassign-selected/", ReassignView.as_view(), name="customer_reassign"),
    path("customer/<int:pk>/release/", ReleaseView.as_view(), name="customer_release"),
]


def release_url(record):
    return registry.get(Customer).url("release", record)


def may_release(record, user):
    """Offer "Release to the pool" on a customer's page?"""
    return bool(record.owner_id) and not record.in_pool and may(user, "change", record)

