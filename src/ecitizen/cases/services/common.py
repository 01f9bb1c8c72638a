"""What the cases services share: the app's capabilities and its error, the definition of
a case's version, today's date and the public address, how an official is named in a
case's history, whose remit covers a case, the case lock, and the notifications."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation

from ecitizen.accounts.models import User
from ecitizen.accounts.selectors import user_acting_as
from ecitizen.cases.expected import decision_expected, decision_expected_sentence
from ecitizen.cases.models import Case, Channel
from ecitizen.catalogue.spec import ServiceSpec
from ecitizen.core.errors import DomainError

#: Capabilities of this app (roles holding them: ``CasesConfig.ready``).
#: Opening and working cases within one's remit (department and ward).
CASES_WORK = "cases.work"
#: Assigning cases to officials.
CASES_SUPERVISE = "cases.supervise"
#: Applying for a resident with their consent.
CASES_APPLY_FOR_OTHERS = "cases.apply_for_others"
#: Recording an identity check made in person instead of a consent code (an
#: assisted-digital helper cannot: they are not trained or accountable for ID checks).
CASES_IDENTITY_CHECK = "cases.identity_check"
#: The longest text written on a case (a reason, a message, a note), in characters.
MESSAGE_MAX_LENGTH = 5000


class CaseError(DomainError):
    code = "case_error"


def spec_for(version: Any) -> ServiceSpec:
    return ServiceSpec(version.definition)


def _today() -> date:
    return timezone.localdate()


def _base_url() -> str:
    return str(settings.PUBLIC_BASE_URL).rstrip("/")


def _actor_label(case: Case, actor: User | None) -> str:
    """The office and role an official acted as ("Planning & Building — Case officer"),
    written once in the platform's language like the audit trail. Empty for the system,
    the applicant and their helper: the pages name those in the reader's language."""
    if actor is None or actor.pk == case.applicant_id:
        return ""
    if case.channel == Channel.ASSISTED and actor.pk == case.submitted_by_id:
        return ""
    with translation.override(settings.LANGUAGE_CODE):
        return user_acting_as(actor, CASES_WORK) or user_acting_as(actor)


def _covers(
    user: User, roles: str | set[str] | frozenset[str], departments: Any, case: Case
) -> bool:
    """Whether one role assignment of the user holding one of ``roles`` covers the case:
    its department (or one of ``departments``) and its ward. Reads the role assignments
    cached on the user: no query per action or per case."""
    from ecitizen.accounts.selectors import remit_covers

    return remit_covers(user, roles, departments=departments, ward_id=case.ward_id)


def _send_notification(
    *,
    recipient: User,
    event: str,
    context: Mapping[str, Any],
    channels: Sequence[str],
    actor: Any = None,
) -> None:
    """Send ``event`` with the part of ``context`` its templates use (each event's
    templates take a fixed set of placeholders)."""
    from ecitizen.notifications.selectors import notification_event_placeholders
    from ecitizen.notifications.services import notification_send

    wanted = notification_event_placeholders(event)
    notification_send(
        recipient=recipient,
        event=event,
        context={key: value for key, value in context.items() if key in wanted},
        channels=list(channels),
        actor=actor,
    )


def _notify(
    case: Case, spec: ServiceSpec, notification_ids: Iterable[str], extra: Mapping[str, Any]
) -> None:
    applicant = case.applicant
    language = applicant.language or settings.LANGUAGE_CODE
    for notification_id in notification_ids:
        definition = spec.notifications[notification_id]
        context = {
            "reference": case.reference,
            "service": spec.title(language),
            "status": spec.state_label(case.state, language),
            "url": _base_url() + reverse("cases:case_detail", args=[case.reference]),
            # A whole sentence, so that no message says "a decision by ." (no date yet).
            "expected_decision": decision_expected_sentence(
                decision_expected(case, spec, today=_today())
            ),
            **extra,
        }
        _send_notification(
            recipient=applicant,
            event=definition["template"],
            context=context,
            channels=definition["channels"],
            actor=None,
        )


def _lock_case(case: Case) -> Case:
    # The case's row only: FOR UPDATE on the joined service version would block every
    # commit that refers to it (each new case and draft of the service checks its key).
    return (
        Case.objects.select_for_update(of=("self",))
        .select_related("service_version")
        .get(pk=case.pk)
    )
