"""Erasure on request: a resident asks to close their account, the data-protection officer
decides, and on approval every app's eraser erases what it may and keeps what the law
requires (ADR 0023, ``docs/data-protection.md#erasure``).

The request is this app's own record (:class:`~ecitizen.privacy.models.ErasureRequest`)
with the statutory deadline of GDPR art. 12(3). Its life:

- :func:`erasure_request_submit` (the resident, after confirming it is them): open, the
  resident is told it was received;
- :func:`erasure_request_withdraw` (the resident, before a decision);
- :func:`erasure_request_refuse` (the officer, with a reason the resident reads);
- :func:`erasure_request_approve` (the officer): every registered
  :class:`~ecitizen.core.registry.Eraser` runs, in its order, inside one transaction; the
  statement of what was erased and kept is stored with the request and emailed to the
  address the resident had (queued before the accounts eraser replaces it); the account is
  closed. If any eraser fails, nothing is erased and the request stays open.

What an eraser returns is a :class:`~ecitizen.core.registry.Erasure`; stored as JSON it
is a list of ``{"name", "erased": [{"label", "count"}], "kept": [{"label", "count",
"reason"}]}`` with the labels' English source texts, translated again when shown
(:func:`statement_lines`). It names categories and counts, never a personal value.

This module names no app: it reads the erasers from the registry.
"""

from __future__ import annotations

import calendar
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ecitizen.core.access import holds_capability
from ecitizen.core.errors import DomainError
from ecitizen.core.registry import ErasedPart, Erasure, registry
from ecitizen.core.services import audit_record
from ecitizen.privacy.models import ErasureRequest

#: Deciding erasure requests (the data-protection officer).
ERASURE_DECIDE = "privacy.erasure"
#: The role that holds it (authority-wide).
DPO_ROLE = "data_protection_officer"
#: Notification events (``privacy/messages/``).
EVENT_RECEIVED = "privacy_erasure_received"
EVENT_REFUSED = "privacy_erasure_refused"

REASON_MAX_LENGTH = 2000


class ErasureError(DomainError):
    """A request that cannot be made or decided in its present state."""

    code = "erasure_error"


# --- Helpers -------------------------------------------------------------------------------


def _add_months(moment: datetime, months: int) -> datetime:
    """The same day ``months`` later (the last day of a shorter month), GDPR's "one
    month" counted as the Court of Justice counts it (Regulation 1182/71)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _new_reference() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    while True:
        reference = "ER-" + "".join(secrets.choice(alphabet) for _i in range(8))
        if not ErasureRequest.objects.filter(reference=reference).exists():
            return reference


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _source_text(text: Any) -> str:
    """The English source text of a lazy translation (what :func:`gettext` translates
    again when the statement is shown)."""
    if text is None:
        return ""
    with translation.override("en"):
        return str(text)


def _erasure_json(erasure: Erasure) -> dict[str, Any]:
    def part(item: ErasedPart, *, kept: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"label": _source_text(item.label), "count": int(item.count)}
        if kept:
            out["reason"] = _source_text(item.reason)
        return out

    return {
        "name": erasure.name,
        "erased": [part(item, kept=False) for item in erasure.erased if item.count],
        "kept": [part(item, kept=True) for item in erasure.kept if item.count],
    }


@dataclass(frozen=True)
class StatementLine:
    """One line of a statement, translated for the reader."""

    label: str
    count: int
    reason: str = ""


def statement_lines(
    statement: list[dict[str, Any]],
) -> tuple[list[StatementLine], list[StatementLine]]:
    """What was erased and what was kept (with why), from a stored statement or a plan,
    in the active language."""
    erased: list[StatementLine] = []
    kept: list[StatementLine] = []
    for part in statement:
        for item in part.get("erased", []):
            erased.append(StatementLine(gettext(item["label"]), int(item["count"])))
        for item in part.get("kept", []):
            kept.append(
                StatementLine(
                    gettext(item["label"]),
                    int(item["count"]),
                    gettext(item["reason"]) if item.get("reason") else "",
                )
            )
    return erased, kept


def _notify(request: ErasureRequest, event: str, actor: Any) -> None:
    # Imported here: notifications is a lower layer, but privacy names no app at import
    # time beyond what it must (the message is the resident's, in their language).
    from ecitizen.notifications.services import notification_send

    notification_send(
        recipient=request.requester,
        event=event,
        context={
            "reference": request.reference,
            "due": request.due_at.date(),
            "url": reverse("privacy:erasure_status"),
        }
        if event == EVENT_RECEIVED
        else {"reference": request.reference, "url": reverse("privacy:erasure_status")},
        channels=["email", "inbox"],
        actor=actor,
    )


# --- This app's own eraser: downloads of the resident's data and their past requests -------

ERASER_NAME = "privacy"


def _own_run(user: Any, actor: Any, *, apply: bool) -> Erasure:
    from ecitizen.privacy.exports import exports_delete_for_user
    from ecitizen.privacy.models import DataExport

    downloads = DataExport.objects.filter(owner=user).count()
    # Encrypted: which past requests still hold the resident's words is seen decrypted.
    worded = [
        past
        for past in ErasureRequest.objects.filter(requester=user).exclude(
            status=ErasureRequest.Status.SUBMITTED
        )
        if past.reason or past.decision_reason
    ]
    if apply:
        exports_delete_for_user(user=user)
        for past in worded:
            past.reason = ""
            past.decision_reason = ""
            past.save(update_fields=["reason", "decision_reason"])
    return Erasure(
        name=ERASER_NAME,
        erased=(
            ErasedPart(_("Downloads of your data"), downloads),
            ErasedPart(
                _("The reasons given in your earlier requests to close your account"), len(worded)
            ),
        ),
    )


def privacy_erase(user: Any, actor: Any) -> Erasure:
    """Delete the resident's downloads of their data (and their files, on commit) and the
    reasons of their earlier erasure requests. The open request is the privacy app's
    record of this erasure: :func:`erasure_request_approve` clears its reason."""
    return _own_run(user, actor, apply=True)


def privacy_plan(user: Any) -> Erasure:
    return _own_run(user, None, apply=False)


# --- Reads ---------------------------------------------------------------------------------


def erasure_request_open_for(*, user: Any) -> ErasureRequest | None:
    """The resident's open request, if any."""
    return ErasureRequest.objects.filter(
        requester=user, status=ErasureRequest.Status.SUBMITTED
    ).first()


def erasure_requests_of(*, user: Any) -> QuerySet[ErasureRequest]:
    """Every request the resident made, newest first."""
    return ErasureRequest.objects.filter(requester=user).order_by("-submitted_at", "-pk")


def erasure_queue(
    *, user: Any, status: str = ErasureRequest.Status.SUBMITTED
) -> QuerySet[ErasureRequest]:
    """The officer's queue: requests in ``status`` (open ones by default), the nearest
    deadline first. Empty for anyone who may not decide requests."""
    if not holds_capability(user, ERASURE_DECIDE):
        return ErasureRequest.objects.none()
    return (
        ErasureRequest.objects.filter(status=status)
        .select_related("requester")
        .order_by("due_at", "pk")
    )


def erasure_request_get_for_officer(*, user: Any, reference: str) -> ErasureRequest:
    """The request ``reference`` for an officer who may decide it; ``DoesNotExist``
    (404) for anyone else. Side effect: an audit event ``personal_data.viewed`` (the
    officer reads who asked and why)."""
    if not holds_capability(user, ERASURE_DECIDE):
        raise ErasureRequest.DoesNotExist
    request = ErasureRequest.objects.select_related("requester").get(reference=reference)
    audit_record(
        action="personal_data.viewed",
        actor=user,
        actor_role=gettext("Data-protection officer"),
        obj=request,
        subject_user_id=request.requester_id,
    )
    return request


def erasure_plan(*, user: Any) -> list[dict[str, Any]]:
    """What approving a request from ``user`` would erase and keep now: each eraser's
    plan, in the stored statement's shape. Changes nothing."""
    return [_erasure_json(eraser.plan(user)) for eraser in registry.erasers_in_order()]


def erasure_statement_get(*, token: str) -> ErasureRequest | None:
    """The carried-out request whose statement link carries ``token``, else ``None``."""
    if not token or len(token) > 100:
        return None
    return ErasureRequest.objects.filter(
        statement_token_hash=_token_hash(token), status=ErasureRequest.Status.DONE
    ).first()


# --- Writes --------------------------------------------------------------------------------


@transaction.atomic
def erasure_request_submit(
    *, user: Any, reason: str = "", actor: Any, ip_address: str | None = None
) -> ErasureRequest:
    """Open an erasure request for ``user``'s account.

    Preconditions: ``actor`` is ``user`` (a resident asks for themself), who confirmed it
    is them (the view asks for the password again). Refused (:class:`ErasureError`) for
    an official (``official_account``: their roles must be removed first, by an
    administrator), a closed account (``account_closed``), a reason longer than
    :data:`REASON_MAX_LENGTH` (``reason_too_long``) or when a request is already open
    (``already_open``).

    Side effects: the request row (deadline ``ERASURE_DEADLINE_MONTHS`` from now), an
    audit event ``privacy.erasure_requested`` and a notification to the resident.
    """
    if actor is None or getattr(actor, "pk", None) != getattr(user, "pk", None):
        raise ErasureError(_("Only the account holder can ask to close it."), code="not_holder")
    if not user.is_active:
        raise ErasureError(_("This account is already closed."), code="account_closed")
    if registry.identity.holds(user, registry.staff_roles()):
        raise ErasureError(
            _(
                "Staff accounts cannot be closed here. Ask an administrator to remove "
                "your roles first."
            ),
            code="official_account",
        )
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX_LENGTH:
        raise ErasureError(
            _("Your reason must be %(max)d characters or fewer") % {"max": REASON_MAX_LENGTH},
            code="reason_too_long",
        )
    # Lock the account row: two submissions at once make one request.
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    if erasure_request_open_for(user=user) is not None:
        raise ErasureError(
            _("You have already asked us to close your account."), code="already_open"
        )
    now = timezone.now()
    request = ErasureRequest.objects.create(
        reference=_new_reference(),
        requester=user,
        reason=reason,
        submitted_at=now,
        due_at=_add_months(now, settings.ERASURE_DEADLINE_MONTHS),
    )
    audit_record(
        action="privacy.erasure_requested",
        actor=actor,
        obj=request,
        subject_user_id=user.pk,
        changes={"reference": request.reference, "reason_given": bool(reason)},
        ip_address=ip_address,
    )
    _notify(request, EVENT_RECEIVED, actor)
    return request


def _locked_open(request: ErasureRequest, *, requester_too: bool = False) -> ErasureRequest:
    """The open request's row, locked; with ``requester_too`` the requester's account row
    as well (only to carry the request out: see :func:`erasure_request_approve`)."""
    lock: tuple[str, ...] = ("self", "requester") if requester_too else ("self",)
    locked = (
        ErasureRequest.objects.select_for_update(of=lock)
        .select_related("requester")
        .get(pk=request.pk)
    )
    if not locked.is_open:
        raise ErasureError(
            _("This request has already been decided or withdrawn."), code="not_open"
        )
    return locked


@transaction.atomic
def erasure_request_withdraw(*, request: ErasureRequest, actor: Any) -> ErasureRequest:
    """The resident withdraws their open request. Refused (``not_holder``) for anyone
    else, (``not_open``) once decided. Side effect: audit ``privacy.erasure_withdrawn``."""
    request = _locked_open(request)
    if getattr(actor, "pk", None) != request.requester_id:
        raise ErasureError(_("Only the account holder can withdraw it."), code="not_holder")
    request.status = ErasureRequest.Status.WITHDRAWN
    request.withdrawn_at = timezone.now()
    request.save(update_fields=["status", "withdrawn_at"])
    audit_record(
        action="privacy.erasure_withdrawn",
        actor=actor,
        obj=request,
        subject_user_id=request.requester_id,
    )
    return request


def _require_officer(actor: Any) -> None:
    if not holds_capability(actor, ERASURE_DECIDE):
        raise ErasureError(
            _("Only the data-protection officer can decide erasure requests."),
            code="not_officer",
        )


def _locked_for_decision(
    request: ErasureRequest, actor: Any, *, requester_too: bool = False
) -> ErasureRequest:
    """Lock ``request`` (and its requester's account row with ``requester_too``) for
    ``actor``'s decision: it must still be open and not the officer's own (``not_open``,
    ``own_request``)."""
    request = _locked_open(request, requester_too=requester_too)
    if request.requester_id == getattr(actor, "pk", None):
        raise ErasureError(
            _("Another data-protection officer must decide your own request."),
            code="own_request",
        )
    return request


@transaction.atomic
def erasure_request_refuse(*, request: ErasureRequest, reason: str, actor: Any) -> ErasureRequest:
    """The officer refuses the request with ``reason`` (required: the resident reads it
    and may complain to the supervisory authority). Refused (``not_officer``,
    ``not_open``, ``reason_required``). Side effects: audit ``privacy.erasure_refused``
    and a notification to the resident. ``own_request`` for an officer deciding their
    own."""
    _require_officer(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ErasureError(_("Enter the reason for refusing"), code="reason_required")
    if len(reason) > REASON_MAX_LENGTH:
        raise ErasureError(
            _("The reason must be %(max)d characters or fewer") % {"max": REASON_MAX_LENGTH},
            code="reason_too_long",
        )
    request = _locked_for_decision(request, actor)
    request.status = ErasureRequest.Status.REFUSED
    request.decided_at = timezone.now()
    request.decided_by = actor
    request.decision_reason = reason
    request.save(update_fields=["status", "decided_at", "decided_by", "decision_reason"])
    audit_record(
        action="privacy.erasure_refused",
        actor=actor,
        actor_role=gettext("Data-protection officer"),
        obj=request,
        subject_user_id=request.requester_id,
    )
    _notify(request, EVENT_REFUSED, actor)
    return request


def _send_statement(request: ErasureRequest, address: str, language: str, token: str) -> None:
    """Queue the statement email to ``address`` (the account's, before it is replaced).
    The queued message is encrypted in the task table and sent once this transaction
    commits (``core.mail``)."""
    with translation.override(language):
        erased, kept = statement_lines(request.statement)
        url = settings.PUBLIC_BASE_URL.rstrip("/") + reverse(
            "privacy:erasure_statement", args=[token]
        )
        body = render_to_string(
            "privacy/erasure_statement_email.txt",
            {"request": request, "erased": erased, "kept": kept, "url": url},
        )
        subject = gettext("Your account is closed: what we erased and what we kept")
    EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[address],
        headers={"Auto-Submitted": "auto-generated", "Content-Language": language},
    ).send()


@transaction.atomic
def erasure_request_approve(*, request: ErasureRequest, actor: Any) -> tuple[ErasureRequest, str]:
    """The officer approves the request and it is carried out at once; returns the
    request and the statement link's token (shown once, also emailed).

    Refused (``not_officer``, ``not_open``; ``own_request`` for an officer deciding their
    own; ``official_account`` if the requester was given a staff role since asking: an
    administrator removes it first, as on asking). Runs every registered eraser in order
    inside this transaction: if one fails, everything rolls back and the request stays
    open. Side effects: what the erasers do (each audits its part; the accounts eraser
    closes the account and replaces its email address and name), the statement stored
    on the request, the statement email queued to the address the account had, and an
    audit event ``privacy.erasure_carried_out``.
    """
    _require_officer(actor)
    # The account's row too, on purpose: granting a role locks it (accounts.role_assign),
    # so the staff-role check below cannot race a grant, and the address and language
    # read for the statement cannot change before the erasers replace them.
    request = _locked_for_decision(request, actor, requester_too=True)
    user = request.requester
    if registry.identity.holds(user, registry.staff_roles()):
        raise ErasureError(
            _(
                "This person now holds a staff role. An administrator must remove it "
                "before the account can be closed."
            ),
            code="official_account",
        )
    address, language = user.email, (user.language or settings.LANGUAGE_CODE)
    statement = [_erasure_json(eraser.erase(user, actor)) for eraser in registry.erasers_in_order()]
    token = secrets.token_urlsafe(32)
    request.status = ErasureRequest.Status.DONE
    request.decided_at = timezone.now()
    request.decided_by = actor
    request.statement = statement
    request.statement_token_hash = _token_hash(token)
    request.reason = ""  # the resident's own words go with the rest
    request.save(
        update_fields=[
            "status",
            "decided_at",
            "decided_by",
            "statement",
            "statement_token_hash",
            "reason",
        ]
    )
    _send_statement(request, address, language, token)
    audit_record(
        action="privacy.erasure_carried_out",
        actor=actor,
        actor_role=gettext("Data-protection officer"),
        obj=request,
        subject_user_id=request.requester_id,
        changes={
            "erased": sum(i["count"] for part in statement for i in part["erased"]),
            "kept": sum(i["count"] for part in statement for i in part["kept"]),
        },
    )
    return request, token
