"""Reads of the cases app. Anything belonging to a resident is fetched through a
permission-aware selector that answers 404 to anyone else."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from ecitizen.accounts.models import Role, User
from ecitizen.accounts.selectors import user_role_assignments
from ecitizen.cases.models import Case, CaseFile, Channel, Draft
from ecitizen.cases.services import CASEWORK_ROLES, casework_ward_limits, staff_may_work


def draft_get_for_user(*, user: Any, draft_id: Any) -> Draft:
    """A draft the user fills in (the applicant online, or the helper or clerk who
    entered it), or 404."""
    draft = (
        Draft.objects.select_related("service_version__service", "case")
        .filter(pk=draft_id, entered_by=user)
        .first()
    )
    if draft is None:
        raise Http404
    return draft


def drafts_open_for_user(*, user: Any) -> QuerySet[Draft]:
    return Draft.objects.filter(entered_by=user, status=Draft.Status.OPEN).select_related(
        "service_version__service"
    )


def case_get_for_user(*, user: Any, reference: str) -> Case:
    """A case as the resident sees it: the applicant's own, or one this person submitted
    as a helper. Anyone else gets 404, officials included (they use
    :func:`case_get_for_staff`)."""
    case = (
        Case.objects.select_related("service", "service_version", "applicant", "submitted_by")
        .filter(reference=reference)
        .filter(Q(applicant=user) | Q(submitted_by=user, channel=Channel.ASSISTED))
        .first()
    )
    if case is None:
        raise Http404
    return case


def cases_for_applicant(*, user: Any) -> QuerySet[Case]:
    return Case.objects.filter(applicant=user).select_related("service_version")


def cases_submitted_by_helper(*, user: Any) -> QuerySet[Case]:
    return Case.objects.filter(submitted_by=user, channel=Channel.ASSISTED).select_related(
        "service_version", "applicant"
    )


def case_get_for_staff(*, user: Any, reference: str) -> Case:
    """A case for an official who may work it (department, wards), or 404."""
    case = (
        Case.objects.select_related(
            "service", "service_version", "applicant", "assigned_to", "department", "ward"
        )
        .filter(reference=reference)
        .first()
    )
    if case is None or not staff_may_work(user, case):
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


def queue_department_ids(user: Any) -> set[int] | None:
    """Departments whose cases the official works (None: every department)."""
    ids: set[int] = set()
    for assignment in user_role_assignments(user):
        if assignment.role == Role.PLATFORM_ADMIN:
            return None
        if assignment.role in CASEWORK_ROLES and assignment.department_id:
            ids.add(assignment.department_id)
    return ids


def _actionable_condition(user: User, departments: set[int] | None) -> Q:
    """Cases whose current state has an action the official's roles allow, per
    definition version (one query over the versions, whatever the number of cases)."""
    from ecitizen.catalogue.models import ServiceVersion
    from ecitizen.catalogue.spec import ServiceSpec

    roles_by_department: dict[str, set[str]] = {}
    platform_admin = False
    for assignment in user_role_assignments(user):
        if assignment.role == Role.PLATFORM_ADMIN:
            platform_admin = True
        elif assignment.role in CASEWORK_ROLES and assignment.department is not None:
            roles_by_department.setdefault(assignment.department.slug, set()).add(assignment.role)
    versions = ServiceVersion.objects.all()
    if departments is not None:
        versions = versions.filter(service__department_id__in=departments)
    condition = Q(pk__in=[])
    for version in versions.only("pk", "definition"):
        spec = ServiceSpec(version.definition)
        states = {
            state
            for action in spec.actions.values()
            if platform_admin
            or set(action["by"].get("roles", []))
            & roles_by_department.get(spec.action_department(action), set())
            for state in action["from"]
        }
        if states:
            condition |= Q(service_version_id=version.pk, state__in=sorted(states))
    return condition


def case_queue(*, user: User, filters: QueueFilters, today: date | None = None) -> QuerySet[Case]:
    """Cases the official may work, filtered and sorted. A constant number of queries
    whatever the number of cases (related rows are joined, not fetched per row)."""
    today = today or timezone.localdate()
    cases = Case.objects.select_related("service_version", "assigned_to", "ward", "applicant")
    departments = queue_department_ids(user)
    if departments is not None:
        cases = cases.filter(department_id__in=departments)
    wards = casework_ward_limits(user)
    if wards is not None:
        cases = cases.filter(ward_id__in=wards)
    if not filters.include_closed:
        cases = cases.filter(outcome="")
    if filters.state:
        cases = cases.filter(state=filters.state)
    if filters.actionable:
        cases = cases.filter(_actionable_condition(user, departments))
    if filters.service:
        cases = cases.filter(service__slug=filters.service)
    if filters.ward:
        cases = cases.filter(ward__code=filters.ward)
    if filters.due == "overdue":
        cases = cases.filter(due_date__lt=today)
    elif filters.due == "week":
        cases = cases.filter(due_date__gte=today, due_date__lte=today + timedelta(days=7))
    if filters.assigned == "me":
        cases = cases.filter(assigned_to=user)
    elif filters.assigned == "none":
        cases = cases.filter(assigned_to__isnull=True)
    from django.db.models import F

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
        .order_by("full_name")
    )
    return [user for user in users if staff_may_work(user, case)]


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
