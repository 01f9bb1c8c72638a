"""Reads of the insights app: what an official may see of the performance figures, and
the figures themselves.

**Remit** (capability ``insights.read``; ``docs/security.md``). Access is granted by one
role assignment at a time (``accounts.selectors.remit_covers`` / ``remit_filter``):

- an **authority-wide** holder (performance officer, platform administrator) sees the
  whole authority's page, every department and every service: :func:`may_see_authority`;
- a **service manager** of a department sees that department's page (its totals) and the
  pages of its services;
- a service manager whose assignment is **limited to a ward** sees the pages of their
  department's services, but not the department's totals, nor any ward's row but their
  own in "SLA by ward". The figures of a service cover the whole authority's area (a
  journey, a rating or a cost has no ward), and the manager runs the service in their
  ward: they need the service's figures to compare their ward with it. A department's
  totals are the business of those who run the whole department (so its page is 404
  for them), and another ward's figures are another ward's business.

Anything outside the remit is 404 (:class:`~django.http.Http404`), the same as something
that does not exist. The figures themselves (:class:`~ecitizen.insights.models.KpiMonth`)
are aggregates that name nobody.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from django.db.models import Q
from django.http import Http404

from ecitizen.accounts.selectors import (
    department_by_slug,
    departments_all,
    remit_assignments,
    remit_covers,
    remit_filter,
)
from ecitizen.catalogue.selectors import services_published
from ecitizen.core.registry import registry
from ecitizen.insights.models import Anomaly, KpiMonth
from ecitizen.insights.services import INSIGHTS_READ

if TYPE_CHECKING:
    from ecitizen.accounts.models import Department
    from ecitizen.catalogue.models import Service


def may_see_authority(user: Any) -> bool:
    """Whether the user holds ``insights.read`` authority-wide (and not limited to a
    ward): the authority's page and every department's and service's."""
    wide = registry.authority_wide_roles()
    return any(
        a.role in wide and a.jurisdiction_id is None for a in remit_assignments(user, INSIGHTS_READ)
    )


def _ward_ids(user: Any) -> set[int | None]:
    """The wards of the user's ``insights.read`` assignments (``None``: not limited)."""
    return {a.jurisdiction_id for a in remit_assignments(user, INSIGHTS_READ)}


def _covers_department_totals(user: Any, department: Any) -> bool:
    """An assignment that covers the department without a ward limit (its totals)."""
    return remit_covers(user, INSIGHTS_READ, departments=department, ward_id=None)


def _covers_service(user: Any, department_id: int) -> bool:
    """An assignment that covers a service of ``department_id``: one of the department
    (in any of the user's wards), or an authority-wide one."""
    return any(
        remit_covers(user, INSIGHTS_READ, departments=department_id, ward_id=ward)
        for ward in _ward_ids(user)
    )


def may_see_department(*, user: Any, department: Department) -> bool:
    """Whether the department's page (its totals) is within the user's remit."""
    return _covers_department_totals(user, department)


def departments_for_insights(*, user: Any) -> list[Department]:
    """The departments whose page (its totals) the user may see, by name: every one for
    an authority-wide holder, their own for a service manager, none for a ward-limited
    one (reads the departments once; the assignments are cached on the user)."""
    return [d for d in departments_all() if _covers_department_totals(user, d)]


def department_for_insights(*, user: Any, slug: str) -> Department:
    """The department named ``slug`` when its page is within the user's remit; otherwise
    404 (as for a department that does not exist)."""
    department = department_by_slug(slug=slug)
    if department is None or not _covers_department_totals(user, department):
        raise Http404
    return department


def services_for_insights(*, user: Any, department: Department | None = None) -> list[Service]:
    """The published services (listed or not: street-report categories too) whose page
    the user may see, of ``department`` when given, in slug order: one query."""
    condition = remit_filter(user, INSIGHTS_READ, department_field="department", ward_field=None)
    services = services_published(listed=None)
    if condition:  # an empty Q covers everything (an authority-wide assignment): no filter
        services = services.filter(condition | _ward_limited_filter(user))
    if department is not None:
        services = services.filter(department=department)
    return list(services)


def _ward_limited_filter(user: Any) -> Q:
    """Services of the departments of the user's ward-limited ``insights.read``
    assignments (``remit_filter`` leaves those out of objects without a ward, and a
    service has none: its page is the service's figures, see the module's docstring)."""
    ids = [
        a.department_id
        for a in remit_assignments(user, INSIGHTS_READ)
        if a.jurisdiction_id is not None and a.department_id is not None
    ]
    return Q(department_id__in=ids) if ids else Q(pk__in=[])


def service_for_insights(*, user: Any, slug: str) -> Service:
    """The published service named ``slug`` when its page is within the user's remit
    (its department's service manager, ward-limited or not; an authority-wide holder);
    otherwise 404."""
    service = services_published(listed=None).filter(slug=slug).first()
    if service is None or not _covers_service(user, service.department_id):
        raise Http404
    return service


def wards_for_insights(*, user: Any, service: Service) -> frozenset[str] | None:
    """The codes of the wards whose "SLA by ward" rows of ``service`` the user may see,
    or ``None`` for every ward (an assignment of the service's department, or an
    authority-wide one, without a ward limit)."""
    if _covers_department_totals(user, service.department_id):
        return None
    return frozenset(
        a.jurisdiction.code
        for a in remit_assignments(user, INSIGHTS_READ)
        if a.jurisdiction is not None
        and remit_covers(
            user, INSIGHTS_READ, departments=service.department_id, ward_id=a.jurisdiction_id
        )
    )


def kpi_months(*, scope: str, key: str, months: Sequence[date]) -> list[KpiMonth]:
    """The figures of one scope (``service``, ``department``, ``authority``; ``key`` the
    slug, ``""`` for the authority) for the given months (first days), ascending; a month
    without figures is left out. One query. Callers check the remit first."""
    if not months:
        return []
    return list(
        KpiMonth.objects.filter(scope=scope, key=key, month__in=list(months)).order_by("month")
    )


def kpi_rows_of_month(*, scope: str, keys: Iterable[str], month: date) -> dict[str, KpiMonth]:
    """The figures of one month of several scopes of one kind (the services of a
    department, say), by key. One query. Callers check the remit first."""
    keys = list(keys)
    if not keys:
        return {}
    return {row.key: row for row in KpiMonth.objects.filter(scope=scope, key__in=keys, month=month)}


def kpi_months_available(*, scope: str, key: str, latest: date) -> list[date]:
    """The months (first days) that have figures for the scope, up to ``latest``, the
    latest first."""
    return list(
        KpiMonth.objects.filter(scope=scope, key=key, month__lte=latest)
        .order_by("-month")
        .values_list("month", flat=True)
    )


def anomalies_for_insights(
    *, services: Iterable[Service], since: date, until: date, limit: int = 20
) -> list[Anomaly]:
    """The weeks flagged as unexpected (outside the forecast's 95% interval) of the given
    services (already within the reader's remit), whose week starts from ``since`` to
    ``until`` inclusive, the latest first, at most ``limit``. One query."""
    ids = [service.pk for service in services]
    if not ids:
        return []
    return list(
        Anomaly.objects.filter(service_id__in=ids, week__gte=since, week__lte=until)
        .select_related("service")
        .order_by("-week", "service__slug", "series")[:limit]
    )
