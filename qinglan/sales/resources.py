from django.utils.translation import gettext_lazy as _

from qinglan.core.detail import add_panel
from qinglan.core.menu import register_menu_group, register_menu_page
from qinglan.core.registry import register
from qinglan.core.resources import Child, Panel, Resource
from qinglan.customers.models import Customer
from qinglan.customers.value import register_potential_source

from . import services
from .models import Competitor, LossReason, Opportunity, OpportunityLine, OpportunityStage

register_menu_group("sales", _("Sales"), "bi-graph-up-arrow")
register_potential_source(services.weighted_open)


@register(Opportunity)
class OpportunityResource(Resource):
    columns = ("name", "customer", "stage", "amount", "expected_close_date", "owner")
    filters = ("stage", "status", "customer", "owner", "expected_close_date", "competitors", "loss_reason", "currency")
    search = {"name": 100, "code": 100, "customer__name": 300, "description": 1000}
    fieldsets = (
        (_("Opportunity"), ("name", "code", "customer", "contact", "stage", "probability", "owner")),
        (_("Amount"), ("amount", "currency", "expected_close_date")),
        (_("Competition"), ("competitors", "loss_reason", "close_note", "description")),
    )
    children = {
        "lines": Child(OpportunityLine, fields=("product", "description", "quantity", "unit_price", "discount"), label=_("product lines"), extra=0),
    }
    panels = (
        Panel(_("Opportunity"), ("name", "code", "customer", "contact", "stage", "status", "owner", "department")),
        Panel(_("Amount"), ("amount", "currency", "probability", "weighted_amount", "amount_base", "weighted_base", "expected_close_date", "closed_on")),
        Panel(_("Competition"), ("competitors", "loss_reason", "close_note", "description")),
        Panel(_("Stage history"), template="sales/stage_history_panel.html", side=True),
    )
    import_lookups = {"customer": "code", "stage": "name", "owner": "username", "currency": "code", "loss_reason": "name"}
    department_field = "department"
    select_related = ("stage",)
    menu_group = "sales"
    menu_order = 10
    icon = "bi-bullseye"

    def before_save(self, record, *, user, created):
        if created:
            record._saved_before = (None, None, None)
        else:
            record._saved_before = Opportunity.objects.filter(pk=record.pk).values_list("stage_id", "status", "customer_id").first()
        services.prepare_opportunity(opportunity=record, created=created)

    def after_save(self, record, *, user, created):
        stage_before, status_before, customer_before = getattr(record, "_saved_before", (None, None, None))
        services.opportunity_saved(
            opportunity=record, user=user, stage_before=stage_before, status_before=status_before, customer_before=customer_before,
        )

    def after_delete(self, record, *, user):
        services.refresh_customers({record.customer_id})


@register(OpportunityStage)
class OpportunityStageResource(Resource):
    columns = ("name", "order", "probability", "kind", "active")
    filters = ("kind", "active")
    search = {"name": 100}
    fieldsets = ((_("Opportunity stage"), ("name", "order", "probability", "kind", "active", "description")),)
    menu_group = "sales"
    menu_order = 80
    icon = "bi-kanban"


@register(LossReason)
class LossReasonResource(Resource):
    columns = ("name", "description")
    search = {"name": 100}
    fieldsets = ((_("Loss reason"), ("name", "description")),)
    menu_group = "sales"
    menu_order = 85
    icon = "bi-x-octagon"


@register(Competitor)
class CompetitorResource(Resource):
    columns = ("name", "website", "description")
    search = {"name": 100, "description": 300}
    fieldsets = ((_("Competitor"), ("name", "website", "description", "strengths", "weaknesses")),)
    menu_group = "sales"
    menu_order = 70
    icon = "bi-flag"


register_menu_page(
    group="sales", key="sales.pipeline", label=_("Pipeline"), url_name="sales:pipeline", icon="bi-kanban", order=20, model=Opportunity,
)
register_menu_page(
    group="sales", key="sales.forecast", label=_("Forecast"), url_name="sales:forecast", icon="bi-bar-chart-line", order=30, model=Opportunity,
)

# The customer's page lists its opportunities (the customer 360° registry).
add_panel(Customer, Panel(_("Opportunities"), template="sales/customer_opportunities_panel.html"))
