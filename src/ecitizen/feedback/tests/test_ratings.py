"""Rating a transaction: once per transaction, on GOV.UK's five-point scale, comments
redacted before they are stored, the transaction signed so that it cannot be forged."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from ecitizen.feedback import services
from ecitizen.feedback.models import Level, Rating, Step
from ecitizen.feedback.services import Completed, FeedbackError
from tests.concurrency import run_together

pytestmark = pytest.mark.django_db


@pytest.fixture
def completed(works):
    return Completed(
        step=Step.PAYMENT, reference="pay-1", service_key="payments.fine", department_id=works.pk
    )


def test_a_transaction_is_rated_once_and_a_second_rating_is_refused_kindly(completed):
    services.rating_record(completed=completed, level=Level.SATISFIED, comment="Quick.")
    with pytest.raises(FeedbackError) as refused:
        services.rating_record(completed=completed, level=Level.VERY_DISSATISFIED)
    assert refused.value.code == "already_rated"
    assert "Thank you" in str(refused.value.message)
    rating = Rating.objects.get()
    assert (rating.level, rating.comment, rating.department_id) == (
        Level.SATISFIED,
        "Quick.",
        completed.department_id,
    )


def test_the_database_keeps_one_rating_per_step_and_reference(completed):
    Rating.objects.create(
        step=completed.step, reference=completed.reference, service_key="x", level=3
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Rating.objects.create(
            step=completed.step, reference=completed.reference, service_key="x", level=4
        )
    # The same reference at another step is another transaction.
    Rating.objects.create(
        step=Step.DOCUMENT, reference=completed.reference, service_key="x", level=4
    )


def test_only_the_redacted_comment_is_stored(completed):
    rating = services.rating_record(
        completed=completed,
        level=Level.DISSATISFIED,
        comment="Call me on 07700 900461 or write to alex@example.test",
    )
    assert rating.comment == "Call me on [phone] or write to [email]"
    assert rating.redactions == 2
    assert not Rating.objects.filter(comment__contains="900461").exists()
    assert not Rating.objects.filter(comment__contains="@").exists()


def test_a_level_off_the_scale_and_an_overlong_comment_are_refused(completed):
    with pytest.raises(FeedbackError) as off_scale:
        services.rating_record(completed=completed, level=6)
    assert off_scale.value.code == "level"
    with pytest.raises(FeedbackError) as too_long:
        services.rating_record(completed=completed, level=3, comment="x" * 1201)
    assert too_long.value.code == "too_long"
    assert not Rating.objects.exists()


def test_the_token_carries_the_transaction_and_cannot_be_forged(completed):
    token = services.rating_token(completed)
    assert services.rating_token_read(token) == completed
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    with pytest.raises(FeedbackError) as refused:
        services.rating_token_read(forged)
    assert refused.value.code == "bad_link"
    with pytest.raises(FeedbackError):
        services.rating_token_read("")


def test_the_token_expires(completed):
    token = services.rating_token(completed)
    later = timezone.now() + timedelta(days=services.RATING_LINK_DAYS + 1)
    with time_machine.travel(later), pytest.raises(FeedbackError) as expired:
        services.rating_token_read(token)
    assert expired.value.code == "expired_link"


@pytest.mark.db_specific
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs concurrent writers (PostgreSQL)"
)
def test_two_submissions_at_once_make_one_rating(works):
    completed = Completed(
        step=Step.APPLICATION,
        reference="RIV-SP-2026-000001",
        service_key="shed-permit",
        department_id=works.pk,
    )
    outcomes: list[str] = []

    def rate(number: int) -> None:
        try:
            services.rating_record(completed=completed, level=Level.SATISFIED)
            outcomes.append("rated")
        except FeedbackError as error:
            outcomes.append(error.code)

    errors = run_together(rate, 4)
    assert not errors
    assert sorted(outcomes) == ["already_rated"] * 3 + ["rated"]
    assert Rating.objects.count() == 1
