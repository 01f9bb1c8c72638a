"""Following processes and proposals, and what followers are told.

A resident follows a process (its new phases, its results) or one of its proposals,
consultations or projects (an official answer, an outcome). A notice about an object goes
to the followers of the object **and** of its process, each person once: following both
a process and one of its proposals never means two messages about one answer.

Notices go through the notifications app (its templates are in
``participation/messages/<event>/``), written in the transaction of the change that
causes them, so a rollback sends nothing, and delivered after the commit.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from ecitizen.accounts.models import User
from ecitizen.core.services import audit_record
from ecitizen.notifications.services import notification_send
from ecitizen.participation.models import Follow, Phase, Process, Target
from ecitizen.participation.services.common import ParticipationError, today


def organiser_text(obj: Any, field: str) -> Any:
    """``obj``'s text ``field`` in the language a message is written in: lazy, so that
    each recipient gets it in their language when the organiser translated it."""
    return lazy(obj.tr, str)(field)


def _target_exists(target_kind: str, target_id: int) -> bool:
    """Whether there is something public to follow: a published process, or a
    consultation, proposal or project of one."""
    if target_kind == Target.PROCESS:
        return Process.objects.filter(pk=target_id, status=Process.Status.PUBLISHED).exists()
    from ecitizen.participation.selectors.comments import comment_target

    target = comment_target(target_kind, target_id)
    return target is not None and target.open


@transaction.atomic
def follow_set(*, user: User, target_kind: str, target_id: int, following: bool) -> bool:
    """Make ``user`` follow (``following``) or stop following a process, consultation,
    proposal or project. Returns whether anything changed (following twice, or stopping
    what one does not follow, changes nothing).

    Raises :class:`ParticipationError` ``unknown_target`` when starting to follow
    something that is not public and open (a draft or archived process, a hidden
    proposal); stopping is always possible. Side effects: the :class:`Follow` row, and an
    audit event about the resident."""
    if target_kind not in Target.values:
        raise ParticipationError(_("This cannot be followed."), code="unknown_target")
    existing = Follow.objects.filter(user=user, target_kind=target_kind, target_id=target_id)
    if not following:
        deleted, _rows = existing.delete()
        if deleted:
            audit_record(
                action="participation.follow.stop",
                actor=user,
                object_type=f"participation.{target_kind}",
                object_id=str(target_id),
                subject_user_id=user.pk,
            )
        return bool(deleted)
    if existing.exists():
        return False
    if not _target_exists(target_kind, target_id):
        raise ParticipationError(
            _("This cannot be followed: it is not open to the public."), code="unknown_target"
        )
    try:
        with transaction.atomic():
            Follow.objects.create(user=user, target_kind=target_kind, target_id=target_id)
    except IntegrityError:  # the same follow from another tab, a moment earlier
        return False
    audit_record(
        action="participation.follow.start",
        actor=user,
        object_type=f"participation.{target_kind}",
        object_id=str(target_id),
        subject_user_id=user.pk,
    )
    return True


def followers_notify(
    *,
    process: Process,
    target_kind: str,
    target_id: int,
    event: str,
    context: dict[str, Any],
) -> int:
    """Send ``event`` with ``context`` (every placeholder but ``name``) to the active
    residents who follow the target or its process, each once; return how many.

    Precondition: called inside the transaction of the change the notice is about (the
    messages are written there and delivered after the commit: a rollback sends none).
    Raises the notifications app's ``NotificationContextError`` for a context that does
    not fit the event's template."""
    followed = Q(target_kind=target_kind, target_id=target_id) | Q(
        target_kind=Target.PROCESS, target_id=process.pk
    )
    user_ids = Follow.objects.filter(followed).values("user_id")
    recipients = User.objects.filter(pk__in=user_ids, is_active=True).order_by("pk")
    sent = 0
    for recipient in recipients:
        notification_send(recipient=recipient, event=event, context=context)
        sent += 1
    return sent


def phases_announce() -> int:
    """Tell the followers of each published process of the phases that have begun
    (start date today or earlier, end date not past) and were not announced yet; return
    how many phases were announced.

    Idempotent and safe to run twice at once: each phase is announced in its own
    transaction, with its row locked and ``announced_at`` checked again, then set.
    Side effects per phase: the notices (``participation_phase_started``), ``announced_at``
    and an audit event (how many followers were told)."""
    day = today()
    due = Phase.objects.filter(
        announced_at__isnull=True,
        starts_on__lte=day,
        ends_on__gte=day,
        process__status=Process.Status.PUBLISHED,
    ).order_by("starts_on", "pk")
    return sum(1 for phase_id in due.values_list("pk", flat=True) if _phase_announce(phase_id))


@transaction.atomic
def _phase_announce(phase_id: int) -> bool:
    phase = (
        Phase.objects.select_for_update(of=("self",))
        .filter(pk=phase_id, announced_at__isnull=True)
        .select_related("process")
        .first()
    )
    if phase is None:
        return False  # announced meanwhile, by another run
    process = phase.process
    phase_name = organiser_text(phase, "title") if phase.title else Phase.Kind(phase.kind).label
    told = followers_notify(
        process=process,
        target_kind=Target.PROCESS,
        target_id=process.pk,
        event="participation_phase_started",
        context={
            "process": organiser_text(process, "title"),
            "phase": phase_name,
            "url": reverse("participation:process", args=[process.slug]),
        },
    )
    phase.announced_at = timezone.now()
    phase.save(update_fields=["announced_at"])
    audit_record(
        action="participation.phase.announce",
        actor=None,
        obj=phase,
        changes={"followers_told": told},
    )
    return True
