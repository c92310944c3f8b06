from qinglan.core.urls import app_resource_urls

app_name = "org"
urlpatterns = [*app_resource_urls("org")]
