"""What the case pages show, worked out from a case and its definition version: answer
rows with change links, the timeline in plain words, the status summary."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple, Protocol

from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from ecitizen.cases.expected import DecisionExpected, decision_expected
from ecitizen.cases.models import Case, CaseEvent, Draft
from ecitizen.cases.selectors import CaseFilesRead, case_files_read, case_timeline
from ecitizen.cases.services import format_answer, spec_for
from ecitizen.catalogue.spec import ServiceSpec, localised
from ecitizen.core.authority import localised_name
from ecitizen.core.forms import html_text
from ecitizen.core.listing import Addresses, day_month_year

PREFILL_SOURCES = {
    "profile.legal_name": lambda user, profile: profile.legal_name if profile else user.full_name,
    "profile.preferred_name": lambda user, profile: profile.display_name if profile else "",
    "profile.date_of_birth": lambda user, profile: profile.date_of_birth if profile else None,
    "profile.national_id": lambda user, profile: profile.national_id if profile else "",
    "profile.address": lambda user, profile: (
        "\n".join(
            part
            for part in (
                profile.address_line_1,
                profile.address_line_2,
                profile.town,
                profile.postcode,
            )
            if part
        )
        if profile
        else ""
    ),
    "profile.phone": lambda user, profile: profile.phone if profile else "",
    "user.email": lambda user, profile: user.email,
}


def prefill_values(
    questions: list[dict[str, Any]], answers: dict[str, Any], applicant: Any
) -> dict[str, Any]:
    """Initial values from what the authority already holds, for questions not answered
    yet (the resident sees them filled in and can correct them)."""
    profile = getattr(applicant, "profile", None)
    values = {}
    for question in questions:
        source = question.get("prefill")
        if source and question["id"] not in answers:
            value = PREFILL_SOURCES[source](applicant, profile)
            if value:
                values[question["id"]] = value
    return values


@dataclass
class AnswerRow:
    question_id: str
    label: str
    value: str
    change_url: str = ""
    files: list[Any] = field(default_factory=list)


@dataclass
class AnswerSection:
    """Answers shown under one heading: a titled page's, or (``title`` empty) those of
    consecutive pages with no title of their own, whose questions are their rows' keys."""

    title: str
    rows: list[AnswerRow]


def answer_rows(
    spec: ServiceSpec,
    answers: dict[str, Any],
    *,
    draft: Draft | None = None,
    case: Case | None = None,
    case_files: CaseFilesRead | None = None,
    for_applicant: bool = True,
) -> list[AnswerSection]:
    """The answers, page by page, as summary-list rows. With a draft, each row links
    back to its page ("Change"); with a case, file rows list the case's files (read by
    ``case_files``, when the page reads them once for all its parts:
    ``selectors.case_files_once``).

    A page with a title is a section under that heading. Pages without one (a single
    question, its label the page's heading) share a section with no heading: a heading
    there would only repeat the one row's key."""
    files_by_question: dict[str, list[Any]] = {}
    # Only a file question's row lists files: a service that asks for none (most) reads
    # none.
    asks_for_files = any(
        question["type"] == "file" for page in spec.pages for question in page["questions"]
    )
    if asks_for_files and case is not None:
        for item in case_files() if case_files is not None else case_files_read(case=case):
            if item.question:
                files_by_question.setdefault(item.question, []).append(item)
    elif asks_for_files and draft is not None:
        for draft_file in draft.files.select_related("upload"):
            files_by_question.setdefault(draft_file.question, []).append(draft_file)
    sections = []
    eligibility_rows = [
        AnswerRow(
            q["id"],
            localised(q["question"]),
            format_answer(spec, q["id"], answers.get(q["id"])),
            reverse("cases:eligibility", args=[draft.pk, q["id"]]) if draft else "",
        )
        for q in spec.eligibility
        if q["id"] in answers
    ]
    if eligibility_rows:
        sections.append(AnswerSection(_("Who can use this service"), eligibility_rows))
    for page in spec.visible_pages(answers):
        rows = []
        for question in spec.visible_questions(page, answers):
            if question["id"] not in answers:
                continue
            change = (
                reverse("cases:page", args=[draft.pk, page["id"]]) + "?return=check"
                if draft
                else ""
            )
            rows.append(
                AnswerRow(
                    question["id"],
                    localised(question["label"]),
                    format_answer(spec, question["id"], answers[question["id"]]),
                    change,
                    files_by_question.get(question["id"], []) if question["type"] == "file" else [],
                )
            )
        if not rows:
            continue
        title = localised(page.get("title"))
        if not title and sections and not sections[-1].title:
            sections[-1].rows.extend(rows)
        else:
            sections.append(AnswerSection(title, rows))
    return sections


@dataclass
class CaseSummary:
    case: Case
    service_title: str
    status: str
    status_colour: str
    due_date: date | None
    closed: bool
    waiting_for_applicant: bool
    payment_due: bool = False
    expected: DecisionExpected | None = None


_COLOURS = {
    "approved": "green",
    "refused": "red",
    "withdrawn": "grey",
    "ineligible": "grey",
    "expired": "grey",
}


class CaseState(Protocol):
    """What a case's status is worked out from (a :class:`Case`, or a :class:`QueueRow`)."""

    @property
    def state(self) -> str: ...

    @property
    def outcome(self) -> str: ...

    @property
    def payment_status(self) -> str: ...


def case_status(case: CaseState, spec: ServiceSpec, *, for_staff: bool = False) -> tuple[str, str]:
    """(status, colour of its tag) of a case of ``spec``'s version: in the resident's
    words, or (``for_staff``) in the officials' (each state's ``staff_label``)."""
    colour = _COLOURS.get(case.outcome, "blue")
    if spec.sla_clock(case.state) == "paused":
        colour = "yellow"
    status = spec.staff_state_label(case.state) if for_staff else spec.state_label(case.state)
    if case.payment_status == "due" and spec.fee_due == "before_submission":
        status, colour = _("Waiting for the fee to be paid"), "orange"
    return status, colour


def case_summary(case: Case, *, for_staff: bool = False, today: date | None = None) -> CaseSummary:
    """The status line of a case (:func:`case_status`) and when a decision can be
    expected."""
    spec = spec_for(case.service_version)
    status, colour = case_status(case, spec, for_staff=for_staff)
    return CaseSummary(
        case=case,
        payment_due=case.payment_status == "due",
        service_title=spec.title(),
        status=status,
        status_colour=colour,
        due_date=case.due_date,
        closed=bool(case.outcome),
        waiting_for_applicant=spec.sla_clock(case.state) == "paused" and not case.outcome,
        expected=decision_expected(case, spec, today=today or timezone.localdate()),
    )


def _spec_among(specs: dict[int, ServiceSpec], case: Case) -> ServiceSpec:
    """The spec of the case's version, made once per version for a list's rows (``specs``:
    those made so far; a list's cases share a few versions)."""
    spec = specs.get(case.service_version_id)
    if spec is None:
        spec = specs[case.service_version_id] = spec_for(case.service_version)
    return spec


_STAFF_CASE = Addresses("staff:case_detail")


class QueueRow(NamedTuple):
    """What the officer's queue shows of a case: its columns and those of the rows joined
    to it, read as values (``values_list(*QUEUE_ROW_COLUMNS)``), not as model instances
    (five a row: a case's answers, encrypted, and the other columns of its version, its
    applicant, ward and assignee were most of what the queue read)."""

    reference: str
    state: str
    outcome: str
    payment_status: str
    due_date: date | None
    version_checksum: str
    applicant_name: str
    ward_id: int | None
    ward_name: str | None
    ward_names: Any
    assignee_name: str | None


#: The columns of a :class:`QueueRow`, in its order.
QUEUE_ROW_COLUMNS = (
    "reference",
    "state",
    "outcome",
    "payment_status",
    "due_date",
    "service_version__checksum",
    "applicant__full_name",
    "ward_id",
    "ward__name",
    "ward__names",
    "assigned_to__full_name",
)


def queue_rows(
    rows: list[QueueRow], *, specs: Mapping[str, ServiceSpec], today: date
) -> SafeString:
    """The officer's queue's rows (``<tr>``s of ``cases/staff/queue.html``'s table),
    written here rather than by the template: its tags cost some 400 Python calls a row,
    25 rows a page. Each cell as the template wrote it: the reference linked to the
    case, the service, the applicant with their ward (when the case has one), the status
    in the officials' words as a coloured tag, the due date (with an "Overdue" tag once
    past; "—" for a closed case; "Paused" when the clock is not running) and the
    assignee ("Unassigned"); every value escaped as ``{{ value }}`` does. ``specs``: the
    definition of each row's version, by its checksum
    (``catalogue.selectors.version_specs``); no query here."""
    overdue_tag = f' <strong class="govuk-tag govuk-tag--red">{html_text(_("Overdue"))}</strong>'
    paused = html_text(_("Paused"))
    unassigned = html_text(_("Unassigned"))
    # A page's cases share a few services, statuses and wards: each cell written once.
    statuses: dict[tuple[str, str, str, str], tuple[str, str]] = {}
    wards: dict[int | None, str] = {}
    # Once for the page: each lookup reads a context-local variable.
    language = get_language()
    written = []
    for row in rows:
        status_key = (row.version_checksum, row.state, row.outcome, row.payment_status)
        cells = statuses.get(status_key)
        if cells is None:
            spec = specs[row.version_checksum]
            status, colour = case_status(row, spec, for_staff=True)
            cells = statuses[status_key] = (
                f'<td class="govuk-table__cell">{html_text(spec.title())}</td>',
                f'<td class="govuk-table__cell"><strong class="govuk-tag govuk-tag--{colour}">'
                f"{html_text(status)}</strong></td>",
            )
        ward = wards.get(row.ward_id)
        if ward is None:
            name = localised_name(row.ward_name, row.ward_names) if row.ward_name else ""
            ward = wards[row.ward_id] = (
                f'<br><span class="govuk-body-s">{html_text(name)}</span>' if name else ""
            )
        if row.due_date is not None:
            late = overdue_tag if row.due_date < today else ""
            due = html_text(day_month_year(row.due_date, language)) + late
        else:
            due = "—" if row.outcome else paused
        written.append(
            '<tr class="govuk-table__row">'
            f'<td class="govuk-table__cell app-nowrap"><a class="govuk-link" '
            f'href="{html_text(_STAFF_CASE(row.reference))}">{html_text(row.reference)}</a></td>'
            f"{cells[0]}"
            f'<td class="govuk-table__cell">{html_text(row.applicant_name)}{ward}</td>'
            f"{cells[1]}"
            f'<td class="govuk-table__cell app-nowrap">{due}</td>'
            f'<td class="govuk-table__cell">'
            f"{html_text(row.assignee_name) if row.assignee_name else unassigned}</td>"
            "</tr>"
        )
    return SafeString("\n".join(written))


_CASE = Addresses("cases:case_detail")

#: What :func:`case_rows` reads of a case and of the rows joined to it, for
#: ``QuerySet.only`` (not the case's answers, encrypted).
CASE_ROW_FIELDS = (
    "reference",
    "submitted_at",
    "state",
    "outcome",
    "payment_status",
    "due_date",
    "service_version__definition",
)


def case_rows(cases: list[Case], *, with_applicant: bool = False) -> list[dict[str, Any]]:
    """The rows of a resident's list of applications (``cases/_case_table.html``), each
    cell's value worked out here: ``url``, ``reference``, ``service``, ``sent`` (the date
    written out), ``status``, ``colour`` and, ``with_applicant``, the ``applicant``'s
    name. No query, given the cases' versions joined (and their applicants, with
    them)."""
    specs: dict[int, ServiceSpec] = {}
    # Once for the page: each lookup reads a context-local variable.
    language, zone = get_language(), timezone.get_current_timezone()
    rows = []
    for case in cases:
        spec = _spec_among(specs, case)
        status, colour = case_status(case, spec)
        row = {
            "url": _CASE(case.reference),
            "reference": case.reference,
            "service": spec.title(),
            "sent": day_month_year(case.submitted_at, language, zone),
            "status": status,
            "colour": colour,
        }
        if with_applicant:
            row["applicant"] = case.applicant.full_name
        rows.append(row)
    return rows


@dataclass
class TimelineRow:
    when: Any
    title: str
    who: str
    text: str
    kind: str
    internal: bool
    files: list[Any]


ESCALATIONS = {"overdue": gettext_lazy("Overdue"), "nearly_due": gettext_lazy("Nearly due")}


def _who(case: Case, event: CaseEvent) -> str:
    """Who did it, in the reader's language for the system, the applicant and helpers;
    officials as the office and role recorded at the time."""
    if event.actor_label:
        return event.actor_label
    if event.actor_id is None:
        return _("Automatic")
    if event.actor_id == case.applicant_id:
        return _("Applicant")
    return _("Helper who applied for you")


def timeline_rows(
    case: Case, *, for_applicant: bool, case_files: CaseFilesRead | None = None
) -> list[TimelineRow]:
    """The rows of ``case``'s timeline (``for_applicant``: the events its applicant
    sees), with their files (read by ``case_files``, when the page reads them once for
    all its parts: ``selectors.case_files_once``)."""
    spec = spec_for(case.service_version)
    rows = []
    for event, files in case_timeline(case=case, visible_only=for_applicant, files=case_files):
        if event.kind == CaseEvent.Kind.SUBMITTED:
            title = _("Application sent")
        elif event.kind == CaseEvent.Kind.ACTION:
            action = spec.actions.get(event.action)
            title = _("%(action)s — now: %(status)s") % {
                "action": localised(action["label"]) if action else event.action,
                "status": spec.state_label(event.to_state)
                if for_applicant
                else spec.staff_state_label(event.to_state),
            }
        elif event.kind == CaseEvent.Kind.DOCUMENT:
            title = _("Document issued")
        else:
            title = str(CaseEvent.Kind(event.kind).label)
        text = event.text or ""
        if event.kind == CaseEvent.Kind.DOCUMENT:
            text = ""
        elif event.kind == CaseEvent.Kind.ESCALATED:
            text = str(ESCALATIONS.get(event.action, event.action))
        elif event.kind == CaseEvent.Kind.ASSIGNED and not text:
            text = _("Unassigned")
        rows.append(
            TimelineRow(
                when=event.created_at,
                title=title,
                who=_who(case, event),
                text=text,
                kind=event.kind,
                internal=not event.visible_to_applicant,
                files=files,
            )
        )
    return rows
