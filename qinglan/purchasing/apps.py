from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PurchasingConfig(AppConfig):
    name = "qinglan.purchasing"
    label = "purchasing"
    verbose_name = _("Purchasing")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import requisitions, resources  # noqa: F401  (registers the resources)

        requisitions.bind_approval()
