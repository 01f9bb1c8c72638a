"""Background work of the payments app: the sandbox provider's webhook deliveries."""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from datetime import timedelta

from django.utils import timezone
from django_tasks import task

logger = logging.getLogger(__name__)


@task()
def sandbox_deliver_webhook(body: str, attempt: int = 0) -> None:
    """POST one signed sandbox event to the platform's webhook endpoint, like a real
    provider: at least once, retried after 10 s, 1 min, 5 min and 30 min when the
    endpoint does not answer 2xx, then given up (the reconciliation job still settles
    the payment)."""
    from ecitizen.payments.providers.base import WebhookRejected
    from ecitizen.payments.providers.sandbox import (
        WEBHOOK_RETRY_DELAYS,
        delivery_headers,
        webhook_url,
    )

    data = body.encode()
    try:
        headers = delivery_headers(data)
    except WebhookRejected as exc:  # no secret: nothing can be signed, retrying won't help
        logger.error("sandbox webhook not sent: %s", exc)
        return
    request = urllib.request.Request(  # noqa: S310 - our own configured endpoint
        webhook_url(), data=data, headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            if 200 <= response.status < 300:
                return
            error = f"HTTP {response.status}"
    except (urllib.error.URLError, OSError) as exc:
        error = type(exc).__name__
    backend = sandbox_deliver_webhook.get_backend()
    if attempt < len(WEBHOOK_RETRY_DELAYS) and backend.supports_defer:
        delay = WEBHOOK_RETRY_DELAYS[attempt]
        logger.warning("sandbox webhook not delivered (%s); retrying in %ss", error, delay)
        sandbox_deliver_webhook.using(run_after=timezone.now() + timedelta(seconds=delay)).enqueue(
            body, attempt + 1
        )
        return
    logger.error("sandbox webhook given up after %d attempts (%s)", attempt + 1, error)


@task()
def payment_receipt_issue(payment_id: str) -> None:
    """Issue the receipt of a settled payment (idempotent) and tell the payer."""
    from ecitizen.payments.models import Payment
    from ecitizen.payments.services import payment_receipt_issue as issue

    payment = Payment.objects.filter(pk=payment_id).first()
    if payment is not None:
        issue(payment=payment)
