from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgConfig(AppConfig):
    name = "qinglan.org"
    label = "org"
    verbose_name = _("System settings")

    def ready(self):
        from . import resources  # noqa: F401  (registers the resources)
