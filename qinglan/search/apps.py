from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SearchConfig(AppConfig):
    name = "qinglan.search"
    label = "search"
    verbose_name = _("Search")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import panels, subscribers  # noqa: F401  (registers the event subscribers)

        panels.connect()  # the "Similar records" panel, once every app has registered its resources
