"""Model mixins every resource is built from, and the platform's own records.

PrimaryModel = change-logged + custom fields + tags + attachments + comments + searchable.
OwnedModel adds an owner and shared-with members, which data scopes use.
"""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey, GenericRelation
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _
from treebeard.mp_tree import MP_Node, MP_NodeManager, MP_NodeQuerySet

from .permissions import RestrictedQuerySet


class RestrictedManager(models.Manager.from_queryset(RestrictedQuerySet)):
    pass


class BaseModel(models.Model):
    """Anything with a resource registration: restricted queries and timestamps."""

    created = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    last_updated = models.DateTimeField(_("last updated"), auto_now=True)

    objects = RestrictedManager()

    class Meta:
        abstract = True

    def get_absolute_url(self):
        from .registry import registry

        return registry.get(type(self)).url("detail", self)


class CustomFieldsMixin(models.Model):
    """Values of administrator-defined fields (extras.FieldDef), keyed by field name."""

    custom_field_data = models.JSONField(_("custom fields"), default=dict, blank=True, encoder=None)

    class Meta:
        abstract = True


class TagsMixin(models.Model):
    tagged_items = GenericRelation("extras.TaggedItem", related_query_name="%(app_label)s_%(class)s")

    class Meta:
        abstract = True

    @property
    def tag_list(self):
        return [item.tag for item in self.tagged_items.select_related("tag")]


class PrimaryModel(BaseModel, CustomFieldsMixin, TagsMixin):
    """A business record: change log, custom fields, tags, attachments, comments, events.
    (Comments and attachments belong to any resource's record; see extras.)"""

    class Meta:
        abstract = True


class OwnedModel(PrimaryModel):
    """A record someone owns; data scopes (own / department / subtree) follow the owner."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )

    class Meta:
        abstract = True


class ChildModel(models.Model):
    """A line of a parent record (order lines, contact methods…)."""

    objects = RestrictedManager()

    class Meta:
        abstract = True


class OrganizationalModel(BaseModel):
    """A small lookup (position, tag…) with a unique name. A lookup that every member may
    pick in forms and filters, whatever their grants, sets ``choices_for_everyone = True``."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.CharField(_("description"), max_length=300, blank=True)

    class Meta:
        abstract = True
        ordering = ("name",)

    def __str__(self):
        return self.name


class TreeQuerySet(MP_NodeQuerySet, RestrictedQuerySet):
    pass


class TreeManager(MP_NodeManager.from_queryset(TreeQuerySet)):
    def get_queryset(self):
        return TreeQuerySet(self.model, using=self._db).order_by("path")


class TreeModel(MP_Node):
    """A node of an unlimited tree (departments, regions, categories) kept as a materialized
    path, so a whole subtree is one indexed ``path__startswith`` query. Siblings sort by name.

    Set ``new_parent`` (a node or None for a root) before ``save()`` to place a new node or
    move an existing one; treebeard keeps the paths right."""

    node_order_by = ["name"]
    objects = TreeManager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        new_parent = getattr(self, "new_parent", "unchanged")
        manager = type(self)._default_manager
        if not self.pk and not self.path:
            self.new_parent = "unchanged"
            if new_parent not in (None, "unchanged"):
                manager.add_child(new_parent, instance=self)
            else:
                manager.add_root(instance=self)
            return
        super().save(*args, **kwargs)
        if new_parent != "unchanged" and self.parent != new_parent:
            self.new_parent = "unchanged"
            if new_parent is None:
                manager.move(self, manager.get_last_root_node(), "sorted-sibling")
            else:
                manager.move(self, new_parent, "sorted-child")
            self.refresh_from_db()

    @property
    def parent(self):
        return type(self)._default_manager.get_parent(self)

    def children(self):
        return type(self)._default_manager.get_children(self)

    def ancestors(self):
        """The nodes above this one, from the top down."""
        return list(type(self)._default_manager.get_ancestors(self))

    def full_name(self):
        return " / ".join([*(node.name for node in self.ancestors()), self.name])


class RecordShare(models.Model):
    """A record shared with a member beyond its owner: counts as 'own' for that member."""

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.BigIntegerField()
    record = GenericForeignKey("content_type", "object_id")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shares")
    can_change = models.BooleanField(_("may change"), default=False)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("share")
        verbose_name_plural = _("shares")
        constraints = [models.UniqueConstraint(fields=("content_type", "object_id", "user"), name="unique_share")]
        indexes = [models.Index(fields=("user", "content_type", "object_id"))]


class ObjectChange(models.Model):
    """Audit row: who changed what, with the record's state before and after."""

    class Action(models.TextChoices):
        CREATE = "create", _("created")
        UPDATE = "update", _("updated")
        DELETE = "delete", _("deleted")

    time = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("member"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    user_name = models.CharField(_("member"), max_length=150, blank=True)
    request_id = models.UUIDField(null=True, blank=True)
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.BigIntegerField()
    object_repr = models.CharField(_("record"), max_length=200)
    prechange_data = models.JSONField(null=True, blank=True)
    postchange_data = models.JSONField(null=True, blank=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ("-time", "-id")
        verbose_name = _("change")
        verbose_name_plural = _("change log")
        indexes = [models.Index(fields=("content_type", "object_id", "-time"))]

    def __str__(self):
        return f"{self.get_action_display()} {self.object_repr}"

    def diff(self):
        """[(field, before, after)] for the fields that changed."""
        before = self.prechange_data or {}
        after = self.postchange_data or {}
        keys = sorted(set(before) | set(after))
        return [(key, before.get(key), after.get(key)) for key in keys if before.get(key) != after.get(key)]


class UserPreference(models.Model):
    """Per-member settings stored by key (table columns, page size, …)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preferences")
    key = models.CharField(max_length=100)
    value = models.JSONField(default=dict)

    class Meta:
        constraints = [models.UniqueConstraint(fields=("user", "key"), name="unique_user_preference")]

    @classmethod
    def get(cls, user, key, default=None):
        row = cls.objects.filter(user=user, key=key).first()
        return row.value if row else default

    @classmethod
    def put(cls, user, key, value):
        cls.objects.update_or_create(user=user, key=key, defaults={"value": value})


class APIToken(models.Model):
    """A member's API key. Only a hash is stored; the key is shown once when created."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("member"), on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("key starts with"), max_length=8, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    write_enabled = models.BooleanField(_("may write"), default=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    expires = models.DateTimeField(_("expires"), null=True, blank=True)
    last_used = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        ordering = ("-created",)
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash_key(key):
        import hashlib

        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def issue(cls, *, user, name, write_enabled=True, expires=None):
        """Create a token and return (token, key); the key is not stored and cannot be shown again."""
        import secrets

        key = "ql_" + secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user, name=name, prefix=key[:8], key_hash=cls.hash_key(key), write_enabled=write_enabled, expires=expires
        )
        return token, key


class ImportJob(models.Model):
    """One upload of a CSV/XLSX file into a resource: mapped, checked (dry run), then run.
    Nothing is written until the member confirms a check without errors."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("uploaded")
        CHECKING = "checking", _("checking")
        CHECKED = "checked", _("checked")
        RUNNING = "running", _("importing")
        DONE = "done", _("imported")
        FAILED = "failed", _("failed")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    file = models.FileField(upload_to="imports/%Y/%m/", max_length=300)
    original_name = models.CharField(_("file"), max_length=200)
    encoding = models.CharField(max_length=20, blank=True)
    headers = models.JSONField(default=list)
    mapping = models.JSONField(default=dict, blank=True)
    # The member's "import anyway" for rows the form only warns about (Resource.import_confirm).
    confirm_warnings = models.BooleanField(default=False)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.UPLOADED)
    total_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    preview = models.JSONField(default=list, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created",)
        verbose_name = _("import")
        verbose_name_plural = _("imports")

    def __str__(self):
        return self.original_name
