"""Applications and casework in the public API.

- ``/api/v1/applications``: a resident's own applications (``applications:read``) and
  applying to a service (``applications:write``), validated by the very forms of the web
  journey (eligibility questions, then each page of questions shown for the answers
  given), then submitted by ``draft_submit``, like the web's "Send application".
- ``/api/v1/cases``: the staff queue, a case, its possible actions (``cases:read``) and
  taking an action (``cases:write``) for back-office systems. The token's user is an
  official (a client's service account): the same capability, remit and workflow rules
  as the staff pages apply, and a case outside them is a 404.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.http import HttpRequest, QueryDict
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from ecitizen.api.auth import OAuth2, principal_of
from ecitizen.api.pagination import PageQuery, page_of, paginate
from ecitizen.api.problems import ApiProblem
from ecitizen.cases import selectors, services
from ecitizen.cases.forms import EligibilityForm, QuestionPageForm
from ecitizen.cases.models import Case
from ecitizen.catalogue.selectors import service_get_published
from ecitizen.catalogue.spec import localised
from ecitizen.core.access import holds_capability

applications = Router(tags=["Applications"])
staff = Router(tags=["Casework"])


# --- schemas ----------------------------------------------------------------------------


class ApplicationSummary(Schema):
    reference: str
    service: str = Field(description="The service's slug.")
    service_title: str
    state: str
    status: str = Field(description="The state in words, as the applicant sees it.")
    outcome: str = Field(description="approved, refused, withdrawn... empty while open.")
    submitted_at: datetime.datetime
    decided_at: datetime.datetime | None = None


class Application(ApplicationSummary):
    answers: dict[str, Any]
    fee_amount: str | None = None
    fee_currency: str = ""
    payment_status: str = ""
    bill_reference: str = ""
    due_date: datetime.date | None = None


class ApplyIn(Schema):
    """An application: the service and every answer, keyed by question id (see the
    service's definition). Values as JSON: strings for text, numbers for number and
    money, ``true``/``false`` for yes_no, ``"YYYY-MM-DD"`` for dates, a list for
    multiple_choice. ``declaration`` must be true: the applicant confirms the
    information is true and complete, as on the web's check-answers page."""

    service: str = Field(min_length=1, max_length=63)
    answers: dict[str, Any]
    declaration: bool


class QueueItem(Schema):
    reference: str
    service: str
    state: str
    state_label: str
    ward: str = ""
    assigned_to: str = ""
    submitted_at: datetime.datetime
    due_date: datetime.date | None = None


class ActionOut(Schema):
    id: str
    label: str
    to: str
    reason_required: bool = False


class StaffCase(QueueItem):
    outcome: str
    answers: dict[str, Any]
    actions: list[ActionOut]


class TransitionIn(Schema):
    """A workflow action to take (one of the case's ``actions``), with its reason or
    message when the action needs one."""

    action: str = Field(min_length=1, max_length=80)
    text: str = Field("", max_length=5000)


class QueueQuery(Schema):
    state: str = Field("", max_length=80)
    service: str = Field("", max_length=63)
    assigned: str = Field("", pattern="^(|me|none)$", description="`me`, `none` or empty.")
    include_closed: bool = False


# --- residents' applications --------------------------------------------------------------


def _summary(case: Case) -> dict[str, Any]:
    spec = services.spec_for(case.service_version)
    return {
        "reference": case.reference,
        "service": spec.slug,
        "service_title": spec.title(),
        "state": case.state,
        "status": spec.state_label(case.state),
        "outcome": case.outcome,
        "submitted_at": case.submitted_at,
        "decided_at": case.decided_at,
    }


def _application(case: Case) -> dict[str, Any]:
    return {
        **_summary(case),
        "answers": case.answers,
        "fee_amount": str(case.fee_amount) if case.fee_amount is not None else None,
        "fee_currency": case.fee_currency,
        "payment_status": case.payment_status or "",
        "bill_reference": case.bill_reference or "",
        "due_date": case.due_date,
    }


@applications.get(
    "",
    response=page_of(ApplicationSummary),
    auth=OAuth2(["applications:read"]),
    url_name="applications_list",
)
def applications_list(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    """The resident's applications, newest first."""
    user = principal_of(request).user
    return paginate(request, selectors.cases_for_applicant(user=user), page, transform=_summary)


@applications.get(
    "/{reference}",
    response=Application,
    auth=OAuth2(["applications:read"]),
    url_name="application_detail",
)
def application_detail(request: HttpRequest, reference: str) -> dict[str, Any]:
    """One of the resident's applications with its answers; 404 for anyone else's."""
    user = principal_of(request).user
    return _application(
        selectors.case_get_for_user(user=user, reference=reference, as_helper=False)
    )


def _form_value(question: dict[str, Any], value: Any) -> Any:
    """A JSON answer as the web form would post it."""
    kind = question["type"]
    if value is None:
        return ""
    if kind == "yes_no" and isinstance(value, bool):
        return "yes" if value else "no"
    if kind == "multiple_choice":
        return [str(item) for item in value] if isinstance(value, list) else [str(value)]
    if isinstance(value, bool):
        return str(value).lower()
    return value if isinstance(value, str) else str(value)


def _page_data(questions: list[dict[str, Any]], answers: dict[str, Any]) -> QueryDict:
    data = QueryDict(mutable=True)
    for question in questions:
        value = answers.get(question["id"])
        if question["type"] == "date":
            text = value if isinstance(value, str) else ""
            parts = text.split("-") if text.count("-") == 2 else ["", "", ""]
            year, month, day = parts
            data[f"{question['id']}_day"] = day
            data[f"{question['id']}_month"] = month
            data[f"{question['id']}_year"] = year
        elif question["type"] == "multiple_choice":
            data.setlist(question["id"], _form_value(question, value))
        else:
            data[question["id"]] = _form_value(question, value)
    return data


def _validated_answers(
    spec: Any, given: dict[str, Any]
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The answers as the web journey would store them, and the field errors (the web
    forms' own messages). Pages are checked in order, each only if the answers so far
    show it."""
    errors: list[dict[str, str]] = []
    answers: dict[str, Any] = {}
    for question in spec.eligibility:
        value = given.get(question["id"])
        if not question.get("choices") and isinstance(value, bool):
            value = "yes" if value else "no"
        data = QueryDict(mutable=True)
        data["answer"] = "" if value is None else str(value)
        form = EligibilityForm(data, question=question)
        if not form.is_valid():
            errors += [
                {"field": f"answers.{question['id']}", "message": str(m), "code": "invalid"}
                for m in form.errors.get("answer", [])
            ]
            continue
        answers[question["id"]] = form.answer()
        if answers[question["id"]] not in question["eligible_answers"]:
            errors.append(
                {
                    "field": f"answers.{question['id']}",
                    "message": localised(question.get("reason"))
                    or _("You cannot use this service."),
                    "code": "not_eligible",
                }
            )
    if errors:
        return answers, errors
    for page in spec.visible_pages(answers):
        questions = spec.visible_questions(page, answers)
        files = [q for q in questions if q["type"] == "file"]
        for question in files:
            if question.get("required", True):
                errors.append(
                    {
                        "field": f"answers.{question['id']}",
                        "message": _(
                            "This service needs a file uploaded: apply on the website "
                            "for now (files cannot be sent through the API yet)."
                        ),
                        "code": "files_not_supported",
                    }
                )
        page_form = QuestionPageForm(
            _page_data([q for q in questions if q["type"] != "file"], given),
            page=page,
            questions=[q for q in questions if q["type"] != "file"],
            files_present=set(),
        )
        if not page_form.is_valid():
            errors += [
                {"field": f"answers.{field}", "message": str(message), "code": "invalid"}
                for field, messages in page_form.errors.items()
                for message in messages
            ]
            continue
        answers.update(page_form.answers())
        answers.update({q["id"]: [] for q in files})
    known = {q["id"] for q in spec.eligibility} | set(spec.questions)
    errors += [
        {
            "field": f"answers.{name}",
            "message": _("This service asks no such question."),
            "code": "unknown_question",
        }
        for name in given
        if name not in known
    ]
    return answers, errors


@applications.post(
    "",
    response={201: Application},
    auth=OAuth2(["applications:write"]),
    url_name="application_create",
)
def application_create(request: HttpRequest, payload: ApplyIn) -> Status:
    """Apply to a service for the resident. The answers are checked as on the web (the
    same messages); a service whose questions need a file cannot be applied to here yet.
    An application the resident has in progress on the website for the same service is
    completed with these answers. Side effects: the application is submitted (reference,
    SLA clock, audit event, notifications, ``case.submitted`` webhook)."""
    user = principal_of(request).user
    service = service_get_published(slug=payload.service)
    spec = services.spec_for(service.current_version)
    if not payload.declaration:
        raise ApiProblem(
            422,
            "declaration_required",
            _("Confirm that the information you have given is true"),
            errors=[
                {
                    "field": "declaration",
                    "message": _("Confirm that the information you have given is true"),
                    "code": "declaration_required",
                }
            ],
        )
    answers, errors = _validated_answers(spec, payload.answers)
    if errors:
        raise ApiProblem(
            422,
            "invalid_answers",
            _("Some answers are missing or not valid: see errors."),
            errors=errors,
        )
    with transaction.atomic():
        draft = services.draft_start(service=service, applicant=user, actor=user)
        draft = services.draft_save_answers(draft=draft, values=answers, actor=user)
        case = services.draft_submit(draft=draft, actor=user)
    return Status(201, _application(case))


# --- staff casework ---------------------------------------------------------------------


def _official(request: HttpRequest) -> Any:
    user = principal_of(request).user
    if not holds_capability(user, services.CASES_WORK):
        raise ApiProblem(403, "not_an_official", _("This token's user does not work cases."))
    return user


def _queue_item(case: Case) -> dict[str, Any]:
    spec = services.spec_for(case.service_version)
    return {
        "reference": case.reference,
        "service": spec.slug,
        "state": case.state,
        "state_label": spec.staff_state_label(case.state),
        "ward": case.ward.code if case.ward is not None else "",
        "assigned_to": case.assigned_to.email if case.assigned_to is not None else "",
        "submitted_at": case.submitted_at,
        "due_date": case.due_date,
    }


def _actions(user: Any, case: Case) -> list[dict[str, Any]]:
    return [
        {
            "id": action["id"],
            "label": localised(action.get("label")),
            "to": action["to"],
            "reason_required": bool(action.get("reason_required")),
        }
        for action in services.actions_for(user, case)
    ]


@staff.get("", response=page_of(QueueItem), auth=OAuth2(["cases:read"]), url_name="cases_queue")
def cases_queue(
    request: HttpRequest, page: Query[PageQuery], filters: Query[QueueQuery]
) -> dict[str, Any]:
    """The cases the client's official may work (its department and wards), open ones
    unless ``include_closed``; by reference."""
    user = _official(request)
    queue = selectors.case_queue(
        user=user,
        filters=selectors.QueueFilters(
            state=filters.state,
            service=filters.service,
            assigned=filters.assigned,
            include_closed=filters.include_closed,
        ),
    )
    return paginate(request, queue, page, ordering="reference", transform=_queue_item)


@staff.get(
    "/{reference}", response=StaffCase, auth=OAuth2(["cases:read"]), url_name="case_staff_detail"
)
def case_staff_detail(request: HttpRequest, reference: str) -> dict[str, Any]:
    """One case within the official's remit (404 otherwise), with the actions they may
    take now. Side effect: the read of the applicant's answers is audited, as on the
    staff page."""
    user = _official(request)
    case = selectors.case_get_for_staff(user=user, reference=reference)
    services.case_viewed(case=case, actor=user)
    return {
        **_queue_item(case),
        "outcome": case.outcome,
        "answers": case.answers,
        "actions": _actions(user, case),
    }


@staff.post(
    "/{reference}/transitions",
    response={200: StaffCase},
    auth=OAuth2(["cases:write"]),
    url_name="case_transition",
)
def case_transition(request: HttpRequest, reference: str, payload: TransitionIn) -> Status:
    """Take a workflow action on a case within the official's remit (404 otherwise).
    403 when their role may not take it; 409 when the case has moved on or a reason is
    missing (``code`` says which). Side effects as on the staff page: state, history,
    audit event, notifications, ``case.state_changed`` webhook."""
    user = _official(request)
    case = selectors.case_get_for_staff(user=user, reference=reference)
    case = services.case_transition(
        case=case,
        action_id=payload.action,
        actor=user,
        given=services.ActionInput(text=payload.text),
    )
    case = selectors.case_get_for_staff(user=user, reference=case.reference)
    return Status(
        200,
        {
            **_queue_item(case),
            "outcome": case.outcome,
            "answers": case.answers,
            "actions": _actions(user, case),
        },
    )
