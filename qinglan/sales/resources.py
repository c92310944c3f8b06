from django.utils.translation import gettext_lazy as _

from qinglan.core.detail import add_panel
from qinglan.core.menu import register_menu_group, register_menu_page
from qinglan.core.registry import register
from qinglan.core.resources import Action, Child, ListLink, Panel, Resource
from qinglan.customers.models import Customer
from qinglan.customers.value import register_potential_source

from . import commissions, quotes, reconciliation, services
from .choices import CommissionStatus, InvoiceStatus, StatementStatus, OrderStatus, QuoteStatus, StageKind
from .models import (
    PrintTemplate,
    AccountStatement,
    TerritoryRule,
    CommissionPlan,
    CommissionRate,
    CommissionStatement,
    CommissionTier,
    Competitor,
    Invoice,
    InvoiceLine,
    LossReason,
    Opportunity,
    OpportunityLine,
    OpportunityStage,
    PaymentTerm,
    PriceList,
    PriceRule,
    Promotion,
    Quote,
    QuoteLine,
    Receipt,
    SalesTarget,
    ReceiptAllocation,
    SalesOrder,
    SalesOrderLine,
    TaxRate,
)

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
    actions = {
        "quote": Action(
            quotes.quote_from_opportunity, _("Create quote"), permission="view", style="outline-primary",
            available=lambda record, user: record.status != StageKind.LOST,
        ),
        "order": Action(
            services.order_from_opportunity, _("Create sales order"), permission="view", style="outline-primary",
            available=lambda record, user: record.status != StageKind.LOST,
        ),
    }
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


# ---- sales orders ----------------------------------------------------------------------------


def _when(*statuses):
    return lambda record, user: record.status in statuses


@register(SalesOrder)
class SalesOrderResource(Resource):
    columns = ("code", "customer", "order_date", "status", "total", "currency", "owner")
    filters = ("status", "customer", "owner", "order_date", "delivery_date", "currency", "payment_term")
    search = {"code": 100, "customer__name": 200, "notes": 1000}
    fieldsets = (
        (_("Sales order"), ("customer", "contact", "opportunity", "original", "order_date", "delivery_date", "owner")),
        (_("Terms"), ("currency", "price_list", "payment_term", "notes")),
    )
    children = {
        "lines": Child(
            SalesOrderLine, fields=("product", "description", "quantity", "unit", "unit_price", "discount", "tax_rate"),
            label=_("order lines"), extra=1,
            columns=(
                "product", "description", "quantity", "unit", "unit_price", "discount", "tax_rate", "net_amount", "tax_amount", "line_total",
                "delivered_quantity", "returned_quantity", "price_basis",
            ),
        ),
    }
    panels = (
        Panel(_("Sales order"), ("code", "customer", "contact", "opportunity", "original", "order_date", "delivery_date", "status", "version", "owner", "department")),
        Panel(_("Terms"), ("currency", "price_list", "payment_term", "notes")),
        Panel(_("Amounts"), ("subtotal", "tax_total", "total", "total_base"), side=True),
        Panel(_("Credit approval"), ("approval_reason", "approved_by", "approved_at"), side=True),
        Panel(_("Versions"), template="sales/order_versions_panel.html"),
        Panel(_("Supplementary orders"), template="sales/order_supplements_panel.html", side=True),
    )
    actions = {
        "submit": Action(services.submit_order, _("Submit"), available=_when(OrderStatus.DRAFT)),
        "reprice": Action(
            services.reprice_order, _("Reprice"), style="outline-secondary", available=_when(OrderStatus.DRAFT, OrderStatus.APPROVED, OrderStatus.FULFILLING),
            confirm=_("Price every line again by the price lists and promotions? Prices entered by hand are replaced."),
        ),
        "fulfil": Action(services.start_fulfilment, _("Start fulfilment"), style="outline-primary", available=_when(OrderStatus.APPROVED)),
        "complete": Action(services.complete_order, _("Complete"), style="outline-success", available=_when(OrderStatus.FULFILLING)),
        "close": Action(
            services.close_order, _("Close"), style="outline-secondary", available=_when(OrderStatus.APPROVED, OrderStatus.FULFILLING),
            confirm=_("Close the order? What is not delivered yet will not be."),
        ),
        "cancel": Action(
            services.cancel_order, _("Cancel order"), style="outline-danger", available=_when(OrderStatus.DRAFT, OrderStatus.SUBMITTED, OrderStatus.APPROVED),
            confirm=_("Cancel this order?"),
        ),
        "supplement": Action(
            services.add_supplementary_order, _("Add supplementary order"), permission="view", style="outline-secondary",
            available=_when(OrderStatus.APPROVED, OrderStatus.FULFILLING, OrderStatus.COMPLETED),
        ),
        "cash_sale": Action(
            services.cash_sale, _("Cash sale"), style="outline-success", available=_when(OrderStatus.DRAFT),
            confirm=_("Sell this order for cash now: approve it, issue its invoice and record the payment?"),
        ),
        "invoice": Action(
            services.invoice_from_order, _("Invoice ordered quantities"), permission="view", style="outline-primary",
            available=_when(OrderStatus.APPROVED, OrderStatus.FULFILLING, OrderStatus.COMPLETED),
        ),
        "invoice_delivered": Action(
            services.invoice_delivered, _("Invoice delivered quantities"), permission="view", style="outline-primary",
            available=_when(OrderStatus.FULFILLING, OrderStatus.COMPLETED),
        ),
    }
    import_lookups = {"customer": "code", "owner": "username", "currency": "code", "payment_term": "name", "original": "code", "price_list": "name"}
    department_field = "department"
    menu_group = "sales"
    menu_order = 40
    icon = "bi-receipt"

    def edit_lock(self, record, action):
        return services.order_lock(record, action)

    def before_save(self, record, *, user, created):
        record._previous = None if created else services.order_snapshot(record.pk)
        services.prepare_order(order=record, created=created)

    def after_save(self, record, *, user, created):
        services.order_saved(order=record, user=user, previous=getattr(record, "_previous", None))


@register(TaxRate)
class TaxRateResource(Resource):
    columns = ("name", "rate", "inclusive", "is_default", "active")
    filters = ("inclusive", "active")
    search = {"name": 100}
    fieldsets = ((_("Tax rate"), ("name", "rate", "inclusive", "is_default", "active")),)
    menu_group = "sales"
    menu_order = 90
    icon = "bi-percent"


@register(PaymentTerm)
class PaymentTermResource(Resource):
    columns = ("name", "days", "description")
    search = {"name": 100}
    fieldsets = ((_("Payment term"), ("name", "days", "description")),)
    menu_group = "sales"
    menu_order = 95
    icon = "bi-calendar2-check"


add_panel(Customer, Panel(_("Sales orders"), template="sales/customer_orders_panel.html"))


# ---- quotes ---------------------------------------------------------------------------------


@register(Quote)
class QuoteResource(Resource):
    columns = ("code", "customer", "quote_date", "valid_until", "status", "version", "total", "currency", "owner")
    filters = ("status", "customer", "owner", "quote_date", "valid_until", "currency")
    search = {"code": 100, "customer__name": 200, "terms": 1000, "notes": 1000}
    fieldsets = (
        (_("Quote"), ("customer", "contact", "opportunity", "quote_date", "valid_until", "owner")),
        (_("Terms"), ("currency", "price_list", "payment_term", "terms", "print_template", "notes")),
    )
    children = {
        "lines": Child(
            QuoteLine, fields=("product", "description", "quantity", "unit", "unit_price", "discount", "tax_rate"), label=_("quote lines"), extra=1,
            columns=("product", "quantity", "unit_price", "discount", "tax_rate", "line_total", "price_basis"),
        ),
    }
    panels = (
        Panel(_("Quote"), ("code", "customer", "contact", "opportunity", "quote_date", "valid_until", "status", "version", "owner", "department", "order")),
        Panel(_("Terms"), ("currency", "price_list", "payment_term", "terms", "notes")),
        Panel(_("Amounts"), ("subtotal", "tax_total", "total", "total_base"), side=True),
        Panel(_("Discount"), ("max_discount", "approval_reason"), side=True),
        Panel(_("Print"), template="sales/quote_print_panel.html", side=True),
        Panel(_("Versions"), template="sales/quote_versions_panel.html"),
    )
    actions = {
        "submit": Action(quotes.submit_quote, _("Submit"), available=_when(QuoteStatus.DRAFT)),
        "reprice": Action(
            quotes.reprice_quote, _("Reprice"), style="outline-secondary", available=_when(QuoteStatus.DRAFT),
            confirm=_("Price every line again by the price lists and promotions? Prices entered by hand are replaced."),
        ),
        "send": Action(quotes.mark_sent, _("Mark as sent"), style="outline-primary", available=_when(QuoteStatus.APPROVED)),
        "order": Action(
            quotes.quote_to_order, _("Convert to order"), style="success", available=_when(QuoteStatus.APPROVED, QuoteStatus.SENT),
            confirm=_("The customer accepted: make a sales order of this quote?"),
        ),
        "decline": Action(
            quotes.decline_quote, _("Declined"), style="outline-danger", available=_when(QuoteStatus.APPROVED, QuoteStatus.SENT),
            confirm=_("The customer declined this quote?"),
        ),
        "revise": Action(
            quotes.revise_quote, _("Revise"), style="outline-secondary", available=_when(QuoteStatus.APPROVED, QuoteStatus.SENT, QuoteStatus.DECLINED),
            confirm=_("Keep this quote as version and edit a new one?"),
        ),
    }
    import_lookups = {"customer": "code", "owner": "username", "currency": "code", "payment_term": "name", "price_list": "name"}
    department_field = "department"
    menu_group = "sales"
    menu_order = 35
    icon = "bi-file-earmark-ruled"

    def edit_lock(self, record, action):
        return quotes.quote_lock(record, action)

    def before_save(self, record, *, user, created):
        quotes.prepare_quote(quote=record, created=created)

    def after_save(self, record, *, user, created):
        quotes.quote_saved(quote=record, user=user)


add_panel(Customer, Panel(_("Quotes"), template="sales/customer_quotes_panel.html"))


# ---- targets --------------------------------------------------------------------------------


@register(SalesTarget)
class SalesTargetResource(Resource):
    columns = ("year", "period", "number", "member", "department", "region", "measure", "amount")
    filters = ("year", "period", "measure", "member", "department", "region")
    search = {"notes": 1000}
    fieldsets = (
        (_("Period"), ("period", "year", "number")),
        (_("Whose target"), ("member", "department", "region")),
        (_("Target"), ("measure", "amount", "notes")),
    )
    menu_group = "sales"
    menu_order = 70
    icon = "bi-bullseye"


register_menu_page(
    group="sales", key="sales.targets", label=_("Target achievement"), url_name="sales:targets", icon="bi-speedometer2", order=71, model=SalesTarget,
)


# ---- commissions ----------------------------------------------------------------------------


@register(CommissionPlan)
class CommissionPlanResource(Resource):
    columns = ("name", "default_rate", "active")
    filters = ("active", "members")
    search = {"name": 100, "notes": 1000}
    fieldsets = ((_("Commission plan"), ("name", "default_rate", "active", "members", "notes")),)
    children = {
        "rates": Child(CommissionRate, fields=("category", "rate"), label=_("rates by product category"), extra=0),
        "tiers": Child(CommissionTier, fields=("from_achievement", "multiplier"), label=_("achievement tiers"), extra=0),
    }
    menu_group = "sales"
    menu_order = 73
    icon = "bi-percent"


@register(CommissionStatement)
class CommissionStatementResource(Resource):
    columns = ("code", "member", "plan", "period", "year", "number", "status", "paid_sales", "commission")
    filters = ("status", "plan", "member", "period", "year", "department")
    search = {"code": 100, "notes": 1000}
    fieldsets = ((_("Commission statement"), ("member", "plan", "period", "year", "number", "notes")),)
    panels = (
        Panel(_("Commission statement"), ("code", "member", "plan", "period", "year", "number", "status", "department", "confirmed_by", "confirmed_at", "notes")),
        Panel(_("Figures"), ("paid_sales", "target_amount", "achieved", "achievement", "multiplier", "commission", "calculated_at"), side=True),
        Panel(_("Paid invoices behind the commission"), template="sales/commission_lines_panel.html"),
    )
    actions = {
        "recalculate": Action(
            commissions.recalculate, _("Recalculate"), style="outline-primary",
            available=lambda record, user: record.status == CommissionStatus.DRAFT,
        ),
        "confirm": Action(
            commissions.confirm, _("Confirm"), permission="approve", confirm=_("Confirm this statement? It is then final."),
            available=lambda record, user: record.status == CommissionStatus.DRAFT,
        ),
        "reopen": Action(
            commissions.reopen, _("Reopen"), permission="approve", style="outline-secondary",
            available=lambda record, user: record.status == CommissionStatus.CONFIRMED,
        ),
    }
    list_links = {"run": ListLink("sales:commission_run", _("Calculate for a plan"), icon="bi-calculator", permission="add")}
    import_lookups = {"member": "username", "plan": "name"}
    department_field = "department"
    select_related = ("member", "plan")
    menu_group = "sales"
    menu_order = 74
    icon = "bi-cash-coin"

    def edit_lock(self, record, action):
        return commissions.statement_lock(record, action)

    def before_save(self, record, *, user, created):
        commissions.prepare_statement(statement=record, created=created)

    def after_save(self, record, *, user, created):
        commissions.statement_saved(statement=record)


@register(TerritoryRule)
class TerritoryRuleResource(Resource):
    columns = ("name", "order", "member", "team", "last_given", "active")
    filters = ("active", "member", "team", "regions", "levels")
    search = {"name": 100, "notes": 1000}
    fieldsets = (
        (_("Territory rule"), ("name", "order", "active")),
        (_("New customers that match"), ("regions", "industries", "sources", "levels")),
        (_("Are given to"), ("member", "team")),
        (_("Notes"), ("notes",)),
    )
    menu_group = "sales"
    menu_order = 76
    icon = "bi-signpost-split"


# ---- reconciliation -------------------------------------------------------------------------


@register(AccountStatement)
class AccountStatementResource(Resource):
    columns = ("code", "customer", "period_start", "period_end", "currency", "closing_balance", "customer_balance", "difference", "status", "owner")
    filters = ("status", "customer", "owner", "period_end", "currency")
    search = {"code": 100, "customer__name": 300, "answer": 1000, "notes": 1000}
    fieldsets = (
        (_("Account statement"), ("customer", "currency", "period_start", "period_end", "owner")),
        (_("The customer's answer"), ("customer_balance", "answer")),
        (_("Notes"), ("notes",)),
    )
    panels = (
        Panel(_("Account statement"), ("code", "customer", "currency", "period_start", "period_end", "status", "sent_on", "owner", "department")),
        Panel(_("Balance"), ("opening_balance", "invoiced", "credited", "received", "closing_balance", "customer_balance", "difference", "answered_on", "answer"), side=True),
        Panel(_("Print"), template="sales/statement_print_panel.html", side=True),
        Panel(_("Documents in the period"), template="sales/statement_transactions_panel.html"),
    )
    actions = {
        "recalculate": Action(
            reconciliation.recalculate, _("Take the book figures again"), style="outline-primary",
            available=lambda record, user: record.status == StatementStatus.DRAFT,
        ),
        "send": Action(
            reconciliation.send, _("Mark as sent"), confirm=_("Mark this statement as sent to the customer? Its figures are then kept."),
            available=lambda record, user: record.status == StatementStatus.DRAFT,
        ),
        "draft": Action(
            reconciliation.back_to_draft, _("Back to draft"), style="outline-secondary",
            available=lambda record, user: record.status in (StatementStatus.SENT, StatementStatus.DISPUTED),
        ),
    }
    import_lookups = {"customer": "code", "owner": "username", "currency": "code"}
    department_field = "department"
    select_related = ("customer", "currency")
    menu_group = "sales"
    menu_order = 62
    icon = "bi-journal-check"

    def edit_lock(self, record, action):
        return reconciliation.statement_lock(record, action)

    def before_save(self, record, *, user, created):
        reconciliation.prepare_statement(statement=record, created=created)


add_panel(Customer, Panel(_("Account statements"), template="sales/customer_statements_panel.html"))


# ---- print templates ------------------------------------------------------------------------


@register(PrintTemplate)
class PrintTemplateResource(Resource):
    columns = ("name", "kind", "is_default", "title", "show_logo")
    filters = ("kind", "is_default")
    search = {"name": 100, "title": 200, "intro": 1000, "closing": 1000}
    fieldsets = (
        (_("Print template"), ("name", "kind", "is_default", "title", "show_logo")),
        (_("Texts"), ("intro", "closing", "footer")),
    )
    menu_group = "sales"
    menu_order = 88
    icon = "bi-printer"

    def after_save(self, record, *, user, created):
        if record.is_default:  # one default per kind of document
            PrintTemplate.objects.filter(kind=record.kind, is_default=True).exclude(pk=record.pk).update(is_default=False)


# ---- pricing --------------------------------------------------------------------------------


@register(PriceList)
class PriceListResource(Resource):
    columns = ("name", "currency", "priority", "valid_from", "valid_to", "active")
    filters = ("active", "currency", "levels", "regions")
    search = {"name": 100, "notes": 1000}
    fieldsets = (
        (_("Price list"), ("name", "currency", "priority", "valid_from", "valid_to", "active")),
        (_("For whom"), ("customers", "levels", "regions")),
        (_("Notes"), ("notes",)),
    )
    children = {
        "rules": Child(
            PriceRule, fields=("product", "category", "min_quantity", "method", "value", "valid_from", "valid_to"), label=_("price rules"), extra=1,
        ),
    }
    menu_group = "sales"
    menu_order = 80
    icon = "bi-tags"


@register(Promotion)
class PromotionResource(Resource):
    columns = ("name", "kind", "starts_on", "ends_on", "product", "category", "active")
    filters = ("kind", "active", "starts_on", "ends_on", "category")
    search = {"name": 100}
    fieldsets = (
        (_("Promotion"), ("name", "kind", "starts_on", "ends_on", "active")),
        (_("Applies to"), ("product", "category", "levels", "min_quantity")),
        (_("Benefit"), ("percent", "amount", "buy_quantity", "free_quantity")),
    )
    menu_group = "sales"
    menu_order = 82
    icon = "bi-gift"


register_menu_page(
    group="sales", key="sales.catalogue", label=_("Static catalogue"), url_name="sales:catalogue", icon="bi-journal-richtext", order=86, model=PriceList,
)
register_menu_page(
    group="sales", key="sales.price_check", label=_("Price check"), url_name="sales:price_check", icon="bi-calculator", order=84, model=PriceList,
)


# ---- invoices and receipts -----------------------------------------------------------------


def _order_lines_of_invoice(invoice, name, queryset):
    """An invoice line refers only to a line of the invoice's own order."""
    if name != "order_line":
        return queryset
    return queryset.filter(order_id=invoice.order_id) if invoice.order_id else queryset.none()


@register(Invoice)
class InvoiceResource(Resource):
    columns = ("code", "kind", "customer", "invoice_date", "due_date", "status", "total", "paid_amount", "owner")
    filters = ("kind", "status", "customer", "order", "owner", "invoice_date", "due_date", "currency")
    search = {"code": 100, "customer__name": 200, "notes": 1000}
    fieldsets = ((_("Invoice"), ("customer", "order", "invoice_date", "due_date", "currency", "owner", "notes")),)
    children = {
        "lines": Child(
            InvoiceLine, fields=("order_line", "product", "description", "quantity", "unit_price", "discount", "tax_rate"), label=_("invoice lines"),
            extra=1, limit=_order_lines_of_invoice, columns=("product", "description", "quantity", "unit_price", "discount", "tax_rate", "net_amount", "tax_amount", "line_total"),
        ),
    }
    panels = (
        Panel(_("Invoice"), ("code", "kind", "customer", "order", "credited_invoice", "invoice_date", "due_date", "status", "owner", "department", "notes")),
        Panel(_("Amounts"), ("subtotal", "tax_total", "total", "total_base", "paid_amount", "credited_amount", "balance_base"), side=True),
        Panel(_("Credit notes"), template="sales/invoice_credit_notes_panel.html", side=True),
    )
    actions = {
        "issue": Action(services.issue_invoice, _("Issue"), available=_when(InvoiceStatus.DRAFT), confirm=_("Issue this invoice? It cannot be changed afterwards.")),
        "cancel": Action(
            services.cancel_invoice, _("Cancel invoice"), style="outline-danger",
            available=lambda record, user: record.status in (InvoiceStatus.DRAFT, InvoiceStatus.ISSUED) and not record.paid_amount,
            confirm=_("Cancel this invoice?"),
        ),
        "credit": Action(
            services.credit_note_from_invoice, _("Credit note"), permission="view", style="outline-secondary",
            available=lambda record, user: not record.is_credit_note and record.status in (InvoiceStatus.ISSUED, InvoiceStatus.PAID),
        ),
    }
    import_lookups = {"customer": "code", "order": "code", "owner": "username", "currency": "code"}
    department_field = "department"
    menu_group = "sales"
    menu_order = 50
    icon = "bi-file-earmark-text"

    def edit_lock(self, record, action):
        return services.invoice_lock(record, action)

    def before_save(self, record, *, user, created):
        services.prepare_invoice(invoice=record, created=created)

    def after_save(self, record, *, user, created):
        services.invoice_saved(invoice=record, user=user)


@register(Receipt)
class ReceiptResource(Resource):
    columns = ("code", "customer", "received_on", "method", "amount", "applied_amount", "owner")
    filters = ("method", "customer", "owner", "received_on", "currency")
    search = {"code": 100, "customer__name": 200, "reference": 100}
    fieldsets = ((_("Receipt"), ("customer", "received_on", "method", "amount", "currency", "reference", "owner", "notes")),)
    children = {"allocations": Child(ReceiptAllocation, fields=("invoice", "amount"), label=_("applied to invoices"), extra=1)}
    panels = (
        Panel(_("Receipt"), ("code", "customer", "received_on", "method", "reference", "owner", "department", "notes")),
        Panel(_("Amounts"), ("amount", "currency", "applied_amount"), side=True),
    )
    import_lookups = {"customer": "code", "owner": "username", "currency": "code"}
    department_field = "department"
    menu_group = "sales"
    menu_order = 55
    icon = "bi-cash-coin"

    def before_save(self, record, *, user, created):
        record._invoices_before = [] if created else list(ReceiptAllocation.objects.filter(receipt_id=record.pk).values_list("invoice_id", flat=True))
        services.prepare_receipt(receipt=record, created=created)

    def after_save(self, record, *, user, created):
        services.receipt_saved(receipt=record, user=user, invoices_before=getattr(record, "_invoices_before", ()))

    def after_delete(self, record, *, user):
        services.receipt_deleted(receipt=record)


register_menu_page(
    group="sales", key="sales.dashboard", label=_("Sales dashboard"), url_name="sales:dashboard", icon="bi-speedometer", order=1, model=SalesOrder,
)
register_menu_page(
    group="sales", key="sales.by_month", label=_("Sales by month"), url_name="sales:by_month", icon="bi-table", order=46, model=SalesOrder,
)
register_menu_page(
    group="sales", key="sales.fulfilment", label=_("Fulfilment variance"), url_name="sales:fulfilment", icon="bi-clipboard-check", order=45, model=SalesOrder,
)
register_menu_page(
    group="sales", key="sales.receivables", label=_("Receivables aging"), url_name="sales:receivables", icon="bi-hourglass-split", order=60, model=Invoice,
)
