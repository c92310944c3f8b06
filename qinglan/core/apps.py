from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "qinglan.core"
    label = "core"
    verbose_name = _("Platform")

    def ready(self):
        from .api import schema  # noqa: F401  (registers the token scheme with drf-spectacular)
