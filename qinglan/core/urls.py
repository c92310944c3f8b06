"""URLs generated for resources: ``<app>:<model>_list|detail|add|edit|delete|bulk_edit|
bulk_delete|import|export|autocomplete|changes|comments|attachments|action|preferences``."""

from django.urls import path

from .registry import registry


def resource_urlpatterns(resource):
    from . import views
    from .exports import ExportView
    from .imports import ImportView

    def view(cls, **kwargs):
        return cls.as_view(resource=resource, **kwargs)

    name = resource.model_name
    return [
        path(f"{name}/", view(views.ObjectListView), name=f"{name}_list"),
        path(f"{name}/add/", view(views.ObjectEditView), name=f"{name}_add"),
        path(f"{name}/bulk-edit/", view(views.BulkEditView), name=f"{name}_bulk_edit"),
        path(f"{name}/bulk-delete/", view(views.BulkDeleteView), name=f"{name}_bulk_delete"),
        path(f"{name}/export/", view(ExportView), name=f"{name}_export"),
        path(f"{name}/import/", view(ImportView), name=f"{name}_import"),
        path(f"{name}/import/<int:job>/", view(ImportView), name=f"{name}_import_job"),
        path(f"{name}/autocomplete/", view(views.AutocompleteView), name=f"{name}_autocomplete"),
        path(f"{name}/preferences/", view(views.ListPreferencesView), name=f"{name}_preferences"),
        path(f"{name}/<int:pk>/", view(views.ObjectDetailView), name=f"{name}_detail"),
        path(f"{name}/<int:pk>/edit/", view(views.ObjectEditView), name=f"{name}_edit"),
        path(f"{name}/<int:pk>/delete/", view(views.ObjectDeleteView), name=f"{name}_delete"),
        path(f"{name}/<int:pk>/changes/", view(views.ObjectDetailView, tab="changes"), name=f"{name}_changes"),
        path(f"{name}/<int:pk>/comments/", view(views.ObjectDetailView, tab="comments"), name=f"{name}_comments"),
        path(f"{name}/<int:pk>/attachments/", view(views.ObjectDetailView, tab="attachments"), name=f"{name}_attachments"),
        path(f"{name}/<int:pk>/share/", view(views.ShareView), name=f"{name}_share"),
        path(f"{name}/<int:pk>/do/<slug:name>/", view(views.ObjectActionView), name=f"{name}_action"),
    ]


def app_resource_urls(app_label):
    """Every generated URL of the resources an app registers (its urls.py includes these)."""
    patterns = []
    for resource in registry:
        if resource.app_label == app_label:
            patterns += resource_urlpatterns(resource)
    return patterns
