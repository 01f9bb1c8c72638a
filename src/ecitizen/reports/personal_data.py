"""What the reports app holds about a resident, for their data rights (the ``privacy``
app): the street problems they reported (with their photos), those they said "me too"
to, and their alerts. Registered as ``reports`` in ``ReportsConfig.ready()``."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.utils.translation import gettext_lazy as _

from ecitizen.core.registry import PersonalData

NAME = "reports"


def export(user: Any) -> dict[str, Any]:
    """The reports ``user`` made (the photos as they uploaded them; for a report sent
    through an app, the app and the ids of the device and of the account there it sent),
    the reports they support and the alerts they set up (their place decrypted). A fixed
    number of queries, however many records there are."""
    from ecitizen.documents.services import upload_read
    from ecitizen.reports.models import Report, ReportAlert, ReportSupporter

    items: list[dict[str, Any]] = []
    files: list[dict[str, Any]] = []
    reports = (
        Report.objects.filter(reporter=user)
        .select_related("ward", "api_client")
        .prefetch_related("photos__original", "updates")
        .order_by("requested_at", "pk")
    )
    for report in reports:
        photos = []
        for photo in report.photos.all():
            upload = photo.original
            path = f"files/reports/{report.pk}/{upload.pk}-{upload.filename}"
            photos.append({"path": path, "content_type": upload.content_type})
            files.append(
                {
                    "path": path,
                    "content_type": upload.content_type,
                    "read": partial(upload_read, upload=upload),
                }
            )
        items.append(
            {
                "kind": "street_report",
                "reference": report.reference or "",
                "category": report.category,
                "title": report.title,
                "description": report.description,
                "latitude": report.latitude,
                "longitude": report.longitude,
                "address": report.address,
                "ward": report.ward.name if report.ward else None,
                "state": report.state,
                "open": report.is_open,
                "show_my_name": report.show_name,
                "reported_at": report.requested_at,
                "confirmed_at": report.confirmed_at,
                "source": report.source,
                # What the app it came through (Open311) sent about the reporter.
                "app": report.api_client.name if report.api_client else None,
                "device_id": report.device_id,
                "app_account_id": report.account_id,
                "photo_url": report.media_url,
                "updates": [
                    {"at": update.created_at, "state": update.state, "text": update.text}
                    for update in report.updates.all()
                ],
                "photos": photos,
            }
        )
    supported = ReportSupporter.objects.filter(user=user).select_related("report")
    for support in supported.order_by("created_at", "pk"):
        items.append(
            {
                "kind": "me_too",
                "reference": support.report.reference or "",
                "title": support.report.title,
                "at": support.created_at,
            }
        )
    for alert in ReportAlert.objects.filter(user=user).select_related("ward").order_by("pk"):
        items.append(
            {
                "kind": "alert",
                "type": alert.kind,
                "ward": alert.ward.name if alert.ward else None,
                "place": alert.place,
                "radius_m": alert.radius_m,
                "category": alert.category,
                "created_at": alert.created_at,
                "confirmed_at": alert.confirmed_at,
            }
        )
    return {"items": items, "files": files}


PERSONAL_DATA = PersonalData(
    name=NAME,
    label=_("Your street reports"),
    purpose=_("To fix the street problems you report and keep you informed."),
    lawful_basis="public_task",
    categories=(
        _("What and where you reported, with your photos"),
        _("For a report sent through an app: the app's ids of your device and account"),
        _("Reports you support"),
        _("Alerts you set up, with the place they cover"),
    ),
    recipients=_(
        "Public Works officials; the public sees a report's title, place, photos and status "
        "(your name only if you chose to show it); apps connected through Open311."
    ),
    retention=_("As set by the retention rules for closed cases."),
    export=export,
    order=70,
)
