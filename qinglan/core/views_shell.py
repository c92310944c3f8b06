"""The shell around the resources: home page, global search, health check."""

from django.http import JsonResponse
from django.shortcuts import render
from django.views import View


class HomeView(View):
    def get(self, request):
        return render(request, "core/home.html", {})


class GlobalSearchView(View):
    """The top bar's search-as-you-type box (htmx asks for the ``results`` partial) and the
    /search/ page: ranked, permission-filtered full-text search (``qinglan.search``), grouped
    by type with counts and snippets; ``type`` filters by type and ``page`` pages through it."""

    def get(self, request):
        from qinglan.search.service import search

        text = request.GET.get("q", "")[:200]
        types = [name for name in request.GET.getlist("type") if name][:5]
        suggest = bool(request.htmx)
        results = search(
            request.user, text, types=types, page=request.GET.get("page", 1),
            per_type=5 if suggest else 10, prefix_last=suggest,
        )
        template = "core/search_results.html#results" if suggest else "core/search_results.html"
        return render(request, template, {"q": text.strip(), "results": results, "suggest": suggest})


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
