"""Resource: the one registration from which the core builds filterset, table, forms,
serializer, API viewset, URLs, menu entry and detail page of an entity. Any piece can be
overridden by setting the matching attribute (``form = …``, ``filterset = …``, …)."""

from dataclasses import dataclass, field

from django.conf import settings
from django.db import connections, models
from django.db.models import Q
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.functional import cached_property

from .permissions import Scope


def _through(q, reference):
    """`q`, written for the records `reference` points to, as a condition on this record."""
    result = Q()
    result.connector, result.negated = q.connector, q.negated
    result.children = [
        _through(child, reference) if isinstance(child, Q) else (f"{reference}__{child[0]}", child[1]) for child in q.children
    ]
    return result


def _any(conditions):
    """The OR of Q conditions, or None for none."""
    combined = None
    for condition in conditions:
        combined = condition if combined is None else combined | condition
    return combined


@dataclass
class Child:
    """Lines edited with their parent (an inline formset) and shown on its page."""

    model: type
    fields: tuple
    fk_name: str | None = None
    extra: int = 1
    label: str | None = None
    min_num: int = 0
    form: type | None = None
    # The columns of its table on the record's page (default: `fields`); may name fields the
    # services keep, such as a line's total.
    columns: tuple | None = None
    # callable(record, field name, queryset) -> queryset: narrow a line field's choices by the
    # record the lines belong to (e.g. an invoice line picks only its order's lines).
    limit: object = None


@dataclass
class Action:
    """An object action bound to a service: ``service(record=…, user=…)``."""

    service: object
    label: str
    permission: str = "change"
    confirm: str | None = None
    style: str = "primary"
    available: object = None  # callable(record, user) -> bool: offer the action only when it applies


@dataclass
class BulkAction:
    """A button over the selected rows of a list: the chosen ids are POSTed as ``pk`` to the
    view named `url_name`, which starts from ``core.views.selected_queryset``."""

    url_name: str
    label: str
    permission: str = "change"
    icon: str = "bi-lightning"


@dataclass
class ListLink:
    """A button at the top of a list leading to a module's page about that list (a report, a
    pool), shown when the member has `permission` on the resource."""

    url_name: str
    label: str
    icon: str = "bi-box-arrow-up-right"
    permission: str = "view"


@dataclass
class ExportLink:
    """One more format in a list's Export menu: the view named `url_name` gets the list's
    filters as its query string, plus `query` (e.g. ``version=4.0``)."""

    url_name: str
    label: str
    query: str = ""
    permission: str = "export"


@dataclass
class RecordLink:
    """A button on a record's page leading to a module's view of that record (its URL takes
    ``pk``, plus `query`), shown when the member may `permission` that very record."""

    url_name: str
    label: str
    icon: str = "bi-box-arrow-up-right"
    query: str = ""
    permission: str = "view"


@dataclass
class ImportConfirm:
    """An import option that lets rows through which the resource's form only warns about
    (e.g. possible duplicates): when the member ticks it, `field` is True on every row."""

    field: str
    label: str


@dataclass
class Panel:
    """A box on the detail page: a list of fields, or a template given the record. `side`
    puts it in the narrower side column; a page with no side panel keeps one column."""

    title: str
    fields: tuple = ()
    template: str | None = None
    extra: dict = field(default_factory=dict)
    side: bool = False


_edit_locks = []
_url_around_pk = {}
_PK_SENTINEL = 987654321987


def add_edit_lock(lock):
    """Let another module lock records of any resource without editing it: `lock(record,
    action)` returns a translated sentence saying why `record` may not be changed ("change")
    or deleted ("delete") now, or None. Asked after the resource's own `edit_lock`."""
    _edit_locks.append(lock)


class Resource:
    model = None
    columns = ()
    filters = ()
    search = {}
    # Quick search by prefix over indexed, normalised keys, for resources too big to read in
    # full: {field: normaliser(text) -> key, or None for the text as typed}, e.g.
    # {"name_key": normalize.name_key, "phone_key": normalize.phone_key}. The keys must be
    # stored folded by the same normaliser and indexed; `search` still feeds global search.
    search_prefix = {}
    fieldsets = ()
    children = {}
    actions = {}
    bulk_actions = {}
    export_links = {}
    record_links = {}
    list_links = {}
    panels = None
    ordering = None
    menu_group = None
    menu_order = 100
    icon = "bi-table"
    owner_field = None
    department_field = None
    scope_through = None  # a reference whose record's scope this one follows, e.g. "customer"
    SHARES_INLINE = 500  # a member's shares of a resource written into its scope as a list up to this many
    # A read-only view of records (e.g. customers in the public pool): list, detail and export;
    # adding, changing, deleting and importing are refused whatever the member's grants.
    read_only = False
    bulk_edit_fields = None
    import_fields = None
    export_fields = None
    import_lookups = {}
    import_confirm = None  # an ImportConfirm: "import rows the form only warns about"
    select_related = ()
    # Optional overrides of generated pieces:
    form = None
    filterset = None
    table = None
    serializer = None
    viewset = None

    def __init__(self, model):
        self.model = model
        field_names = {f.name for f in model._meta.get_fields()}
        if self.owner_field is None and "owner" in field_names:
            self.owner_field = "owner"

    # ---- names and URLs -------------------------------------------------------------
    @property
    def app_label(self):
        return self.model._meta.app_label

    @property
    def model_name(self):
        return self.model._meta.model_name

    @property
    def label(self):
        return f"{self.app_label}.{self.model_name}"

    @property
    def verbose_name(self):
        return self.model._meta.verbose_name

    @property
    def verbose_name_plural(self):
        return self.model._meta.verbose_name_plural

    def url_name(self, view):
        return f"{self.app_label}:{self.model_name}_{view}"

    def url(self, view, obj=None, **kwargs):
        if obj is not None:
            kwargs["pk"] = obj.pk
        pk = kwargs.get("pk")
        if not kwargs or (len(kwargs) == 1 and type(pk) is int):
            # A record's address is the same text around its key, a list's is fixed: reversed
            # once per view and URL configuration (a page of 200 order lines links ~600
            # records; the menu links every list on every page).
            key = (self.url_name(view), get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)
            around = _url_around_pk.get(key)
            if around is None:
                head, _sentinel, tail = reverse(key[0], kwargs={"pk": _PK_SENTINEL} if kwargs else None).partition(str(_PK_SENTINEL))
                around = _url_around_pk[key] = (head, tail)
            return f"{around[0]}{pk}{around[1]}" if kwargs else around[0]
        return reverse(self.url_name(view), kwargs=kwargs or None)

    @property
    def list_url(self):
        return self.url("list")

    @property
    def api_basename(self):
        return f"{self.app_label}-{self.model_name}"

    @property
    def api_prefix(self):
        name = self.model_name
        plural = name[:-1] + "ies" if name.endswith("y") else name + ("es" if name.endswith("s") else "s")
        return f"{self.app_label}/{plural}"

    # ---- permissions -----------------------------------------------------------------
    def scope(self, user, scope, action="view"):
        """The records a data scope covers for `user`, as a Q (never SQL)."""
        if scope == Scope.ALL:
            return Q()
        if self.scope_through:
            return self.parent_scope(user, scope, action)
        if not self.owner_field and not self.department_field:
            return Q()  # no owner and no department: the scope does not narrow this resource
        own = self.own_q(user, action)
        if scope == Scope.OWN:
            return own
        return own | self.department_q(user, subtree=scope == Scope.SUBTREE)

    def parent_scope(self, user, scope, action):
        """Records whose `scope_through` record (e.g. a contact's customer) is in scope."""
        from .registry import registry

        parent_model = self.model_field(self.scope_through).related_model
        parent_q = registry.get(parent_model).scope(user, scope, action)
        if not parent_q:
            return Q()
        if connections[self.model._default_manager.db].vendor == "sqlite":
            # Conditions on the joined record (customer.department_id = …): as an IN list of
            # every customer in scope, SQLite's planner starts from the whole scope even when a
            # quick search has narrowed the rows to a few hundred (contacts at 3 M: 121 → 61 ms).
            return _through(parent_q, self.scope_through)
        # PostgreSQL meets `customer_id IN (customers in scope)` with the other conditions on
        # the customer first; on the joined row it checks the scope only after reading the
        # follow-ups (5 M follow-ups searched by customer name: 98 → 152 ms).
        return Q(**{f"{self.scope_through}__in": parent_model._default_manager.filter(parent_q).values("pk")})

    @property
    def shareable(self):
        return bool(self.owner_field) and self.owner_field != "self" and not self.scope_through

    def own_q(self, user, action="view"):
        """Records the member owns, plus those shared with them: shares give view and export,
        and change when the share allows it. A share that may change also passes the check
        after adding: a module that gives a new record to someone else by a rule (the
        customers' territories) shares it with the member who entered it in the same step."""
        if self.owner_field == "self":
            return Q(pk=user.pk)
        if not self.owner_field:
            return Q(pk__in=[])
        own = Q(**{self.owner_field: user.pk})
        if action not in ("view", "export", "change", "add"):
            return own
        from django.contrib.contenttypes.models import ContentType

        from .models import RecordShare

        shares = RecordShare.objects.filter(user=user, content_type=ContentType.objects.get_for_model(self.model))
        if action in ("change", "add"):
            shares = shares.filter(can_change=True)
        # The shares read now, as a list, while there are few: `owner = … OR id IN (subquery)`
        # keeps PostgreSQL from the owner's index, so a bounded count of a salesperson's 200,000
        # orders read rows until 1,001 matched; `owner = … OR id IN (1, 2)` (or no shares at
        # all: `owner = …`) is answered by the indexes.
        shared = list(shares.values_list("object_id", flat=True)[: self.SHARES_INLINE + 1])
        if len(shared) > self.SHARES_INLINE:
            return own | Q(pk__in=shares.values("object_id"))
        return own | Q(pk__in=shared) if shared else own

    def department_q(self, user, subtree):
        from qinglan.org.models import Department, User

        if not user.department_id:
            return Q(pk__in=[])
        if subtree:
            path = Department.objects.filter(pk=user.department_id).values_list("path", flat=True).first() or ""
            departments = Department.objects.filter(path__startswith=path).values("pk")
        else:
            departments = [user.department_id]
        if self.department_field == "self":
            return Q(pk__in=departments)
        if self.department_field:
            return Q(**{f"{self.department_field}__in": departments})
        members = User.objects.filter(department__in=departments).values("pk")
        return Q(**{f"{self.owner_field}__in": members})

    # ---- fields ----------------------------------------------------------------------
    def get_ordering(self):
        ordering = self.ordering or self.model._meta.ordering or ("-pk",)
        return tuple(ordering)

    def form_fields(self):
        if self.fieldsets:
            return tuple(name for _title, names in self.fieldsets for name in names)
        return tuple(
            f.name
            for f in self.model._meta.get_fields()
            if getattr(f, "editable", False)
            and not f.auto_created
            and f.concrete
            and f.name not in {"custom_field_data", "id", "path", "depth", "numchild"}
        )

    def get_fieldsets(self):
        return self.fieldsets or ((self.verbose_name, self.form_fields()),)

    def model_field(self, name):
        try:
            return self.model._meta.get_field(name)
        except Exception:
            return None

    def get_bulk_edit_fields(self):
        if self.bulk_edit_fields is not None:
            return tuple(self.bulk_edit_fields)
        result = []
        for name in self.form_fields():
            f = self.model_field(name)
            if f is None or f.unique or isinstance(f, (models.FileField, models.ManyToManyField)):
                continue
            result.append(name)
        return tuple(result)

    def get_import_fields(self):
        if self.import_fields is not None:
            return tuple(self.import_fields)
        return tuple(
            name
            for name in self.form_fields()
            if not isinstance(self.model_field(name), (models.FileField, models.ImageField))
        )

    def get_export_fields(self):
        if self.export_fields is not None:
            return tuple(self.export_fields)
        names = ["id"]
        for name in (*self.columns, *self.form_fields()):
            f = self.model_field(name)
            if name not in names and not isinstance(f, models.FileField) and "__" not in name:
                names.append(name)
        return tuple(names)

    def get_queryset(self):
        related = list(self.select_related)
        for name in self.columns:
            f = self.model_field(name)
            if isinstance(f, models.ForeignKey) and name not in related:
                related.append(name)
        qs = self.model._default_manager.all()
        return qs.select_related(*related) if related else qs

    # ---- hooks into the generic services (create, update, bulk edit, import, API) ----------
    def before_save(self, record, *, user, created):
        """Called inside the saving transaction before the record is written; a module calls
        its own service here (e.g. to number a new record or derive a field)."""

    def after_save(self, record, *, user, created):
        """Called inside the saving transaction after the record and its lines are written."""

    def after_delete(self, record, *, user):
        """Called inside the deleting transaction once the record is gone (its pk still set)."""

    def edit_lock(self, record, action):
        """Why `record` may not be changed (`action` "change") or deleted ("delete") now — a
        translated sentence (e.g. an order waiting for approval, or completed) — or None. The
        update, bulk edit and delete services refuse with it (so the form, the API, bulk edit
        and imports all do), and the record's page offers no Edit or Delete while it holds."""
        return None

    def locked(self, record, action):
        """The resource's own `edit_lock`, then the locks other modules add for records of any
        resource (`add_edit_lock`, e.g. a record waiting for approval in a workflow): the first
        reason found, or None. The generic services and pages ask this, not `edit_lock`."""
        reason = self.edit_lock(record, action)
        if reason:
            return reason
        for lock in _edit_locks:
            reason = lock(record, action)
            if reason:
                return reason
        return None

    # ---- the same for many new records at once (services.create_many: imports) ------------
    def before_create_many(self, records, *, user):
        """Before new records are written in bulk. By default before_save for each; override
        to do a per-record query once for all (e.g. reserve a block of numbers)."""
        for record in records:
            self.before_save(record, user=user, created=True)

    def after_create_many(self, records, *, user):
        """After new records (with their pks) are written in bulk; by default after_save for each."""
        for record in records:
            self.after_save(record, user=user, created=True)

    def check_created(self, records, *, user, earlier, confirmed):
        """Checks that compare a new record with the others in the database (a form does them
        one record at a time; an import does them here for a chunk of written records).
        `earlier` maps the pks the same import has written (these records included) to their
        row numbers;
        `confirmed` is the member's "import anyway" of `import_confirm`. Returns
        {index in records: [(field name or "", message)]}."""
        return {}

    @property
    def bulk_creatable(self):
        """Whether new records may be written with one INSERT per chunk: not when the model's
        own save() or a save signal does work a bulk insert would skip."""
        from django.db.models import signals

        from .models import TreeModel

        model = self.model
        return (
            not issubclass(model, TreeModel)
            and model.save is models.Model.save
            and not signals.pre_save.has_listeners(model)
            and not signals.post_save.has_listeners(model)
        )

    def get_actions(self):
        return {
            name: action if isinstance(action, Action) else Action(service=action, label=name.replace("_", " "))
            for name, action in self.actions.items()
        }

    def get_panels(self):
        if self.panels is not None:
            return list(self.panels)
        return [Panel(title=title, fields=names) for title, names in self.get_fieldsets()]

    # ---- generated pieces (built once per resource; overridable) -------------------
    @cached_property
    def form_class(self):
        from .forms import resource_form_factory

        return self.form or resource_form_factory(self)

    @cached_property
    def filterset_class(self):
        from .filtersets import resource_filterset_factory

        return self.filterset or resource_filterset_factory(self)

    @cached_property
    def table_class(self):
        from .tables import resource_table_factory

        return self.table or resource_table_factory(self)

    @cached_property
    def serializer_class(self):
        from .api.serializers import resource_serializer_factory

        return self.serializer or resource_serializer_factory(self)

    @cached_property
    def viewset_class(self):
        from .api.views import resource_viewset_factory

        return self.viewset or resource_viewset_factory(self)

    def formsets(self):
        from .forms import child_formset_factory

        return {name: child_formset_factory(self, name, child) for name, child in self.children.items()}

    def quick_search_q(self, text):
        """Filter for the list's quick-search box (and the autocomplete endpoint).

        With ``search_prefix`` declared: records one of whose keys starts with the text, as
        folded by that key's normaliser, i.e. indexable prefix conditions (``__keyprefix``).
        Otherwise: the text anywhere in one of the ``search`` fields, which reads every row."""
        text = text.replace("\x00", "").strip()  # PostgreSQL refuses NUL in text parameters
        if text and self.search_prefix:
            own, related = [], []
            for name, normalise in self.search_prefix.items():
                key = normalise(text) if normalise else text
                if key and "__" in name:
                    related.append(self._related_key_q(name, key))
                elif key:
                    own.append(Q(**{f"{name}__keyprefix": key}))
            if not own and len(related) == 1 and connections[self.model._default_manager.db].vendor == "postgresql":
                # Only a related record's key (a follow-up's customer's name): PostgreSQL meets a
                # plain condition on the reference together with the member's scope (on that
                # same reference) before it reads any of this table's rows (40 ms at 5 M
                # follow-ups, against 570 ms as ids below). SQLite would instead walk the whole
                # scope (390 ms, against 90 ms as ids).
                return related[0]
            # As a subquery: ORed with the member's scope (owner OR department…), the prefix
            # conditions lose to the scope's indexes in SQLite's planner and it reads the whole
            # department; ``pk IN (…)`` makes it collect the matching ids from the key indexes
            # alone and then visit only those rows, in pk order. A related record's key (a
            # contact's customer's name) is a branch of its own, UNIONed: ORed with this
            # table's keys it could use no index and the database would walk every row.
            branches = [self.model._base_manager.filter(condition).values("pk") for condition in [_any(own), *related] if condition]
            if not branches:
                return Q(pk__in=[])
            return Q(pk__in=branches[0].union(*branches[1:]) if len(branches) > 1 else branches[0])
        if not text or not self.search:
            return Q()
        q = Q()
        for name in self.search:
            q |= Q(**{f"{name}__icontains": text})
        return q

    def _related_key_q(self, name, key):
        """``fk IN (ids of the related records whose key starts with key)``: found through the
        related table's key index, then this table's index on the reference."""
        reference, rest = name.split("__", 1)
        related = self.model._meta.get_field(reference).related_model
        return Q(**{f"{reference}__in": related._base_manager.filter(**{f"{rest}__keyprefix": key}).values("pk")})

    menu_label = None

    def get_menu_label(self):
        return self.menu_label or self.verbose_name_plural

    def shown_in_menu(self, user):
        """Whether the menu lists this resource for a member who may view its model (e.g. a
        proxy resource whose rows the member's grants all leave out); every one by default."""
        return True

