"""Payments on /metrics: unfinished by state and the oldest's age, finished in the last day
by state."""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from ecitizen.payments import services
from ecitizen.payments.models import Payment, PaymentState


def _samples(client, name: str) -> dict[str, float]:
    response = client.get(reverse("core:metrics"))
    assert response.status_code == 200
    for family in text_string_to_metric_families(response.text):
        if family.name == name:
            return {sample.labels.get("state", ""): sample.value for sample in family.samples}
    raise AssertionError(f"{name} is missing")


def _payment(bill, key: str) -> Payment:
    return services.payment_create(
        bill=bill,
        idempotency_key=key,
        return_url="https://example.test/payments/{payment_id}/return/",
        payer=bill.payer,
    )


def test_unfinished_and_finished_payments_by_state(client, make_bill):
    created = _payment(make_bill(), "a")
    Payment.objects.filter(pk=created.pk).update(created_at=timezone.now() - timedelta(hours=2))
    started = _payment(make_bill(), "b")
    Payment.objects.filter(pk=started.pk).update(state=PaymentState.STARTED)
    failed = _payment(make_bill(), "c")
    Payment.objects.filter(pk=failed.pk).update(state=PaymentState.FAILED, finished=True)

    unfinished = _samples(client, "ecitizen_payments_unfinished")
    assert unfinished == {"created": 1, "started": 1, "submitted": 0}
    finished = _samples(client, "ecitizen_payments_finished_last_day")
    assert finished == {"cancelled": 0, "error": 0, "failed": 1, "success": 0}
    (age,) = _samples(client, "ecitizen_payments_unfinished_oldest_age_seconds").values()
    assert 2 * 3600 <= age < 3 * 3600
