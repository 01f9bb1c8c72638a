"""Copy the ratings residents gave with the cases app's own form (``cases.ServiceRating``,
one per case) into the feedback app's ratings, so that none is lost when the rating moves
here.

The cases app's scores are the same five points (1: very dissatisfied … 5: very
satisfied); each becomes a rating of the step "application sent" for the case's
reference, with its service, its department (the case's), its time, and its comment
redacted as every comment now is (only the redacted text is stored). Running it again
copies nothing twice (a case's reference is rated once). ``cases.ServiceRating`` and its
table stay: removing them is a later migration of the cases app.
"""

from django.db import migrations

from ecitizen.core.text import clean_free_text
from ecitizen.feedback.redaction import redact

#: cases.ServiceRating.score -> feedback Level: the same scale, point for point.
SCORE_TO_LEVEL = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5}
BATCH = 500


def copy_case_ratings(apps, schema_editor):
    ServiceRating = apps.get_model("cases", "ServiceRating")
    Rating = apps.get_model("feedback", "Rating")
    rated = set(Rating.objects.filter(step="application").values_list("reference", flat=True))
    batch = []
    old_ratings = ServiceRating.objects.select_related("case", "service").order_by("pk")
    for old in old_ratings.iterator(chunk_size=BATCH):
        reference = old.case.reference
        if reference in rated:
            continue
        comment = redact(clean_free_text(old.comment or "").strip())
        batch.append(
            Rating(
                step="application",
                reference=reference,
                service_id=old.service_id,
                service_key=old.service.slug,
                department_id=old.case.department_id,
                level=SCORE_TO_LEVEL[old.score],
                comment=comment.text,
                redactions=comment.removed,
                source="cases",
                created_at=old.created_at,
            )
        )
        rated.add(reference)
        if len(batch) >= BATCH:
            Rating.objects.bulk_create(batch)
            batch = []
    Rating.objects.bulk_create(batch)


def remove_copied_ratings(apps, schema_editor):
    Rating = apps.get_model("feedback", "Rating")
    Rating.objects.filter(source="cases").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0004_fee_amount_currency_precision"),
        ("feedback", "0001_initial"),
    ]

    operations = [migrations.RunPython(copy_case_ratings, remove_copied_ratings)]
