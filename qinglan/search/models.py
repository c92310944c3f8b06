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


class DocumentText(models.Model):
    """The text extracted from one attachment (``search.extract``) and its index tokens,
    computed once by the extraction job. The tokens go into the index row of the record the
    attachment belongs to (weight D); the text gives the snippet of a hit found in it."""

    class Status(models.TextChoices):
        OK = "ok", _("indexed")
        EMPTY = "empty", _("no text")
        UNSUPPORTED = "unsupported", _("file type not read")
        ENCRYPTED = "encrypted", _("encrypted, not indexed")
        FAILED = "failed", _("could not be read")

    attachment = models.OneToOneField("extras.Attachment", on_delete=models.CASCADE, related_name="+")
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    object_id = models.BigIntegerField()
    name = models.CharField(_("name"), max_length=200)
    text = models.TextField(_("text"), blank=True)
    tokens = models.TextField(blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices)
    error = models.CharField(_("error"), max_length=500, blank=True)
    extracted = models.DateTimeField(_("extracted"), auto_now=True)

    class Meta:
        verbose_name = _("document text")
        verbose_name_plural = _("document texts")
        indexes = [models.Index(fields=["content_type", "object_id"], name="search_document_record")]

    def __str__(self):
        return self.name


class SearchTerm(models.Model):
    """A Latin word indexed in some record's title or fields: the vocabulary typo corrections
    are chosen from (``fuzzy.py``). On PostgreSQL with pg_trgm, ``term`` has a trigram index."""

    term = models.CharField(max_length=30, unique=True)

    class Meta:
        verbose_name = _("search term")
        verbose_name_plural = _("search terms")

    def __str__(self):
        return self.term


class SearchTermKey(models.Model):
    """A vocabulary word under one of its deletion keys (itself, or itself less one letter)."""

    key = models.CharField(max_length=30)
    term = models.CharField(max_length=30)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "term"], name="search_term_key_unique")]
