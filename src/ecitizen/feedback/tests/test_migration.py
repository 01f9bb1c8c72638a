"""The ratings given with the cases app's own form are copied into the feedback app's
(migration 0002), none lost, none twice, their comments redacted."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone

from ecitizen.cases.models import ServiceRating
from ecitizen.cases.tests.support import submit_shed
from ecitizen.feedback.models import Rating, Step

pytestmark = [pytest.mark.django_db, pytest.mark.db_specific]

migration = importlib.import_module("ecitizen.feedback.migrations.0002_copy_case_ratings")


def _old_rating(case, score, comment, days_ago):
    rating = ServiceRating.objects.create(
        case=case, service_id=case.service_id, score=score, comment=comment
    )
    created = timezone.now() - timedelta(days=days_ago)
    ServiceRating.objects.filter(pk=rating.pk).update(created_at=created)
    return created


def test_every_case_rating_is_copied_with_its_score_comment_service_time_and_case(
    shed, resident, second_resident
):
    first = submit_shed(shed, resident)
    second = submit_shed(shed, second_resident)
    first_at = _old_rating(first, 5, "Quick. Call 07700 900461 if needed.", days_ago=40)
    second_at = _old_rating(second, 1, None, days_ago=3)

    migration.copy_case_ratings(apps, None)

    copies = {rating.reference: rating for rating in Rating.objects.all()}
    assert set(copies) == {first.reference, second.reference}
    happy, unhappy = copies[first.reference], copies[second.reference]
    assert (happy.level, happy.step, happy.source) == (5, Step.APPLICATION, Rating.Source.CASES)
    assert happy.comment == "Quick. Call [phone] if needed."
    assert happy.redactions == 1
    assert (happy.service_id, happy.service_key) == (shed.pk, "shed-permit")
    assert happy.department_id == first.department_id
    assert happy.created_at == first_at
    assert (unhappy.level, unhappy.comment, unhappy.created_at) == (1, "", second_at)


def test_running_it_again_copies_nothing_twice_and_keeps_newer_ratings(shed, resident):
    case = submit_shed(shed, resident)
    _old_rating(case, 4, "Fine", days_ago=1)
    migration.copy_case_ratings(apps, None)
    migration.copy_case_ratings(apps, None)
    assert Rating.objects.count() == 1
    # The cases app's table is kept as it was.
    assert ServiceRating.objects.count() == 1


def test_each_score_maps_to_the_same_point_of_the_five_point_scale():
    assert migration.SCORE_TO_LEVEL == {1: 1, 2: 2, 3: 3, 4: 4, 5: 5}
    from ecitizen.feedback.models import Level

    assert [Level(level).label for level in migration.SCORE_TO_LEVEL.values()] == [
        ServiceRating.Score(score).label for score in migration.SCORE_TO_LEVEL
    ]


def test_undoing_it_removes_only_the_copies(shed, resident, works):
    from ecitizen.feedback.services import Completed, rating_record

    case = submit_shed(shed, resident)
    _old_rating(case, 2, "", days_ago=2)
    migration.copy_case_ratings(apps, None)
    rating_record(
        completed=Completed(Step.PAYMENT, "p-1", "payments.fee", department_id=works.pk), level=4
    )
    migration.remove_copied_ratings(apps, None)
    assert list(Rating.objects.values_list("reference", flat=True)) == ["p-1"]
