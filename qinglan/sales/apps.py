from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "qinglan.sales"
    label = "sales"
    verbose_name = _("Sales")

    def ready(self):
        from . import quotes, resources, services, territories  # noqa: F401  (registers the resources, panels and menu pages)

        quotes.bind_discount_approval()
        services.bind_credit_approval()
