"""Reads of the feedback app: what a form offers, the public "You said, we did" pages,
and the officials' figures, comments and complaint figures, each confined to the
departments of their remit (``feedback.read``).

The figures are plain dataclasses, computed by aggregate queries, so that the
performance dashboard can read them as they are.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db.models import Count, Max, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.http import Http404
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ecitizen.accounts.models import Department
from ecitizen.accounts.selectors import remit_assignments, remit_filter
from ecitizen.catalogue.selectors import (
    service_published_by_slug,
    services_published_among,
    services_published_list,
    versions_give_definitions,
)
from ecitizen.catalogue.spec import ServiceSpec
from ecitizen.core.compiled import CompiledQuery
from ecitizen.core.registry import registry
from ecitizen.feedback.models import Kind, Level, Rating, ServiceChange, Step, Submission
from ecitizen.feedback.services import (
    EXTENSION,
    FEEDBACK_READ,
    About,
    FeedbackError,
    complaint_link_read,
    token_hash,
)

#: Names of what is rated outside the catalogue, by service key.
OTHER_SERVICES = {
    "payments.fee": gettext_lazy("Paying a fee"),
    "payments.fine": gettext_lazy("Paying a fine"),
    "payments.property_tax": gettext_lazy("Paying property tax"),
    "payments.invoice": gettext_lazy("Paying an invoice"),
    "payments.adjustment": gettext_lazy("Paying a bill"),
    "documents": gettext_lazy("Getting an issued document"),
}
#: Levels counted as satisfied in the "% satisfied" figure (GOV.UK's definition).
SATISFIED_LEVELS = (Level.SATISFIED, Level.VERY_SATISFIED)


def _title(service: Any) -> str:
    version = service.current_version
    return ServiceSpec(version.definition).title() if version is not None else service.slug


def service_label(service_key: str, service: Any = None) -> str:
    """What officials and residents read for a service key: the catalogue service's
    title in the active language, or this app's name for what the catalogue does not
    list (``payments.fine``: "Paying a fine")."""
    if service is not None:
        return _title(service)
    app = service_key.split(".", maxsplit=1)[0]
    label = OTHER_SERVICES.get(service_key) or OTHER_SERVICES.get(app)
    return str(label) if label else service_key


#: The page that ends a transaction (an application sent, a payment received) asks it
#: on every visit: compiled once per process.
_RATING_OF = CompiledQuery(
    Rating,
    lambda step, reference: Rating.objects.filter(step=step, reference=reference).values_list("pk")[
        :1
    ],
    step=("compiled-sample-step", Rating._meta.get_field("step")),
    reference=("compiled-sample-reference", Rating._meta.get_field("reference")),
)


def rating_exists(*, step: str, reference: str) -> bool:
    """Has this transaction (``step`` and ``reference``) been rated already?"""
    return _RATING_OF.value(step=str(step), reference=reference) is not None


# --- what feedback is about -----------------------------------------------------------------


def _rated_services() -> list[Any]:
    """Published services people can send feedback about: all of them, listed or used
    through an app's own journey (street reports), but the complaint service itself
    (from the compiled list, their definitions kept by checksum)."""
    return [
        service
        for service in services_published_list(listed=None)
        if EXTENSION not in (service.current_version.definition.get("extensions") or {})  # type: ignore[union-attr]
    ]


def about_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The choices of "What is it about?": per department (by name), the department as a
    whole, then each of its services by title. Values are ``department:<slug>`` and
    ``service:<slug>``."""
    services_by_department: dict[int, list[Any]] = defaultdict(list)
    for service in _rated_services():
        services_by_department[service.department_id].append(service)
    groups = []
    for department in sorted(Department.objects.all(), key=lambda d: str(d).casefold()):
        options = [
            (
                f"department:{department.slug}",
                _("%(department)s (in general)") % {"department": department},
            )
        ]
        options += sorted(
            (
                (f"service:{service.slug}", _title(service))
                for service in services_by_department.get(department.pk, [])
            ),
            key=lambda option: option[1].casefold(),
        )
        groups.append((str(department), options))
    return groups


def about_from_value(value: str) -> About:
    """The department or service a choice of :func:`about_choices` names. Raises
    :class:`FeedbackError` for anything else."""
    kind, _sep, slug = value.partition(":")
    if kind == "department":
        department = Department.objects.filter(slug=slug).first()
        if department is not None:
            return About(department=department)
    elif kind == "service":
        service = next((s for s in _rated_services() if s.slug == slug), None)
        if service is not None:
            return About(department=service.department, service=service)
    raise FeedbackError(_("Select what your feedback is about"), code="about")


# --- public pages ------------------------------------------------------------------------------


def service_for_changes(*, slug: str) -> Any:
    """A published service (listed or not) whose "You said, we did" page this is, or
    404."""
    service = service_published_by_slug(slug, listed=None)
    if service is None:
        raise Http404
    return service


def changes_published(*, service: Any) -> QuerySet[ServiceChange]:
    """The changes published for ``service`` and not withdrawn, newest first."""
    return ServiceChange.objects.filter(service=service, withdrawn_at__isnull=True)


@dataclass(frozen=True)
class ServiceChanges:
    service: Any
    title: str
    count: int
    latest: datetime


def services_with_changes() -> list[ServiceChanges]:
    """Each service with published changes, by title: how many, and the latest date."""
    rows = (
        ServiceChange.objects.filter(withdrawn_at__isnull=True)
        .values("service_id")
        .annotate(count=Count("pk"), latest=Max("published_at"))
    )
    by_id = {row["service_id"]: row for row in rows}
    found = [
        ServiceChanges(
            service, _title(service), by_id[service.pk]["count"], by_id[service.pk]["latest"]
        )
        for service in services_published_among(ids=list(by_id))
    ]
    return sorted(found, key=lambda item: item.title.casefold())


#: Every page of an official's case asks it (the complaint panel): compiled once per
#: process, the service's definition given by its checksum.
_COMPLAINT_OF_CASE = CompiledQuery(
    Submission,
    lambda case_id: (
        Submission.objects.select_related("about_department", "about_service__current_version")
        .defer("about_service__current_version__definition")
        .filter(case_id=case_id, kind=Kind.COMPLAINT)
        .order_by("pk")[:1]
    ),
    case_id=(-7_031_962_611, Submission._meta.get_field("case")),
)


def complaint_for_case(*, case_id: int) -> Submission | None:
    """The complaint whose case this is (``None`` for any other case), with what it is
    about (the department; the service and its current version, whose definition is given
    by its checksum: ``catalogue.selectors.versions_give_definitions``)."""
    complaint = _COMPLAINT_OF_CASE.first(case_id=case_id)
    if complaint is not None and complaint.about_service is not None:
        versions_give_definitions([complaint.about_service.current_version])
    return complaint


def complaint_about(submission: Submission) -> str:
    """What the complaint is about, in the active language: the service's title, or the
    department's name."""
    if submission.about_service is not None:
        return service_label(submission.about_service.slug, submission.about_service)
    return str(submission.about_department)


def complaint_for_link(*, token: str) -> Submission:
    """The complaint a complaint link names, or 404 (a link that was changed, or a
    complaint not received yet)."""
    try:
        submission_id = complaint_link_read(token)
    except FeedbackError:
        raise Http404 from None
    submission = (
        Submission.objects.select_related("case__service_version", "about_department")
        .filter(pk=submission_id, kind=Kind.COMPLAINT, case__isnull=False)
        .first()
    )
    if submission is None:
        raise Http404
    return submission


# --- officials --------------------------------------------------------------------------------


def _remit(user: Any, department_field: str = "department") -> Q:
    # Feedback has no ward: a ward-limited assignment covers none of it.
    return remit_filter(user, FEEDBACK_READ, department_field=department_field, ward_field=None)


def departments_in_remit(*, user: Any) -> list[Department]:
    """The departments whose feedback the official reads, by name."""
    return sorted(
        Department.objects.filter(_department_remit(user)),
        key=lambda department: str(department).casefold(),
    )


def _department_remit(user: Any) -> Q:
    """Departments (as rows) covered by an assignment holding ``feedback.read`` that is
    not limited to a ward; every department for an authority-wide role."""
    condition = Q(pk__in=[])
    for assignment in remit_assignments(user, FEEDBACK_READ):
        if assignment.jurisdiction_id is not None:
            continue
        if assignment.role in registry.authority_wide_roles():
            return Q()
        if assignment.department_id is not None:
            condition |= Q(pk=assignment.department_id)
    return condition


def service_for_staff(*, user: Any, slug: str) -> Any:
    """A published service of a department in the official's remit, or 404."""
    service = service_published_by_slug(slug, listed=None)
    if (
        service is None
        or not Department.objects.filter(_department_remit(user), pk=service.department_id).exists()
    ):
        raise Http404
    return service


def _month(value: datetime | date) -> date:
    if isinstance(value, datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
        return value.date().replace(day=1)
    return value.replace(day=1)


def month_label(month: date) -> str:
    """ "November 2026", the reader's way ("novembre 2026", "نوفمبر 2026")."""
    return str(formats.date_format(month, "YEAR_MONTH_FORMAT"))


def months_back(count: int, *, today: date | None = None) -> list[date]:
    """The first days of the last ``count`` months, the current one last."""
    today = today or timezone.localdate()
    year, month = today.year, today.month
    found = []
    for _month_number in range(count):
        found.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return list(reversed(found))


@dataclass
class MonthSatisfaction:
    """One service's ratings in one month: how many at each level (1 to 5)."""

    month: date
    counts: dict[int, int] = field(default_factory=lambda: dict.fromkeys(Level.values, 0))

    @property
    def label(self) -> str:
        return month_label(self.month)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def satisfied_percent(self) -> int | None:
        """The share satisfied or very satisfied, rounded; ``None`` without ratings."""
        if not self.total:
            return None
        satisfied = sum(self.counts[int(level)] for level in SATISFIED_LEVELS)
        return round(100 * satisfied / self.total)

    def levels(self) -> list[int]:
        """The counts from very satisfied to very dissatisfied (the table's order)."""
        return [self.counts[level] for level in sorted(Level.values, reverse=True)]


@dataclass
class ServiceSatisfaction:
    service_key: str
    label: str
    slug: str | None
    months: list[MonthSatisfaction]

    @property
    def overall(self) -> MonthSatisfaction:
        total = MonthSatisfaction(month=self.months[0].month if self.months else date.min)
        for month in self.months:
            for level, count in month.counts.items():
                total.counts[level] += count
        return total


def satisfaction_by_service(
    *,
    user: Any,
    months: int = 6,
    department_id: int | None = None,
    today: date | None = None,
) -> list[ServiceSatisfaction]:
    """Ratings per service and month (the last ``months`` months, oldest first), within
    the official's remit, optionally of one department; services by label. One
    aggregate query, whatever the number of ratings."""
    window = months_back(months, today=today)
    start = timezone.make_aware(datetime.combine(window[0], datetime.min.time()))
    ratings = Rating.objects.filter(_remit(user), created_at__gte=start)
    if department_id is not None:
        ratings = ratings.filter(department_id=department_id)
    rows = (
        ratings.annotate(month=TruncMonth("created_at"))
        .values("service_key", "service_id", "month", "level")
        .annotate(count=Count("pk"))
        .order_by()
    )
    table: dict[str, dict[date, MonthSatisfaction]] = {}
    service_ids: dict[str, int | None] = {}
    for row in rows:
        key = row["service_key"]
        service_ids.setdefault(key, row["service_id"])
        month = _month(row["month"])
        per_month = table.setdefault(key, {m: MonthSatisfaction(m) for m in window})
        if month in per_month:
            per_month[month].counts[row["level"]] += row["count"]
    services = {
        service.pk: service
        for service in services_published_among(ids=[i for i in service_ids.values() if i])
    }
    found = []
    for key, per_month in table.items():
        service = services.get(service_ids[key] or 0)
        found.append(
            ServiceSatisfaction(
                service_key=key,
                label=service_label(key, service),
                slug=service.slug if service is not None else None,
                months=[per_month[m] for m in window],
            )
        )
    return sorted(found, key=lambda item: item.label.casefold())


def service_satisfaction(
    *, user: Any, service: Any, months: int = 12, today: date | None = None
) -> ServiceSatisfaction | None:
    """One service's row of :func:`satisfaction_by_service` (``None`` without
    ratings)."""
    rows = satisfaction_by_service(
        user=user, months=months, department_id=service.department_id, today=today
    )
    return next((row for row in rows if row.service_key == service.slug), None)


def rating_comments(
    *, user: Any, query: str = "", service_key: str = "", step: str = ""
) -> QuerySet[Rating]:
    """Ratings with a comment within the official's remit, newest first, whose
    (redacted) comment contains ``query`` (any case), of one service and step when
    given."""
    ratings = Rating.objects.filter(_remit(user)).exclude(comment="")
    if query.strip():
        ratings = ratings.filter(comment__icontains=query.strip())
    if service_key:
        ratings = ratings.filter(service_key=service_key)
    if step in Step.values:
        ratings = ratings.filter(step=step)
    return ratings.select_related("service__current_version", "department")


def remarks(
    *, user: Any, kind: str, query: str = "", service_key: str = ""
) -> QuerySet[Submission]:
    """Compliments or suggestions (``kind``) received about the departments of the
    official's remit, newest first, whose redacted text contains ``query``."""
    found = Submission.objects.filter(
        _remit(user, department_field="about_department"),
        kind=kind,
        status=Submission.Status.RECEIVED,
    )
    if query.strip():
        found = found.filter(text__icontains=query.strip())
    if service_key:
        found = found.filter(about_service__slug=service_key)
    return found.select_related("about_service__current_version", "about_department")


def rated_service_keys(*, user: Any) -> list[tuple[str, str]]:
    """(key, label) of every service rated within the official's remit, by label: the
    choices of the comments' service filter."""
    keys = dict(
        Rating.objects.filter(_remit(user))
        .values_list("service_key", "service_id")
        .distinct()
        .order_by()
    )
    services = {s.pk: s for s in services_published_among(ids=[i for i in keys.values() if i])}
    labelled = [(key, service_label(key, services.get(sid or 0))) for key, sid in keys.items()]
    return sorted(labelled, key=lambda item: item[1].casefold())


@dataclass
class ComplaintMonth:
    """Complaints received in one month, and how their stages went against the
    deadlines (working days: acknowledged within 5, replied to within 20, stage 2
    replied to within 20 more, by default)."""

    month: date
    received: int = 0
    acknowledged_in_time: int = 0
    responded_in_time: int = 0
    escalated: int = 0
    stage2_responded_in_time: int = 0
    open: int = 0
    overdue: int = 0

    @property
    def label(self) -> str:
        return month_label(self.month)

    def percent(self, count: int, of: int | None = None) -> int | None:
        base = self.received if of is None else of
        return round(100 * count / base) if base else None

    @property
    def acknowledged_percent(self) -> int | None:
        return self.percent(self.acknowledged_in_time)

    @property
    def responded_percent(self) -> int | None:
        return self.percent(self.responded_in_time)

    @property
    def stage2_percent(self) -> int | None:
        return self.percent(self.stage2_responded_in_time, self.escalated)


def _in_time(done: datetime | None, due: date | None) -> bool:
    return done is not None and due is not None and timezone.localdate(done) <= due


def _overdue(submission: Submission, today: date) -> bool:
    checks = (
        (submission.acknowledged_at or submission.responded_at, submission.acknowledge_by),
        (submission.responded_at, submission.respond_by),
    )
    if submission.closed_at is not None:
        return False
    if any(done is None and due is not None and today > due for done, due in checks):
        return True
    return bool(
        submission.stage2_requested_at
        and submission.stage2_responded_at is None
        and submission.stage2_respond_by
        and today > submission.stage2_respond_by
    )


def complaints_in_remit(*, user: Any) -> QuerySet[Submission]:
    """Complaints received about a department of the official's remit, or worked by
    one (the complaints team sees every complaint it handles)."""
    return Submission.objects.filter(
        _remit(user, department_field="about_department") | _remit(user, "case__department"),
        kind=Kind.COMPLAINT,
        case__isnull=False,
    )


def complaint_figures(
    *, user: Any, months: int = 6, today: date | None = None
) -> list[ComplaintMonth]:
    """Complaint figures per month of receipt (the last ``months`` months, oldest
    first), within the official's remit. Only the columns the figures need are read."""
    today = today or timezone.localdate()
    window = months_back(months, today=today)
    start = timezone.make_aware(datetime.combine(window[0], datetime.min.time()))
    table = {month: ComplaintMonth(month) for month in window}
    rows = (
        complaints_in_remit(user=user)
        .filter(received_at__gte=start)
        .only(
            "received_at",
            "state",
            "acknowledge_by",
            "respond_by",
            "acknowledged_at",
            "responded_at",
            "stage2_requested_at",
            "stage2_respond_by",
            "stage2_responded_at",
            "closed_at",
        )
    )
    for submission in rows:
        assert submission.received_at is not None
        figures = table.get(_month(submission.received_at))
        if figures is None:
            continue
        figures.received += 1
        # A reply sent without a separate acknowledgement acknowledges the complaint.
        figures.acknowledged_in_time += _in_time(
            submission.acknowledged_at or submission.responded_at, submission.acknowledge_by
        )
        figures.responded_in_time += _in_time(submission.responded_at, submission.respond_by)
        if submission.stage2_requested_at is not None:
            figures.escalated += 1
            figures.stage2_responded_in_time += _in_time(
                submission.stage2_responded_at, submission.stage2_respond_by
            )
        figures.open += submission.closed_at is None
        figures.overdue += _overdue(submission, today)
    return [table[month] for month in window]


def service_by_id(service_id: int | None) -> Any:
    """The published service with this id, or ``None``."""
    if not service_id:
        return None
    found = services_published_among(ids=[service_id])
    return found[0] if found else None


def submission_pending(*, token: str) -> Submission | None:
    """The submission waiting for the email address that this link confirms (``None``
    for an unknown, used or expired link)."""
    return (
        Submission.objects.filter(
            status=Submission.Status.PENDING,
            confirm_token_hash=token_hash(token),
            confirm_expires_at__gte=timezone.now(),
        )
        .select_related("about_department", "about_service__current_version")
        .first()
    )


def changes_for_staff(*, service: Any) -> QuerySet[ServiceChange]:
    """Every change of the service, withdrawn ones included, newest first."""
    return ServiceChange.objects.filter(service=service)


@dataclass(frozen=True)
class RatingRow:
    """One satisfaction rating, for the insights app's analytical store: no comment, no
    reference, only what the figure is built from."""

    id: int
    service_id: int | None
    service_key: str
    department_id: int | None
    level: int
    created_at: datetime


def ratings_after(*, after_id: int, limit: int) -> list[RatingRow]:
    """Ratings with an id above ``after_id``, in id order, at most ``limit``. Ratings are
    only ever added, so the last id read is a complete cursor. One query."""
    rows = (
        Rating.objects.filter(pk__gt=after_id)
        .order_by("pk")
        .values_list("pk", "service_id", "service_key", "department_id", "level", "created_at")[
            :limit
        ]
    )
    return [RatingRow(*row) for row in rows]


def ratings_last_id() -> int:
    """The highest rating id there is (0 when none)."""
    last = Rating.objects.order_by("-pk").values_list("pk", flat=True).first()
    return int(last or 0)
