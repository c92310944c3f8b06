"""Services for comments, attachments, notifications and saved filters."""

import mimetypes
import re

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from qinglan.core.changelog import log_change
from qinglan.core.events import queue_event
from qinglan.core.models import ObjectChange
from qinglan.core.permissions import may

from .models import Attachment, Comment, Notification

MENTION = re.compile(r"(?<![\w@])@([\w.\-+]{1,150})", re.UNICODE)


def _check_visible(record, user):
    if not may(user, "view", record):
        raise PermissionDenied(_("You may not see this record."))


def notify(*, user, title, body="", url="", event=""):
    return Notification.objects.create(user=user, title=title[:200], body=body, url=url[:500], event=event)


@transaction.atomic
def add_comment(*, record, user, text):
    """Comment on a record; members named as @username are notified if they may see it."""
    _check_visible(record, user)
    comment = Comment.objects.create(record=record, user=user, text=text)
    names = set(MENTION.findall(text))
    if names:
        members = get_user_model().objects.filter(username__in=names, is_active=True).exclude(pk=user.pk)
        for member in members:
            if may(member, "view", record):
                comment.mentions.add(member)
                notify(
                    user=member,
                    title=_("%(member)s mentioned you on %(record)s") % {"member": user, "record": record},
                    body=text[:500],
                    url=record.get_absolute_url() + "comments/",
                    event="comment.mention",
                )
    queue_event("extras.comment.created", record=comment, user=user, data={"record": str(record)})
    return comment


@transaction.atomic
def delete_comment(*, comment, user):
    if comment.user_id != user.pk and not user.is_superuser:
        raise PermissionDenied(_("Only the author may delete a comment."))
    comment.delete()


@transaction.atomic
def add_attachment(*, record, user, upload):
    _check_visible(record, user)
    name = upload.name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1][:200]
    mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
    attachment = Attachment(record=record, uploaded_by=user, name=name, size=upload.size, mime_type=mime)
    attachment.file.save(name, upload, save=False)
    attachment.save()
    log_change(record=record, action=ObjectChange.Action.UPDATE, user=user, before={}, after={"attachment": name})
    queue_event("extras.attachment.created", record=attachment, user=user, data=_attachment_event_data(attachment))
    return attachment


def _attachment_event_data(attachment):
    """Attachment events name the record the file belongs to (the file may be gone when a
    subscriber runs)."""
    return {"record_type": attachment.content_type_id, "record_id": attachment.object_id, "name": attachment.name}


@transaction.atomic
def delete_attachment(*, attachment, user):
    record = attachment.record
    if not may(user, "change", record) and attachment.uploaded_by_id != user.pk:
        raise PermissionDenied(_("You may not delete this attachment."))
    name = attachment.name
    queue_event("extras.attachment.deleted", record=attachment, user=user, data=_attachment_event_data(attachment))
    attachment.file.delete(save=False)
    attachment.delete()
    log_change(record=record, action=ObjectChange.Action.UPDATE, user=user, before={"attachment": name}, after={})


def mark_read(*, user, ids=None):
    queryset = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        queryset = queryset.filter(pk__in=ids)
    return queryset.update(read_at=timezone.now())
