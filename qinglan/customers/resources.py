from django.db.models import Q
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from qinglan.core.permissions import READ_ACTIONS
from qinglan.core import resources as core_resources
from qinglan.core.menu import register_menu_page
from qinglan.core.registry import register
from qinglan.core.resources import Action, BulkAction, Child, ImportConfirm, ListLink, Panel, Resource

from . import assignment, duplicates, normalize, pool, reminders, services
from .models import Activity, ClaimLimit, Contact, Customer, CustomerAddress, CustomerLevel, PoolCustomer, Region, ValueGradeRule


def claim_action(*, record, user):
    return pool.claim(customer=record, user=user)


CLAIM = Action(
    service=claim_action, label=_("Claim"), permission="view",
    # Not to a former owner in the re-claim cool-down (the page says from when instead).
    available=lambda record, user: record.in_pool and not pool.reclaim_blocked_until([record], user),
    confirm=_("Take this customer from the public pool?"),
)


@register(Customer)
class CustomerResource(Resource):
    columns = ("name", "code", "status", "level", "region", "phone", "owner", "last_activity_at")
    filters = ("status", "level", "region", "industry", "source", "owner", "is_customer", "is_supplier", "is_partner", "in_pool")
    search = {"name": 100, "code": 100, "short_name": 150, "name_latin": 200, "tax_id": 100, "phone": 200, "email": 300}
    # Quick search at a million rows: prefixes of indexed keys, folded like the stored ones.
    search_prefix = {"name_key": normalize.name_key, "phone_key": normalize.phone_key, "code": None}
    fieldsets = (
        (_("Customer"), ("kind", "name", "name_latin", "short_name", "code", "tax_id", "status", "is_customer", "is_supplier", "is_partner")),
        (_("Classification"), ("level", "industry", "source", "region", "owner", "potential_estimate", "credit_limit")),
        (_("Reach"), ("phone", "mobile", "fax", "email", "website", "address", "notes")),
    )
    children = {"addresses": Child(CustomerAddress, fields=("kind", "country", "city", "line", "postcode"), label=_("addresses"), extra=0)}
    panels = (
        Panel(_("Customer"), ("kind", "name", "name_latin", "short_name", "code", "tax_id", "status", "is_customer", "is_supplier", "is_partner")),
        Panel(_("Classification"), ("level", "industry", "source", "region", "owner", "department", "in_pool")),
        Panel(_("Reach"), ("phone", "mobile", "fax", "email", "website", "address", "notes")),
        Panel(_("Contacts"), template="customers/contacts_panel.html"),
        Panel(_("Follow-ups"), template="customers/timeline_panel.html"),
        Panel(_("Follow-up"), ("last_activity_at", "next_follow_up"), side=True),
        Panel(_("Owner changes"), template="customers/pool_transfers_panel.html", side=True),
        Panel(_("Possible duplicates"), template="customers/duplicates_panel.html", side=True),
        Panel(
            _("Value"),
            ("lifetime_revenue", "gross_margin", "order_count", "first_order_date", "last_order_date", "paid_total",
             "potential_estimate", "potential_value", "model_value", "value_grade", "credit_limit"),
            side=True,
        ),
    )
    bulk_edit_fields = ("status", "level", "region", "industry", "source")
    import_lookups = {"owner": "username", "level": "name", "region": "code", "industry": "label", "source": "label"}
    actions = {"claim": CLAIM}
    department_field = "department"
    menu_group = "customers"
    menu_order = 10
    icon = "bi-buildings"

    bulk_actions = {
        "merge": BulkAction("customers:customer_merge_selected", _("Merge selected"), icon="bi-union"),
        "reassign": BulkAction("customers:customer_reassign", _("Reassign selected"), icon="bi-people"),
    }
    list_links = {"duplicates": ListLink("customers:customer_duplicates", _("Duplicates report"), icon="bi-copy")}

    import_confirm = ImportConfirm(
        "confirm_duplicates", _("Import possible duplicates anyway (a customer with the same tax ID is still refused)"),
    )

    def before_save(self, record, *, user, created):
        if created:
            assignment.assign_new([record], user)
        services.prepare_customer(customer=record, user=user, created=created)
        pool.note_owner_change(customer=record, user=user)

    def after_save(self, record, *, user, created):
        if created:
            assignment.after_assignment([record], user)

    def before_create_many(self, records, *, user):
        assignment.assign_new(records, user)
        services.prepare_new_customers(customers=records, user=user)  # new: no owner change to log

    def after_create_many(self, records, *, user):
        assignment.after_assignment(records, user)

    def check_created(self, records, *, user, earlier, confirmed):
        """The duplicate check of the customer form, for a chunk of imported customers."""
        found = duplicates.check_imported(records, user=user, imported_rows=earlier)
        result = {}
        for index, matches in enumerate(found):
            row_problems = duplicates.problems(matches, confirmed=confirmed)
            if row_problems:
                result[index] = row_problems
        return result

    @cached_property
    def form_class(self):
        from .forms import customer_form

        return customer_form(self)  # the generated form plus the duplicate check

    @cached_property
    def serializer_class(self):
        from .duplicate_views import customer_serializer

        return customer_serializer(self)  # 400 with the duplicates listed unless confirmed


@register(Contact)
class ContactResource(Resource):
    columns = ("name", "customer", "title", "mobile", "email", "decision_role")
    filters = ("customer", "decision_role", "is_primary")
    search = {"name": 100, "name_latin": 200, "mobile": 200, "phone": 200, "email": 300, "customer__name": 400}
    # Quick search at millions of contacts: prefixes of the folded name, phone and e-mail.
    search_prefix = {
        "name_key": normalize.person_key, "phone_key": normalize.phone_key, "email": normalize.email_key,
        "customer__name_key": normalize.name_key,
    }
    fieldsets = (
        (_("Contact"), ("customer", "name", "name_latin", "title", "department_name", "decision_role", "is_primary")),
        (_("Reach"), ("phone", "mobile", "email", "im", "address", "birthday", "notes")),
    )
    import_lookups = {"customer": "code"}
    scope_through = "customer"
    select_related = ("customer",)
    menu_group = "customers"
    menu_order = 20
    icon = "bi-person-lines-fill"
    bulk_actions = {
        "vcard3": core_resources.BulkAction("customers:contact_vcard_selected_3", "vCard 3.0", permission="export", icon="bi-person-vcard"),
        "vcard4": core_resources.BulkAction("customers:contact_vcard_selected_4", "vCard 4.0", permission="export", icon="bi-person-vcard"),
    }
    export_links = {
        "vcard3": core_resources.ExportLink("customers:contact_vcard_list", "vCard 3.0", query="version=3.0"),
        "vcard4": core_resources.ExportLink("customers:contact_vcard_list", "vCard 4.0", query="version=4.0"),
    }
    list_links = {
        "vcard_import": core_resources.ListLink("customers:contact_vcard_import", _("Import vCards"), icon="bi-person-vcard", permission="import"),
    }
    record_links = {
        "vcard3": core_resources.RecordLink("customers:contact_vcard", "vCard 3.0", icon="bi-person-vcard", query="version=3.0", permission="export"),
        "vcard4": core_resources.RecordLink("customers:contact_vcard", "vCard 4.0", icon="bi-person-vcard", query="version=4.0", permission="export"),
    }

    def before_save(self, record, *, user, created):
        services.prepare_contact(contact=record, user=user, created=created)


register_menu_page(
    group="customers", key="customers.addressbook", label=_("Address book"), url_name="customers:addressbook",
    icon="bi-journal-bookmark", order=25, model=Contact,
)


@register(Activity)
class ActivityResource(Resource):
    columns = ("subject", "customer", "kind", "occurred_at", "owner", "next_follow_up")
    filters = ("kind", "customer", "owner", "occurred_at", "next_follow_up")
    search = {"subject": 100, "outcome": 1000, "customer__name": 400}
    # Follow-ups are found by their customer's name (a prefix of its indexed key).
    search_prefix = {"customer__name_key": normalize.name_key}
    fieldsets = ((_("Follow-up"), ("customer", "contact", "kind", "subject", "occurred_at", "outcome", "next_follow_up", "owner")),)
    import_lookups = {"customer": "code", "owner": "username"}
    scope_through = "customer"
    select_related = ("customer",)
    menu_group = "customers"
    menu_order = 30
    icon = "bi-telephone-outbound"

    def before_save(self, record, *, user, created):
        reminders.reset_reminder(activity=record)

    def after_save(self, record, *, user, created):
        services.refresh_follow_up(customer_id=record.customer_id)

    def after_delete(self, record, *, user):
        services.refresh_follow_up(customer_id=record.customer_id)


@register(Region)
class RegionResource(Resource):
    columns = ("name", "code")
    search = {"name": 100, "code": 100}
    fieldsets = ((_("Region"), ("name", "code")),)
    ordering = ("path",)
    menu_group = "customers"
    menu_order = 80
    icon = "bi-globe-asia-australia"


@register(CustomerLevel)
class CustomerLevelResource(Resource):
    columns = ("name", "order", "pool_days", "reclaim_days", "description")
    search = {"name": 100}
    fieldsets = ((_("Customer level"), ("name", "order", "pool_days", "reclaim_days", "description")),)
    menu_group = "customers"
    menu_order = 90
    icon = "bi-bar-chart-steps"


# ---- public pool (公海) ---------------------------------------------------------------------


@register(PoolCustomer)
class PoolCustomerResource(Resource):
    """The public pool: every member who may view customers sees all of it, whatever their data
    scope, and may claim from it; nothing is edited here (claimed customers are edited as customers)."""

    read_only = True
    menu_label = _("Public pool")
    columns = ("name", "code", "level", "region", "industry", "pooled_at", "last_activity_at")
    filters = ("status", "level", "region", "industry", "source", "pooled_at")
    search = CustomerResource.search
    search_prefix = CustomerResource.search_prefix  # the pool is as big as the customers: no scan
    panels = (
        Panel(_("Customer"), ("kind", "name", "name_latin", "short_name", "code", "tax_id", "status")),
        Panel(_("Classification"), ("level", "industry", "source", "region", "pooled_at")),
        Panel(_("Reach"), ("phone", "mobile", "fax", "email", "website", "address", "notes")),
        Panel(_("Follow-up"), ("last_activity_at", "next_follow_up"), side=True),
        Panel(_("Owner changes"), template="customers/pool_transfers_panel.html", side=True),
    )
    actions = {"claim": CLAIM}
    bulk_actions = {"claim": BulkAction("customers:pool_claim", _("Claim selected"), permission="view", icon="bi-box-arrow-in-down")}
    menu_group = "customers"
    menu_order = 15
    icon = "bi-water"

    def __init__(self, model):
        super().__init__(model)
        self.owner_field = None  # nobody owns a customer in the pool

    def scope(self, user, scope, action="view"):
        """The whole pool for viewing and export, whatever the data scope of the member's grant
        on customers; nothing for any other action (the resource is read-only)."""
        return Q() if action in READ_ACTIONS else Q(pk__in=[])


@register(ClaimLimit)
class ClaimLimitResource(Resource):
    columns = ("member", "limit", "last_updated")
    filters = ("member",)
    search = {"member__username": 100, "member__first_name": 200}
    fieldsets = ((_("Claim limit"), ("member", "limit")),)
    import_lookups = {"member": "username"}
    menu_group = "customers"
    menu_order = 95
    icon = "bi-speedometer2"


@register(ValueGradeRule)
class ValueGradeRuleResource(Resource):
    columns = ("grade", "min_value")
    search = {"grade": 100}
    fieldsets = ((_("Value grade rule"), ("grade", "min_value")),)
    menu_group = "customers"
    menu_order = 95
    icon = "bi-award"

    def after_save(self, record, *, user, created):
        regrade_after_commit()

    def after_delete(self, record, *, user):
        regrade_after_commit()


def regrade_after_commit():
    from django.db import transaction

    from .tasks import regrade_customers

    transaction.on_commit(regrade_customers)
