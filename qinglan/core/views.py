"""Generic views every resource gets. Each one starts from
``model.objects.restrict(request.user, action)``, so permissions are never bypassed."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View

from . import services
from .changelog import changes_for
from .forms import BulkEditForm, ShareForm
from .models import UserPreference
from .pagination import SortKey, bounded_count, keyset_page
from .permissions import has_permission, may
from .tables import all_column_names, available_columns, build_table, page_fields, unshown_json_fields


def safe_next(request, default):
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return default


class ResourceView(View):
    resource = None
    action = "view"

    def dispatch(self, request, *args, **kwargs):
        if not has_permission(request.user, self.resource.model, self.action):
            raise PermissionDenied(_("You have no permission to do this."))
        return super().dispatch(request, *args, **kwargs)

    def restricted(self, action=None):
        return self.resource.get_queryset().restrict(self.request.user, action or self.action)

    def get_object(self, action=None):
        return get_object_or_404(self.restricted(action), pk=self.kwargs["pk"])

    def base_context(self, **extra):
        user = self.request.user
        model = self.resource.model
        urls = {
            view: self.resource.url(view)
            for view in ("list", "add", "import", "export", "bulk_edit", "bulk_delete", "preferences")
        }
        return {
            "resource": self.resource,
            "urls": urls,
            "can": {action: has_permission(user, model, action) for action in ("add", "change", "delete", "export", "import")},
            **extra,
        }


# ---- list ------------------------------------------------------------------------------


def sort_keys_for(resource, sort):
    """Parse ``sort=-name`` into SortKeys ending with the pk; unknown columns fall back to the
    resource's default ordering. A key is nullable when any step of its path may be NULL (a
    nullable field, a nullable foreign key, a reverse relation), or when that is unknown."""

    def nullable(path):
        from django.core.exceptions import FieldDoesNotExist

        model = resource.model
        for part in path.split("__"):
            try:
                field = model._meta.pk if part == "pk" else model._meta.get_field(part)
            except FieldDoesNotExist:
                return True  # a transform or something else we cannot see through: be safe
            if getattr(field, "null", False) or not field.concrete or field.many_to_many:
                return True  # a nullable field or FK, a reverse or many-to-many relation
            if field.is_relation:
                model = field.related_model
        return False

    requested = [part for part in (sort or "").split(",") if part]
    table_columns = resource.table_class.base_columns
    keys = []
    for part in requested or list(resource.get_ordering()):
        descending = part.startswith("-")
        name = part.lstrip("-")
        if requested:
            column = table_columns.get(name)
            if column is None or not column.orderable:
                return sort_keys_for(resource, None)
        field = resource.model_field(name.split("__")[0])
        if field is None:
            continue
        path = name
        if isinstance(field, models.ForeignKey) and "__" not in name:
            related = field.related_model
            label_field = next(
                (candidate for candidate in ("name", "username", "code") if candidate in {f.name for f in related._meta.fields}),
                None,
            )
            path = f"{name}__{label_field}" if label_field else f"{name}_id"
        elif name == "pk" or name == "id":
            continue
        keys.append(SortKey(path, descending, nullable=nullable(path)))
    last_descending = keys[0].descending if keys else True
    keys.append(SortKey("pk", last_descending))
    return keys


class ObjectListView(ResourceView):
    template_name = "core/object_list.html"

    def get(self, request):
        resource = self.resource
        queryset = self.restricted()
        filterset = resource.filterset_class(request.GET or None, queryset=queryset, request=request)
        if filterset.is_bound and not filterset.form.is_valid():
            messages.error(request, _("Some filters are invalid and were ignored."))
            filtered = queryset
        else:
            filtered = filterset.qs
        preference_key = f"list.{resource.label}"
        preference = UserPreference.get(request.user, preference_key, {}) or {}
        size = self._page_size(request, preference)
        sort = request.GET.get("sort") or preference.get("sort")
        keys = sort_keys_for(resource, sort)
        fields = page_fields(resource, filtered, preference.get("columns"), keys)
        page = keyset_page(
            filtered.only(*fields) if fields else filtered.defer(*unshown_json_fields(resource, filtered, preference.get("columns"))),
            keys,
            size=size,
            after=request.GET.get("after"),
            before=request.GET.get("before"),
            last=request.GET.get("last") == "1",
        )
        # A search is counted only a little way: its matches are checked against the member's
        # scope one by one, and "more than 100" is all a searching member needs to know.
        searching = bool((request.GET.get("q") or "").strip())
        count, exact = bounded_count(filtered, limit=settings.QINGLAN_SEARCH_COUNT_LIMIT if searching else None)
        table = build_table(resource, page.rows, visible=preference.get("columns"))
        base_query = request.GET.copy()
        for name in ("after", "before", "last", "page_size"):
            base_query.pop(name, None)
        context = self.base_context(
            table=table,
            page=page,
            count=count,
            count_exact=exact,
            filterset=filterset,
            active_filters=filterset.active_filters(),
            query=base_query.urlencode(),
            sort=",".join(("-" if key.descending else "") + key.path for key in keys[:-1]),
            headers=self._headers(table, keys, base_query),
            page_size=size,
            page_sizes=self._page_sizes(),
            columns=available_columns(resource),
            chosen_columns=[column.name for column in table.columns if column.name != "select"],
            saved_filters=self._saved_filters(request),
            bulk_actions=[
                (reverse(action.url_name), action)
                for action in resource.bulk_actions.values()
                if has_permission(request.user, resource.model, action.permission)
            ],
            bulk_edit=bool(resource.get_bulk_edit_fields()),
            export_links=[
                (reverse(link.url_name), link)
                for link in resource.export_links.values()
                if has_permission(request.user, resource.model, link.permission)
            ],
            list_links=[
                (reverse(link.url_name), link)
                for link in resource.list_links.values()
                if has_permission(request.user, resource.model, link.permission)
            ],
        )
        if request.htmx and request.htmx.target == "object-list":
            return render(request, f"{self.template_name}#results", context)
        return render(request, self.template_name, context)

    def _page_sizes(self):
        return settings.QINGLAN_PAGE_SIZES

    def _page_size(self, request, preference):
        sizes = self._page_sizes()
        try:
            size = int(request.GET.get("page_size") or preference.get("page_size") or 50)
        except ValueError:
            size = 50
        if request.GET.get("page_size") and size in sizes and size != preference.get("page_size"):
            UserPreference.put(request.user, f"list.{self.resource.label}", {**preference, "page_size": size})
        return size if size in sizes else 50

    def _headers(self, table, keys, base_query):
        """Column headers with their sort link and state ('asc', 'desc' or '')."""
        current = keys[0] if len(keys) > 1 else None
        headers = []
        for column in table.columns:
            header = {"name": column.name, "label": column.header, "url": None, "state": ""}
            if column.name != "select" and column.orderable:
                if current and current.path.split("__")[0] == column.name:
                    header["state"] = "desc" if current.descending else "asc"
                query = base_query.copy()
                query["sort"] = f"-{column.name}" if header["state"] == "asc" else column.name
                header["url"] = f"?{query.urlencode()}"
            headers.append(header)
        return headers

    def _saved_filters(self, request):
        from qinglan.extras.models import SavedFilter

        content_type = ContentType.objects.get_for_model(self.resource.model)
        return SavedFilter.objects.filter(content_type=content_type).filter(
            models.Q(user=request.user) | models.Q(shared=True)
        )


class ListPreferencesView(ResourceView):
    """Saves the member's column choice and default sort for a list."""

    def post(self, request):
        resource = self.resource
        key = f"list.{resource.label}"
        preference = UserPreference.get(request.user, key, {}) or {}
        if request.POST.get("reset"):
            preference.pop("columns", None)
            preference.pop("sort", None)
        else:
            allowed = set(all_column_names(resource))
            columns = [name for name in request.POST.getlist("columns") if name in allowed]
            if columns:
                preference["columns"] = columns
        UserPreference.put(request.user, key, preference)
        return redirect(safe_next(request, resource.url("list")))


class AutocompleteView(ResourceView):
    """JSON for search-as-you-type reference fields: the first records, in the resource's
    order, that the member may view and that match ``q`` in the quick-search fields."""

    limit = 20

    def dispatch(self, request, *args, **kwargs):
        # No permission check of its own: the results are restricted record by record, and a
        # member without any view grant still finds themselves among members.
        if not request.user.is_authenticated:
            raise PermissionDenied
        return View.dispatch(self, request, *args, **kwargs)

    def get(self, request):
        from django.http import JsonResponse

        from .widgets import restricted_choices

        queryset = restricted_choices(self.resource.get_queryset(), request.user)
        text = (request.GET.get("q") or "").strip()[:100]
        if text:
            queryset = queryset.filter(self.resource.quick_search_q(text))
        keys = sort_keys_for(self.resource, None)
        page = keyset_page(queryset, keys, size=self.limit)
        return JsonResponse(
            {"results": [{"id": record.pk, "text": str(record)} for record in page.rows], "more": page.next_cursor is not None}
        )


# ---- detail ----------------------------------------------------------------------------


class ObjectDetailView(ResourceView):
    template_name = "core/object_detail.html"
    tab = "main"

    def get(self, request, pk):
        record = self.get_object()
        context = self.base_context(record=record, tab=self.tab, **self.tab_context(record))
        context["edit_lock"] = self.resource.locked(record, "change")
        context["can_change_record"] = not context["edit_lock"] and context["can"]["change"] and may(request.user, "change", record)
        context["can_delete_record"] = not self.resource.locked(record, "delete") and context["can"]["delete"] and may(request.user, "delete", record)
        if self.resource.shareable and self.tab == "main":
            context["shares"] = self._shares(record) if context["can_change_record"] else None
        context["record_actions"] = {
            name: action
            for name, action in self.resource.get_actions().items()
            if (action.available is None or action.available(record, request.user))
            and may(request.user, action.permission, record)
        }
        context["record_links"] = [
            (reverse(link.url_name, kwargs={"pk": pk}) + (f"?{link.query}" if link.query else ""), link)
            for link in self.resource.record_links.values()
            if may(request.user, link.permission, record)
        ]
        return render(request, self.template_name, context)

    def _shares(self, record):
        from .models import RecordShare

        shares = RecordShare.objects.filter(
            content_type=ContentType.objects.get_for_model(record), object_id=record.pk
        ).select_related("user")
        return {"rows": shares, "form": ShareForm(exclude=[share.user_id for share in shares])}

    def tab_context(self, record):
        from .detail import detail_panels

        if self.tab == "main":
            return {"panels": detail_panels(self.resource, record, self.request.user)}
        if self.tab == "changes":
            return {"changes": changes_for(record)[:200]}
        if self.tab == "comments":
            from qinglan.extras.forms import CommentForm
            from qinglan.extras.models import Comment

            return {"comments": Comment.objects.for_record(record).select_related("user"), "comment_form": CommentForm()}
        if self.tab == "attachments":
            from qinglan.extras.forms import AttachmentForm
            from qinglan.extras.models import Attachment

            return {"attachments": Attachment.objects.for_record(record).select_related("uploaded_by"), "attachment_form": AttachmentForm()}
        raise Http404


# ---- add / edit ------------------------------------------------------------------------


class ObjectEditView(ResourceView):
    template_name = "core/object_edit.html"

    def dispatch(self, request, *args, **kwargs):
        self.action = "change" if "pk" in kwargs else "add"
        return super().dispatch(request, *args, **kwargs)

    def get_instance(self):
        if "pk" in self.kwargs:
            return self.get_object("change")
        return self.resource.model()

    def build(self, instance, data=None, files=None):
        form = self.resource.form_class(data, files, instance=instance, user=self.request.user, initial=self.initial(instance))
        formsets = {
            name: formset_class(data, files, instance=instance, prefix=name, user=self.request.user)
            for name, formset_class in self.resource.formsets().items()
        }
        return form, formsets

    def initial(self, instance):
        if instance.pk:
            return {}
        return {key: value for key, value in self.request.GET.items() if key in self.resource.form_fields()}

    def get(self, request, pk=None):
        instance = self.get_instance()
        reason = self.resource.locked(instance, "change") if instance.pk else None
        if reason:
            messages.error(request, reason)
            return redirect(instance.get_absolute_url())
        form, formsets = self.build(instance)
        return self.render_form(form, formsets, instance)

    def post(self, request, pk=None):
        instance = self.get_instance()
        form, formsets = self.build(instance, request.POST, request.FILES)
        if form.is_valid() and all(formset.is_valid() for formset in formsets.values()):
            service = services.update_record if instance.pk else services.create_record
            try:
                record = service(form=form, formsets=formsets, user=request.user)
            except ValidationError as error:
                form.add_error(None, error)
            except PermissionDenied as error:
                form.add_error(None, str(error))
            else:
                messages.success(
                    request,
                    (_("%(type)s “%(record)s” was saved.") % {"type": self.resource.verbose_name, "record": record}),
                )
                if "_addanother" in request.POST:
                    return redirect(self.resource.url("add"))
                return redirect(safe_next(request, record.get_absolute_url()))
        return self.render_form(form, formsets, instance, status=400)

    def render_form(self, form, formsets, instance, status=200):
        fieldsets = []
        for title, names in self.resource.get_fieldsets():
            fieldsets.append((title, [form[name] for name in names if name in form.fields]))
        extra = [form[name] for name in getattr(form, "custom_field_names", [])]
        if "tags" in form.fields:
            extra.append(form["tags"])
        if extra:
            fieldsets.append((_("More"), extra))
        children = [(self.resource.children[name].label or formset.model._meta.verbose_name_plural, formset) for name, formset in formsets.items()]
        context = self.base_context(form=form, fieldsets=fieldsets, children=children, record=instance)
        return render(self.request, self.template_name, context, status=status)


# ---- delete ----------------------------------------------------------------------------


class ObjectDeleteView(ResourceView):
    action = "delete"
    template_name = "core/object_delete.html"

    def get(self, request, pk):
        record = self.get_object()
        return render(request, self.template_name, self.base_context(record=record))

    def post(self, request, pk):
        record = self.get_object()
        try:
            services.delete_record(record=record, user=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect(record.get_absolute_url())
        messages.success(request, _("%(type)s “%(record)s” was deleted.") % {"type": self.resource.verbose_name, "record": record})
        return redirect(self.resource.url("list"))


# ---- bulk ------------------------------------------------------------------------------


def selected_queryset(view, action):
    """The records ticked on a list (``pk`` values) that the member may `action`."""
    ids = [value for value in view.request.POST.getlist("pk") if value.isdigit()]
    return view.restricted(action).filter(pk__in=ids)


class BulkEditView(ResourceView):
    action = "change"
    template_name = "core/bulk_edit.html"

    def post(self, request):
        queryset = selected_queryset(self, "change")
        if not queryset.exists():
            messages.warning(request, _("No records were selected."))
            return redirect(safe_next(request, self.resource.url("list")))
        form = BulkEditForm(self.resource, request.POST if "_apply" in request.POST else None, user=request.user)
        if "_apply" in request.POST and form.is_valid():
            try:
                count = services.bulk_update(resource=self.resource, queryset=queryset, changes=form.changes(), user=request.user)
            except (ValidationError, PermissionDenied) as error:
                form.add_error(None, error if isinstance(error, ValidationError) else str(error))
            else:
                messages.success(request, ngettext("%(count)d record was changed.", "%(count)d records were changed.", count) % {"count": count})
                return redirect(safe_next(request, self.resource.url("list")))
        return render(request, self.template_name, self.base_context(form=form, records=queryset[:500], next=safe_next(request, "")))


class BulkDeleteView(ResourceView):
    action = "delete"
    template_name = "core/bulk_delete.html"

    def post(self, request):
        queryset = selected_queryset(self, "delete")
        if not queryset.exists():
            messages.warning(request, _("No records were selected."))
            return redirect(safe_next(request, self.resource.url("list")))
        if "_confirm" in request.POST:
            try:
                count = services.bulk_delete(queryset=queryset, user=request.user)
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                messages.success(request, ngettext("%(count)d record was deleted.", "%(count)d records were deleted.", count) % {"count": count})
            return redirect(safe_next(request, self.resource.url("list")))
        return render(request, self.template_name, self.base_context(records=queryset[:500], next=safe_next(request, "")))


# ---- sharing ---------------------------------------------------------------------------


class ShareView(ResourceView):
    """Share a record with a member, or stop sharing it (POST from the detail page)."""

    action = "change"

    def post(self, request, pk):
        record = self.get_object("change")
        try:
            if request.POST.get("remove"):
                member = get_object_or_404(get_user_model(), pk=request.POST.get("member") or 0)
                services.unshare_record(record=record, member=member, user=request.user)
            else:
                form = ShareForm(request.POST)
                if not form.is_valid():
                    raise ValidationError(form.errors["member"])
                member = form.cleaned_data["member"]
                services.share_record(record=record, member=member, can_change=bool(request.POST.get("can_change")), user=request.user)
                messages.success(request, _("Shared with %(member)s.") % {"member": member})
        except (ValidationError, PermissionDenied) as error:
            messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
        return redirect(record.get_absolute_url())


# ---- object actions --------------------------------------------------------------------


class ObjectActionView(ResourceView):
    def post(self, request, pk, name):
        action = self.resource.get_actions().get(name)
        if action is None:
            raise Http404
        record = get_object_or_404(self.resource.model._default_manager.restrict(request.user, action.permission), pk=pk)
        target = record.get_absolute_url()
        try:
            with transaction.atomic():
                result = action.service(record=record, user=request.user)
            # A service may return the record to show next (e.g. a customer claimed from the pool).
            if isinstance(result, models.Model) and hasattr(result, "get_absolute_url"):
                target = result.get_absolute_url()
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        except PermissionDenied as error:
            messages.error(request, str(error) or _("You have no permission to do this."))
        else:
            messages.success(request, _("Done: %(action)s.") % {"action": action.label})
        return HttpResponseRedirect(safe_next(request, target))

