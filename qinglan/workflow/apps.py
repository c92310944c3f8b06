from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkflowConfig(AppConfig):
    name = "qinglan.workflow"
    label = "workflow"
    verbose_name = _("Approvals")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from qinglan.core.resources import add_edit_lock

        from . import binding, resources  # noqa: F401  (registers the resources and the menu entries)

        add_edit_lock(binding.record_lock)
