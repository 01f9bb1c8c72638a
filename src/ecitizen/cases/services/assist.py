"""Applying for someone: the resident's consent, by a one-time code they read out to the
helper or by an identity check an official makes in person, before the application is
started for them."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ecitizen.accounts.models import Role, User
from ecitizen.accounts.selectors import user_acting_as, user_has_role
from ecitizen.cases.models import AssistConsent, Channel, Draft
from ecitizen.cases.services.common import (
    CASES_IDENTITY_CHECK,
    CaseError,
    _send_notification,
    spec_for,
)
from ecitizen.cases.services.drafts import draft_start
from ecitizen.core.services import audit_record

if TYPE_CHECKING:  # types only: other apps' models are theirs to query
    from ecitizen.catalogue.models import Service


#: How long a consent code can be used, and how many wrong codes end it.
ASSIST_CODE_MINUTES = 15
ASSIST_CODE_ATTEMPTS = 5
#: The identity documents an official may record having checked in person.
IDENTITY_DOCUMENTS = {
    "passport": gettext_lazy("Passport"),
    "national_id_card": gettext_lazy("National identity card"),
    "driving_licence": gettext_lazy("Driving licence"),
    "residence_permit": gettext_lazy("Residence permit"),
}


def _assist_code_hash(consent_id: Any, code: str) -> str:
    from django.utils.crypto import salted_hmac

    return salted_hmac("ecitizen.cases.assist_consent", f"{consent_id}:{code}").hexdigest()


@transaction.atomic
def assist_consent_request(
    *, service: Service, resident_email: str, actor: User, ip_address: str | None = None
) -> AssistConsent:
    """Start applying for a resident: if an active account (other than the actor's) has
    ``resident_email``, send its holder a one-time code to read out to the actor.

    The answer is the same whether or not the account exists, so the form cannot tell
    which addresses have accounts. Side effects: the request row, an audit event
    ``cases.assist_consent_requested`` (on the resident's record when there is one) and,
    once committed, the code by email, text message (when they chose it) and inbox.
    """
    import secrets
    import uuid

    from ecitizen.notifications.selectors import notification_language

    resident = (
        User.objects.filter(email__iexact=resident_email.strip(), is_active=True)
        .exclude(pk=actor.pk)
        .first()
    )
    now = timezone.now()
    consent_id = uuid.uuid4()
    code = f"{secrets.randbelow(10**6):06d}"
    consent = AssistConsent.objects.create(
        id=consent_id,
        service=service,
        helper=actor,
        resident=resident,
        channel=Channel.ASSISTED if user_has_role(actor, {Role.INTERMEDIARY}) else Channel.COUNTER,
        code_hash=_assist_code_hash(consent_id, code),
        created_at=now,
        expires_at=now + timedelta(minutes=ASSIST_CODE_MINUTES),
    )
    audit_record(
        action="cases.assist_consent_requested",
        actor=actor,
        actor_role=user_acting_as(actor),
        obj=consent,
        subject_user_id=resident.pk if resident else None,
        ip_address=ip_address,
    )
    if resident is not None:
        language = notification_language(resident)
        with translation.override(language):
            _send_notification(
                recipient=resident,
                event="assist_consent_code",
                context={
                    "code": code,
                    "helper": user_acting_as(actor) or actor.full_name,
                    "service": spec_for(service.current_version).title(language),
                    "minutes": ASSIST_CODE_MINUTES,
                    # Where they see who used their details (made absolute when sent).
                    "url": reverse("accounts:data_tracker"),
                },
                channels=["email", "sms", "inbox"],
                actor=actor,
            )
    return consent


class AssistConsentError(CaseError):
    code = "assist_consent"


def assist_consent_get(*, consent_id: Any, actor: User) -> AssistConsent:
    """The actor's own consent request, or ``AssistConsentError`` with code
    ``not_found`` (anyone else's is unknown to them)."""
    consent = (
        AssistConsent.objects.select_related("service", "draft").filter(pk=consent_id, helper=actor)
    ).first()
    if consent is None:
        raise AssistConsentError(_("This request was not found."), code="not_found")
    return consent


def assist_consent_confirm(
    *,
    consent_id: Any,
    actor: User,
    code: str = "",
    identity_document: str = "",
    ip_address: str | None = None,
) -> Draft:
    """Grant the consent with the one-time code the resident read out, or, for an
    official holding one of :data:`CASES_IDENTITY_CHECK`, with the identity document
    they checked in person (``identity_document`` names its kind), then start the
    application for the resident (with their details prefilled from then on).

    Idempotent: a consent already granted returns its draft. Raises
    :class:`AssistConsentError`: ``code_wrong`` (a wrong code counts as an attempt, and
    is answered the same whether or not an account exists), ``code_expired`` (too late
    or too many wrong codes), ``not_allowed`` (in person without the role),
    ``not_found``. Side effects: the attempt count; on success an audit event
    ``cases.assist_consent_granted`` that the resident sees among those who used their
    details, and the draft.
    """
    outcome = _assist_consent_try(
        consent_id=consent_id,
        actor=actor,
        code=code,
        identity_document=identity_document,
        ip_address=ip_address,
    )
    if isinstance(outcome, AssistConsentError):
        raise outcome
    return outcome


@transaction.atomic
def _assist_consent_try(
    *,
    consent_id: Any,
    actor: User,
    code: str,
    identity_document: str,
    ip_address: str | None,
) -> Draft | AssistConsentError:
    """One attempt under a row lock; a refusal is returned, not raised, so that the
    attempt it used commits."""
    from django.utils.crypto import constant_time_compare

    found = assist_consent_get(consent_id=consent_id, actor=actor)
    consent = AssistConsent.objects.select_for_update().get(pk=found.pk)
    if consent.granted_at is not None and consent.draft_id is not None:
        return Draft.objects.get(pk=consent.draft_id)
    in_person = bool(identity_document.strip())
    if in_person and not user_has_role(actor, CASES_IDENTITY_CHECK):
        return AssistConsentError(
            _("Only a case officer or supervisor can record an identity check in person."),
            code="not_allowed",
        )
    if not in_person:
        if timezone.now() >= consent.expires_at or consent.attempts >= ASSIST_CODE_ATTEMPTS:
            return AssistConsentError(
                _("This code can no longer be used. Start again to send the resident a new code."),
                code="code_expired",
            )
        consent.attempts += 1
        consent.save(update_fields=["attempts"])
        matches = constant_time_compare(
            _assist_code_hash(consent.pk, code.strip()), consent.code_hash
        )
        if consent.resident_id is None or not matches:
            return AssistConsentError(
                _("The code is not right. Check it with the resident and enter it again."),
                code="code_wrong",
            )
    elif consent.resident_id is None:
        return AssistConsentError(
            _(
                "We could not start an application with these details. Check the email "
                "address with the resident: they need an account."
            ),
            code="no_account",
        )
    resident = User.objects.get(pk=consent.resident_id)
    method = AssistConsent.Method.IN_PERSON if in_person else AssistConsent.Method.CODE
    helper_label = user_acting_as(actor) or actor.full_name
    if in_person:
        statement = _(
            "The resident proved who they are in person (%(document)s) and agreed that "
            "%(helper)s applies for them."
        ) % {
            "document": IDENTITY_DOCUMENTS.get(identity_document.strip(), identity_document),
            "helper": helper_label,
        }
    else:
        statement = _(
            "The resident read out the one-time code we sent them and agreed that "
            "%(helper)s applies for them."
        ) % {"helper": helper_label}
    draft = draft_start(
        service=consent.service,
        applicant=resident,
        actor=actor,
        channel=consent.channel,
        consent_statement=statement,
    )
    consent.granted_at = timezone.now()
    consent.method = method
    consent.identity_document = identity_document.strip()[:40]
    consent.draft = draft
    consent.save(update_fields=["granted_at", "method", "identity_document", "draft"])
    audit_record(
        action="cases.assist_consent_granted",
        actor=actor,
        actor_role=user_acting_as(actor),
        obj=consent,
        subject_user_id=resident.pk,
        changes={"method": method, "service": consent.service.slug},
        ip_address=ip_address,
    )
    return draft
