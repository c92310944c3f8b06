"""URLs for the throwaway resource test: the project's URLs plus the generated ones of a
resource registered at test time."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from qinglan.core.registry import registry
from qinglan.core.urls import app_resource_urls
from qinglan.core.views import ResourceView, selected_queryset
from qinglan.urls import urlpatterns as project_urlpatterns


class StampView(ResourceView):
    """A module's bulk action: stamps the ticked gadgets the member may change."""

    action = "change"

    def post(self, request):
        from django.shortcuts import redirect

        selected_queryset(self, "change").update(notes="stamped")
        return redirect(self.resource.list_url)


router = DefaultRouter()
for resource in registry:
    if resource.app_label == "throwaway":
        router.register(resource.api_prefix, resource.viewset_class, basename=resource.api_basename)

gadget = registry.get_by_label("throwaway", "gadget")
urlpatterns = [
    path("throwaway/gadget/stamp/", StampView.as_view(resource=gadget), name="gadget_stamp"),
    path("throwaway/", include((app_resource_urls("throwaway"), "throwaway"))),
    path("api/", include(router.urls)),
    *project_urlpatterns,
]
