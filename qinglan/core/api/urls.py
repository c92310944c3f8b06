from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from ..registry import registry


def build_router():
    router = DefaultRouter()
    for resource in sorted(registry, key=lambda r: r.api_prefix):
        router.register(resource.api_prefix, resource.viewset_class, basename=resource.api_basename)
    return router


urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file: the CSP forbids inline scripts.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include(build_router().urls)),
]
