from django.urls import path

from qinglan.core.urls import app_resource_urls

from . import views

app_name = "products"
urlpatterns = [*app_resource_urls("products")]
urlpatterns += [
    path("find/", views.FindProductsView.as_view(), name="find"),
    path("attribute-inputs/", views.AttributeInputsView.as_view(), name="attribute_inputs"),
    path("product/<int:pk>/images/add/", views.ImageAddView.as_view(), name="image_add"),
    path("image/<int:pk>/", views.ImageView.as_view(), name="image"),
    path("image/<int:pk>/delete/", views.ImageDeleteView.as_view(), name="image_delete"),
    path("image/<int:pk>/first/", views.ImageFirstView.as_view(), name="image_first"),
]
