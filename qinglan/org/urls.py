from django.urls import path

from qinglan.core.urls import app_resource_urls

from . import views

app_name = "org"
urlpatterns = [
    path("colleagues/", views.ColleagueLookupView.as_view(), name="colleagues"),
    *app_resource_urls("org"),
]
