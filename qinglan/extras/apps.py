from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExtrasConfig(AppConfig):
    name = "qinglan.extras"
    label = "extras"
    verbose_name = _("Extras")

    def ready(self):
        from . import resources, webhooks  # noqa: F401  (registers resources and event subscribers)
