"""The restricted API viewset generated for each resource."""

from rest_framework import permissions, viewsets
from rest_framework.exceptions import PermissionDenied

from .. import services
from ..permissions import has_permission

ACTION_FOR_METHOD = {
    "GET": "view",
    "HEAD": "view",
    "OPTIONS": "view",
    "POST": "add",
    "PUT": "change",
    "PATCH": "change",
    "DELETE": "delete",
}


class ResourcePermission(permissions.BasePermission):
    def has_permission(self, request, view):
        return has_permission(request.user, view.resource.model, ACTION_FOR_METHOD.get(request.method, "view"))


class ResourceViewSet(viewsets.ModelViewSet):
    resource = None
    permission_classes = [permissions.IsAuthenticated, ResourcePermission]

    def get_queryset(self):
        action = ACTION_FOR_METHOD.get(self.request.method, "view")
        return self.resource.get_queryset().restrict(self.request.user, action)

    def perform_destroy(self, instance):
        services.delete_record(record=instance, user=self.request.user)

    def permission_denied(self, request, message=None, code=None):
        if request.user and request.user.is_authenticated:
            raise PermissionDenied(message)
        return super().permission_denied(request, message, code)


def resource_viewset_factory(resource):
    return type(
        f"{resource.model.__name__}ViewSet",
        (ResourceViewSet,),
        {
            "resource": resource,
            "queryset": resource.model._default_manager.none(),
            "serializer_class": resource.serializer_class,
            "filterset_class": resource.filterset_class,
        },
    )
