"""Writes about people and roles. Every change is audited."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ecitizen.accounts.identity import national_id_index, normalise_national_id
from ecitizen.accounts.models import (
    Department,
    IdentityVerification,
    Jurisdiction,
    ResidentNameIndex,
    ResidentProfile,
    Role,
    RoleAssignment,
    SignInThrottle,
    User,
    localised_names_valid,
)
from ecitizen.accounts.oidc_settings import CLAIMS_KEY
from ecitizen.accounts.selectors import user_acting_as, user_has_role, user_role_cache_clear
from ecitizen.core import crypto
from ecitizen.core.errors import DomainError, PermissionDenied
from ecitizen.core.registry import registry
from ecitizen.core.services import audit_changes, audit_record

PROFILE_FIELDS = (
    "legal_name",
    "preferred_name",
    "date_of_birth",
    "national_id",
    "address_line_1",
    "address_line_2",
    "town",
    "postcode",
    "phone",
    "contact_preference",
    "ward",
)


class NationalIdInUse(DomainError):
    code = "national_id_in_use"


class VerifiedFieldLocked(DomainError):
    """A resident tried to change a value their national eID confirmed."""

    code = "verified_field_locked"

    def __init__(self, message: object, *, field: str) -> None:
        super().__init__(message)
        self.field = field


def _verified_fields(user: User) -> frozenset[str]:
    verification = IdentityVerification.objects.filter(user=user).first()
    return frozenset(verification.verified_fields) if verification else frozenset()


def _differs(field: str, current: Any, given: Any) -> bool:
    if field == "national_id":
        return bool((normalise_national_id(given) if given else None) != current)
    if field == "legal_name":
        return str(given or "").strip() != str(current or "").strip()
    return bool(given != current)


@transaction.atomic
def user_create(
    *,
    email: str,
    full_name: str,
    password: str | None,
    actor: Any = None,
    ip_address: str | None = None,
) -> User:
    """Create a user with a resident profile, and audit it.

    ``password=None`` creates an account that cannot sign in with a password until one is
    set through the password-reset journey. Raises ``IntegrityError`` for a taken email.
    """
    user = User(email=User.objects.normalize_email(email).lower(), full_name=full_name)
    user.set_password(password)
    return user_register(user=user, actor=actor, ip_address=ip_address)


@transaction.atomic
def user_register(*, user: User, actor: Any = None, ip_address: str | None = None) -> User:
    """Save a new (unsaved) user built by the sign-up form, give them a resident profile
    and audit the creation."""
    user.email = user.email.lower()
    user.save()
    profile = ResidentProfile.objects.create(user=user, legal_name=user.full_name)
    _name_index_refresh(profile)
    audit_record(
        action="account.created",
        actor=actor or user,
        obj=user,
        subject_user_id=user.pk,
        ip_address=ip_address,
    )
    return user


def _profile_snapshot(profile: ResidentProfile) -> dict[str, Any]:
    return {field: getattr(profile, field) for field in PROFILE_FIELDS}


def _name_index_refresh(profile: ResidentProfile) -> None:
    """Replace the blind indexes of the profile's legal name (a name search finds the
    resident by the start of any word of it; see ``ResidentNameIndex``)."""
    wanted = crypto.prefix_indexes(profile.legal_name, context=ResidentProfile.NAME_INDEX_CONTEXT)
    ResidentNameIndex.objects.filter(profile=profile).exclude(index__in=wanted).delete()
    have = set(ResidentNameIndex.objects.filter(profile=profile).values_list("index", flat=True))
    ResidentNameIndex.objects.bulk_create(
        [ResidentNameIndex(profile=profile, index=index) for index in sorted(wanted - have)]
    )


@transaction.atomic
def profile_update(
    *,
    user: User,
    data: Mapping[str, Any],
    actor: Any,
    ip_address: str | None = None,
    verified: bool = False,
) -> ResidentProfile:
    """Change a resident's profile fields (only those in ``data``) and audit what changed.

    The national identity number is normalised and its blind index kept in step, and so
    are the legal name's word indexes (for staff name searches). Raises
    :class:`NationalIdInUse` when another resident already has that number. Personal
    values (names and address included) never reach the audit trail: they are masked.

    Values the resident's national eID confirmed (``IdentityVerification``) cannot be
    changed by the resident: :class:`VerifiedFieldLocked`. ``verified=True`` is for
    :func:`identity_verification_record`, which files the provider's values.
    """
    profile = ResidentProfile.objects.select_for_update().get(user=user)
    before = _profile_snapshot(profile)
    locked = _verified_fields(user) if actor == user and not verified else frozenset()
    for field, given in data.items():
        if field not in PROFILE_FIELDS:
            raise ValueError(f"{field} is not a profile field")
        if field in locked and _differs(field, getattr(profile, field), given):
            raise VerifiedFieldLocked(
                _(
                    "This was confirmed by your national eID, so it cannot be changed here. "
                    "If it is wrong, contact us."
                ),
                field=field,
            )
        value = given
        if field == "national_id":
            value = normalise_national_id(given) if given else None
            profile.national_id_index = national_id_index(value) if value else None
        if field in ResidentProfile.PERSONAL_FIELDS and value == "":
            value = None
        setattr(profile, field, value)
    changes = audit_changes(
        before, _profile_snapshot(profile), personal=ResidentProfile.AUDIT_MASKED_FIELDS
    )
    if not changes:
        return profile
    try:
        with transaction.atomic():
            profile.save()
    except IntegrityError as exc:
        raise NationalIdInUse(
            _(
                "This national identity number is already linked to another account. "
                "Contact us if you think this is a mistake."
            )
        ) from exc
    if "legal_name" in changes:
        _name_index_refresh(profile)
    audit_record(
        action="profile.updated",
        actor=actor,
        actor_role="" if actor == user else user_acting_as(actor),
        obj=profile,
        subject_user_id=user.pk,
        changes=changes,
        ip_address=ip_address,
    )
    return profile


@transaction.atomic
def preferences_update(
    *,
    user: User,
    language: str | None = None,
    text_size: str | None = None,
    contrast: str | None = None,
) -> User:
    """Save display and language preferences (not audited: they are not personal data)."""
    fields = []
    for name, value in (("language", language), ("text_size", text_size), ("contrast", contrast)):
        if value is not None and getattr(user, name) != value:
            setattr(user, name, value)
            fields.append(name)
    if fields:
        user.save(update_fields=fields)
    return user


def _check_may_grant(*, actor: Any, role: str, department: Department | None) -> None:
    if user_has_role(actor, {Role.PLATFORM_ADMIN}):
        return
    if role in registry.authority_wide_roles():
        raise PermissionDenied(_("Only a platform administrator can give or remove this role."))
    if department is None or not user_has_role(actor, {Role.DEPARTMENT_ADMIN}, department):
        raise PermissionDenied(_("You can only manage roles in departments you administer."))


@transaction.atomic
def role_assign(
    *,
    user: User,
    role: str,
    department: Department | None,
    jurisdiction: Jurisdiction | None = None,
    actor: Any,
    system: bool = False,
    ip_address: str | None = None,
) -> RoleAssignment:
    """Give ``user`` a role. Department administrators manage their own departments;
    platform administrators manage everything, including authority-wide roles.
    ``system=True`` (provisioning: the demo, a first administrator) skips the check and
    must be said explicitly; an ``actor`` of ``None`` alone is refused.

    Raises :class:`PermissionDenied` when the actor may not grant it and
    :class:`DomainError` (``role_exists``) when the user already holds it.
    """
    if role not in registry.roles:
        raise DomainError(_("Choose one of the roles listed."), code="unknown_role")
    # Serialise changes to one person's roles (a double submit, two administrators).
    User.objects.select_for_update().filter(pk=user.pk).first()
    if role in registry.authority_wide_roles():
        department = None
        jurisdiction = None
    elif department is None:
        raise DomainError(_("Choose a department for this role."), code="department_required")
    if actor is None and not system:
        raise PermissionDenied(_("Roles are given by an administrator."))
    if not system:
        _check_may_grant(actor=actor, role=role, department=department)
    assignment, created = RoleAssignment.objects.get_or_create(
        user=user,
        role=role,
        department=department,
        jurisdiction=jurisdiction,
        defaults={"granted_by": actor},
    )
    if not created:
        raise DomainError(_("This person already has that role."), code="role_exists")
    audit_record(
        action="role.assigned",
        actor=actor,
        actor_role=user_acting_as(actor) if actor else "",
        obj=assignment,
        subject_user_id=user.pk,
        changes={"role": {"before": None, "after": assignment.audit_label()}},
        ip_address=ip_address,
    )
    return assignment


@transaction.atomic
def role_revoke(
    *,
    assignment: RoleAssignment,
    actor: Any,
    ip_address: str | None = None,
    system: bool = False,
) -> None:
    """Remove a role assignment, with the same permission rules as :func:`role_assign`
    (``system=True``: provisioning, e.g. the staff identity provider's groups, skips
    them and must be said explicitly)."""
    if not system:
        _check_may_grant(actor=actor, role=assignment.role, department=assignment.department)
    # Locked and re-read: of two removals at once (a double submit), one does the work.
    if not RoleAssignment.objects.select_for_update().filter(pk=assignment.pk).exists():
        raise DomainError(_("This role had already been removed."), code="role_gone")
    label, user_id, pk = assignment.audit_label(), assignment.user_id, assignment.pk
    assignment.delete()
    audit_record(
        action="role.revoked",
        actor=actor,
        actor_role=user_acting_as(actor),
        object_type="accounts.roleassignment",
        object_id=str(pk),
        subject_user_id=user_id,
        changes={"role": {"before": label, "after": None}},
        ip_address=ip_address,
    )


# --- Sign-in throttling -----------------------------------------------------------------

_ACCOUNT_KEY_CONTEXT = "accounts.signinthrottle.account"
_DEVICE_KEY_CONTEXT = "accounts.signinthrottle.device"


def _throttle_keys(
    *, email: str, ip_address: str | None, device: str | None = None
) -> list[tuple[str, str, int]]:
    # The account key is a blind index of the typed email, so the throttle table holds no
    # email addresses (typed ones included, which may belong to nobody). An attempt from
    # a device that completed a sign-in to this account before (its device code, see
    # accounts.devices) is counted against that device instead, in a row of its own:
    # someone else's failures on the account do not make the owner's browser wait.
    if device:
        account_key = crypto.blind_index(device, context=_DEVICE_KEY_CONTEXT)
    else:
        account_key = crypto.blind_index(email.strip().lower(), context=_ACCOUNT_KEY_CONTEXT)
    keys: list[tuple[str, str, int]] = [
        (
            SignInThrottle.Scope.ACCOUNT,
            account_key,
            settings.SIGNIN_THROTTLE_FREE_ATTEMPTS_ACCOUNT,
        )
    ]
    if ip_address:
        keys.append(
            (SignInThrottle.Scope.IP, ip_address, settings.SIGNIN_THROTTLE_FREE_ATTEMPTS_IP)
        )
    return keys


class SignInThrottled(DomainError):
    """The account or the address must wait before trying to sign in again."""

    code = "sign_in_throttled"

    def __init__(self, wait_seconds: int) -> None:
        super().__init__(f"wait {wait_seconds} seconds")
        self.wait_seconds = wait_seconds


def signin_wait_seconds(*, email: str, ip_address: str | None, device: str | None = None) -> int:
    """How long this account (or known ``device``) or address must wait before another
    attempt (0 = now)."""
    now = timezone.now()
    wait = 0.0
    for scope, key, _free in _throttle_keys(email=email, ip_address=ip_address, device=device):
        row = SignInThrottle.objects.filter(scope=scope, key=key).first()
        if row and row.blocked_until and row.blocked_until > now:
            wait = max(wait, (row.blocked_until - now).total_seconds())
    return math.ceil(wait)


def _delay_after(failures: int, free_attempts: int) -> int:
    """Seconds to wait after the ``failures``-th consecutive failure: none while within the
    free attempts, then doubling from the base delay, never above the maximum (so an
    account is never locked for good)."""
    if failures < free_attempts:
        return 0
    exponent = min(failures - free_attempts, 20)
    return int(
        min(settings.SIGNIN_THROTTLE_BASE_DELAY * 2**exponent, settings.SIGNIN_THROTTLE_MAX_DELAY)
    )


def _recount(row: SignInThrottle, free_attempts: int, now: Any) -> None:
    delay = _delay_after(row.failures, free_attempts)
    row.blocked_until = now + timedelta(seconds=delay) if delay else None


@transaction.atomic
def signin_attempt_begin(*, email: str, ip_address: str | None, device: str | None = None) -> None:
    """Admit one sign-in attempt, counted as a failure *before* the password is checked.

    Counting first, under a row lock, is what stops parallel requests from all slipping
    through while the first ones are still hashing; a successful sign-in takes the count
    back (:func:`signin_password_accepted`). Failures older than a day no longer count.
    ``device``: the device code the browser holds for this account (the caller checked
    the cookie is valid and names this account); the attempt is then counted against
    the device instead of the account. Raises :class:`SignInThrottled` when the account
    (or device) or the address must wait.
    """
    now = timezone.now()
    rows = []
    wait = 0.0
    for scope, key, free in _throttle_keys(email=email, ip_address=ip_address, device=device):
        row, _created = SignInThrottle.objects.select_for_update().get_or_create(
            scope=scope, key=key, defaults={"last_failure_at": now}
        )
        if row.blocked_until and row.blocked_until > now:
            wait = max(wait, (row.blocked_until - now).total_seconds())
        rows.append((row, free))
    if wait:
        raise SignInThrottled(math.ceil(wait))
    for row, free in rows:
        if now - row.last_failure_at > timedelta(days=1):
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        _recount(row, free, now)
        row.save()


def signin_failure_record(
    *, email: str, ip_address: str | None, user: User | None, device: str | None = None
) -> int:
    """Audit a failed sign-in (already counted by :func:`signin_attempt_begin`); returns
    the seconds the account (or ``device``) or address now has to wait."""
    wait = signin_wait_seconds(email=email, ip_address=ip_address, device=device)
    audit_record(
        action="auth.sign_in_failed",
        actor=None,
        object_type="accounts.user" if user else "",
        object_id=str(user.pk) if user else "",
        subject_user_id=user.pk if user else None,
        changes={"wait_seconds": {"before": None, "after": wait}},
        ip_address=ip_address,
    )
    return wait


@transaction.atomic
def signin_password_accepted(
    *, email: str, ip_address: str | None, device: str | None = None
) -> None:
    """Take back the attempt counted by :func:`signin_attempt_begin` once the password
    proved right: the account (or, for a known ``device``, that device only) starts
    afresh, the address keeps its other failures."""
    now = timezone.now()
    for scope, key, free in _throttle_keys(email=email, ip_address=ip_address, device=device):
        row = SignInThrottle.objects.select_for_update().filter(scope=scope, key=key).first()
        if row is None:
            continue
        if scope == SignInThrottle.Scope.ACCOUNT or row.failures <= 1:
            row.delete()
        else:
            row.failures -= 1
            _recount(row, free, now)
            row.save()


def signin_record(*, user: User, ip_address: str | None) -> None:
    """Audit a completed sign-in (after the second factor, when there is one)."""
    audit_record(
        action="auth.signed_in",
        actor=user,
        obj=user,
        subject_user_id=user.pk,
        ip_address=ip_address,
    )


def date_of_birth_valid(value: date) -> bool:
    """A date of birth is in the past and within a human lifetime."""
    today = timezone.localdate()
    return date(today.year - 130, 1, 1) <= value <= today


# --- MFA secrets under key rotation -----------------------------------------------------


def _mfa_secret_keys(data: Mapping[str, Any]) -> list[str]:
    return [key for key in ("secret", "seed") if isinstance(data.get(key), str)]


def mfa_secrets_pending(*, key_id: str) -> int:
    """Authenticators whose TOTP secret or recovery seed is under another key."""
    from allauth.mfa.models import Authenticator

    pending = 0
    for data in Authenticator.objects.values_list("data", flat=True).iterator():
        if any(crypto.token_key_id(data[k]) != key_id for k in _mfa_secret_keys(data)):
            pending += 1
    return pending


def mfa_secrets_rotate(*, progress: Any = None) -> int:
    """Re-encrypt TOTP secrets and recovery-code seeds under the active key (each row in
    its own transaction, so the run is resumable). Returns how many were re-encrypted."""
    from allauth.mfa.models import Authenticator

    from ecitizen.accounts.adapters import MFA_ENCRYPTION_CONTEXT

    key_id = crypto.active_key_id()
    done = 0
    for pk in Authenticator.objects.order_by("pk").values_list("pk", flat=True):
        with transaction.atomic():
            row = Authenticator.objects.select_for_update().get(pk=pk)
            stale = [
                k for k in _mfa_secret_keys(row.data) if crypto.token_key_id(row.data[k]) != key_id
            ]
            if not stale:
                continue
            for k in stale:
                plaintext = crypto.decrypt(row.data[k], context=MFA_ENCRYPTION_CONTEXT)
                row.data[k] = crypto.encrypt(plaintext, context=MFA_ENCRYPTION_CONTEXT)
            row.save(update_fields=["data"])
        done += 1
        if progress is not None:
            progress.update(1)
    return done


@transaction.atomic
def mfa_totp_activate(*, user: User, secret: str, actor: Any) -> None:
    """Enrol a TOTP authenticator with a known base32 ``secret`` plus recovery codes.

    For provisioning (the demo authority, a bulk import of staff who already hold a token);
    people enrol themselves through allauth's pages.
    """
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
    from allauth.mfa.totp.internal.auth import TOTP

    TOTP.activate(user, secret)
    RecoveryCodes.activate(user)
    audit_record(action="mfa.totp_added", actor=actor, obj=user, subject_user_id=user.pk)


# --- Organisation and provisioning ------------------------------------------------------


@transaction.atomic
def department_ensure(
    *, slug: str, name: str, email: str = "", names: dict[str, str] | None = None, actor: Any
) -> Department:
    """The department with ``slug``, created (and audited) if it does not exist yet.
    ``names``: its name in other languages (``{"fr": ..., "ar": ...}``), also given to
    an existing department that has none yet (a deployment upgraded from before names
    were translated); names already set are kept."""
    department, created = Department.objects.get_or_create(
        slug=slug, defaults={"name": name, "email": email, "names": names or {}}
    )
    if created:
        audit_record(
            action="organisation.department_created",
            actor=actor,
            obj=department,
            changes={"name": {"before": None, "after": name}},
        )
    else:
        _names_fill(department, names, actor=actor, action="organisation.department_renamed")
    return department


def _names_fill(obj: Department | Jurisdiction, names: dict[str, str] | None, **audit: Any) -> None:
    """Give ``obj`` its ``names`` in other languages when it has none (audited)."""
    if not names or obj.names:
        return
    obj.names = dict(names)
    obj.save(update_fields=["names"])
    audit_record(obj=obj, changes={"names": {"before": {}, "after": obj.names}}, **audit)


@transaction.atomic
def jurisdiction_ensure(
    *, code: str, name: str, names: dict[str, str] | None = None, actor: Any
) -> Jurisdiction:
    """The ward or district with ``code``, created (and audited) if it does not exist yet;
    ``names`` as for :func:`department_ensure`."""
    if names:
        localised_names_valid(names)
    jurisdiction, created = Jurisdiction.objects.get_or_create(
        code=code, defaults={"name": name, "names": names or {}}
    )
    if created:
        audit_record(
            action="organisation.jurisdiction_created",
            actor=actor,
            obj=jurisdiction,
            changes={"name": {"before": None, "after": name}},
        )
    else:
        _names_fill(jurisdiction, names, actor=actor, action="organisation.jurisdiction_renamed")
    return jurisdiction


@transaction.atomic
def email_mark_verified(*, user: User, actor: Any) -> None:
    """Record the user's address as verified and primary without sending a link: for
    accounts provisioned by the authority (staff imports, the demo)."""
    from allauth.account.models import EmailAddress

    address, _created = EmailAddress.objects.get_or_create(
        user=user, email=user.email, defaults={"verified": True, "primary": True}
    )
    if not address.verified:
        address.verified = True
        address.save(update_fields=["verified"])
    audit_record(action="account.email_confirmed", actor=actor, obj=user, subject_user_id=user.pk)


def signin_throttle_prune() -> int:
    """Forget failure counts that no longer matter (older than a day, not blocking)."""
    cutoff = timezone.now() - timedelta(days=1)
    deleted, _by_model = (
        SignInThrottle.objects.filter(last_failure_at__lt=cutoff)
        .exclude(blocked_until__gt=timezone.now())
        .delete()
    )
    return deleted


# --- Identity verified by a national eID; staff roles from the staff identity provider ---


def _claim_date(value: Any) -> date | None:
    """A ``birthdate`` claim (``YYYY-MM-DD``, OpenID Connect's format) or ``None`` when it
    is absent or not a plausible date of birth."""
    if not isinstance(value, str):
        return None
    try:
        parsed = date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None
    return parsed if date_of_birth_valid(parsed) else None


@transaction.atomic
def identity_verification_record(
    *,
    user: User,
    provider_id: str,
    claims: Mapping[str, Any],
    claim_names: Mapping[str, str],
    ip_address: str | None = None,
) -> IdentityVerification:
    """File what the national eID provider vouched for: the verified name, date of birth
    and national identity number (claim names from the provider's settings) go into the
    resident's encrypted profile as verified values, and the ``IdentityVerification`` row
    records the provider, the level of assurance (``acr``), ``amr`` and the time.

    Precondition: the claims come from an ID token that ``accounts.oidc`` checked. Side
    effects: profile change and verification audited (values masked); the sealed claims
    are removed from the linked ``SocialAccount`` rows. Raises :class:`NationalIdInUse`
    (nothing changed) when another account holds the national identity number.
    """
    from allauth.socialaccount.models import SocialAccount

    data: dict[str, Any] = {}
    name = claims.get(claim_names.get("name", "name"))
    if isinstance(name, str) and name.strip():
        data["legal_name"] = name.strip()[:200]
    born = _claim_date(claims.get(claim_names.get("birthdate", "birthdate")))
    if born is not None:
        data["date_of_birth"] = born
    national_id = claims.get(claim_names.get("national_id", "national_id"))
    if isinstance(national_id, str | int) and str(national_id).strip():
        data["national_id"] = normalise_national_id(str(national_id))
    profile_update(user=user, data=data, actor=user, ip_address=ip_address, verified=True)
    if "legal_name" in data and user.full_name != data["legal_name"]:
        user.full_name = data["legal_name"]
        user.save(update_fields=["full_name"])
    now = timezone.now()
    acr = str(claims.get("acr") or "")[:200]
    amr = [str(item) for item in claims.get("amr") or [] if isinstance(item, str)][:10]
    verification = IdentityVerification.objects.select_for_update().filter(user=user).first()
    before: dict[str, str | None] = (
        {"provider": verification.provider, "acr": verification.acr}
        if verification
        else {"provider": None, "acr": None}
    )
    if verification is None:
        verification = IdentityVerification(user=user, first_verified_at=now)
    verification.provider = provider_id
    verification.acr = acr
    verification.amr = amr
    # Fields verified before and not sent this time stay verified (same person).
    verification.verified_fields = sorted(set(verification.verified_fields or []) | set(data))
    verification.verified_at = now
    verification.save()
    audit_record(
        action="identity.verified",
        actor=user,
        obj=verification,
        subject_user_id=user.pk,
        changes={
            "provider": {"before": before["provider"], "after": provider_id},
            "acr": {"before": before["acr"], "after": acr},
            "verified_fields": {"before": None, "after": verification.verified_fields},
        },
        ip_address=ip_address,
    )
    _sealed_claims_drop(SocialAccount, user=user, provider_id=provider_id)
    return verification


def _sealed_claims_drop(model: Any, *, user: User, provider_id: str) -> None:
    for account in model.objects.filter(user=user, provider=provider_id):
        if CLAIMS_KEY in (account.extra_data or {}):
            extra = dict(account.extra_data)
            extra.pop(CLAIMS_KEY)
            model.objects.filter(pk=account.pk).update(extra_data=extra)


@transaction.atomic
def identity_verification_remove(
    *, user: User, provider_id: str, actor: Any, ip_address: str | None = None
) -> bool:
    """The resident unlinked their national eID: their identity is no longer verified
    (the profile keeps its values, which they may now change). Audited; returns whether
    there was a verification to remove."""
    verification = (
        IdentityVerification.objects.select_for_update()
        .filter(user=user, provider=provider_id)
        .first()
    )
    if verification is None:
        return False
    pk = verification.pk
    verification.delete()
    audit_record(
        action="identity.unlinked",
        actor=actor,
        object_type="accounts.identityverification",
        object_id=str(pk),
        subject_user_id=user.pk,
        changes={"provider": {"before": provider_id, "after": None}},
        ip_address=ip_address,
    )
    return True


RoleKey = tuple[str, str | None, str | None]


def _role_key(entry: Mapping[str, str]) -> RoleKey:
    role = entry["role"]
    if role in registry.authority_wide_roles():
        return (role, None, None)
    return (role, entry.get("department") or None, entry.get("ward") or None)


def staff_roles_from_groups(
    *, groups: Any, group_roles: Mapping[str, list[Mapping[str, str]]]
) -> set[RoleKey]:
    """The roles (role code, department slug, ward code) the provider's ``groups`` claim
    gives under the settings' mapping; groups not in the mapping give nothing."""
    names = [groups] if isinstance(groups, str) else list(groups or [])
    wanted: set[RoleKey] = set()
    for group in names:
        for entry in group_roles.get(str(group), []):
            if entry.get("role") in registry.roles:
                wanted.add(_role_key(entry))
    return wanted


def _staff_managed_keys(group_roles: Mapping[str, list[Mapping[str, str]]]) -> set[RoleKey]:
    """The roles the staff identity provider manages: every role its mapping can give."""
    return {
        _role_key(entry)
        for entries in group_roles.values()
        for entry in entries
        if entry.get("role") in registry.roles
    }


def _staff_roles_held(user: User) -> dict[RoleKey, RoleAssignment]:
    return {
        (
            a.role,
            a.department.slug if a.department else None,
            a.jurisdiction.code if a.jurisdiction else None,
        ): a
        for a in RoleAssignment.objects.filter(user=user).select_related(
            "department", "jurisdiction"
        )
    }


@transaction.atomic
def staff_roles_sync(
    *,
    user: User,
    provider_id: str,
    groups: Any,
    group_roles: Mapping[str, list[Mapping[str, str]]],
    ip_address: str | None = None,
) -> tuple[list[str], list[str]]:
    """Make ``user``'s roles follow the staff identity provider's groups, at sign-in.

    Only roles the mapping can give are managed: one the groups no longer give is
    removed, one they give is added; roles given by hand that no group maps to are left
    alone. A mapping naming a department or ward that does not exist is skipped (and the
    skip audited). Every change goes through :func:`role_assign` / :func:`role_revoke`
    (audited, actor: the system). Returns the labels added and removed.

    Managed roles hold only while the person signs in through the provider: see
    :func:`staff_roles_withdraw`, which removes them again.
    """
    wanted = staff_roles_from_groups(groups=groups, group_roles=group_roles)
    managed = _staff_managed_keys(group_roles)
    User.objects.select_for_update().filter(pk=user.pk).first()
    held = _staff_roles_held(user)
    added: list[str] = []
    removed: list[str] = []
    for key, assignment in held.items():
        if key in managed and key not in wanted:
            removed.append(assignment.audit_label())
            role_revoke(assignment=assignment, actor=None, ip_address=ip_address, system=True)
    skipped: list[str] = []
    for key in sorted(wanted - set(held), key=lambda k: (k[0], k[1] or "", k[2] or "")):
        role, department_slug, ward_code = key
        department = (
            Department.objects.filter(slug=department_slug).first() if department_slug else None
        )
        ward = Jurisdiction.objects.filter(code=ward_code).first() if ward_code else None
        if (department_slug and department is None) or (ward_code and ward is None):
            skipped.append(f"{role}@{department_slug or ''}/{ward_code or ''}")
            continue
        try:
            assignment = role_assign(
                user=user,
                role=role,
                department=department,
                jurisdiction=ward,
                actor=None,
                system=True,
                ip_address=ip_address,
            )
        except DomainError:
            skipped.append(f"{role}@{department_slug or ''}/{ward_code or ''}")
            continue
        added.append(assignment.audit_label())
    if added or removed or skipped:
        audit_record(
            action="auth.staff_roles_synced",
            actor=None,
            obj=user,
            subject_user_id=user.pk,
            changes={
                "provider": {"before": None, "after": provider_id},
                "roles": {"before": sorted(removed), "after": sorted(added)},
                "skipped": {"before": None, "after": sorted(skipped)},
            },
            ip_address=ip_address,
        )
    user_role_cache_clear(user)
    return added, removed


#: Why :func:`staff_roles_withdraw` removed the provider's roles.
WITHDRAWN_UNLINKED = "unlinked"
WITHDRAWN_SIGNED_IN_ANOTHER_WAY = "signed_in_another_way"


@transaction.atomic
def staff_roles_withdraw(
    *,
    user: User,
    provider_id: str,
    group_roles: Mapping[str, list[Mapping[str, str]]],
    reason: str,
    keep: Mapping[str, list[Mapping[str, str]]] | None = None,
    ip_address: str | None = None,
) -> list[str]:
    """Remove from ``user`` the roles the staff identity provider manages (every role its
    group mapping can give, as :func:`staff_roles_sync` manages them).

    They hold only for sessions signed in through the provider, whose groups are checked
    at that sign-in: the caller withdraws them when the person unlinks the provider
    (``reason``: :data:`WITHDRAWN_UNLINKED`) and when they sign in any other way — a
    password, a passkey, the residents' eID (:data:`WITHDRAWN_SIGNED_IN_ANOTHER_WAY`).
    Their next sign-in through the provider gives back what their groups give then.
    Roles given by hand that no group maps to are left alone, and so are those the
    mapping ``keep`` can give (another staff provider's, signed in through just now).

    Each removal goes through :func:`role_revoke` (audited ``role.revoked``, actor: the
    system), then one ``auth.staff_roles_withdrawn`` event says why. Returns the labels
    removed (none: nothing written).
    """
    managed = _staff_managed_keys(group_roles) - _staff_managed_keys(keep or {})
    if not managed:
        return []
    User.objects.select_for_update().filter(pk=user.pk).first()
    removed: list[str] = []
    for key, assignment in _staff_roles_held(user).items():
        if key in managed:
            removed.append(assignment.audit_label())
            role_revoke(assignment=assignment, actor=None, ip_address=ip_address, system=True)
    if removed:
        audit_record(
            action="auth.staff_roles_withdrawn",
            actor=None,
            obj=user,
            subject_user_id=user.pk,
            changes={
                "provider": {"before": provider_id, "after": None},
                "roles": {"before": sorted(removed), "after": []},
                "reason": {"before": None, "after": reason},
            },
            ip_address=ip_address,
        )
    user_role_cache_clear(user)
    return removed


def sealed_claims_forget(*, account_id: int) -> None:
    """Remove the sealed claims allauth stored on an existing link during a sign-in (the
    sign-in carries them in memory until they are filed)."""
    from allauth.socialaccount.models import SocialAccount

    account = SocialAccount.objects.filter(pk=account_id).first()
    if account is not None and CLAIMS_KEY in (account.extra_data or {}):
        extra = dict(account.extra_data)
        extra.pop(CLAIMS_KEY)
        SocialAccount.objects.filter(pk=account_id).update(extra_data=extra)
