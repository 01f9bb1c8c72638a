"""The ``feedback`` demo loader: ratings of every service, complaints at every stage,
compliments, suggestions and "You said, we did", made once from the seed."""

from __future__ import annotations

import pytest

from ecitizen.accounts.demo import demo_people_load
from ecitizen.accounts.selectors import user_by_email
from ecitizen.catalogue.selectors import services_published
from ecitizen.catalogue.services import service_definitions_publish
from ecitizen.core.registry import registry
from ecitizen.demo.services import riverton_context
from ecitizen.feedback.demo import COMPLAINTS, demo_feedback_load
from ecitizen.feedback.models import Kind, Rating, ServiceChange, Submission
from ecitizen.feedback.selectors import complaint_figures

pytestmark = pytest.mark.django_db


def test_the_loader_is_registered_after_the_cases():
    loader = registry.demo_loaders["feedback"]
    assert loader.load is demo_feedback_load
    assert loader.after == ("cases",)


def test_the_demo_rates_every_service_and_makes_complaints_once():
    context = riverton_context(seed=2026)
    demo_people_load(context)
    # The cases loader's services, without its cases (they take long to make).
    service_definitions_publish(directory=context.city.service_definitions, actor=None)

    made = demo_feedback_load(context)

    assert made == Rating.objects.count() > 0
    rated = set(Rating.objects.values_list("service_key", flat=True))
    services = {s.slug for s in services_published(listed=None) if s.slug != "complaint"}
    assert services <= rated
    assert "payments.fine" in rated
    assert Rating.objects.exclude(comment="").exists()
    # The comment that gave a phone number was stored without it.
    assert not Rating.objects.filter(comment__contains="900461").exists()
    complaints = Submission.objects.filter(kind=Kind.COMPLAINT)
    assert complaints.count() == len(COMPLAINTS)
    states = set(complaints.values_list("state", flat=True))
    assert {"received", "acknowledged", "responded", "stage2_requested"} <= states
    assert {"stage2_responded", "closed"} <= states
    # Received when their backdated cases were submitted, weeks ago.
    assert all(c.received_at == c.case.submitted_at for c in complaints)
    escalated = complaints.get(state="stage2_requested")
    assert escalated.acknowledged_at < escalated.responded_at < escalated.stage2_requested_at
    admin = user_by_email(email=context.city.email("admin"))
    figures = complaint_figures(user=admin, months=3)
    assert sum(month.received for month in figures) == len(COMPLAINTS)
    assert sum(month.acknowledged_in_time for month in figures) >= 1
    assert Submission.objects.filter(kind=Kind.COMPLIMENT).exists()
    assert Submission.objects.filter(kind=Kind.SUGGESTION).exists()
    assert ServiceChange.objects.count() == 3
    assert any("/staff/feedback/" in note for note in context.notes)

    counts = (Rating.objects.count(), Submission.objects.count(), ServiceChange.objects.count())
    assert demo_feedback_load(riverton_context(seed=2026)) == 0
    assert counts == (
        Rating.objects.count(),
        Submission.objects.count(),
        ServiceChange.objects.count(),
    )
