from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProductsConfig(AppConfig):
    name = "qinglan.products"
    label = "products"
    verbose_name = _("Products")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import resources  # noqa: F401  (registers the resources, the menu group and pages)
