"""The shell around the resources: home page, global search, health check."""

from django.http import JsonResponse
from django.shortcuts import render
from django.views import View

from .permissions import has_permission
from .registry import registry

SEARCH_LIMIT_PER_TYPE = 10


class HomeView(View):
    def get(self, request):
        return render(request, "core/home.html", {})


class GlobalSearchView(View):
    """Searches the quick-search fields of every resource the member may view. The ranked
    Chinese full-text engine replaces this in the search module."""

    def get(self, request):
        text = request.GET.get("q", "").strip()[:200]
        groups = []
        if text:
            for resource in sorted(registry, key=lambda r: str(r.verbose_name_plural)):
                if not resource.search or not has_permission(request.user, resource.model, "view"):
                    continue
                rows = list(
                    resource.get_queryset().restrict(request.user, "view").filter(resource.quick_search_q(text))[: SEARCH_LIMIT_PER_TYPE + 1]
                )
                if rows:
                    groups.append({"resource": resource, "rows": rows[:SEARCH_LIMIT_PER_TYPE], "more": len(rows) > SEARCH_LIMIT_PER_TYPE})
        template = "core/search_results.html#results" if request.htmx else "core/search_results.html"
        return render(request, template, {"q": text, "groups": groups})


def health(request):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


class ChangeLogView(View):
    """Every change, newest first; administrators only (members see a record's own history
    on its page, which follows the record's permissions)."""

    def get(self, request):
        from django.core.exceptions import PermissionDenied

        from .models import ObjectChange
        from .pagination import SortKey, keyset_page

        if not request.user.is_superuser:
            raise PermissionDenied
        queryset = ObjectChange.objects.select_related("user", "content_type")
        if request.GET.get("user"):
            queryset = queryset.filter(user_name=request.GET["user"])
        keys = [SortKey("time", True), SortKey("pk", True)]
        page = keyset_page(queryset, keys, size=100, after=request.GET.get("after"), before=request.GET.get("before"))
        return render(request, "core/changelog.html", {"changes": page.rows, "page": page, "show_record": True})
