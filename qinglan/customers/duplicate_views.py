"""Pages for duplicate customers: the duplicates report, the side-by-side compare page that
merges two customers, "Merge selected" on the customer list, and the customer API's
serializer, which answers a likely duplicate with a 400 listing it unless confirmed."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers

from qinglan.core.detail import field_value_html
from qinglan.core.permissions import has_permission, may
from qinglan.core.registry import registry
from qinglan.core.views import ResourceView, selected_queryset

from .duplicates import REPORT_KEYS, duplicate_groups
from .merge import choosable_fields, default_choice, is_empty, merge_customers
from .models import Customer


class CustomerView(ResourceView):
    def setup(self, request, *args, **kwargs):
        self.resource = registry.get(Customer)
        super().setup(request, *args, **kwargs)


# ---- report ----------------------------------------------------------------------------


class DuplicateReportView(CustomerView):
    """Groups of customers the member may view that share a name, phone or tax ID."""

    template_name = "customers/duplicate_report.html"

    def get(self, request):
        by = request.GET.get("by") if request.GET.get("by") in REPORT_KEYS else "name"
        after = request.GET.get("after") or None
        groups, next_key = duplicate_groups(request.user, by=by, after=after)
        may_merge = has_permission(request.user, Customer, "change") and has_permission(request.user, Customer, "delete")
        context = self.base_context(
            groups=groups, by=by, kinds=[(key, label) for key, (_column, label) in REPORT_KEYS.items()],
            next_key=next_key, after=after, may_merge=may_merge,
        )
        return render(request, self.template_name, context)


# ---- compare and merge -----------------------------------------------------------------


class OtherCustomerForm(forms.Form):
    """Pick the other customer of a merge (search as you type, only customers one may view)."""

    def __init__(self, *args, user, exclude, **kwargs):
        super().__init__(*args, **kwargs)
        from qinglan.core.widgets import AutocompleteSelect

        self.fields["other"] = forms.ModelChoiceField(
            Customer.objects.restrict(user, "change").exclude(pk=exclude), label=gettext_lazy("Merge with"),
            empty_label=gettext_lazy("Choose a customer…"),
            widget=AutocompleteSelect(reverse("customers:customer_autocomplete"), attrs={"class": "form-select"}),
        )


class MergeView(CustomerView):
    """GET: the two customers side by side, a choice per differing field. POST: merge."""

    action = "change"
    template_name = "customers/merge_compare.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not has_permission(request.user, Customer, "delete"):
            raise PermissionDenied(_("You have no permission to do this."))
        return super().dispatch(request, *args, **kwargs)

    def customers(self, pk, other):
        keep = get_object_or_404(Customer.objects.restrict(self.request.user, "view").select_related("owner"), pk=pk)
        if other is None:
            return keep, None
        if int(other) == keep.pk:
            raise Http404
        merge = get_object_or_404(Customer.objects.restrict(self.request.user, "view").select_related("owner"), pk=other)
        return keep, merge

    def get(self, request, pk, other=None):
        other = other or (request.GET.get("other") if (request.GET.get("other") or "").isdigit() else None)
        keep, merge = self.customers(pk, other)
        if merge is None:
            form = OtherCustomerForm(user=request.user, exclude=keep.pk)
            return render(request, self.template_name, self.base_context(keep=keep, merge=None, pick_form=form))
        return self.render_compare(keep, merge)

    def render_compare(self, keep, merge, error=None, status=200):
        user = self.request.user
        rows = []
        for model_field in choosable_fields():
            keep_value, merge_value = getattr(keep, model_field.attname), getattr(merge, model_field.attname)
            if keep_value == merge_value or (is_empty(keep_value) and is_empty(merge_value)):
                continue
            default = default_choice(model_field, keep_value, merge_value)
            chosen = self.request.POST.get(f"choice_{model_field.name}", default)
            rows.append({
                "name": model_field.name, "label": model_field.verbose_name, "chosen": chosen,
                "keep": field_value_html(keep, model_field, user), "merge": field_value_html(merge, model_field, user),
            })
        moving = []
        for relation in Customer._meta.related_objects:
            if relation.many_to_many:
                continue
            count = relation.related_model._base_manager.filter(**{relation.field.name: merge.pk}).count()
            if count:
                moving.append((relation.related_model._meta.verbose_name_plural, count))
        may_merge = (
            set(Customer.objects.restrict(user, "change").filter(pk__in=[keep.pk, merge.pk]).values_list("pk", flat=True)) == {keep.pk, merge.pk}
            and may(user, "delete", merge)
        )
        context = self.base_context(keep=keep, merge=merge, rows=rows, moving=moving, error=error, may_merge=may_merge)
        return render(self.request, self.template_name, context, status=status)

    def post(self, request, pk, other):
        keep, merge = self.customers(pk, other)
        choices = {
            model_field.name: request.POST[f"choice_{model_field.name}"]
            for model_field in choosable_fields()
            if request.POST.get(f"choice_{model_field.name}") in ("keep", "merge")
        }
        try:
            kept = merge_customers(keep=keep, merge=merge, user=request.user, choices=choices)
        except PermissionDenied as error:
            raise PermissionDenied(str(error)) from error
        except ValidationError as error:
            return self.render_compare(keep, merge, error=" ".join(error.messages), status=400)
        messages.success(request, _("“%(merged)s” was merged into “%(kept)s”.") % {"merged": merge.name, "kept": kept.name})
        return redirect(kept.get_absolute_url())


class MergeSelectedView(CustomerView):
    """"Merge selected" on the customer list: two ticked customers → the compare page, the
    older one kept."""

    action = "change"

    def post(self, request):
        chosen = list(selected_queryset(self, "change").order_by("pk").values_list("pk", flat=True)[:3])
        if len(chosen) != 2:
            messages.warning(request, _("Tick exactly two customers to merge."))
            return redirect(self.resource.url("list"))
        return redirect("customers:customer_merge", pk=chosen[0], other=chosen[1])


# ---- API -------------------------------------------------------------------------------


def customer_serializer(resource):
    """The generated customer serializer plus ``confirm_duplicates``: a create (or an edit of
    name, tax ID, phones or e-mail) that looks like existing customers is refused with 400 and
    a ``duplicates`` list (names only of customers the caller may view) unless it is true.
    An equal tax ID is refused whatever the flag says."""
    from qinglan.core.api.serializers import resource_serializer_factory

    generated = resource_serializer_factory(resource)

    class CustomerSerializer(generated):
        confirm_duplicates = serializers.BooleanField(
            write_only=True, required=False, default=False,
            help_text="Save even though customers with the same phone, e-mail or a similar name exist.",
        )

        class Meta(generated.Meta):
            fields = [*generated.Meta.fields, "confirm_duplicates"]

        def _form_data(self, instance):
            data = super()._form_data(instance)
            flag = self.initial_data.get("confirm_duplicates")
            data["confirm_duplicates"] = flag is True or str(flag).lower() in ("true", "1", "yes", "on")
            return data

        def is_valid(self, *, raise_exception=False):
            if super().is_valid() or not raise_exception:
                return not self.errors
            error = serializers.ValidationError(self.errors)
            form = getattr(self, "_form", None)
            found = [*getattr(form, "duplicates_blocking", []), *getattr(form, "duplicates", [])]
            if found:  # added after DRF's detail conversion, which would turn ids into strings
                error.detail["duplicates"] = [match.as_json() for match in found]
            raise error

    CustomerSerializer.__name__ = generated.__name__
    return CustomerSerializer
