"""The GeoReport v2 documents of this server, built from the reports app's objects:
discovery, the service list, a service definition, requests, a token, the answer to a
POST and mySociety's request updates.

Fields come in the specification's order; ids are strings (``service_code`` is the
category's slug, ``service_request_id`` the report's reference). Texts are in the active
language (the client's ``Accept-Language``), as on the website.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ecitizen.catalogue.spec import ServiceSpec, localised
from ecitizen.reports.models import Report, ReportUpdate
from ecitizen.reports.open311.queries import PublicRequest
from ecitizen.reports.open311.render import Document, Many, w3c, w3c_seconds
from ecitizen.reports.services import Category

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
FORMATS = ("text/xml", "application/json")

#: Our question types as GeoReport v2 datatypes. File questions are not offered: an app
#: sends its photo as the report's ``media`` (or ``media_url``).
DATATYPES = {
    "text": "string",
    "email": "string",
    "phone": "string",
    "national_id": "string",
    "long_text": "text",
    "address": "text",
    "number": "number",
    "money": "number",
    "date": "datetime",
    "yes_no": "singlevaluelist",
    "single_choice": "singlevaluelist",
    "multiple_choice": "multivaluelist",
}
#: The keys of a yes/no question's two values.
YES, NO = "true", "false"


def open311_questions(spec: ServiceSpec) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(page, question) of every question an app can answer, in the order residents
    are asked them."""
    return [
        (page, question)
        for page in spec.pages
        for question in page["questions"]
        if question["type"] in DATATYPES
    ]


def _keywords(category: Category) -> str | None:
    """The category's keywords as the specification's comma-separated string. The
    definition gives a list, or a list per language."""
    raw = category.extension.get("keywords")
    if isinstance(raw, Mapping):
        language = (translation.get_language() or "en").split("-")[0]
        raw = raw.get(language) or raw.get("en") or next(iter(raw.values()), [])
    if isinstance(raw, str):
        raw = [raw]
    words = [str(word).strip() for word in (raw or []) if str(word).strip()]
    return ", ".join(words) or None


def _changeset(categories: Sequence[Category]) -> str:
    """When the categories last changed: the latest publication of one of them."""
    published = [
        category.service.current_version.published_at
        for category in categories
        if category.service.current_version is not None
    ]
    return w3c(max(published) if published else timezone.now())


def base_url() -> str:
    """This server's public address (``PUBLIC_BASE_URL``/open311/v2), no final slash."""
    discovery = reverse("open311:discovery", kwargs={"fmt": "xml"})
    return settings.PUBLIC_BASE_URL + discovery.removesuffix("/discovery.xml")


def discovery(categories: Sequence[Category]) -> Document:
    """Service discovery: who to ask for help and for a key, and this one endpoint."""
    language = (translation.get_language() or settings.LANGUAGE_CODE).split("-")[0]
    authority = settings.AUTHORITY_NAMES.get(language) or settings.AUTHORITY_NAME
    changeset = _changeset(categories)
    return Document(
        root="discovery",
        item=None,
        body={
            "changeset": changeset,
            "contact": _("You can email or call %(authority)s for assistance: %(email)s, %(phone)s")
            % {
                "authority": authority,
                "email": settings.AUTHORITY_CONTACT_EMAIL,
                "phone": settings.AUTHORITY_CONTACT_PHONE,
            },
            "key_service": _(
                "Apps that post reports need a key: ask %(authority)s for one at %(email)s. "
                "Reading needs no key."
            )
            % {"authority": authority, "email": settings.AUTHORITY_CONTACT_EMAIL},
            "endpoints": Many(
                "endpoint",
                [
                    {
                        "specification": SPECIFICATION,
                        "url": base_url(),
                        "changeset": changeset,
                        "type": "test" if settings.DEBUG or settings.DEMO_BANNER else "production",
                        "formats": Many("format", list(FORMATS)),
                    }
                ],
            ),
        },
    )


def services(categories: Iterable[Category]) -> Document:
    """The service list: one service per category."""
    return Document(
        root="services",
        item="service",
        body=[
            {
                "service_code": category.code,
                "service_name": category.title(),
                "description": category.spec.summary() or None,
                "metadata": bool(open311_questions(category.spec)),
                "type": "realtime",
                "keywords": _keywords(category),
                "group": category.group() or None,
            }
            for category in categories
        ],
    )


_DATATYPE_DESCRIPTIONS = {
    "date": lambda: _("A date, like 2026-03-31"),
    "number": lambda: _("A whole number"),
    "money": lambda: _("An amount, like 12.50"),
}


def _attribute(order: int, page: Mapping[str, Any], question: Mapping[str, Any]) -> dict[str, Any]:
    kind = question["type"]
    describe = _DATATYPE_DESCRIPTIONS.get(kind)
    attribute: dict[str, Any] = {
        "variable": True,
        "code": question["id"],
        "datatype": DATATYPES[kind],
        # A question shown only after some answers cannot be required of every request.
        "required": bool(question.get("required", True))
        and not question.get("show_if")
        and not page.get("show_if"),
        "datatype_description": localised(question.get("hint"))
        or (describe() if describe else None),
        "order": order,
        "description": localised(question["label"]),
    }
    if kind == "yes_no":
        attribute["values"] = Many(
            "value", [{"key": YES, "name": _("Yes")}, {"key": NO, "name": _("No")}]
        )
    elif kind in {"single_choice", "multiple_choice"}:
        attribute["values"] = Many(
            "value",
            [
                {"key": str(choice["value"]), "name": localised(choice["label"])}
                for choice in question["choices"]
            ],
        )
    return attribute


def service_definition(category: Category) -> Document:
    """The attributes of a category: its questions, in order."""
    return Document(
        root="service_definition",
        item=None,
        body={
            "service_code": category.code,
            "attributes": Many(
                "attribute",
                [
                    _attribute(order, page, question)
                    for order, (page, question) in enumerate(
                        open311_questions(category.spec), start=1
                    )
                ],
            ),
        },
    )


def _description(report: PublicRequest) -> str:
    """The report's text with its summary: the summary leads unless the text's first
    line already holds it (a report posted by an app, whose summary came from there)."""
    first_line = report.description.strip().split("\n", 1)[0]
    if report.title and report.title.rstrip("…") not in first_line:
        return f"{report.title}\n\n{report.description}"
    return report.description


def photo_url(public_id: uuid.UUID) -> str:
    """The public address of a report's photo (the copy without metadata), by the
    photo's public id."""
    return settings.PUBLIC_BASE_URL + reverse("reports:photo", kwargs={"public_id": public_id})


def requests(reports: Sequence[PublicRequest], categories: Mapping[str, Category]) -> Document:
    """Service requests: each report as the specification lists its fields."""
    # A category's name and department, in the active language, once per category (a
    # page holds up to a thousand reports of eight categories).
    labels: dict[str, tuple[str, str | None]] = {}
    # Photos' addresses differ by their id alone: one reverse() per page, not per photo.
    sample = uuid.UUID(int=0)
    photo_address = photo_url(sample)
    # Times written out here, the zone looked up once: the JSON encoder then meets only
    # plain values and never calls back into Python for a row.
    zone = timezone.get_current_timezone()
    body = []
    for report in reports:
        label = labels.get(report.category)
        if label is None:
            category = categories.get(report.category)
            department = category.service.department if category is not None else None
            label = labels[report.category] = (
                category.title() if category is not None else report.category,
                str(department) if department is not None else None,
            )
        media_url = report.media_url or (
            photo_address.replace(str(sample), str(report.photo_id))
            if report.photo_id is not None
            else ""
        )
        body.append(
            {
                "service_request_id": report.reference,
                "status": "open" if report.is_open else "closed",
                "status_notes": report.status_notes or None,
                "service_name": label[0],
                "service_code": report.category,
                "description": _description(report),
                "agency_responsible": label[1],
                "service_notice": None,
                "requested_datetime": w3c_seconds(report.requested_s, zone),
                "updated_datetime": w3c_seconds(report.updated_s, zone),
                "expected_datetime": None,
                "address": report.address or None,
                "address_id": None,
                "zipcode": None,
                "lat": report.latitude,
                "long": report.longitude,
                "media_url": media_url or None,
            }
        )
    return Document(root="service_requests", item="request", body=body)


def service_notice(category: Category) -> str:
    """What the app tells its user once the report is in: who deals with it, and how
    soon when the category has a time limit."""
    department = str(category.service.department)
    days = category.spec.sla_business_days
    if days is None:
        return _("%(department)s will look at it.") % {"department": department}
    return ngettext(
        "%(department)s aims to deal with it within %(count)s working day.",
        "%(department)s aims to deal with it within %(count)s working days.",
        days,
    ) % {"department": department, "count": days}


def created(report: Report, category: Category, *, account_id: str) -> Document:
    """The answer to a POST: the new request's id and token, and a notice."""
    entry: dict[str, Any] = {
        "service_request_id": report.reference,
        "token": str(report.token),
        "service_notice": service_notice(category),
    }
    if account_id:
        entry["account_id"] = account_id
    return Document(root="service_requests", item="request", body=[entry])


def token(report: Report) -> Document:
    """A token's answer: the id of the request it stands for."""
    return Document(
        root="service_requests",
        item="request",
        body=[{"service_request_id": report.reference, "token": str(report.token)}],
    )


def request_updates(updates: Sequence[ReportUpdate]) -> Document:
    """mySociety's ``servicerequestupdates``: each public update, with the state it left
    the report in (``external_status_code``: the state's id in the category's workflow).
    """
    return Document(
        root="service_request_updates",
        item="request_update",
        body=[
            {
                "update_id": str(update.pk),
                "service_request_id": update.report.reference,
                "status": "open" if update.is_open else "closed",
                "updated_datetime": update.created_at,
                "description": update.text,
                "media_url": "",
                "external_status_code": update.state,
            }
            for update in updates
        ],
    )


def update_added(update: ReportUpdate) -> Document:
    """The answer to a POST of an update: its id."""
    return Document(
        root="service_request_updates",
        item="request_update",
        body=[{"update_id": str(update.pk)}],
    )
