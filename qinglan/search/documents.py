"""Attachments in the index: their text is extracted by a background job when they are added
(``extras.attachment.created``), kept with its index tokens in ``DocumentText``, and indexed
with the record they belong to, so a phrase from a PDF attached to a customer finds the
customer. Removing an attachment (``extras.attachment.deleted``) re-indexes its record.

Broken or hostile files are logged and skipped (a ``failed`` row, so a rebuild does not try
them again); encrypted PDFs are read only with ``QINGLAN_SEARCH_INDEX_ENCRYPTED = True`` and
only when the empty password opens them."""

import logging

from django.contrib.contenttypes.models import ContentType

from . import extract
from .models import DocumentText
from .text import index_text

logger = logging.getLogger("qinglan.search")

MAX_FILE_BYTES = 64 * 1024 * 1024  # larger files are not read at all
MAX_RECORD_TOKENS = 4_000_000  # characters of attachment tokens per index row


def _read(attachment):
    if attachment.size and attachment.size > MAX_FILE_BYTES:
        raise extract.ExtractionError(f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    try:
        with attachment.file.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except (FileNotFoundError, OSError, ValueError) as exc:
        raise extract.ExtractionError(f"cannot open the file: {exc}") from exc
    if len(data) > MAX_FILE_BYTES:
        raise extract.ExtractionError(f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    return data


def extract_attachment(attachment):
    """Extract (again) the text of one attachment into its DocumentText row; never raises
    for a bad file. Returns the row."""
    values = {"content_type_id": attachment.content_type_id, "object_id": attachment.object_id, "name": attachment.name[:200]}
    if not extract.supported(attachment.name):
        values.update(text="", tokens="", status=DocumentText.Status.UNSUPPORTED, error="")
    else:
        try:
            result = extract.extract(attachment.name, _read(attachment))
            if result.note:
                logger.warning("search: attachment %s (%r) read in part: %s", attachment.pk, attachment.name, result.note)
            values.update(text=result.text, tokens=index_text(result.text) if result.text else "", status=result.status, error=result.note[:500])
        except extract.ExtractionError as exc:
            logger.warning("search: attachment %s (%r) skipped, it could not be read: %s", attachment.pk, attachment.name, exc)
            values.update(text="", tokens="", status=DocumentText.Status.FAILED, error=str(exc)[:500])
    row, _created = DocumentText.objects.update_or_create(attachment=attachment, defaults=values)
    return row


def index_attachment(attachment_id):
    """The job: extract one attachment and re-index the record it belongs to."""
    from qinglan.extras.models import Attachment

    from .index import index_record

    attachment = Attachment.objects.filter(pk=attachment_id).first()
    if attachment is None:  # deleted before the job ran
        return
    extract_attachment(attachment)
    model = ContentType.objects.get_for_id(attachment.content_type_id).model_class()
    if model is not None:
        index_record(model, attachment.object_id)


def extract_missing(content_type):
    """Extract the attachments of records of `content_type` that have no text yet (attached
    before indexing, or while the job was not running). Returns how many."""
    from qinglan.extras.models import Attachment

    done = set(DocumentText.objects.filter(content_type=content_type).values_list("attachment_id", flat=True))
    count = 0
    for attachment in Attachment.objects.filter(content_type=content_type).order_by("pk").iterator(chunk_size=200):
        if attachment.pk not in done:
            extract_attachment(attachment)
            count += 1
    return count


def tokens_by_record(content_type, object_ids):
    """{object_id: the attachment tokens to index with it} (newest attachments first, at most
    MAX_RECORD_TOKENS characters per record)."""
    found = {}
    rows = (
        DocumentText.objects.filter(content_type=content_type, object_id__in=object_ids, status=DocumentText.Status.OK)
        .order_by("object_id", "-attachment_id")
        .values_list("object_id", "tokens")
    )
    for object_id, tokens in rows.iterator(chunk_size=100):
        parts = found.setdefault(object_id, [])
        used = sum(len(part) + 1 for part in parts)
        if used < MAX_RECORD_TOKENS:
            parts.append(tokens[: MAX_RECORD_TOKENS - used])
    return {object_id: " ".join(parts) for object_id, parts in found.items()}
