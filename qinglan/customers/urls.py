from django.urls import path

from qinglan.core.urls import app_resource_urls

from . import duplicate_views

app_name = "customers"
urlpatterns = [*app_resource_urls("customers")]
urlpatterns += [
    path("customer/duplicates/", duplicate_views.DuplicateReportView.as_view(), name="customer_duplicates"),
    path("customer/merge-selected/", duplicate_views.MergeSelectedView.as_view(), name="customer_merge_selected"),
    path("customer/<int:pk>/merge/", duplicate_views.MergeView.as_view(), name="customer_merge_pick"),
    path("customer/<int:pk>/merge/<int:other>/", duplicate_views.MergeView.as_view(), name="customer_merge"),
]
