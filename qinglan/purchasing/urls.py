from django.urls import path

from qinglan.core.urls import app_resource_urls

from . import views

app_name = "purchasing"
urlpatterns = [
    *app_resource_urls("purchasing"),
    path("payables/", views.PayablesView.as_view(), name="payables"),
    path("purchaserequest/<int:pk>/convert/", views.ConvertRequestView.as_view(), name="purchaserequest_convert"),
]
