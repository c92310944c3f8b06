from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from qinglan.core import menu
from qinglan.core.permissions import READ_ACTIONS
from qinglan.core.registry import register
from qinglan.core.resources import ListLink, Panel, RecordLink, Resource

from . import services
from .models import ProcessDefinition, ProcessInstance

menu.register_menu_group("workflow", _("Approvals"), "bi-check2-square")


@register(ProcessDefinition)
class ProcessDefinitionResource(Resource):
    columns = ("name", "key", "version", "kind", "active", "created")
    filters = ("kind", "active", "key")
    search = {"name": 100, "key": 100}
    fieldsets = ((_("Process definition"), ("name", "kind", "fallback_assignee", "active", "xml")),)
    panels = (
        Panel(_("Process definition"), ("name", "key", "version", "kind", "active", "fallback_assignee", "deployed_by", "created")),
        Panel(_("Steps"), template="workflow/definition_steps_panel.html"),
    )
    bulk_edit_fields = ("active",)
    import_fields = ("name", "kind", "fallback_assignee", "active", "xml")
    list_links = {"designer": ListLink("workflow:designer", _("Process designer"), icon="bi-diagram-3", permission="add")}
    record_links = {
        "designer": RecordLink("workflow:designer_edit", _("Open in the designer"), icon="bi-diagram-3", permission="add"),
        "copy": RecordLink("workflow:designer_copy", _("Copy as new process"), icon="bi-copy", permission="add"),
        "bpmn": RecordLink("workflow:definition_xml", _("Export BPMN"), icon="bi-download"),
    }
    menu_group = "workflow"
    menu_order = 80
    icon = "bi-diagram-2"

    def before_save(self, record, *, user, created):
        if created or record.pk is None:
            services.prepare_definition(definition=record, user=user)
        else:
            services.check_unchanged(definition=record)


@register(ProcessInstance)
class ProcessInstanceResource(Resource):
    columns = ("title", "definition", "initiator", "status", "started", "finished")
    filters = ("status", "definition", "initiator", "started")
    search = {"title": 100}
    fieldsets = ((_("Process instance"), ("title",)),)
    panels = (
        Panel(_("Process instance"), ("title", "definition", "initiator", "status", "started", "finished")),
        Panel(_("Steps"), template="workflow/instance_steps_panel.html"),
    )
    export_fields = ("id", "title", "definition", "initiator", "status", "started", "finished")
    # Not `read_only`: that answers 403 to a member whose grants name "change", where a record
    # outside their scope should be 404. Instead nothing is in scope for writes, and the
    # generic add/edit pages refuse to save (instances are started and moved by services).
    owner_field = "initiator"
    select_related = ("definition", "initiator")
    menu_group = "workflow"
    menu_order = 50
    icon = "bi-journal-check"

    def scope(self, user, scope, action="view"):
        return super().scope(user, scope, action) if action in READ_ACTIONS else Q(pk__in=[])

    def before_save(self, record, *, user, created):
        raise ValidationError(_("Process instances are started and moved on through their process, not edited."))


# Every member has an inbox and may ask for leave, whatever their grants on instances.
menu.register_menu_page(
    group="workflow", key="workflow.inbox", label=_("My tasks"), url_name="workflow:inbox",
    icon="bi-inbox", order=10, badge=services.open_task_count,
)
menu.register_menu_page(
    group="workflow", key="workflow.start", label=_("Start a process"), url_name="workflow:start",
    icon="bi-play-circle", order=15,
)
menu.register_menu_page(
    group="workflow", key="workflow.leave", label=_("Leave request"), url_name="workflow:start_leave",
    icon="bi-calendar2-minus", order=20,
)
menu.register_menu_page(
    group="workflow", key="workflow.report_durations", label=_("Process durations"), url_name="workflow:report_durations",
    icon="bi-stopwatch", order=60, model=ProcessInstance,
)
menu.register_menu_page(
    group="workflow", key="workflow.report_overdue", label=_("Overdue tasks"), url_name="workflow:report_overdue",
    icon="bi-alarm", order=65, model=ProcessInstance,
)
