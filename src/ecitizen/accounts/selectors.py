"""Reads about people and roles. Staff reads of a resident's personal data are audited."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from allauth.mfa.adapter import get_adapter as get_mfa_adapter
from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from ecitizen.accounts.auth_backends import HOLDS_ANY_ROLE_ATTR
from ecitizen.accounts.identity import national_id_index
from ecitizen.accounts.models import (
    Department,
    IdentityVerification,
    Jurisdiction,
    ResidentNameIndex,
    ResidentProfile,
    Role,
    RoleAssignment,
    User,
)
from ecitizen.core import crypto
from ecitizen.core.compiled import CompiledQuery
from ecitizen.core.errors import DomainError
from ecitizen.core.selectors import audit_events_about
from ecitizen.core.services import audit_record

_ROLE_CACHE_ATTR = "_ecitizen_role_assignments"

#: Capabilities of this app (roles holding them: ``AccountsConfig.ready``).
#: Reading residents' personal details. Department administrators manage staff, not
#: residents; auditors read the trail, not profiles.
RESIDENTS_READ = "residents.read"
#: Giving and removing staff roles (in the departments one administers).
PEOPLE_MANAGE = "people.manage"


def roles_for(roles_or_capability: str | frozenset[str] | set[str] | None) -> frozenset[str]:
    """Role codes from a capability's name (``"cases.work"``), a set of role codes, or
    ``None`` (every official role)."""
    from ecitizen.core.registry import registry

    if roles_or_capability is None:
        return registry.staff_roles()
    if isinstance(roles_or_capability, str):
        return registry.roles_with(roles_or_capability)
    return frozenset(roles_or_capability)


def _authority_wide() -> frozenset[str]:
    from ecitizen.core.registry import registry

    return registry.authority_wide_roles()


#: Fewest characters a name search needs, so one letter cannot list every resident.
SEARCH_MIN_LENGTH = 3
#: Most residents a name search lists.
SEARCH_LIMIT = 25
#: Audit actions a resident sees in "who has looked at your information".
DATA_TRACKER_ACTIONS = (
    "personal_data.viewed",
    "personal_data.looked_up",
    "cases.assist_consent_granted",
)


def user_role_assignments(user: Any) -> list[RoleAssignment]:
    """The user's role assignments, fetched once per request (cached on the user object).

    The user of a request (``accounts.auth_backends``) already says whether they hold any:
    none is then fetched."""
    if not getattr(user, "is_authenticated", False):
        return []
    if getattr(user, HOLDS_ANY_ROLE_ATTR, True) is False:
        return []
    cached: list[RoleAssignment] | None = getattr(user, _ROLE_CACHE_ATTR, None)
    if cached is None:
        cached = _ASSIGNMENTS_OF.objects(user=user.pk)
        setattr(user, _ROLE_CACHE_ATTR, cached)
    return cached


def _assignments_of(user: int) -> QuerySet[RoleAssignment]:
    return (
        RoleAssignment.objects.filter(user=user)
        .select_related("department", "jurisdiction")
        .order_by("role", "department__name")
    )


#: Every request of an official reads their assignments: compiled once per process
#: (core.compiled), as building the query in the ORM cost more than running it.
_ASSIGNMENTS_OF = CompiledQuery(
    RoleAssignment,
    _assignments_of,
    user=(-7_031_962_441, RoleAssignment._meta.get_field("user")),
)


def user_role_cache_clear(user: Any) -> None:
    """Forget what this user object knows of its role assignments (after a change to
    them): the next check reads them again."""
    for attribute in (_ROLE_CACHE_ATTR, HOLDS_ANY_ROLE_ATTR):
        user.__dict__.pop(attribute, None)


def user_roles_held(user: Any) -> frozenset[str]:
    """The roles the user holds, in whichever department (none for a visitor or a
    resident); from the assignments read once per request (:func:`user_role_assignments`)."""
    return frozenset(assignment.role for assignment in user_role_assignments(user))


def user_has_role(
    user: Any, roles: str | frozenset[str] | set[str] | None, department: Any = None
) -> bool:
    """Whether the user holds one of ``roles`` — role codes, or a capability's name, or
    ``None`` for any official role — (in ``department``, when given).

    Authority-wide roles (platform administrator, auditor) count in every department.
    """
    wanted = roles_for(roles)
    if department is None:
        # In some department: what the navigation reads once for all its items.
        return not wanted.isdisjoint(user_roles_held(user))
    for assignment in user_role_assignments(user):
        if assignment.role in wanted and (
            assignment.role in _authority_wide()
            or assignment.department_id == getattr(department, "pk", department)
        ):
            return True
    return False


def remit_assignments(
    user: Any, roles: str | frozenset[str] | set[str] | None
) -> list[RoleAssignment]:
    """The user's role assignments that hold one of ``roles``: each is one remit, a
    department (every department for an authority-wide role) and a ward (every ward
    when it has none). Access is granted by one assignment at a time, never by mixing
    the department of one with the ward of another."""
    wanted = roles_for(roles)
    return [a for a in user_role_assignments(user) if a.role in wanted]


def _assignment_department_covers(assignment: RoleAssignment, department: Any) -> bool:
    if assignment.role in _authority_wide():
        return True
    if department is None or assignment.department_id is None:
        return False
    if isinstance(department, str):  # a department's slug, as service definitions name it
        return assignment.department is not None and assignment.department.slug == department
    department_id: object = getattr(department, "pk", department)
    return assignment.department_id == department_id


def remit_covers(
    user: Any,
    roles: str | frozenset[str] | set[str] | None,
    *,
    departments: Any,
    ward_id: int | None,
) -> bool:
    """Whether one of the user's assignments holding one of ``roles`` covers an object of
    one of ``departments`` (ids, slugs or instances; ``None`` for an object that belongs
    to no department, which only authority-wide roles cover) in ward ``ward_id``.

    A ward-limited assignment covers only objects in its ward (an object with no ward is
    outside every ward limit). Reads the assignments cached on the user: no query.
    """
    wanted = (
        list(departments)
        if isinstance(departments, list | set | frozenset | tuple)
        else [departments]
    )
    for assignment in remit_assignments(user, roles):
        if assignment.jurisdiction_id is not None and assignment.jurisdiction_id != ward_id:
            continue
        if any(_assignment_department_covers(assignment, d) for d in wanted):
            return True
    return False


#: One part of a remit (:func:`remit_parts`): a department's id and a ward's id, ``None``
#: where the part does not limit.
RemitPart = tuple[int | None, int | None]


def remit_parts(
    user: Any,
    roles: str | frozenset[str] | set[str] | None,
    *,
    by_department: bool = True,
    by_ward: bool = True,
) -> list[RemitPart] | None:
    """The user's remit for ``roles`` as the parts of a union, one per assignment holding
    one of them: (its department, or ``None`` for an authority-wide role; its ward, or
    ``None`` when it is not ward-limited). ``None`` when a part covers everything; ``[]``
    when nothing is covered.

    ``by_department`` and ``by_ward`` say whether the objects have a department and a
    ward: without them only authority-wide roles, or only unlimited assignments, cover
    an object, so the other assignments contribute no part."""
    parts: list[RemitPart] = []
    for assignment in remit_assignments(user, roles):
        if assignment.role in _authority_wide():
            department_id = None
        elif not by_department or assignment.department_id is None:
            continue
        else:
            department_id = assignment.department_id
        ward_id = assignment.jurisdiction_id
        if ward_id is not None and not by_ward:
            continue
        if department_id is None and ward_id is None:
            return None
        parts.append((department_id, ward_id))
    return parts


def remit_condition(
    parts: list[RemitPart] | None, *, department_field: str = "department", ward_field: str = "ward"
) -> Q:
    """The filter for :func:`remit_parts`' union (``department_field`` and ``ward_field``
    name the objects' foreign keys): matches nothing for ``[]``, everything for ``None``."""
    if parts is None:
        return Q()
    condition = Q(pk__in=[])
    for department_id, ward_id in parts:
        part = Q()
        if department_id is not None:
            part &= Q(**{f"{department_field}_id": department_id})
        if ward_id is not None:
            part &= Q(**{f"{ward_field}_id": ward_id})
        condition |= part
    return condition


def remit_filter(
    user: Any,
    roles: str | frozenset[str] | set[str] | None,
    *,
    department_field: str | None = "department",
    ward_field: str | None = "ward",
) -> Q:
    """A filter for the objects within the user's remit for ``roles``: the union, over
    the assignments holding one of them, of (the assignment's department and, when it is
    ward-limited, its ward). Matches nothing when no assignment holds them.

    ``department_field`` and ``ward_field`` name the object's department and ward
    foreign keys (``None`` when the object has none: then only authority-wide roles, or
    only unlimited assignments, cover it).
    """
    parts = remit_parts(
        user, roles, by_department=department_field is not None, by_ward=ward_field is not None
    )
    return remit_condition(
        parts, department_field=department_field or "department", ward_field=ward_field or "ward"
    )


def user_is_staff(user: Any) -> bool:
    return user_has_role(user, None)


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
    if session_idp_second_factor(request, request.user):
        return True
    records = get_authentication_records(request, request.user)
    return any(record.get("method") == "mfa" for record in records)


def user_acting_as(user: Any, roles: str | frozenset[str] | set[str] | None = None) -> str:
    """A label for what the user acts as, e.g. "Revenue — Case officer"; used in the audit
    trail so a resident sees the office, not the official's name."""
    labels = [
        a.audit_label()
        for a in user_role_assignments(user)
        if roles is None or a.role in roles_for(roles)
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


def role_assignment_get(*, assignment_id: int, actor: Any) -> RoleAssignment:
    """A role assignment that ``actor`` administers (one in a department they
    administer; any for a platform administrator), or ``Http404``, the same answer as
    for an unknown one."""
    assignment = (
        RoleAssignment.objects.select_related("department", "user").filter(pk=assignment_id).first()
    )
    if assignment is None or not (
        user_has_role(actor, {Role.PLATFORM_ADMIN})
        or (
            assignment.department_id is not None
            and staff_departments(actor).filter(pk=assignment.department_id).exists()
        )
    ):
        raise Http404
    return assignment


def staff_members(*, department_ids: list[int] | None = None) -> list[User]:
    """Users with at least one role, optionally only those in the given departments,
    sorted by name (in Python: names are encrypted)."""
    users = User.objects.filter(role_assignments__isnull=False)
    if department_ids is not None:
        users = users.filter(role_assignments__department_id__in=department_ids)
    members = list(
        users.distinct().prefetch_related(
            "role_assignments__department", "role_assignments__jurisdiction"
        )
    )
    members.sort(key=lambda user: (crypto.collation_key(user.full_name), user.email))
    return members


#: Functions registered by the apps that hold residents' business with a department:
#: each takes a department id and returns a query of the user ids of residents who have
#: business with that department (an application, a bill...), a ``.values()`` of that
#: one column (asked per profile as an ``EXISTS`` on it: :func:`_has_business`). See
#: :func:`resident_links_register`.
_RESIDENT_LINKS: list[Callable[[int], QuerySet[Any]]] = []


def resident_links_register(link: Callable[[int], QuerySet[Any]]) -> None:
    """Called from an app's ``AppConfig.ready()``: ``link(department_id)`` answers the
    user ids of residents with business in that department, as a query of that one column
    (``Model.objects.filter(...).values("user_column")``). A department-bound official
    sees only such residents (need to know); an authority-wide role sees all."""
    if link not in _RESIDENT_LINKS:
        _RESIDENT_LINKS.append(link)


#: One remit for residents' data: (the ward's id, or ``None`` for every ward; the
#: department's id once for each registered resident link, or ``None`` for every
#: resident). The department is named once per link so that a compiled query can give
#: each of its places a sample of its own.
_ResidentRemit = tuple[int | None, tuple[int, ...] | None]


def _resident_remits(actor: Any) -> list[_ResidentRemit] | None:
    """The official's remits for residents' data, one per role assignment that reads it:
    the residents of its ward (all wards when it has none) who have business with its
    department (every resident for an authority-wide role). ``None``: the whole
    authority. One assignment at a time, never a mix of two."""
    remits = []
    for assignment in remit_assignments(actor, RESIDENTS_READ):
        departments = None
        if assignment.role not in _authority_wide():
            if assignment.department_id is None or not _RESIDENT_LINKS:
                continue  # no department, or no app with residents' business: no one
            departments = (assignment.department_id,) * len(_RESIDENT_LINKS)
        if assignment.jurisdiction_id is None and departments is None:
            return None
        remits.append((assignment.jurisdiction_id, departments))
    return remits


def _has_business(user_ids: QuerySet[Any]) -> Exists:
    """Whether the profile's user is among ``user_ids`` (a resident link's query of one
    column), asked as a correlated ``EXISTS`` on that column: the profile's own rows are
    looked up through the column's index, where ``user_id IN (...)`` made SQLite read the
    whole department's applications or bills for every profile it looked at."""
    (column,) = user_ids.query.values_select
    return Exists(user_ids.filter(**{column: OuterRef("user_id")}))


def _residents_within(remits: list[_ResidentRemit] | None) -> Q:
    """The profiles within any of ``remits`` (:func:`_resident_remits`)."""
    if remits is None:
        return Q()
    condition = Q(pk__in=[])
    for ward_id, departments in remits:
        part = Q()
        if ward_id is not None:
            part &= Q(ward_id=ward_id)
        if departments is not None:
            linked = Q(pk__in=[])
            for link, department_id in zip(_RESIDENT_LINKS, departments, strict=True):
                linked |= Q(_has_business(link(department_id)))
            part &= linked
        condition |= part
    return condition


def _profiles_for_staff(actor: Any) -> QuerySet[ResidentProfile]:
    """The profiles within the official's remit for residents' data
    (:func:`_resident_remits`)."""
    return ResidentProfile.objects.select_related("user", "ward").filter(
        _residents_within(_resident_remits(actor))
    )


#: The shape of an official's remits: for each, whether it has a ward and a department.
_RemitShape = tuple[tuple[bool, bool], ...] | None


@functools.lru_cache(maxsize=64)
def _profile_within(shape: _RemitShape, links: int) -> CompiledQuery[ResidentProfile]:
    """The query of one profile by its id within remits of ``shape`` (with ``links``
    resident links registered), compiled once per process: building it in the ORM, with
    a subquery per link and remit, cost more than running it. Its values: ``pk``, and
    for the ``i``-th remit ``ward_i`` and ``department_i_j`` for each link ``j``."""
    pk_field = ResidentProfile._meta.get_field("id")
    ward_field = ResidentProfile._meta.get_field("ward")
    department_field = Department._meta.get_field("id")
    samples: dict[str, tuple[int, Any]] = {"pk": (-7_031_962_500, pk_field)}
    for i, (has_ward, has_department) in enumerate(shape or ()):
        if has_ward:
            samples[f"ward_{i}"] = (-7_031_962_501 - len(samples), ward_field)
        for j in range(links if has_department else 0):
            samples[f"department_{i}_{j}"] = (-7_031_962_501 - len(samples), department_field)

    def build(pk: int, **values: int) -> QuerySet[ResidentProfile]:
        remits: list[_ResidentRemit] | None = None
        if shape is not None:
            remits = [
                (
                    values[f"ward_{i}"] if has_ward else None,
                    tuple(values[f"department_{i}_{j}"] for j in range(links))
                    if has_department
                    else None,
                )
                for i, (has_ward, has_department) in enumerate(shape)
            ]
        return (
            ResidentProfile.objects.select_related("user", "ward")
            .filter(_residents_within(remits))
            .filter(pk=pk)
            .order_by("pk")[:1]
        )

    return CompiledQuery(ResidentProfile, build, **samples)


def _profile_for_staff(actor: Any, profile_id: int) -> ResidentProfile | None:
    """``_profiles_for_staff(actor).filter(pk=profile_id).first()``, through the
    compiled query of the official's remits' shape (no query without a remit)."""
    remits = _resident_remits(actor)
    if remits == []:
        return None
    values: dict[str, Any] = {"pk": profile_id}
    for i, (ward_id, departments) in enumerate(remits or ()):
        if ward_id is not None:
            values[f"ward_{i}"] = ward_id
        for j, department_id in enumerate(departments or ()):
            values[f"department_{i}_{j}"] = department_id
    shape = (
        None
        if remits is None
        else tuple(
            (ward_id is not None, departments is not None) for ward_id, departments in remits
        )
    )
    return _profile_within(shape, len(_RESIDENT_LINKS)).first(**values)


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
        actor_role=user_acting_as(actor, RESIDENTS_READ),
        obj=profile,
        object_type="" if profile else "accounts.residentprofile",
        subject_user_id=profile.user_id if profile else None,
        changes={"found": {"before": None, "after": profile is not None}},
        ip_address=ip_address,
    )
    return profile


def name_query_searchable(query: str) -> bool:
    """Whether a name search for ``query`` can use the name indexes: an email address,
    or at least one word of :data:`SEARCH_MIN_LENGTH` characters or more."""
    return "@" in query or bool(
        crypto.query_indexes(query, context=ResidentProfile.NAME_INDEX_CONTEXT)
    )


def _residents_named(profiles: QuerySet[ResidentProfile], query: str, limit: int) -> list[Any]:
    """Up to ``limit`` of ``profiles`` whose legal name has a word starting with each word
    of ``query``. Names are encrypted: the database finds the rows that have the blind
    index of every word (of 3 characters or more) of the query, and each candidate is
    confirmed on its decrypted name (words of 1-2 characters, words longer than the
    indexed prefixes). At most ``8 * limit`` names are decrypted."""
    indexes = crypto.query_indexes(query, context=ResidentProfile.NAME_INDEX_CONTEXT)
    if not indexes:
        return []
    having_all = (
        ResidentNameIndex.objects.filter(index__in=indexes)
        .values("profile_id")
        .annotate(found=Count("index"))
        .filter(found=len(indexes))
        .values("profile_id")
    )
    candidates = profiles.filter(pk__in=having_all).order_by("pk")
    found: list[Any] = []
    last = 0
    for _round in range(4):
        batch = list(candidates.filter(pk__gt=last)[: 2 * limit])
        found += [p for p in batch if crypto.words_match(query, p.legal_name)]
        if len(found) >= limit or len(batch) < 2 * limit:
            break
        last = batch[-1].pk
    return found[:limit]


def resident_search(
    *, query: str, actor: Any, ip_address: str | None, limit: int = SEARCH_LIMIT
) -> list[ResidentProfile]:
    """Residents within the official's remit whose email is ``query`` or, for a query
    that is not an email address, whose legal name has a word starting with each word of
    ``query`` ("mar lop" finds "María López"; accents and case do not matter), at most
    ``limit`` of them, sorted by name. Names are encrypted, so the search goes through
    their word-prefix blind indexes (:class:`ResidentNameIndex`); when more than
    ``limit`` match, which ones are listed is arbitrary (the page asks for more of the
    name). The search is audited (how many were found, not who: the results are names
    and emails, not the protected details).

    Precondition: ``query`` has at least :data:`SEARCH_MIN_LENGTH` characters; a name
    with no word that long finds nobody (see :func:`name_query_searchable`)."""
    query = query.strip()
    if len(query) < SEARCH_MIN_LENGTH:
        raise ValueError("query too short")
    profiles = _profiles_for_staff(actor)
    if "@" in query:
        found = list(profiles.filter(user__email__iexact=query).order_by("pk")[:limit])
    else:
        found = _residents_named(profiles, query, limit)
    found.sort(key=lambda profile: (crypto.collation_key(profile.legal_name), profile.pk))
    audit_record(
        action="personal_data.searched",
        actor=actor,
        actor_role=user_acting_as(actor, RESIDENTS_READ),
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
    ``RESIDENTS_READ``. A resident outside the official's wards is answered like an
    unknown one: ``Http404``. Side effect: an audit event ``personal_data.viewed`` that
    the resident sees in their data tracker.
    """
    profile = _profile_for_staff(actor, profile_id)
    if profile is None:
        raise Http404
    audit_record(
        action="personal_data.viewed",
        actor=actor,
        actor_role=user_acting_as(actor, RESIDENTS_READ),
        obj=profile,
        subject_user_id=profile.user_id,
        ip_address=ip_address,
    )
    return profile


def data_tracker_for_resident(*, user: Any, limit: int = 100) -> QuerySet[Any]:
    """Who (as which office) looked at this resident's personal data, newest first."""
    return audit_events_about(
        subject_user_id=user.pk,
        actions=DATA_TRACKER_ACTIONS,
        exclude_actor_id=user.pk,
        limit=limit,
    )


def account_activity_for_user(*, user: Any, limit: int = 50) -> QuerySet[Any]:
    """Security events on the resident's own account (sign-ins, MFA changes, ...);
    staff reads are shown, without staff details, in the data tracker instead."""
    return audit_events_about(
        subject_user_id=user.pk, exclude_actions=DATA_TRACKER_ACTIONS, limit=limit
    )


# --- the organisation, for the apps that load the demo ------------------------------------


def department_by_slug(*, slug: str) -> Department | None:
    """The department with ``slug``, or ``None``."""
    return Department.objects.filter(slug=slug).first()


def departments_all() -> QuerySet[Department]:
    """Every department, in the order of their names."""
    return Department.objects.order_by("name", "pk")


def jurisdictions_by_code() -> dict[str, Jurisdiction]:
    """Every ward or district by its code, in the order of their names."""
    return {ward.code: ward for ward in Jurisdiction.objects.order_by("name", "pk")}


def wards() -> list[Jurisdiction]:
    """Every ward (the filters of the officials' lists offer them): read each time,
    made into instances only when changed (``CompiledQuery.objects_shared``), which
    are shared between requests and so **read-only**."""
    return _WARDS.objects_shared()


#: The officer's queue reads the wards on every request: compiled once per process
#: (core.compiled), as building the query in the ORM cost more than running it.
_WARDS = CompiledQuery(
    Jurisdiction, lambda: Jurisdiction.objects.filter(kind=Jurisdiction.Kind.WARD)
)


def users_with_profiles(*, ids: list[int]) -> list[User]:
    """The users with these ids, in id order, each with their profile read in the same
    query (an unknown id is left out)."""
    return list(User.objects.filter(pk__in=ids).select_related("profile").order_by("pk"))


def user_by_email(*, email: str) -> User | None:
    """The account with this email address (compared as stored: lower case), or ``None``."""
    return User.objects.filter(email=User.objects.normalize_email(email).strip().lower()).first()


def user_email_verified(user: Any) -> bool:
    """Whether ``user`` has confirmed their primary email address (allauth's record)."""
    from allauth.account.models import EmailAddress

    return bool(
        EmailAddress.objects.filter(user=user, email__iexact=user.email, verified=True).exists()
    )


# --- Verified identity (national eID) ---------------------------------------------------


class IdentityVerificationRequired(DomainError):
    """The action needs an identity verified by the national eID (at least
    ``minimum_acr`` when given) and the person's is not."""

    code = "identity_verification_required"

    def __init__(self, message: object, *, minimum_acr: str = "") -> None:
        super().__init__(message)
        self.minimum_acr = minimum_acr


#: The account page reads these on every visit: compiled once per process.
_VERIFICATION_OF = CompiledQuery(
    IdentityVerification,
    lambda user: IdentityVerification.objects.filter(user=user),
    user=(-7_031_962_491, IdentityVerification._meta.get_field("user")),
)
_PROFILE_OF = CompiledQuery(
    ResidentProfile,
    lambda user: ResidentProfile.objects.filter(user=user),
    user=(-7_031_962_492, ResidentProfile._meta.get_field("user")),
)


def identity_verification_for(user: Any) -> IdentityVerification | None:
    """The person's verified identity (provider, level of assurance, when), or ``None``
    (one at most: it is one-to-one with the account)."""
    if not getattr(user, "is_authenticated", False):
        return None
    return _VERIFICATION_OF.first(user=user.pk)


#: The officials' case page names its applicant: one column, one value decrypted.
_LEGAL_NAME_OF = CompiledQuery(
    ResidentProfile,
    lambda user: ResidentProfile.objects.filter(user=user).values_list("legal_name"),
    user=(-7_031_962_494, ResidentProfile._meta.get_field("user")),
)


def resident_legal_name(*, user_id: int) -> str | None:
    """The legal name on the resident's profile, or ``None`` without a profile. Reads and
    decrypts that one field (loading the profile would decrypt all nine of its personal
    fields), by a query compiled once per process."""
    name: str | None = _LEGAL_NAME_OF.value(user=user_id)
    return name


def profile_of(user: Any) -> ResidentProfile | None:
    """The account's profile: the one already read with ``user`` when it has been (a
    submission reads it for the case's home ward, and its notifications need it again),
    else read through a compiled query; ``None`` when the account has no profile (an
    account made outside the sign-up, such as a service account: the account page then
    shows its details as not given)."""
    if User.profile.is_cached(user):
        return getattr(user, "profile", None)  # None: read, and there is none
    return _PROFILE_OF.first(user=user.pk)


#: Each question page of an application reads its applicant with their profile (the
#: answers prefilled from it): compiled once per process.
_USER_WITH_PROFILE = CompiledQuery(
    User,
    lambda pk: User.objects.filter(pk=pk).select_related("profile"),
    pk=(-7_031_962_493, User._meta.get_field("id")),
)


def user_with_profile(*, user_id: int) -> User | None:
    """The account with this id, its profile read in the same query; ``None`` if none."""
    return _USER_WITH_PROFILE.first(pk=user_id)


def _resident_provider_levels(provider_id: str) -> dict[str, Any]:
    from ecitizen.accounts.oidc_settings import RESIDENT

    for app in settings.SOCIALACCOUNT_PROVIDERS.get("openid_connect", {}).get("APPS", []):
        config = app.get("settings", {}).get("ecitizen") or {}
        if app.get("provider_id") == provider_id and config.get("purpose") == RESIDENT:
            return dict(config)
    return {}


def identity_verified(user: Any, *, minimum_acr: str | None = None) -> bool:
    """Whether the person's identity is verified by the national eID — at level
    ``minimum_acr`` or above when given (levels ordered by the provider's
    ``EID_OIDC_ACR_LEVELS``; a level the settings do not list meets no minimum)."""
    verification = identity_verification_for(user)
    if verification is None:
        return False
    if not minimum_acr:
        return True
    levels = list(_resident_provider_levels(verification.provider).get("acr_levels") or [])
    if minimum_acr not in levels or verification.acr not in levels:
        return False
    return levels.index(verification.acr) >= levels.index(minimum_acr)


def identity_verification_require(user: Any, *, minimum_acr: str | None = None) -> None:
    """Raise :class:`IdentityVerificationRequired` unless :func:`identity_verified`.

    For services to call before an action that needs a verified identity (a service
    definition's ``requires_verified_identity``, an election's option); the message
    tells the person how to verify it.
    """
    if identity_verified(user, minimum_acr=minimum_acr):
        return
    if minimum_acr and identity_verification_for(user) is not None:
        message = _(
            "You need to confirm your identity again with the national eID, at a higher "
            "level of assurance, to do this. Link it again from your account page."
        )
    else:
        message = _(
            "You need to confirm your identity with the national eID to do this. Link "
            "your eID from your account page, then come back."
        )
    raise IdentityVerificationRequired(message, minimum_acr=minimum_acr or "")


def national_id_holder(national_id: str) -> User | None:
    """The account whose profile holds ``national_id`` (by its blind index), if any."""
    if not national_id:
        return None
    profile = (
        ResidentProfile.objects.select_related("user")
        .filter(national_id_index=national_id_index(national_id))
        .first()
    )
    return profile.user if profile else None


#: Session key: the staff identity provider asserted a second factor for this sign-in
#: (its value: the user's id).
IDP_SECOND_FACTOR_SESSION_KEY = "ecitizen_idp_second_factor"


def session_idp_second_factor(request: Any, user: Any) -> bool:
    """Whether this session's sign-in came from the staff identity provider with a
    second factor it asserted (``amr``/``acr``, see ``accounts.adapters``)."""
    session = getattr(request, "session", None)
    if session is None or not getattr(user, "pk", None):
        return False
    return bool(session.get(IDP_SECOND_FACTOR_SESSION_KEY) == user.pk)


def user_has_second_factor(user: Any) -> bool:
    """A second factor enrolled here, or — for the current request's session — one the
    staff identity provider asserted at sign-in (so an official who signs in that way is
    not sent to enrol one here). Registered as the identity's ``has_second_factor``."""
    if user_has_mfa(user):
        return True
    from allauth.core import context as allauth_context

    return session_idp_second_factor(allauth_context.request, user)
