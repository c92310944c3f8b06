"""URLs for the throwaway resource test: the project's URLs plus the generated ones of a
resource registered at test time."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from qinglan.core.registry import registry
from qinglan.core.urls import app_resource_urls
from qinglan.urls import urlpatterns as project_urlpatterns

router = DefaultRouter()
for resource in registry:
    if resource.app_label == "throwaway":
        router.register(resource.api_prefix, resource.viewset_class, basename=resource.api_basename)

urlpatterns = [
    path("throwaway/", include((app_resource_urls("throwaway"), "throwaway"))),
    path("api/", include(router.urls)),
    *project_urlpatterns,
]
