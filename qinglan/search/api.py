"""``GET /api/search/?q=…[&type=…][&page=…]``: the same search as the /search/ page, with the
same permissions (token or session authentication, like the rest of /api)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from .service import count_limit, search


class SearchHitSerializer(serializers.Serializer):
    type = serializers.CharField()
    id = serializers.IntegerField()
    title = serializers.CharField()
    title_html = serializers.CharField(help_text="Escaped HTML, matches in <mark>.")
    snippet_html = serializers.CharField(help_text="Escaped HTML, matches in <mark>.")
    url = serializers.CharField(allow_null=True)
    attachment = serializers.CharField(help_text="The attached file the words were found in, or empty.")


class SearchFacetSerializer(serializers.Serializer):
    type = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField(help_text="Exact up to 1,000; with count_capped, more than that.")
    count_capped = serializers.BooleanField()


class SearchGroupSerializer(SearchFacetSerializer):
    results = SearchHitSerializer(many=True)


class SearchResultsSerializer(serializers.Serializer):
    q = serializers.CharField()
    total = serializers.IntegerField(help_text="The sum of the facets' counts; with total_capped, at least that.")
    total_capped = serializers.BooleanField()
    message = serializers.CharField()
    corrected_from = serializers.CharField(help_text="What was typed, when the results are those of a corrected query (q).")
    suggestion = serializers.CharField(help_text="A corrected query that finds more, offered when there are few results.")
    types = serializers.ListField(child=serializers.CharField())
    page = serializers.IntegerField()
    has_next = serializers.BooleanField()
    facets = SearchFacetSerializer(many=True)
    groups = SearchGroupSerializer(many=True)


def _facet(group):
    return {
        "type": group.key,
        "label": str(group.resource.verbose_name_plural),
        "count": min(group.count, count_limit()),
        "count_capped": group.capped,
    }


def _hit(hit):
    return {
        "type": hit.resource.label,
        "id": hit.object_id,
        "title": hit.title,
        "title_html": str(hit.title_html),
        "snippet_html": str(hit.snippet),
        "url": hit.url,
        "attachment": hit.attachment,
    }


class SearchAPIView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Full-text search over every record the caller may view",
        parameters=[
            OpenApiParameter("q", OpenApiTypes.STR, description='Words (all must match), "phrases", -exclusions, type:name, field:value (the fields the type filters or searches by).'),
            OpenApiParameter("type", OpenApiTypes.STR, many=True, description="Only these types, e.g. customers.customer."),
            OpenApiParameter("page", OpenApiTypes.INT, description="Page of the results of one type."),
            OpenApiParameter("prefix", OpenApiTypes.BOOL, description="Match the last word as a prefix (search as you type)."),
        ],
        responses=SearchResultsSerializer,
    )
    def get(self, request):
        text = request.query_params.get("q", "")[:200]
        types = [name for name in request.query_params.getlist("type") if name][:5]
        prefix = request.query_params.get("prefix", "") in ("1", "true", "yes")
        results = search(request.user, text, types=types, page=request.query_params.get("page", 1), prefix_last=prefix)
        return Response(
            {
                "q": results.text,
                "total": sum(min(group.count, count_limit()) for group in results.facets),
                "total_capped": results.total_capped,
                "message": results.message,
                "corrected_from": results.corrected_from,
                "suggestion": results.suggestion,
                "types": results.types,
                "page": results.page,
                "has_next": results.has_next,
                "facets": [_facet(group) for group in results.facets],
                "groups": [{**_facet(group), "results": [_hit(hit) for hit in group.hits]} for group in results.groups],
            }
        )
