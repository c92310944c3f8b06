"""The search index: one row per indexed record.

The token columns hold the output of ``text.index_text`` for the record's search fields,
bucketed by weight (A: ``title`` and fields numbered ≤ 100, B: ≤ 200, C: ≤ 300, D: the rest).
SQLite indexes them in the FTS5 table ``search_fts`` (external content, kept in step by
triggers); PostgreSQL in the generated ``vector`` column with a GIN index. Both are created
by migration 0001 for their own database only, so the model does not name them."""

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _


class SearchEntry(models.Model):
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    object_id = models.BigIntegerField()
    title = models.CharField(_("title"), max_length=300)
    body = models.TextField(_("text"), blank=True)  # the fields as written, for snippets
    tokens_a = models.TextField(blank=True)
    tokens_b = models.TextField(blank=True)
    tokens_c = models.TextField(blank=True)
    tokens_d = models.TextField(blank=True)
    updated = models.DateTimeField(_("updated"))

    class Meta:
        verbose_name = _("search entry")
        verbose_name_plural = _("search entries")
        constraints = [models.UniqueConstraint(fields=["content_type", "object_id"], name="search_entry_unique_record")]

    def __str__(self):
        return self.title
