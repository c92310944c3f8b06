"""Background jobs of the extras (Huey)."""

import json

import requests
from django.utils import timezone
from huey.contrib.djhuey import db_task

from .models import WebhookDelivery
from .webhooks import MAX_ATTEMPTS, TIMEOUT_SECONDS, backoff_seconds, signature


@db_task()
def deliver_webhook(delivery_id):
    delivery = WebhookDelivery.objects.select_related("webhook").filter(pk=delivery_id).first()
    if delivery is None or delivery.status == WebhookDelivery.Status.DELIVERED:
        return
    body = json.dumps(delivery.payload, ensure_ascii=False, sort_keys=True).encode()
    headers = {"Content-Type": "application/json; charset=utf-8", "X-Qinglan-Event": delivery.event, "X-Qinglan-Delivery": str(delivery.pk)}
    if delivery.webhook.secret:
        headers["X-Qinglan-Signature"] = "sha256=" + signature(delivery.webhook.secret, body)
    delivery.attempts += 1
    try:
        response = requests.post(delivery.webhook.url, data=body, headers=headers, timeout=TIMEOUT_SECONDS)
        delivery.response_code = response.status_code
        ok = 200 <= response.status_code < 300
        delivery.error = "" if ok else response.text[:500]
    except requests.RequestException as exc:
        ok = False
        delivery.error = str(exc)[:500]
    if ok:
        delivery.status = WebhookDelivery.Status.DELIVERED
        delivery.delivered_at = timezone.now()
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = WebhookDelivery.Status.FAILED
    else:
        delivery.status = WebhookDelivery.Status.RETRYING
    delivery.save()
    if delivery.status == WebhookDelivery.Status.RETRYING:
        deliver_webhook.schedule(args=(delivery.pk,), delay=backoff_seconds(delivery.attempts))
