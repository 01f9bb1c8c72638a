"""Reads of the cases app. Anything belonging to a resident is fetched through a
permission-aware selector that answers 404 to anyone else."""

from __future__ import annotations

import functools
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from django.db.models import Count, F, Model, Q, QuerySet, Window
from django.http import Http404
from django.utils import timezone

from ecitizen.accounts.models import Jurisdiction, Role, User
from ecitizen.accounts.selectors import (
    RemitPart,
    remit_assignments,
    remit_condition,
    remit_parts,
)
from ecitizen.cases.models import Case, CaseEvent, CaseFile, Channel, Draft, ServiceUsage
from ecitizen.cases.services import CASES_WORK, staff_may_work
from ecitizen.catalogue.selectors import version_specs, versions_give_definitions
from ecitizen.catalogue.spec import ServiceSpec, extension_names
from ecitizen.core.compiled import CompiledQuery
from ecitizen.core.crypto import collation_key
from ecitizen.core.listing import CountedRows


def applicant_ids_in_department(department_id: int) -> QuerySet[Any]:
    """The user ids of residents who applied to a service of the department (registered
    as a resident link: its officials may see these residents' profiles)."""
    return Case.objects.filter(department_id=department_id).values("applicant_id")


def draft_get_for_user(*, user: Any, draft_id: Any) -> Draft:
    """A draft the user fills in (the applicant online, or the helper or clerk who
    entered it), or 404."""
    draft = _DRAFT_ENTERED_BY.first(pk=draft_id, entered_by=user.pk)
    if draft is None:
        raise Http404
    versions_give_definitions([draft.service_version])
    return draft


def _draft_entered_by(pk: Any, entered_by: int) -> QuerySet[Draft]:
    # No join to the case: it is read only once the draft is sent. The version's
    # definition is given by its checksum (draft_get_for_user), not read with it.
    return (
        Draft.objects.select_related("service_version__service")
        .defer("service_version__definition")
        .filter(pk=pk, entered_by=entered_by)
    )


#: Every page of an application reads its draft: compiled once per process
#: (core.compiled), as building it in the ORM cost twice what running it does.
_DRAFT_ENTERED_BY = CompiledQuery(
    Draft,
    _draft_entered_by,
    pk=(uuid.UUID(int=7_031_962_441), Draft._meta.get_field("id")),
    entered_by=(-7_031_962_441, Draft._meta.get_field("entered_by")),
)


def drafts_open_for_user(*, user: Any) -> QuerySet[Draft]:
    """The open drafts ``user`` (an account or its primary key) fills in, most recently
    changed first, with their service version and service."""
    return Draft.objects.filter(entered_by=user, status=Draft.Status.OPEN).select_related(
        "service_version__service"
    )


#: "Your applications" lists them on every visit: compiled once per process, without
#: what the list does not show (each version's definition, twenty kilobytes of JSON, and
#: the encrypted answers).
_DRAFTS_LISTED = CompiledQuery(
    Draft,
    lambda user: drafts_open_for_user(user=user).defer(
        "service_version__definition", "answers_json"
    ),
    user=(-7_031_962_494, Draft._meta.get_field("entered_by")),
)


def drafts_open_listed(*, user: Any) -> list[tuple[Draft, ServiceSpec]]:
    """``drafts_open_for_user(user=user)``, each with its version's definition as a
    :class:`ServiceSpec` (kept by checksum: ``catalogue.selectors.version_specs``). The
    drafts' answers are not read: a draft's ``answers`` reads them when asked."""
    drafts = _DRAFTS_LISTED.objects(user=user.pk)
    specs = version_specs(draft.service_version.checksum for draft in drafts)
    return [(draft, specs[draft.service_version.checksum]) for draft in drafts]


def case_get_for_user(*, user: Any, reference: str, as_helper: bool = True) -> Case:
    """A case as the resident sees it: the applicant's own, or (if ``as_helper``) one
    this person submitted as a helper. Anyone else gets 404, officials included (they
    use :func:`case_get_for_staff`). The API passes ``as_helper=False``: a resident's
    consent to an app covers their own applications, not the ones they made for others.
    The case comes with its service, version (its definition given by checksum:
    ``catalogue.selectors.versions_give_definitions``), applicant and helper.
    Precondition: ``user`` is signed in.
    """
    if as_helper:
        case = _CASE_OF_APPLICANT_OR_HELPER.first(
            reference=reference, applicant=user.pk, helper=user.pk
        )
    else:
        case = _CASE_OF_APPLICANT.first(reference=reference, applicant=user.pk)
    if case is None:
        raise Http404
    versions_give_definitions([case.service_version])
    return case


def _case_of(reference: str, applicant: int, helper: int | None = None) -> QuerySet[Case]:
    mine = Q(applicant=applicant)
    if helper is not None:
        mine |= Q(submitted_by=helper, channel=Channel.ASSISTED)
    return (
        Case.objects.select_related("service", "service_version", "applicant", "submitted_by")
        .defer("service_version__definition")
        .filter(reference=reference)
        .filter(mine)
        .order_by("pk")[:1]
    )


#: Every page of an application reads it: compiled once per process (core.compiled), as
#: building the query in the ORM cost more than running it.
_CASE_OF_APPLICANT_OR_HELPER = CompiledQuery(
    Case,
    _case_of,
    reference=("RIV-XX-0000-000000", Case._meta.get_field("reference")),
    applicant=(-7_031_962_451, Case._meta.get_field("applicant")),
    helper=(-7_031_962_452, Case._meta.get_field("submitted_by")),
)
_CASE_OF_APPLICANT = CompiledQuery(
    Case,
    _case_of,
    reference=("RIV-XX-0000-000000", Case._meta.get_field("reference")),
    applicant=(-7_031_962_451, Case._meta.get_field("applicant")),
)


def _case_events(case: int, *, visible_only: bool) -> QuerySet[CaseEvent]:
    events = CaseEvent.objects.filter(case=case)
    return events.filter(visible_to_applicant=True) if visible_only else events


#: The sample of a case's id in the compiled queries of its timeline.
_A_CASE = (-7_031_962_471, CaseEvent._meta.get_field("case"))
#: A case's events (``True``: only those its applicant sees), in order.
_EVENTS_OF_CASE = {
    visible_only: CompiledQuery(
        CaseEvent,
        lambda case, visible_only=visible_only: _case_events(case, visible_only=visible_only),
        case=_A_CASE,
    )
    for visible_only in (False, True)
}
#: The files of a case (attached to its events, or answering its questions), with their
#: uploads.
_FILES_OF_CASE = CompiledQuery(
    CaseFile,
    lambda case: CaseFile.objects.filter(
        Q(event__isnull=False) | Q(question__gt=""), case=case
    ).select_related("upload"),
    case=(_A_CASE[0], CaseFile._meta.get_field("case")),
)


def case_files_read(*, case: Case) -> list[CaseFile]:
    """The files of ``case``, those attached to its events and those answering its
    questions, with their uploads: one query compiled once per process."""
    return _FILES_OF_CASE.objects(case=case.pk)


#: Gives a case's files as :func:`case_files_read` does, reading them at the first call
#: only: a page of an application needs them for its timeline and for its answers.
CaseFilesRead = Callable[[], list[CaseFile]]


def case_files_once(*, case: Case) -> CaseFilesRead:
    """What reads ``case``'s files (:func:`case_files_read`) when first called, and gives
    the same list again after: for one page, which then reads them once or never."""
    return functools.cache(lambda: case_files_read(case=case))


def case_timeline(
    *, case: Case, visible_only: bool, files: CaseFilesRead | None = None
) -> list[tuple[CaseEvent, list[CaseFile]]]:
    """The events of ``case`` in order (``visible_only``: those its applicant sees), each
    with the files attached to it and their uploads (read by ``files``, when the page
    reads them once for all its parts: :func:`case_files_once`). Two queries compiled
    once per process, the second only when the case has events: every page of an
    application reads its timeline."""
    events = _EVENTS_OF_CASE[visible_only].objects(case=case.pk)
    attached: dict[int, list[CaseFile]] = {}
    if events:
        for item in files() if files is not None else case_files_read(case=case):
            if item.event_id is not None:
                attached.setdefault(item.event_id, []).append(item)
    return [(event, attached.get(event.pk, [])) for event in events]


def case_defined_with(case: Case, extension: str) -> bool:
    """Whether the definition ``case`` was opened under (its service version's) has an
    ``extensions.<extension>`` block. An app that opens its cases only through services
    with its own block (complaints, street reports) knows by it, without a query, that a
    case of any other service is none of its own. Precondition: the case's version is read
    with its definition (every selector of a case here gives it)."""
    return extension in extension_names(case.service_version.definition)


def cases_for_applicant(*, user: Any) -> QuerySet[Case]:
    return Case.objects.filter(applicant=user).select_related("service_version")


def cases_waiting_for_applicant(*, user: Any) -> list[Case]:
    """The person's open applications that wait for them: their state pauses the SLA
    clock (the definition's way of saying "we need something from the applicant", e.g.
    information asked for), the longest waiting first. One query."""
    from ecitizen.catalogue.spec import ServiceSpec

    open_cases = (
        Case.objects.filter(applicant=user, outcome="")
        .select_related("service_version")
        .order_by("updated_at", "pk")
    )
    return [
        case
        for case in open_cases
        if ServiceSpec(case.service_version.definition).sla_clock(case.state) == "paused"
    ]


def service_ids_most_started(*, since: datetime, limit: int) -> list[int]:
    """The ids of the services whose applications were started most often since
    ``since``, whatever the channel, most started first (ties by id), at most ``limit``.
    One aggregate query over ``ServiceUsage`` (which holds no personal data)."""
    rows = (
        ServiceUsage.objects.filter(kind=ServiceUsage.Kind.STARTED, at__gte=since)
        .values("service_id")
        .annotate(starts=Count("pk"))
        .order_by("-starts", "service_id")[:limit]
    )
    return [row["service_id"] for row in rows]


def cases_submitted_by_helper(*, user: Any) -> QuerySet[Case]:
    return Case.objects.filter(submitted_by=user, channel=Channel.ASSISTED).select_related(
        "service_version", "applicant"
    )


def _case_for_staff(reference: str) -> QuerySet[Case]:
    return (
        Case.objects.select_related(
            "service", "service_version", "applicant", "assigned_to", "department", "ward"
        )
        .defer("service_version__definition")
        .filter(reference=reference)
        .order_by("pk")[:1]
    )


#: Every page and action of an official's case reads it: compiled once per process
#: (core.compiled), the version's definition given by its checksum.
_CASE_FOR_STAFF = CompiledQuery(
    Case, _case_for_staff, reference=("RIV-XX-0000-000000", Case._meta.get_field("reference"))
)


def case_get_for_staff(*, user: Any, reference: str) -> Case:
    """A case for an official who may work it (department, wards), or 404; with its
    service, version (its definition given by checksum:
    ``catalogue.selectors.versions_give_definitions``), applicant, assignee, department
    and ward. Read by a query compiled once per process: building it in the ORM cost
    more than running it, on every page and action of the officials' case."""
    case = _CASE_FOR_STAFF.first(reference=reference)
    if case is None:
        raise Http404
    versions_give_definitions([case.service_version])  # staff_may_work reads it
    if not staff_may_work(user, case):
        raise Http404
    return case


def case_files(case: Case, *, for_applicant: bool) -> QuerySet[CaseFile]:
    files = case.files.select_related("upload")
    if for_applicant:
        files = files.filter(visible_to_applicant=True)
    return files


def case_file_get(case: Case, *, file_id: int, for_applicant: bool) -> CaseFile:
    found = case_files(case, for_applicant=for_applicant).filter(pk=file_id).first()
    if found is None:
        raise Http404
    return found


def draft_file_get(draft: Draft, *, file_id: int) -> Any:
    found = draft.files.select_related("upload").filter(pk=file_id).first()
    if found is None:
        raise Http404
    return found


# --- the officers' queue ------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFilters:
    state: str = ""
    service: str = ""
    ward: str = ""
    due: str = ""  # "overdue", "week" (due within 7 days), or ""
    assigned: str = ""  # "me", "none", or ""
    sort: str = "due_date"
    include_closed: bool = False
    actionable: bool = False  # only cases in a state where the official's role can act


SORTS = {
    "due_date": ("due_date", "submitted_at"),
    "-due_date": ("-due_date", "-submitted_at"),
    "submitted": ("submitted_at",),
    "-submitted": ("-submitted_at",),
    "reference": ("reference",),
}


def _actionable_condition(user: User) -> Q:
    """Cases whose current state has an action that one of the official's role
    assignments allows in that case's ward, per definition version (one query over the
    versions, whatever the number of cases). Platform administrators count as able to
    act on every open state."""
    from ecitizen.catalogue.selectors import service_version_definitions
    from ecitizen.catalogue.spec import ServiceSpec

    assignments = remit_assignments(user, CASES_WORK)
    if not assignments:
        return Q(pk__in=[])
    condition = Q(pk__in=[])
    for version_id, definition in service_version_definitions():
        spec = ServiceSpec(definition)
        # For each ward limit (None: any ward), the states some assignment may act in.
        states_by_ward: dict[int | None, set[str]] = {}
        for action in spec.actions.values():
            roles = set(action["by"].get("roles", []))
            department = spec.action_department(action)
            for assignment in assignments:
                allowed = assignment.role == Role.PLATFORM_ADMIN or (
                    assignment.role in roles
                    and assignment.department is not None
                    and assignment.department.slug == department
                )
                if allowed:
                    states_by_ward.setdefault(assignment.jurisdiction_id, set()).update(
                        action["from"]
                    )
        for ward_id, states in states_by_ward.items():
            part = Q(service_version_id=version_id, state__in=sorted(states))
            if ward_id is not None:
                part &= Q(ward_id=ward_id)
            condition |= part
    return condition


def case_queue(*, user: User, filters: QueueFilters, today: date | None = None) -> QuerySet[Case]:
    """Cases the official may work, filtered and sorted. A constant number of queries
    whatever the number of cases (related rows are joined, not fetched per row)."""
    today = today or timezone.localdate()
    cases = _queue(
        remit=remit_parts(user, CASES_WORK),
        filters=filters,
        today=today,
        week_end=today + timedelta(days=7),
        user_id=user.pk,
    )
    if filters.actionable:
        cases = cases.filter(_actionable_condition(user))
    return cases


def _queue(
    *,
    remit: list[RemitPart] | None,
    filters: QueueFilters,
    today: date,
    week_end: date,
    user_id: int,
) -> QuerySet[Case]:
    """:func:`case_queue` within ``remit`` (:func:`remit_parts`) without the actionable
    filter: what its compiled first page (:func:`queue_first_page`) builds too."""
    cases = Case.objects.select_related("service_version", "assigned_to", "ward", "applicant")
    # Each role assignment contributes its own department and ward, never a mix of two.
    cases = cases.filter(remit_condition(remit))
    if not filters.include_closed:
        cases = cases.filter(outcome="")
    if filters.state:
        cases = cases.filter(state=filters.state)
    if filters.service:
        cases = cases.filter(service__slug=filters.service)
    if filters.ward:
        cases = cases.filter(ward__code=filters.ward)
    if filters.due == "overdue":
        cases = cases.filter(due_date__lt=today)
    elif filters.due == "week":
        cases = cases.filter(due_date__gte=today, due_date__lte=week_end)
    if filters.assigned == "me":
        cases = cases.filter(assigned_to_id=user_id)
    elif filters.assigned == "none":
        cases = cases.filter(assigned_to__isnull=True)
    order = SORTS.get(filters.sort, SORTS["due_date"])
    expressions = [
        (
            F(field.lstrip("-")).desc(nulls_last=True)
            if field.startswith("-")
            else F(field).asc(nulls_last=True)
        )
        for field in order
    ]
    return cases.order_by(*expressions, "pk")


#: What the values of a compiled first page of the queue depend on, besides them: the
#: remit's shape (whether each part limits the department and the ward; ``None`` for
#: everything), the filters with their values blanked, the columns read and the size.
_QueueShape = tuple[tuple[tuple[bool, bool], ...] | None, QueueFilters, tuple[str, ...], int]


def queue_first_page(
    *, user: User, filters: QueueFilters, columns: tuple[str, ...], size: int
) -> CountedRows[list[Any]]:
    """``case_queue(...).values_list(*columns)[:size]`` (each row a list) with the
    queue's whole count, read by one query compiled once per process for each shape of
    remit and set of filters (building it in the ORM, remit and filters, cost more than
    running it). Reads the official's role assignments; no query when they cover
    nothing. Precondition: ``filters.actionable`` is false (that filter depends on every
    service's definition and is built by the ORM each time)."""
    if filters.actionable:
        raise ValueError("the actionable filter is not compiled: use case_queue()")
    remit = remit_parts(user, CASES_WORK)
    if remit == []:
        return CountedRows([], 0)
    today = timezone.localdate()
    values: dict[str, Any] = {}
    for i, (department_id, ward_id) in enumerate(remit or ()):
        if department_id is not None:
            values[f"department_{i}"] = department_id
        if ward_id is not None:
            values[f"ward_{i}"] = ward_id
    for name in ("state", "service", "ward"):
        if getattr(filters, name):
            values[f"{name}_filter"] = getattr(filters, name)
    if filters.due in {"overdue", "week"}:
        values["today"] = today
    if filters.due == "week":
        values["week_end"] = today + timedelta(days=7)
    if filters.assigned == "me":
        values["user"] = user.pk
    blank = QueueFilters(
        state="-" if filters.state else "",
        service="-" if filters.service else "",
        ward="-" if filters.ward else "",
        due=filters.due,
        assigned=filters.assigned,
        sort=filters.sort,
        include_closed=filters.include_closed,
    )
    shape = None if remit is None else tuple((d is not None, w is not None) for d, w in remit)
    rows = _queue_first_page_query((shape, blank, columns, size)).rows(**values)
    # Each row ends with the window count: the same in every row.
    total = int(rows[0][-1]) if rows else 0
    return CountedRows([row[:-1] for row in rows], total)


#: The sample values the compiled queue is built with, where its shape has no such value
#: (each unlike any real one, so that each stands for one parameter of the SQL).
_SAMPLE_TODAY = date(1903, 1, 2)
_SAMPLE_WEEK_END = date(1903, 1, 9)
_SAMPLE_USER = -7_031_963_100


@functools.lru_cache(maxsize=256)
def _queue_first_page_query(shape: _QueueShape) -> CompiledQuery[Case]:
    """The first page of the queue for ``shape`` (:data:`_QueueShape`), each row with
    the queue's count (a last column, ``queue_total``, a window count: one scan of the
    matches, not two). Its values, each named only where the shape has it: ``department_i`` and
    ``ward_i`` of the ``i``-th part of the remit, ``state_filter``, ``service_filter``,
    ``ward_filter``, ``today`` and ``week_end`` (the due filters) and ``user`` (assigned
    to me)."""
    remit_shape, filters, columns, size = shape
    field = Case._meta.get_field
    samples: dict[str, tuple[Any, Any]] = {}
    for i, (by_department, by_ward) in enumerate(remit_shape or ()):
        if by_department:
            samples[f"department_{i}"] = (-7_031_963_001 - len(samples), field("department"))
        if by_ward:
            samples[f"ward_{i}"] = (-7_031_963_001 - len(samples), field("ward"))
    text_fields = {
        "state": field("state"),
        # The service's model through the case's foreign key (its models are its app's).
        "service": cast(type[Model], field("service").related_model)._meta.get_field("slug"),
        "ward": Jurisdiction._meta.get_field("code"),
    }
    for name, text_field in text_fields.items():
        if getattr(filters, name):
            samples[f"{name}_filter"] = (f"{name}-sample-7031963", text_field)
    if filters.due in {"overdue", "week"}:
        samples["today"] = (_SAMPLE_TODAY, field("due_date"))
    if filters.due == "week":
        samples["week_end"] = (_SAMPLE_WEEK_END, field("due_date"))
    if filters.assigned == "me":
        samples["user"] = (_SAMPLE_USER, field("assigned_to"))

    def build(**values: Any) -> QuerySet[Case]:
        remit = (
            None
            if remit_shape is None
            else [
                (
                    values[f"department_{i}"] if by_department else None,
                    values[f"ward_{i}"] if by_ward else None,
                )
                for i, (by_department, by_ward) in enumerate(remit_shape)
            ]
        )
        with_values = QueueFilters(
            state=values.get("state_filter", ""),
            service=values.get("service_filter", ""),
            ward=values.get("ward_filter", ""),
            due=filters.due,
            assigned=filters.assigned,
            sort=filters.sort,
            include_closed=filters.include_closed,
        )
        cases = _queue(
            remit=remit,
            filters=with_values,
            today=values.get("today", _SAMPLE_TODAY),
            week_end=values.get("week_end", _SAMPLE_WEEK_END),
            user_id=values.get("user", _SAMPLE_USER),
        )
        return cases.values_list(*columns).annotate(queue_total=Window(Count("pk")))[:size]

    return CompiledQuery(Case, build, **samples)


def officials_for_case(case: Case) -> list[User]:
    """Officials a supervisor may assign the case to (case officers and supervisors of
    its department)."""
    users = (
        User.objects.filter(
            role_assignments__role__in=[Role.CASE_OFFICER, Role.SUPERVISOR],
            role_assignments__department_id=case.department_id,
            is_active=True,
        )
        .distinct()
        .order_by("pk")
    )
    # Sorted by name in Python: names are encrypted.
    return sorted(
        (user for user in users if staff_may_work(user, case)),
        key=lambda user: (collation_key(user.full_name), user.email),
    )


def published_records() -> QuerySet[CaseFile]:
    """Records released under freedom of information and published (the official who
    released them confirmed they hold no personal information), newest first."""
    return (
        CaseFile.objects.filter(published=True)
        .select_related("case__service_version", "upload", "event")
        .order_by("-event__created_at", "-pk")
    )


def published_record_get(*, file_id: int) -> CaseFile:
    found = published_records().filter(pk=file_id).first()
    if found is None:
        raise Http404
    return found


@dataclass(frozen=True)
class PublicActionText:
    """What an action's history line says to the applicant: ``text`` empty when the
    official wrote nothing for them."""

    event_id: int | None
    text: str
    by_label: str


def case_action_public_text(*, case_id: int, action: str) -> PublicActionText:
    """The latest history line of ``action`` on the case, as the applicant sees it (the
    reason or message they were sent; never an internal note). For an app that shows a
    case's progress in public (street reports)."""
    event = (
        CaseEvent.objects.filter(case_id=case_id, kind=CaseEvent.Kind.ACTION, action=action)
        .order_by("-created_at", "-pk")
        .first()
    )
    if event is None:
        return PublicActionText(None, "", "")
    text = (event.text or "") if event.visible_to_applicant else ""
    return PublicActionText(event.pk, text, event.actor_label)


# --- open data: aggregate figures (no personal data) ---------------------------------------


@dataclass(frozen=True)
class UsageCount:
    """How many applications of a service had ``kind`` (started, completed, decided,
    abandoned) through ``channel`` in the calendar month starting ``month``."""

    service_slug: str
    month: date
    kind: str
    channel: str
    count: int


@dataclass(frozen=True)
class DecisionDays:
    """How many decisions of a service in the month starting ``month`` took
    ``business_days`` working days from submission."""

    service_slug: str
    month: date
    business_days: int
    count: int


def _month(value: Any) -> date:
    return value.date() if isinstance(value, datetime) else value


def service_usage_monthly() -> list[UsageCount]:
    """Starts, completions, decisions and abandonments of every service, counted per
    service, local calendar month, kind and channel. One GROUP BY over ``ServiceUsage``
    (which holds no personal data), for the platform's open data."""
    from django.db.models.functions import TruncMonth

    rows = (
        ServiceUsage.objects.annotate(month=TruncMonth("at"))
        .values("service__slug", "month", "kind", "channel")
        .annotate(count=Count("pk"))
        .order_by("service__slug", "month", "kind", "channel")
    )
    return [
        UsageCount(r["service__slug"], _month(r["month"]), r["kind"], r["channel"], r["count"])
        for r in rows
    ]


def service_decision_days_monthly() -> list[DecisionDays]:
    """The distribution of the time to decision (working days from submission, as the
    decision recorded it) per service and local calendar month of the decision: one
    GROUP BY over the ``decided`` rows of ``ServiceUsage``, for medians and percentiles
    without reading every row."""
    from django.db.models.functions import TruncMonth

    rows = (
        ServiceUsage.objects.filter(kind=ServiceUsage.Kind.DECIDED, business_days__isnull=False)
        .annotate(month=TruncMonth("at"))
        .values("service__slug", "month", "business_days")
        .annotate(count=Count("pk"))
        .order_by("service__slug", "month", "business_days")
    )
    return [
        DecisionDays(r["service__slug"], _month(r["month"]), r["business_days"], r["count"])
        for r in rows
    ]


@dataclass(frozen=True)
class InformationRequest:
    """A freedom-of-information request as the public may know it: its reference (shown
    in the records archive), when it was received and answered, where it stands, and how
    many records were published from it. Nothing about the requester or what they asked."""

    reference: str
    service_slug: str
    received: date
    decided: date | None
    state: str
    outcome: str
    sla_days_used: int
    records_published: int


def information_requests() -> list[InformationRequest]:
    """Every case of a service whose workflow publishes records (freedom of information:
    an action with ``publish_records``), oldest first, with the number of records
    published from it. One query (the published files counted in a GROUP BY), plus one
    over the service versions' definitions."""
    from ecitizen.catalogue.selectors import service_version_definitions

    versions = [
        version_id
        for version_id, definition in service_version_definitions()
        if any(
            action.get("publish_records")
            for action in (definition.get("workflow") or {}).get("actions", [])
        )
    ]
    rows = (
        Case.objects.filter(service_version_id__in=versions)
        .values(
            "reference",
            "service__slug",
            "submitted_at",
            "decided_at",
            "state",
            "outcome",
            "sla_days_used",
        )
        .annotate(records=Count("files", filter=Q(files__published=True)))
        .order_by("submitted_at", "reference")
    )
    return [
        InformationRequest(
            reference=r["reference"],
            service_slug=r["service__slug"],
            received=timezone.localdate(r["submitted_at"]),
            decided=timezone.localdate(r["decided_at"]) if r["decided_at"] else None,
            state=r["state"],
            outcome=r["outcome"],
            sla_days_used=r["sla_days_used"],
            records_published=r["records"],
        )
        for r in rows
    ]


# --- Analytics feeds ------------------------------------------------------------------------
# The insights app copies these rows into its analytical store (DuckDB), incrementally: each
# feed is read in keyset order after a cursor the reader keeps. None of them holds personal
# data: no applicant, no answers, no text, only services, places, channels, states and times.


@dataclass(frozen=True)
class UsageEventRow:
    """One ``ServiceUsage`` row: a start, completion, abandonment or decision."""

    id: int
    service_id: int
    kind: str
    channel: str
    #: The application (draft) it belongs to, so that a journey counts once: a digest of
    #: the draft's id, not the id itself (which is in the application's address), so that
    #: the copy in the analytical store leads back to no draft. Empty when it has none.
    draft_id: str
    outcome: str
    business_days: int | None
    at: datetime


def usage_events_after(*, after_id: int, limit: int) -> list[UsageEventRow]:
    """Usage rows with an id above ``after_id``, in id order, at most ``limit``. The rows
    are only ever added, so the last id read is a complete cursor. One query."""
    rows = (
        ServiceUsage.objects.filter(pk__gt=after_id)
        .order_by("pk")
        .values_list(
            "pk", "service_id", "kind", "channel", "draft_id", "outcome", "business_days", "at"
        )[:limit]
    )
    return [
        UsageEventRow(pk, service, kind, channel, _journey_key(draft), outcome, days, at)
        for pk, service, kind, channel, draft, outcome, days, at in rows
    ]


def _journey_key(draft_id: Any) -> str:
    """A stable digest of a draft's id (BLAKE2b, 16 bytes, hex), or ``""``."""
    if not draft_id:
        return ""
    return hashlib.blake2b(str(draft_id).encode(), digest_size=16).hexdigest()


def usage_events_last_id() -> int:
    """The highest usage id there is (0 when none): a reader whose cursor is beyond it
    reads a database that was restored or reset, and must start again."""
    last = ServiceUsage.objects.order_by("-pk").values_list("pk", flat=True).first()
    return int(last or 0)


@dataclass(frozen=True)
class CaseFactsRow:
    """What the performance figures need of one case, as it stands now."""

    id: int
    service_id: int
    department_id: int
    ward_id: int | None
    channel: str
    state: str
    #: ``""`` while open; ``approved``, ``refused``, ``withdrawn``... once decided.
    outcome: str
    submitted_at: datetime
    decided_at: datetime | None
    due_date: date | None
    sla_days_used: int
    #: The service's target in working days (``None`` when it has none).
    sla_target_days: int | None
    #: Times the case was sent back to the applicant (entered a state whose SLA clock
    #: pauses: "more information needed").
    more_info_rounds: int
    fee_amount: Any
    fee_currency: str
    payment_status: str
    #: When the fee was paid (``None`` when it was not).
    paid_at: datetime | None
    assigned_to_id: int | None
    updated_at: datetime


def case_facts_changed_after(
    *, after: tuple[datetime, int] | None, limit: int
) -> list[CaseFactsRow]:
    """Cases changed after the keyset ``(updated_at, id)`` (every case when ``None``), in
    that order, at most ``limit``. A case changes its ``updated_at`` on every transition,
    so a reader that keeps the last pair it read sees every change. Two queries: the
    cases, and their history's state changes and payments."""
    from ecitizen.catalogue.spec import ServiceSpec

    cases = Case.objects.order_by("updated_at", "pk")
    if after is not None:
        moment, pk = after
        cases = cases.filter(Q(updated_at__gt=moment) | Q(updated_at=moment, pk__gt=pk))
    rows = list(
        cases.values(
            "pk",
            "service_id",
            "service_version_id",
            "department_id",
            "ward_id",
            "channel",
            "state",
            "outcome",
            "submitted_at",
            "decided_at",
            "due_date",
            "sla_days_used",
            "fee_amount",
            "fee_currency",
            "payment_status",
            "assigned_to_id",
            "updated_at",
        )[:limit]
    )
    if not rows:
        return []
    specs: dict[int, ServiceSpec] = {}
    from ecitizen.catalogue.selectors import service_version_definitions

    wanted = {r["service_version_id"] for r in rows}
    for version_id, definition in service_version_definitions():
        if version_id in wanted:
            specs[version_id] = ServiceSpec(definition)
    rounds: dict[int, int] = {}
    paid: dict[int, datetime] = {}
    version_of = {r["pk"]: r["service_version_id"] for r in rows}
    history = CaseEvent.objects.filter(
        case_id__in=list(version_of), kind__in=[CaseEvent.Kind.ACTION, CaseEvent.Kind.PAID]
    ).values_list("case_id", "kind", "to_state", "created_at")
    for case_id, kind, to_state, created_at in history:
        if kind == CaseEvent.Kind.PAID:
            paid[case_id] = max(created_at, paid.get(case_id, created_at))
            continue
        spec = specs.get(version_of[case_id])
        if spec is not None and to_state and spec.sla_clock(to_state) == "paused":
            rounds[case_id] = rounds.get(case_id, 0) + 1
    return [
        CaseFactsRow(
            id=r["pk"],
            service_id=r["service_id"],
            department_id=r["department_id"],
            ward_id=r["ward_id"],
            channel=r["channel"],
            state=r["state"],
            outcome=r["outcome"],
            submitted_at=r["submitted_at"],
            decided_at=r["decided_at"],
            due_date=r["due_date"],
            sla_days_used=r["sla_days_used"],
            sla_target_days=(
                specs[r["service_version_id"]].sla_business_days
                if r["service_version_id"] in specs
                else None
            ),
            more_info_rounds=rounds.get(r["pk"], 0),
            fee_amount=r["fee_amount"],
            fee_currency=r["fee_currency"],
            payment_status=r["payment_status"],
            paid_at=paid.get(r["pk"]),
            assigned_to_id=r["assigned_to_id"],
            updated_at=r["updated_at"],
        )
        for r in rows
    ]


@dataclass(frozen=True)
class CaseActionRow:
    """One workflow action taken on a case: what the cost of staff time is built from."""

    id: int
    case_id: int
    service_id: int
    action: str
    actor_id: int | None
    at: datetime


def case_actions_after(*, after_id: int, limit: int) -> list[CaseActionRow]:
    """Workflow actions (history lines of kind ``action``) with an id above ``after_id``,
    in id order, at most ``limit``. History lines are only ever added. One query."""
    rows = (
        CaseEvent.objects.filter(pk__gt=after_id, kind=CaseEvent.Kind.ACTION)
        .order_by("pk")
        .values_list("pk", "case_id", "case__service_id", "action", "actor_id", "created_at")[
            :limit
        ]
    )
    return [CaseActionRow(*row) for row in rows]


def case_events_last_id() -> int:
    """The highest case history id there is (0 when none)."""
    last = CaseEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
    return int(last or 0)


# --- a case officer's own workload -----------------------------------------------------------

#: "Due soon" on an officer's workload: due within this many working days from today.
WORKLOAD_DUE_SOON_WORKING_DAYS = 5


@dataclass(frozen=True)
class OfficerWorkload:
    """Aggregates of the cases assigned to one official (no resident, no reference):
    what they have open, what is late or nearly due, and what they decided lately.

    ``median_days_to_decision`` is over the cases counted in ``decided_this_month`` and
    ``decided_last_month`` (working days from submission to decision, as the service's
    figures count them), ``None`` when there are none."""

    open: int
    overdue: int
    due_soon: int
    #: The last day counted as "due soon" (today plus the working days).
    due_soon_until: date
    decided_this_month: int
    decided_last_month: int
    median_days_to_decision: float | None
    #: The first days of this month and last month.
    this_month: date
    last_month: date


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


def officer_workload(*, user: User, today: date | None = None) -> OfficerWorkload:
    """The workload of ``user``: the cases assigned to them (``Case.assigned_to``),
    whatever department they are in — an assignment is the official's own work, and
    only counts leave this function.

    - open: cases without an outcome; overdue: open ones whose due date is before
      ``today``; due soon: open ones due from ``today`` to
      ``WORKLOAD_DUE_SOON_WORKING_DAYS`` working days after it (a paused clock has no
      due date and is neither);
    - decided this month and last: cases whose decision (``decided_at``, local time)
      falls in the calendar month of ``today`` or the one before;
    - the median working days from submission to decision of those decided cases.

    Two queries: the counts (one aggregate), and the submission and decision times of
    the cases decided in the two months (for working days, which need the calendar)."""
    from statistics import median

    from ecitizen.cases.calendar import add_business_days, business_days_between

    today = today or timezone.localdate()
    this_month = today.replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    next_month = (this_month + timedelta(days=32)).replace(day=1)
    due_soon_until = add_business_days(today, WORKLOAD_DUE_SOON_WORKING_DAYS)
    start_last, start_this, start_next = (
        _local_midnight(last_month),
        _local_midnight(this_month),
        _local_midnight(next_month),
    )
    assigned = Case.objects.filter(assigned_to=user)
    is_open = Q(outcome="")
    counts = assigned.aggregate(
        open=Count("pk", filter=is_open),
        overdue=Count("pk", filter=is_open & Q(due_date__lt=today)),
        due_soon=Count("pk", filter=is_open & Q(due_date__gte=today, due_date__lte=due_soon_until)),
        decided_this_month=Count(
            "pk", filter=Q(decided_at__gte=start_this, decided_at__lt=start_next)
        ),
        decided_last_month=Count(
            "pk", filter=Q(decided_at__gte=start_last, decided_at__lt=start_this)
        ),
    )
    decided = assigned.filter(decided_at__gte=start_last, decided_at__lt=start_next).values_list(
        "submitted_at", "decided_at"
    )
    days = [
        business_days_between(timezone.localdate(submitted), timezone.localdate(decided_at))
        for submitted, decided_at in decided
    ]
    return OfficerWorkload(
        open=counts["open"],
        overdue=counts["overdue"],
        due_soon=counts["due_soon"],
        due_soon_until=due_soon_until,
        decided_this_month=counts["decided_this_month"],
        decided_last_month=counts["decided_last_month"],
        median_days_to_decision=float(median(days)) if days else None,
        this_month=this_month,
        last_month=last_month,
    )
