"""Writes of consultations and surveys: setting them up, opening and closing them, the
responses (signed in, with a census code, anonymous after an email confirmation, on
paper), the export of the answers for analysis, and the published outcome.

**Questions** are question definitions of a service's schema (the catalogue's
``question`` type, read from the same JSON Schema file), asked all on one page with the
cases app's question form, so a survey asks, checks and stores answers exactly as a
service does. Not allowed here: ``file`` questions (a response is opinions, not
documents), ``show_if`` (one page, no conditions) and ``prefill`` (nothing is copied from
an account into an opinion).

**One person, one response.** A response is keyed by the person key; a later response of
the same person replaces the earlier in place, and ``replaced_channel`` keeps the channel
it replaced (a change of channel is kept once it happened, so the organiser counts the
online-and-paper doubles).

**Audit.** Every write is audited against the consultation; answers, email addresses and
person keys never go into the audit trail.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from uuid import UUID

import yaml
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaError

from ecitizen.accounts.models import User
from ecitizen.catalogue.definitions import SCHEMA_PATH
from ecitizen.catalogue.spec import localised
from ecitizen.core import crypto
from ecitizen.core.patterns import pattern_problem
from ecitizen.core.services import audit_record
from ecitizen.participation.models import (
    Action,
    Channel,
    Consultation,
    PendingResponse,
    Process,
    Response,
    Target,
)
from ecitizen.participation.selectors import consultations as selectors
from ecitizen.participation.services.common import (
    ParticipationError,
    eligibility_check,
    person_key_for_email,
)

#: Hours an anonymous respondent has to follow the emailed link.
CONFIRMATION_HOURS = 72
#: Confirmation emails one address may be sent for one consultation in an hour (beyond
#: that, someone is probably filling in another person's address).
CONFIRMATIONS_PER_HOUR = 3
#: Confirmation emails asked for from one network address in an hour, whatever the
#: consultation and the addresses (beyond that, someone is using us to send mail).
CONFIRMATIONS_PER_SENDER_PER_HOUR = 20
#: Most questions one consultation asks (all on one page).
MAX_QUESTIONS = 60
#: Consultation slugs the staff pages' own addresses use.
RESERVED_SLUGS = frozenset({"new"})
#: Question types not asked in a consultation.
EXCLUDED_TYPES = frozenset({"file"})
#: Question types that say who a person is: refused, since answers are kept and exported
#: apart from who gave them (the person key stays with the response, never in a column).
IDENTIFYING_TYPES = frozenset({"national_id", "email", "phone", "address"})
#: Question keys not used in a consultation (one page, no conditions; nothing prefilled).
EXCLUDED_KEYS = ("show_if", "prefill")
#: The keys whose value is text for people (a string means English).
_TEXT_KEYS = ("label", "hint", "error_label")


# --- questions ----------------------------------------------------------------------------


@cache
def _question_validator() -> Draft202012Validator:
    """A validator of a list of questions against the service definitions' own schema."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return Draft202012Validator(
        {
            "$schema": schema["$schema"],
            "$defs": schema["$defs"],
            "type": "array",
            "items": {"$ref": "#/$defs/question"},
        }
    )


def _text(value: Any) -> Any:
    """A text written as a plain string is English (``{"en": ...}``); the other
    languages go under their codes."""
    return {"en": value} if isinstance(value, str) else value


def _normalised(question: Any) -> Any:
    """The organiser's shorthand made the schema's form: plain strings for texts, numbers
    as choice values."""
    if not isinstance(question, dict):
        return question
    question = dict(question)
    for key in _TEXT_KEYS:
        if key in question:
            question[key] = _text(question[key])
    if isinstance(question.get("errors"), dict):
        question["errors"] = {key: _text(value) for key, value in question["errors"].items()}
    if isinstance(question.get("validation"), dict) and "pattern_message" in question["validation"]:
        question["validation"] = {
            **question["validation"],
            "pattern_message": _text(question["validation"]["pattern_message"]),
        }
    if isinstance(question.get("choices"), list):
        question["choices"] = [_choice(choice) for choice in question["choices"]]
    return question


def _choice(given: Any) -> Any:
    if not isinstance(given, dict):
        return given
    choice = dict(given)
    for key in ("label", "hint"):
        if key in choice:
            choice[key] = _text(choice[key])
    value = choice.get("value")
    if isinstance(value, int | float) and not isinstance(value, bool):
        choice["value"] = str(value)
    return choice


def _where(parts: Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _schema_message(error: SchemaError) -> str:  # noqa: PLR0911 - one message per kind of error
    """A schema error in words an organiser can act on."""
    # jsonschema types these as "maybe unset"; a reported error always has them.
    expected: Any = error.validator_value
    instance: Any = error.instance
    schema: Any = error.schema
    if error.validator == "required":
        missing = [name for name in expected if name not in (instance or {})]
        return _("%(keys)s is missing") % {"keys": ", ".join(missing)}
    if error.validator == "additionalProperties":
        allowed = set((schema.get("properties") or {}).keys())
        unknown = sorted(set(instance or {}) - allowed)
        return _("%(keys)s is not a key a question can have") % {"keys": ", ".join(unknown)}
    if error.validator == "enum":
        return _("%(value)s is not one of: %(allowed)s") % {
            "value": json.dumps(instance, ensure_ascii=False),
            "allowed": ", ".join(str(item) for item in expected),
        }
    if error.validator == "pattern" and list(error.path)[-1:] == ["id"]:
        return _(
            "the id must start with a small letter and have only small letters, digits, "
            "hyphens and underscores (at most 63)"
        )
    if error.validator == "type" and isinstance(instance, bool):
        return _('write yes, no, on or off in quotes ("yes"): unquoted, they mean true or false')
    if error.validator == "minItems" and list(error.path)[-1:] == ["choices"]:
        return _("a choice question needs at least two choices")
    return error.message


def _what_a_consultation_cannot_ask(question: dict[str, Any], name: str) -> list[str]:
    """The problems of one question (named ``name``) that the schema does not catch: what
    a service's questions may ask but a consultation's may not, and patterns RE2 cannot
    match."""
    problems: list[str] = []
    if question.get("type") in EXCLUDED_TYPES:
        problems.append(_("%(question)s: a consultation cannot ask for files") % {"question": name})
    if question.get("type") in IDENTIFYING_TYPES:
        problems.append(
            _(
                "%(question)s: a consultation does not ask who people are (identity "
                "number, email, phone or address): answers are kept apart from who gave "
                "them"
            )
            % {"question": name}
        )
    validation = question.get("validation")
    pattern = validation.get("pattern") if isinstance(validation, dict) else None
    reason = pattern_problem(pattern) if pattern is not None else None
    if reason:
        problems.append(
            _(
                "%(question)s: the pattern cannot be used (%(reason)s). Write it without "
                "back-references or look-arounds."
            )
            % {"question": name, "reason": reason}
        )
    problems += [
        _("%(question)s: %(key)s cannot be used in a consultation") % {"question": name, "key": key}
        for key in EXCLUDED_KEYS
        if key in question
    ]
    return problems


def questions_problems(questions: Any) -> list[str]:
    """Everything wrong with ``questions`` (already normalised), one message per problem,
    naming the question by number and id; empty when they can be asked."""
    if not isinstance(questions, list) or not questions:
        return [_("Write at least one question, as a list (each question starts with a hyphen).")]
    if len(questions) > MAX_QUESTIONS:
        return [
            _("A consultation asks at most %(count)s questions; these are %(given)s.")
            % {"count": MAX_QUESTIONS, "given": len(questions)}
        ]
    problems: list[str] = []

    def name(index: int) -> str:
        question = questions[index]
        qid = question.get("id") if isinstance(question, dict) else None
        if isinstance(qid, str) and qid:
            return _("Question %(number)s (%(id)s)") % {"number": index + 1, "id": qid}
        return _("Question %(number)s") % {"number": index + 1}

    for error in sorted(
        _question_validator().iter_errors(questions), key=lambda e: [str(p) for p in e.path]
    ):
        path = list(error.path)
        if not path:
            problems.append(error.message)
            continue
        inside = _where(path[1:])
        message = _schema_message(error)
        problems.append(
            f"{name(path[0])}, {inside}: {message}" if inside else f"{name(path[0])}: {message}"
        )
    seen: set[str] = set()
    for index, question in enumerate(questions):
        if not isinstance(question, dict):
            continue
        problems += _what_a_consultation_cannot_ask(question, name(index))
        qid = question.get("id")
        if isinstance(qid, str):
            if qid in seen:
                problems.append(
                    _("%(question)s: the id %(id)s is used twice; each question needs its own")
                    % {"question": name(index), "id": qid}
                )
            seen.add(qid)
    return problems


def questions_read(text: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The questions an organiser wrote (YAML, or JSON, which is YAML too), normalised,
    and what is wrong with them (empty when nothing is)."""
    try:
        data = yaml.safe_load(text or "")
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error)
        if mark is not None:
            return [], [
                _("Line %(line)s, column %(column)s: %(problem)s")
                % {"line": mark.line + 1, "column": mark.column + 1, "problem": problem}
            ]
        return [], [str(problem)]
    if isinstance(data, list):
        data = [_normalised(question) for question in data]
    problems = questions_problems(data)
    return (data if not problems else []), problems


def questions_text(questions: list[dict[str, Any]]) -> str:
    """Questions as the YAML an organiser edits."""
    if not questions:
        return ""
    return str(yaml.safe_dump(questions, allow_unicode=True, sort_keys=False, width=100))


def _questions_check(questions: list[dict[str, Any]]) -> None:
    problems = questions_problems(questions)
    if problems:
        raise ParticipationError(" ".join(problems), code="invalid_questions")


def consultation_answers_validate(
    *, consultation: Consultation, data: Mapping[str, Any]
) -> dict[str, Any]:
    """``data`` (answers as JSON values: text, numbers, ``true``/``false`` for yes/no,
    lists for multiple choice, ISO dates) checked as the response page checks them;
    returns the answers as stored (every question, blank when not answered). Raises
    :class:`ParticipationError` (``invalid_answers``) with the first problem, which names
    the question."""
    from ecitizen.participation.forms_consultations import ConsultationForm, answers_as_data

    form = ConsultationForm(
        consultation=consultation, data=answers_as_data(consultation.questions, data)
    )
    if not form.is_valid():
        for name, errors in form.errors.items():
            if name in form.questions:
                raise ParticipationError(
                    f"{localised(form.questions[name]['label'])}: {errors[0]}",
                    code="invalid_answers",
                )
        raise ParticipationError(_("The answers do not fit the questions."), code="invalid_answers")
    return form.answers()


# --- the consultation -----------------------------------------------------------------------


@dataclass
class ConsultationInput:
    """What an organiser sets: texts in the authority's language with ``translations``
    (``{"fr": {"title": ..., "body": ...}}``), the dates, and the questions (normalised,
    see :func:`questions_read`)."""

    title: str
    kind: str
    body: str
    opens_at: datetime
    closes_at: datetime
    questions: list[dict[str, Any]]
    translations: dict[str, dict[str, str]] = field(default_factory=dict)


def _check_input(data: ConsultationInput) -> None:
    if not data.title.strip():
        raise ParticipationError(_("Enter the title"), code="invalid_consultation")
    if data.kind not in Consultation.Kind.values:
        raise ParticipationError(_("Select the kind"), code="invalid_consultation")
    if data.closes_at <= data.opens_at:
        raise ParticipationError(
            _("The closing date must be on or after the opening date"), code="invalid_dates"
        )
    _questions_check(data.questions)


def _slug_for(process: Process, title: str) -> str:
    base = slugify(title)[:70].strip("-") or "consultation"
    if base in RESERVED_SLUGS:
        base = f"{base}-consultation"
    taken = set(
        Consultation.objects.filter(process=process, slug__startswith=base).values_list(
            "slug", flat=True
        )
    )
    slug, number = base, 1
    while slug in taken:
        number += 1
        slug = f"{base}-{number}"
    return slug


def _translations(data: ConsultationInput) -> dict[str, dict[str, str]]:
    return {
        language: {key: text.strip() for key, text in texts.items() if text and text.strip()}
        for language, texts in data.translations.items()
        if any(text and text.strip() for text in texts.values())
    }


@transaction.atomic
def consultation_create(
    *, process: Process, data: ConsultationInput, actor: User | None
) -> Consultation:
    """A new consultation or survey of ``process``, as a draft (only the organisers see
    it until it is opened). Its slug comes from the title. Raises
    :class:`ParticipationError` for a missing title, dates out of order
    (``invalid_dates``) or questions that cannot be asked (``invalid_questions``).
    Audited."""
    _check_input(data)
    Process.objects.select_for_update().filter(pk=process.pk).first()  # slugs one at a time
    consultation = Consultation.objects.create(
        process=process,
        slug=_slug_for(process, data.title),
        kind=data.kind,
        title=data.title.strip(),
        body=data.body.strip(),
        questions=data.questions,
        opens_at=data.opens_at,
        closes_at=data.closes_at,
        translations=_translations(data),
    )
    audit_record(
        action="participation.consultation.create",
        actor=actor,
        obj=consultation,
        changes={"process": process.slug, "slug": consultation.slug, "kind": consultation.kind},
    )
    return consultation


def _locked(consultation: Consultation) -> Consultation:
    locked = Consultation.objects.select_for_update().get(pk=consultation.pk)
    locked.process = consultation.process
    return locked


@transaction.atomic
def consultation_update(
    *, consultation: Consultation, data: ConsultationInput, actor: User | None
) -> Consultation:
    """Change the consultation's texts, dates or questions. The questions cannot change
    once someone has responded, or while an anonymous response waits for its
    confirmation (``questions_locked``): answers to other questions would be mixed in
    the results, or the waiting ones refused when confirmed. Audited (which fields
    changed, not their texts)."""
    _check_input(data)
    locked = _locked(consultation)
    if data.questions != locked.questions and (
        locked.responses.exists() or _answers_waiting(locked)
    ):
        raise ParticipationError(
            _(
                "The questions cannot change once people have responded: their answers "
                "were to these questions. Change the texts or dates only, or start a new "
                "consultation."
            ),
            code="questions_locked",
        )
    values = {
        "kind": data.kind,
        "title": data.title.strip(),
        "body": data.body.strip(),
        "questions": data.questions,
        "opens_at": data.opens_at,
        "closes_at": data.closes_at,
        "translations": _translations(data),
    }
    changed = sorted(name for name, value in values.items() if getattr(locked, name) != value)
    for name, value in values.items():
        setattr(locked, name, value)
    locked.save()
    audit_record(
        action="participation.consultation.update",
        actor=actor,
        obj=locked,
        changes={"fields": changed},
    )
    return locked


def _answers_waiting(consultation: Consultation) -> bool:
    """Whether an anonymous response to ``consultation`` waits for its confirmation (its
    link not used and not expired)."""
    return PendingResponse.objects.filter(
        consultation=consultation,
        confirmed_at__isnull=True,
        created_at__gte=timezone.now() - timedelta(hours=CONFIRMATION_HOURS),
    ).exists()


@transaction.atomic
def consultation_open(*, consultation: Consultation, actor: User | None) -> Consultation:
    """Publish the consultation: residents see it, and may respond from ``opens_at`` to
    ``closes_at``. A closed one may be opened again when its closing date is still
    ahead (the organiser extends it first). Raises :class:`ParticipationError`
    (``closing_passed``, ``already_open``). Audited."""
    locked = _locked(consultation)
    if locked.status == Consultation.Status.OPEN:
        raise ParticipationError(_("The consultation is already open."), code="already_open")
    if locked.closes_at <= timezone.now():
        raise ParticipationError(
            _("The closing date has passed. Change the closing date first."),
            code="closing_passed",
        )
    _questions_check(locked.questions)
    previous = locked.status
    locked.status = Consultation.Status.OPEN
    locked.save(update_fields=["status"])
    audit_record(
        action="participation.consultation.open",
        actor=actor,
        obj=locked,
        changes={"status": [previous, locked.status]},
    )
    return locked


@transaction.atomic
def consultation_close(*, consultation: Consultation, actor: User | None) -> Consultation:
    """Stop taking responses now. Closed while it was taking them, the closing date
    becomes now (the pages then say when it really closed). Raises
    :class:`ParticipationError` (``not_open``). Audited."""
    locked = _locked(consultation)
    if locked.status != Consultation.Status.OPEN:
        raise ParticipationError(_("The consultation is not open."), code="not_open")
    now = timezone.now()
    fields = ["status"]
    if locked.opens_at < now < locked.closes_at:
        locked.closes_at = now
        fields.append("closes_at")
    locked.status = Consultation.Status.CLOSED
    locked.save(update_fields=fields)
    audit_record(
        action="participation.consultation.close",
        actor=actor,
        obj=locked,
        changes={"status": [Consultation.Status.OPEN, locked.status]},
    )
    return locked


# --- responses ------------------------------------------------------------------------------


def _closed_error(consultation: Consultation) -> ParticipationError:
    state = selectors.consultation_state(consultation)
    if state == selectors.UPCOMING:
        return ParticipationError(
            _("This consultation is not open yet. It opens on %(day)s.")
            % {"day": _day(selectors.first_day(consultation))},
            code="consultation_closed",
        )
    return ParticipationError(
        _("This consultation is closed: it no longer takes responses."),
        code="consultation_closed",
    )


def _day(day: Any) -> str:
    from django.utils.formats import date_format

    return str(date_format(day, "j F Y"))


@transaction.atomic
def response_record(
    *,
    consultation: Consultation,
    answers: dict[str, Any],
    person_key: str,
    channel: str,
    entered_by: User | None = None,
    actor: User | None,
) -> Response:
    """Record a person's answers: a new response, or in place of their earlier one (the
    later wins; ``replaced_channel`` keeps the channel replaced, ``replaced_at`` when).

    Preconditions: the caller identified the person (``person_key``) and checked they
    may respond; a paper entry (``channel`` paper) names the official in ``entered_by``.
    Raises :class:`ParticipationError` when the consultation does not take responses now
    (``consultation_closed``, nothing written) or the answers do not fit the questions
    (``invalid_answers``). Audited against the consultation, without the answers.
    """
    if channel not in Channel.values:
        raise ValueError(f"unknown channel {channel!r}")
    if not person_key:
        raise ValueError("a response needs a person key")
    # The consultation's row lock orders this response after a closing that began first,
    # and one person's two responses one after the other.
    locked = _locked(consultation)
    if selectors.consultation_state(locked) != selectors.OPEN:
        raise _closed_error(locked)
    cleaned = consultation_answers_validate(consultation=locked, data=answers)
    now = timezone.now()
    response = (
        Response.objects.select_for_update()
        .filter(consultation=locked, person_key=person_key)
        .first()
    )
    replaced = response is not None
    if response is None:
        response = Response.objects.create(
            consultation=locked,
            person_key=person_key,
            channel=channel,
            answers=cleaned,
            entered_by=entered_by,
            submitted_at=now,
        )
    else:
        # A change of channel is kept once it happened: a paper response replaced by a
        # paper one is still a paper-and-online double if the first was online.
        if response.channel != channel or not response.replaced_channel:
            response.replaced_channel = response.channel
        response.replaced_at = now
        response.channel = channel
        response.answers = cleaned
        response.entered_by = entered_by
        response.submitted_at = now
        response.save()
    audit_record(
        action="participation.response.record",
        actor=actor,
        obj=locked,
        changes={"channel": channel, "replaced": replaced},
    )
    return response


def token_hash(token: str) -> str:
    """The SHA-256 of a confirmation link's token: only the hash is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def _anonymous_allowed(process: Process) -> bool:
    return eligibility_check(process=process, action=Action.RESPOND, user=AnonymousUser()).allowed


@transaction.atomic
def pending_response_create(
    *,
    consultation: Consultation,
    email: str,
    answers: dict[str, Any],
    ip_address: str | None = None,
    actor: User | None = None,
) -> PendingResponse:
    """Keep an anonymous response until its author follows the link emailed to
    ``email`` (valid :data:`CONFIRMATION_HOURS` hours). Only the address's person key is
    kept, never the address.

    Raises :class:`ParticipationError`: the process does not take anonymous responses
    (``anonymous_not_allowed``), the consultation does not take responses now
    (``consultation_closed``), the answers do not fit (``invalid_answers``), or the
    address was sent :data:`CONFIRMATIONS_PER_HOUR` links for it in the last hour
    (``too_many_confirmations``), or :data:`CONFIRMATIONS_PER_SENDER_PER_HOUR` links were
    asked for from ``ip_address`` in the last hour (``too_many_from_sender``). Side
    effect: the email, queued with this transaction (``ecitizen.core.mail``: nothing is
    sent if it rolls back). Audited without the address."""
    locked = _locked(consultation)
    if not _anonymous_allowed(locked.process):
        raise ParticipationError(
            _("You need to sign in to respond to this consultation."),
            code="anonymous_not_allowed",
        )
    if selectors.consultation_state(locked) != selectors.OPEN:
        raise _closed_error(locked)
    cleaned = consultation_answers_validate(consultation=locked, data=answers)
    key = person_key_for_email(email)
    now = timezone.now()
    recent = PendingResponse.objects.filter(
        consultation=locked,
        email_index=key,
        confirmed_at__isnull=True,
        created_at__gte=now - timedelta(hours=1),
    ).count()
    if recent >= CONFIRMATIONS_PER_HOUR:
        raise ParticipationError(
            _(
                "We have already sent several confirmation links to this address for this "
                "consultation. Follow the link in one of them, or try again in an hour."
            ),
            code="too_many_confirmations",
        )
    sender = (
        crypto.blind_index("ip:" + ip_address, context="participation.pending.sender")
        if ip_address
        else ""
    )
    if (
        sender
        and PendingResponse.objects.filter(
            sender_index=sender, created_at__gte=now - timedelta(hours=1)
        ).count()
        >= CONFIRMATIONS_PER_SENDER_PER_HOUR
    ):
        raise ParticipationError(
            _(
                "Many confirmation links were asked for from your connection in the last "
                "hour. Try again in an hour, or sign in to respond."
            ),
            code="too_many_from_sender",
        )
    token = secrets.token_urlsafe(32)
    pending = PendingResponse.objects.create(
        consultation=locked,
        email_index=key,
        sender_index=sender,
        token_hash=token_hash(token),
        answers=cleaned,
        created_at=now,
    )
    _confirmation_email(locked, pending, token, email)
    audit_record(
        action="participation.pending_response.create",
        actor=actor,
        obj=locked,
        changes={"pending": str(pending.pk)},
    )
    return pending


def _confirmation_email(
    consultation: Consultation, pending: PendingResponse, token: str, email: str
) -> None:
    """The link to confirm, in the language the response was written in. Sent as plain
    mail (the respondent has no account to notify), queued with the transaction."""
    link = str(settings.PUBLIC_BASE_URL).rstrip("/") + reverse(
        "participation:consultation_confirm",
        kwargs={
            "slug": consultation.process.slug,
            "cslug": consultation.slug,
            "pending_id": pending.pk,
            "token": token,
        },
    )
    title = " ".join(consultation.tr("title").split())  # a header holds no line break
    subject = _("Confirm your response to %(title)s") % {"title": title}
    body = "\n\n".join(
        [
            _("You responded to %(title)s without signing in.") % {"title": title},
            _("To confirm your response, open this link within %(hours)s hours:")
            % {"hours": CONFIRMATION_HOURS}
            + f"\n{link}",
            _(
                "Your response counts once you confirm it. If you respond again with this "
                "email address, your new response replaces the earlier one."
            ),
            _("If you did not respond, ignore this email: nothing is recorded."),
        ]
    )
    EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email],
        headers={
            "Auto-Submitted": "auto-generated",
            "Content-Language": translation.get_language() or settings.LANGUAGE_CODE,
        },
    ).send()


@transaction.atomic
def pending_response_confirm(
    *, consultation: Consultation, pending_id: UUID | str, token: str
) -> Response:
    """Turn the pending response whose emailed link this is into a response keyed by
    the email address (one per address: it replaces an earlier one of the same address).

    Raises :class:`ParticipationError`: an unknown link, a wrong token or a link of
    another consultation (``bad_link``),
    a link already used (``link_used``), an expired one (``link_expired``), or the
    consultation no longer takes anonymous responses (``consultation_closed``,
    ``anonymous_not_allowed``). The link is used once: the pending answers are emptied
    when the response is recorded. Audited (the response as an anonymous one)."""
    pending = (
        # This row only: response_record locks the consultation's row itself.
        PendingResponse.objects.select_for_update(of=("self",))
        .select_related("consultation__process")
        .filter(pk=pending_id, consultation=consultation)
        .first()
    )
    if pending is None or not hmac.compare_digest(pending.token_hash, token_hash(token)):
        raise ParticipationError(
            _("This link is not valid. Check that you copied all of it from the email."),
            code="bad_link",
        )
    if pending.confirmed_at is not None:
        raise ParticipationError(
            _("This link has been used already: your response was recorded then."),
            code="link_used",
        )
    if pending.created_at + timedelta(hours=CONFIRMATION_HOURS) < timezone.now():
        raise ParticipationError(
            _("This link has expired. Respond again to get a new one."), code="link_expired"
        )
    consultation = pending.consultation
    if not _anonymous_allowed(consultation.process):
        raise ParticipationError(
            _("This consultation no longer takes responses without signing in."),
            code="anonymous_not_allowed",
        )
    response = response_record(
        consultation=consultation,
        answers=dict(pending.answers),
        person_key=pending.email_index,
        channel=Channel.ANONYMOUS,
        actor=None,
    )
    pending.confirmed_at = timezone.now()
    pending.answers = {}
    pending.save(update_fields=["confirmed_at", "answers"])
    audit_record(
        action="participation.pending_response.confirm",
        actor=None,
        obj=consultation,
        changes={"pending": str(pending.pk)},
    )
    return response


def pending_responses_prune() -> int:
    """Delete the pending responses whose link expired unused, and the used ones once
    their link would have expired (a prune hook for ``ecitizen housekeeping``). Returns
    how many."""
    deleted, _by_model = PendingResponse.objects.filter(
        created_at__lt=timezone.now() - timedelta(hours=CONFIRMATION_HOURS)
    ).delete()
    return deleted


# --- the organiser's export and the outcome ------------------------------------------------


@transaction.atomic
def responses_export(
    *, consultation: Consultation, actor: User
) -> tuple[list[str], list[list[Any]]]:
    """The answers for analysis (:func:`selectors.export_rows`: no one named in them),
    audited as an export. Preconditions: the caller checked the actor's remit."""
    header, rows = selectors.export_rows(consultation=consultation)
    audit_record(
        action="participation.consultation.export",
        actor=actor,
        obj=consultation,
        changes={"rows": len(rows)},
    )
    return header, rows


@transaction.atomic
def outcome_publish(
    *,
    consultation: Consultation,
    outcome: str,
    translations: dict[str, str] | None = None,
    actor: User | None,
) -> Consultation:
    """Publish (or correct) the consultation's outcome: what was heard and what will be
    done, with ``translations`` by language. Only once it is closed
    (``consultation_not_closed``). The first publication tells the followers of the
    consultation and of its process (``participation_outcome_published``); a correction
    tells no one again. Audited."""
    text = outcome.strip()
    if not text:
        raise ParticipationError(_("Enter the outcome"), code="invalid_outcome")
    locked = _locked(consultation)
    if selectors.consultation_state(locked) != selectors.CLOSED:
        raise ParticipationError(
            _("The outcome can be published once the consultation has closed."),
            code="consultation_not_closed",
        )
    first = locked.outcome_published_at is None
    locked.outcome = text
    merged = {language: dict(texts) for language, texts in locked.translations.items()}
    for language, translated in (translations or {}).items():
        texts = merged.setdefault(language, {})
        if translated and translated.strip():
            texts["outcome"] = translated.strip()
        else:
            texts.pop("outcome", None)
    locked.translations = {language: texts for language, texts in merged.items() if texts}
    if first:
        locked.outcome_published_at = timezone.now()
    locked.save(update_fields=["outcome", "translations", "outcome_published_at"])
    audit_record(
        action="participation.consultation.outcome_publish",
        actor=actor,
        obj=locked,
        changes={"first": first},
    )
    if first:
        from ecitizen.participation.services.follows import followers_notify

        followers_notify(
            process=locked.process,
            target_kind=Target.CONSULTATION,
            target_id=locked.pk,
            event="participation_outcome_published",
            context={
                "consultation": locked.title,
                "url": reverse(
                    "participation:consultation_outcome",
                    kwargs={"slug": locked.process.slug, "cslug": locked.slug},
                ),
            },
        )
    return locked
