from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InventoryConfig(AppConfig):
    name = "qinglan.inventory"
    label = "inventory"
    verbose_name = _("Warehouse")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import resources  # noqa: F401  (registers the resources, the menu group and pages)
