from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "qinglan.core"
    label = "core"
    verbose_name = _("Platform")

    def ready(self):
        from . import lookups  # noqa: F401  (registers __keyprefix and __anyof)
        from .api import schema  # noqa: F401  (registers the token scheme with drf-spectacular)
