from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "qinglan.customers"
    label = "customers"
    verbose_name = _("Customers")

    def ready(self):
        from . import resources  # noqa: F401  (registers the resources)
