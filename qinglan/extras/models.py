"""Extras every resource gets: custom fields, tags, comments, attachments, saved filters,
notifications, webhooks."""

import os

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.validators import RegexValidator
from django.db import models
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from qinglan.core.models import BaseModel, OrganizationalModel
from qinglan.core.permissions import RestrictedQuerySet


class FieldType(models.TextChoices):
    TEXT = "text", _("text")
    LONGTEXT = "longtext", _("long text")
    INTEGER = "integer", _("whole number")
    DECIMAL = "decimal", _("decimal number")
    DATE = "date", _("date")
    DATETIME = "datetime", _("date and time")
    BOOLEAN = "boolean", _("yes/no")
    CHOICE = "choice", _("choice")
    MULTICHOICE = "multichoice", _("multiple choice")
    URL = "url", _("URL")
    EMAIL = "email", _("e-mail")
    REFERENCE = "reference", _("reference to a record")


class FieldDef(BaseModel):
    """A field an administrator adds to a resource without code."""

    content_type = models.ForeignKey(ContentType, verbose_name=_("resource"), on_delete=models.CASCADE, related_name="+")
    name = models.CharField(
        _("name"),
        max_length=50,
        validators=[RegexValidator(r"^[a-z][a-z0-9_]*$", _("Use lower-case letters, digits and underscores, starting with a letter."))],
        help_text=_("Internal name used in imports, exports and the API."),
    )
    label = models.CharField(_("label"), max_length=100)
    type = models.CharField(_("type"), max_length=12, choices=FieldType.choices, default=FieldType.TEXT)
    required = models.BooleanField(_("required"), default=False)
    default = models.JSONField(_("default value"), null=True, blank=True)
    choices = models.JSONField(
        _("choices"), default=list, blank=True, help_text=_("For choice fields: a list of options, one per line.")
    )
    dictionary = models.ForeignKey(
        "org.Dictionary",
        verbose_name=_("options from dictionary"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reference_type = models.ForeignKey(
        ContentType, verbose_name=_("referenced resource"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    help_text = models.CharField(_("help text"), max_length=200, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=100)
    show_in_list = models.BooleanField(_("show in list"), default=False)
    filterable = models.BooleanField(_("filterable"), default=True)

    class Meta:
        ordering = ("content_type", "order", "name")
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        constraints = [models.UniqueConstraint(fields=("content_type", "name"), name="unique_field_per_resource")]

    def __str__(self):
        return f"{self.content_type.name} · {self.label}"

    def clean(self):
        from .customfields import clean_definition

        clean_definition(self)

    def form_field(self):
        from .customfields import form_field

        return form_field(self)

    def to_json(self, value):
        from .customfields import to_json

        return to_json(self, value)

    def to_form(self, value):
        from .customfields import to_form

        return to_form(self, value)

    def option_choices(self):
        if self.dictionary_id:
            return self.dictionary.choices()
        return [(str(option), str(option)) for option in self.choices or []]


class Tag(OrganizationalModel):
    choices_for_everyone = True
    slug = models.SlugField(_("slug"), max_length=100, unique=True, allow_unicode=True)
    color = models.CharField(_("colour"), max_length=7, default="#6c757d", validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$")])

    class Meta(OrganizationalModel.Meta):
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = slugify(self.name, allow_unicode=True) or f"tag-{self.pk or ''}"
        super().save(*args, **kwargs)


class TaggedItem(models.Model):
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="items")
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    object_id = models.BigIntegerField()
    record = GenericForeignKey("content_type", "object_id")

    class Meta:
        constraints = [models.UniqueConstraint(fields=("tag", "content_type", "object_id"), name="unique_tagged_item")]
        indexes = [models.Index(fields=("content_type", "object_id"))]


def set_tags(record, tags):
    content_type = ContentType.objects.get_for_model(record)
    wanted = {tag.pk for tag in tags}
    existing = set(TaggedItem.objects.filter(content_type=content_type, object_id=record.pk).values_list("tag_id", flat=True))
    TaggedItem.objects.filter(content_type=content_type, object_id=record.pk, tag_id__in=existing - wanted).delete()
    TaggedItem.objects.bulk_create(
        [TaggedItem(tag_id=tag_id, content_type=content_type, object_id=record.pk) for tag_id in wanted - existing]
    )


class RecordLinkQuerySet(RestrictedQuerySet):
    def for_record(self, record):
        return self.filter(content_type=ContentType.objects.get_for_model(record), object_id=record.pk)


class RecordLinkMixin(models.Model):
    """Belongs to one record of any resource."""

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    object_id = models.BigIntegerField()
    record = GenericForeignKey("content_type", "object_id")

    class Meta:
        abstract = True
        indexes = [models.Index(fields=("content_type", "object_id"))]


class Comment(RecordLinkMixin):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("member"), on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("comment"), max_length=10000)
    created = models.DateTimeField(_("time"), auto_now_add=True)
    mentions = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+", blank=True)

    objects = models.Manager.from_queryset(RecordLinkQuerySet)()

    class Meta(RecordLinkMixin.Meta):
        ordering = ("created", "id")
        verbose_name = _("comment")
        verbose_name_plural = _("comments")

    def __str__(self):
        return self.text[:50]


def attachment_path(instance, filename):
    return f"attachments/{instance.content_type_id}/{instance.object_id}/{filename}"


class Attachment(RecordLinkMixin):
    file = models.FileField(_("file"), upload_to=attachment_path, max_length=300)
    name = models.CharField(_("name"), max_length=200)
    size = models.PositiveBigIntegerField(_("size"), default=0)
    mime_type = models.CharField(_("type"), max_length=100, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.PROTECT, related_name="+")
    created = models.DateTimeField(_("time"), auto_now_add=True)

    objects = models.Manager.from_queryset(RecordLinkQuerySet)()

    class Meta(RecordLinkMixin.Meta):
        ordering = ("-created", "-id")
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self):
        return self.name

    @property
    def extension(self):
        return os.path.splitext(self.name)[1].lower().lstrip(".")


class SavedFilter(models.Model):
    """A named list query (filters, sort, columns) a member can reuse or share."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_filters")
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=100)
    query = models.CharField(_("query"), max_length=2000)
    shared = models.BooleanField(_("shared with everyone"), default=False)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("name",)
        verbose_name = _("saved filter")
        verbose_name_plural = _("saved filters")

    def __str__(self):
        return self.name


class Notification(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("message"), blank=True)
    url = models.CharField(_("link"), max_length=500, blank=True)
    event = models.CharField(_("event"), max_length=100, blank=True)
    created = models.DateTimeField(_("time"), auto_now_add=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        ordering = ("-created", "-id")
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [models.Index(fields=("user", "read_at", "-created"))]

    def __str__(self):
        return self.title


class Webhook(BaseModel):
    """Sends events as signed JSON POSTs. Payloads only carry records its owner may see."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    url = models.URLField(_("URL"), max_length=500)
    events = models.JSONField(_("events"), default=list, help_text=_('Event names such as "org.user.created"; "*" for all.'))
    content_types = models.ManyToManyField(ContentType, verbose_name=_("resources"), blank=True, related_name="+")
    secret = models.CharField(_("secret"), max_length=200, blank=True, help_text=_("Used to sign payloads (HMAC-SHA256)."))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("run as"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Only records this member may view are sent."),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ("name",)
        verbose_name = _("webhook")
        verbose_name_plural = _("webhooks")

    def __str__(self):
        return self.name


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        DELIVERED = "delivered", _("delivered")
        RETRYING = "retrying", _("retrying")
        FAILED = "failed", _("failed")

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(_("event"), max_length=100)
    payload = models.JSONField()
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    response_code = models.PositiveSmallIntegerField(_("response code"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)
    created = models.DateTimeField(_("time"), auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created", "-id")
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
