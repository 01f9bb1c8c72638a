"""The service catalogue in the public API (``/api/v1/services/``): public, like the
catalogue's pages. Texts are in the request's language (``Accept-Language``)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from ecitizen.api.pagination import PageQuery, page_of, paginate
from ecitizen.catalogue import selectors
from ecitizen.catalogue.models import Service
from ecitizen.catalogue.spec import ServiceSpec, localised

router = Router(auth=None)


class ServiceSummary(Schema):
    """A service of the catalogue."""

    slug: str
    title: str
    summary: str
    department: str
    topics: list[str]
    version: int = Field(description="The number of the definition version in force.")


class Choice(Schema):
    value: Any
    label: str
    hint: str = ""


class Question(Schema):
    """A question of the service, as the web journey asks it. ``type`` is one of text,
    long_text, address, national_id, phone, email, number, money, date, yes_no,
    single_choice, multiple_choice, file. ``show_if``: the condition on earlier answers
    under which it is asked (``{"question": id, "equals": value}`` or ``"in": [...]``)."""

    id: str
    type: str
    label: str
    hint: str = ""
    required: bool = True
    validation: dict[str, Any] = Field(default_factory=dict)
    choices: list[Choice] = Field(default_factory=list)
    show_if: dict[str, Any] | None = None


class Page(Schema):
    id: str
    title: str = ""
    show_if: dict[str, Any] | None = None
    questions: list[Question]


class EligibilityQuestion(Schema):
    """A "can you use this service?" question: answers outside ``eligible_answers``
    end the application."""

    id: str
    question: str
    choices: list[Choice] = Field(default_factory=list)
    eligible_answers: list[Any]


class ServiceDefinition(ServiceSummary):
    """What a client needs to apply: the questions, in pages, and the fee."""

    eligibility: list[EligibilityQuestion]
    pages: list[Page]
    fee: str = Field(description="The fee, in words (empty when free).")
    sla_business_days: int | None = None


def _summary(service: Service, spec: ServiceSpec) -> dict[str, Any]:
    return {
        "slug": service.slug,
        "title": spec.title(),
        "summary": spec.summary(),
        "department": str(service.department),
        "topics": list(spec.definition.get("topics") or []),
        "version": service.current_version.number if service.current_version else 0,
    }


def _choices(choices: Any) -> list[dict[str, Any]]:
    return [
        {"value": c["value"], "label": localised(c.get("label")), "hint": localised(c.get("hint"))}
        for c in choices or []
    ]


def _definition(service: Service) -> dict[str, Any]:
    spec = selectors.service_spec(service)
    pages = [
        {
            "id": page["id"],
            "title": localised(page.get("title")),
            "show_if": page.get("show_if"),
            "questions": [
                {
                    "id": q["id"],
                    "type": q["type"],
                    "label": localised(q.get("label")),
                    "hint": localised(q.get("hint")),
                    "required": q.get("required", True),
                    "validation": {**q.get("validation", {}), **q.get("file", {})},
                    "choices": _choices(q.get("choices")),
                    "show_if": q.get("show_if"),
                }
                for q in page["questions"]
            ],
        }
        for page in spec.pages
    ]
    eligibility = [
        {
            "id": q["id"],
            "question": localised(q.get("question")),
            "choices": _choices(q.get("choices")),
            "eligible_answers": list(q.get("eligible_answers", [])),
        }
        for q in spec.eligibility
    ]
    return {
        **_summary(service, spec),
        "eligibility": eligibility,
        "pages": pages,
        "fee": spec.fee_text(),
        "sla_business_days": spec.sla_business_days,
    }


@router.get("", response=page_of(ServiceSummary), url_name="services_list")
def services_list(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    """The services of the catalogue, by slug."""
    return paginate(
        request,
        selectors.services_published(),
        page,
        ordering="slug",
        transform=lambda service: _summary(service, selectors.service_spec(service)),
    )


@router.get("/{slug}", response=ServiceDefinition, url_name="service_detail")
def service_detail(request: HttpRequest, slug: str) -> dict[str, Any]:
    """One service and its current definition: eligibility questions, pages of
    questions, fee. 404 for a service not in the catalogue."""
    return _definition(selectors.service_get_published(slug=slug))
