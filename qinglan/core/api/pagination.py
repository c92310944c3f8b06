"""API pagination with the same keyset cursors as the list pages."""

from django.conf import settings
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from ..pagination import bounded_count, keyset_page


class KeysetPagination(BasePagination):
    max_page_size = 1000

    def paginate_queryset(self, queryset, request, view=None):
        from ..views import sort_keys_for

        resource = view.resource
        try:
            size = min(int(request.query_params.get("limit", settings.REST_FRAMEWORK["PAGE_SIZE"])), self.max_page_size)
        except ValueError:
            size = settings.REST_FRAMEWORK["PAGE_SIZE"]
        size = max(size, 1)
        keys = sort_keys_for(resource, request.query_params.get("sort"))
        page = keyset_page(
            queryset, keys, size=size, after=request.query_params.get("after"), before=request.query_params.get("before")
        )
        self.request = request
        self.page = page
        self.count = bounded_count(queryset)
        return page.rows

    def _link(self, name, cursor):
        if not cursor:
            return None
        url = self.request.build_absolute_uri()
        from rest_framework.utils.urls import remove_query_param, replace_query_param

        url = remove_query_param(url, "after")
        url = remove_query_param(url, "before")
        return replace_query_param(url, name, cursor)

    def get_paginated_response(self, data):
        count, exact = self.count
        return Response(
            {
                "count": count,
                "count_exact": exact,
                "next": self._link("after", self.page.next_cursor),
                "previous": self._link("before", self.page.prev_cursor),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["count", "results"],
            "properties": {
                "count": {"type": "integer"},
                "count_exact": {"type": "boolean"},
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer"}},
            {"name": "after", "in": "query", "required": False, "schema": {"type": "string"}},
            {"name": "before", "in": "query", "required": False, "schema": {"type": "string"}},
            {"name": "sort", "in": "query", "required": False, "schema": {"type": "string"}},
        ]
