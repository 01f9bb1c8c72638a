"""Reads about people and roles. Staff reads of a resident's personal data are audited."""

from __future__ import annotations

from typing import Any

from allauth.mfa.adapter import get_adapter as get_mfa_adapter
from django.db.models import QuerySet
from django.http import Http404

from ecitizen.accounts.identity import national_id_index
from ecitizen.accounts.models import (
    AUTHORITY_WIDE_ROLES,
    STAFF_ROLES,
    Department,
    ResidentProfile,
    Role,
    RoleAssignment,
    User,
)
from ecitizen.core.models import AuditEvent
from ecitizen.core.services import audit_record

_ROLE_CACHE_ATTR = "_ecitizen_role_assignments"

#: Roles whose work needs residents' personal details. Department administrators manage
#: staff, not residents; auditors read the trail, not profiles.
RESIDENT_DATA_ROLES = frozenset({Role.CASE_OFFICER, Role.SUPERVISOR, Role.PLATFORM_ADMIN})
#: Fewest characters a name search needs, so one letter cannot list every resident.
SEARCH_MIN_LENGTH = 3
#: Most residents a name search lists.
SEARCH_LIMIT = 25
#: Audit actions a resident sees in "who has looked at your information".
DATA_TRACKER_ACTIONS = ("personal_data.viewed", "personal_data.looked_up")


def user_role_assignments(user: Any) -> list[RoleAssignment]:
    """The user's role assignments, fetched once per request (cached on the user object)."""
    if not getattr(user, "is_authenticated", False):
        return []
    cached: list[RoleAssignment] | None = getattr(user, _ROLE_CACHE_ATTR, None)
    if cached is None:
        cached = list(
            RoleAssignment.objects.filter(user=user)
            .select_related("department", "jurisdiction")
            .order_by("role", "department__name")
        )
        setattr(user, _ROLE_CACHE_ATTR, cached)
    return cached


def user_has_role(user: Any, roles: frozenset[str] | set[str], department: Any = None) -> bool:
    """Whether the user holds one of ``roles`` (in ``department``, when given).

    Authority-wide roles (platform administrator, auditor) count in every department.
    """
    for assignment in user_role_assignments(user):
        if assignment.role not in roles:
            continue
        if (
            department is None
            or assignment.role in AUTHORITY_WIDE_ROLES
            or assignment.department_id == getattr(department, "pk", department)
        ):
            return True
    return False


def user_is_staff(user: Any) -> bool:
    return user_has_role(user, STAFF_ROLES)


def user_needs_mfa(user: Any) -> bool:
    """Officials and intermediaries must use a second factor; residents may."""
    return bool(user_role_assignments(user))


def user_has_mfa(user: Any) -> bool:
    return bool(get_mfa_adapter().is_mfa_enabled(user))


#: Set in the session when the person enrols a second factor (they just proved they hold
#: it by entering a code from it).
MFA_VERIFIED_SESSION_KEY = "ecitizen_mfa_verified"


def session_used_second_factor(request: Any) -> bool:
    """Whether this session was signed in (or re-authenticated) with a second factor.

    Reads allauth's record of how the session authenticated; a sign-in by any future
    route without a second factor (a login link, an eID) does not pass.
    """
    from allauth.account.internal.flows.login import get_authentication_records

    if request.session.get(MFA_VERIFIED_SESSION_KEY):
        return True
    records = get_authentication_records(request, request.user)
    return any(record.get("method") == "mfa" for record in records)


def user_acting_as(user: Any, roles: frozenset[str] | set[str] | None = None) -> str:
    """A label for what the user acts as, e.g. "Revenue — Case officer"; used in the audit
    trail so a resident sees the office, not the official's name."""
    labels = [
        a.audit_label() for a in user_role_assignments(user) if roles is None or a.role in roles
    ]
    return "; ".join(labels)


def staff_departments(user: Any) -> QuerySet[Department]:
    """Departments the user administers (all of them for a platform administrator)."""
    if user_has_role(user, {Role.PLATFORM_ADMIN}):
        return Department.objects.all()
    ids = [
        a.department_id
        for a in user_role_assignments(user)
        if a.role == Role.DEPARTMENT_ADMIN and a.department_id
    ]
    return Department.objects.filter(pk__in=ids)


def role_assignment_get(*, assignment_id: int) -> RoleAssignment:
    """One role assignment, or ``Http404``. Who may change it is the service's check."""
    assignment = (
        RoleAssignment.objects.select_related("department", "user").filter(pk=assignment_id).first()
    )
    if assignment is None:
        raise Http404
    return assignment


def staff_members(*, department_ids: list[int] | None = None) -> QuerySet[User]:
    """Users with at least one role, optionally only those in the given departments."""
    users = User.objects.filter(role_assignments__isnull=False)
    if department_ids is not None:
        users = users.filter(role_assignments__department_id__in=department_ids)
    return (
        users.distinct()
        .order_by("full_name")
        .prefetch_related("role_assignments__department", "role_assignments__jurisdiction")
    )


def staff_ward_limits(actor: Any) -> set[int] | None:
    """The wards an official may see residents of: ``None`` when not limited (any of
    their resident-data roles covers the whole authority), else the wards their roles are
    limited to."""
    wards: set[int] = set()
    for assignment in user_role_assignments(actor):
        if assignment.role not in RESIDENT_DATA_ROLES:
            continue
        if assignment.jurisdiction_id is None:
            return None
        wards.add(assignment.jurisdiction_id)
    return wards


def _profiles_for_staff(actor: Any) -> QuerySet[ResidentProfile]:
    profiles = ResidentProfile.objects.select_related("user", "ward")
    wards = staff_ward_limits(actor)
    return profiles if wards is None else profiles.filter(ward_id__in=wards)


def resident_find_by_national_id(
    *, national_id: str, actor: Any, ip_address: str | None
) -> ResidentProfile | None:
    """The profile with this national identity number, found through its blind index,
    within the official's wards. A match is recorded in the audit trail and shown to the
    resident (someone looked them up); the number itself is never recorded."""
    profile = (
        _profiles_for_staff(actor).filter(national_id_index=national_id_index(national_id)).first()
    )
    audit_record(
        action="personal_data.looked_up",
        actor=actor,
        actor_role=user_acting_as(actor, RESIDENT_DATA_ROLES),
        obj=profile,
        object_type="" if profile else "accounts.residentprofile",
        subject_user_id=profile.user_id if profile else None,
        changes={"found": {"before": None, "after": profile is not None}},
        ip_address=ip_address,
    )
    return profile


def resident_search(
    *, query: str, actor: Any, ip_address: str | None, limit: int = SEARCH_LIMIT
) -> list[ResidentProfile]:
    """Residents whose legal name contains ``query`` or whose email is ``query``, within
    the official's wards, at most ``limit`` of them. The search is audited (how many were
    found, not who: the results are names and emails, not the protected details).
    Precondition: ``query`` has at least :data:`SEARCH_MIN_LENGTH` characters."""
    query = query.strip()
    if len(query) < SEARCH_MIN_LENGTH:
        raise ValueError("query too short")
    profiles = _profiles_for_staff(actor)
    found = list(
        (
            profiles.filter(legal_name__icontains=query)
            | profiles.filter(user__email__iexact=query)
        ).order_by("legal_name")[:limit]
    )
    audit_record(
        action="personal_data.searched",
        actor=actor,
        actor_role=user_acting_as(actor, RESIDENT_DATA_ROLES),
        object_type="accounts.residentprofile",
        changes={"results": {"before": None, "after": len(found)}},
        ip_address=ip_address,
    )
    return found


def resident_profile_view_for_staff(
    *, profile_id: int, actor: Any, ip_address: str | None
) -> ResidentProfile:
    """A resident's full profile for an official, with the view written to the audit trail.

    Precondition: the caller has checked that ``actor`` holds one of
    ``RESIDENT_DATA_ROLES``. A resident outside the official's wards is answered like an
    unknown one: ``Http404``. Side effect: an audit event ``personal_data.viewed`` that
    the resident sees in their data tracker.
    """
    profile = _profiles_for_staff(actor).filter(pk=profile_id).first()
    if profile is None:
        raise Http404
    audit_record(
        action="personal_data.viewed",
        actor=actor,
        actor_role=user_acting_as(actor, RESIDENT_DATA_ROLES),
        obj=profile,
        subject_user_id=profile.user_id,
        ip_address=ip_address,
    )
    return profile


def data_tracker_for_resident(*, user: Any, limit: int = 100) -> QuerySet[AuditEvent]:
    """Who (as which office) looked at this resident's personal data, newest first."""
    return (
        AuditEvent.objects.filter(subject_user_id=user.pk, action__in=DATA_TRACKER_ACTIONS)
        .exclude(actor_id=user.pk)
        .only("created_at", "actor_role", "action")
        .order_by("-sequence")[:limit]
    )


def account_activity_for_user(*, user: Any, limit: int = 50) -> QuerySet[AuditEvent]:
    """Security events on the resident's own account (sign-ins, MFA changes, ...)."""
    return (
        AuditEvent.objects.filter(subject_user_id=user.pk)
        .exclude(action__in=DATA_TRACKER_ACTIONS)  # shown, without staff details, there
        .order_by("-sequence")[:limit]
    )
