from qinglan.core.urls import app_resource_urls

app_name = "customers"
urlpatterns = [*app_resource_urls("customers")]
