"""Webhooks: every event is offered to the active webhooks whose event patterns and
resources match; the payload is built only if the webhook's owner may view the record
(restrict), signed with HMAC-SHA256 and delivered by a job retried with back-off."""

import fnmatch
import hashlib
import hmac
import json
import logging

from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from qinglan.core.events import subscribe

from .models import Webhook, WebhookDelivery

logger = logging.getLogger("qinglan.webhooks")
MAX_ATTEMPTS = 6
TIMEOUT_SECONDS = 10


def backoff_seconds(attempt):
    return min(30 * 2 ** (attempt - 1), 3600)


def signature(secret, body):
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def record_payload(event, user):
    """The record as the API shows it to `user`, or None if they may not view it."""
    from qinglan.core.registry import registry

    if event["content_type"] is None:
        return {}
    model = ContentType.objects.get_for_id(event["content_type"]).model_class()
    resource = registry.get(model)
    if event["event"].endswith(".deleted"):
        # The record is gone; send its last state only if the owner could see records of this kind at all.
        from qinglan.core.permissions import has_permission

        return {"id": event["object_id"]} if has_permission(user, model, "view") else None
    record = model._default_manager.restrict(user, "view").filter(pk=event["object_id"]).first()
    if record is None or resource is None:
        return None
    request = _FakeRequest(user)
    return resource.serializer_class(record, context={"request": request}).data


class _FakeRequest:
    """Serializers only read the user and build no absolute URLs here."""

    def __init__(self, user):
        self.user = user

    def build_absolute_uri(self, location=None):
        return location


@subscribe("*")
def offer_to_webhooks(event):
    webhooks = Webhook.objects.filter(active=True).select_related("owner").prefetch_related("content_types")
    for webhook in webhooks:
        if not any(fnmatch.fnmatchcase(event["event"], pattern) for pattern in webhook.events or ()):
            continue
        types = [ct.pk for ct in webhook.content_types.all()]
        if types and event["content_type"] not in types:
            continue
        data = record_payload(event, webhook.owner)
        if data is None:
            continue
        payload = {
            "event": event["event"],
            "time": timezone.now().isoformat(),
            "user": event["user"],
            "object_id": event["object_id"],
            "data": json.loads(json.dumps(data, cls=DjangoJSONEncoder)),
        }
        delivery = WebhookDelivery.objects.create(webhook=webhook, event=event["event"], payload=payload)
        from .tasks import deliver_webhook

        deliver_webhook(delivery.pk)
