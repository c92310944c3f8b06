from qinglan.core.urls import app_resource_urls

app_name = "purchasing"
urlpatterns = [*app_resource_urls("purchasing")]
