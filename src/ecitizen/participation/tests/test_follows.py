"""Following and the notices to followers: following what is public, each follower told
once (of a process and of its proposal), the phases announced once when they begin (the
hourly job run twice, or at once, tells nobody twice), in the follower's language."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from ecitizen.core.models import AuditEvent
from ecitizen.notifications.models import Notification
from ecitizen.participation.models import Follow, Phase, Process, Target
from ecitizen.participation.services import ParticipationError
from ecitizen.participation.services.follows import follow_set, followers_notify, phases_announce
from tests.factories import UserFactory

from .test_proposals import make_process, propose


@pytest.fixture
def process(department):
    return make_process(department, proposals=(0, 10), vote=(11, 20))


def follows(user):
    return list(Follow.objects.filter(user=user).values_list("target_kind", "target_id"))


def inbox(event):
    return Notification.objects.filter(event=event, channel="inbox")


def test_following_and_stopping_say_whether_anything_changed(process, resident):
    assert follow_set(
        user=resident, target_kind=Target.PROCESS, target_id=process.pk, following=True
    )
    assert not follow_set(
        user=resident, target_kind=Target.PROCESS, target_id=process.pk, following=True
    )
    assert follows(resident) == [("process", process.pk)]
    assert follow_set(
        user=resident, target_kind=Target.PROCESS, target_id=process.pk, following=False
    )
    assert not follow_set(
        user=resident, target_kind=Target.PROCESS, target_id=process.pk, following=False
    )
    assert follows(resident) == []
    actions = AuditEvent.objects.filter(action__startswith="participation.follow.")
    assert sorted(actions.values_list("action", flat=True)) == [
        "participation.follow.start",
        "participation.follow.stop",
    ]
    assert set(actions.values_list("subject_user_id", flat=True)) == {resident.pk}


def test_only_public_things_can_be_followed(process, resident):
    process.status = Process.Status.DRAFT
    process.save()
    with pytest.raises(ParticipationError) as draft:
        follow_set(user=resident, target_kind=Target.PROCESS, target_id=process.pk, following=True)
    assert draft.value.code == "unknown_target"
    with pytest.raises(ParticipationError) as unknown:
        follow_set(user=resident, target_kind="budget", target_id=1, following=True)
    assert unknown.value.code == "unknown_target"
    assert follows(resident) == []


def test_a_follower_of_a_process_and_its_proposal_is_told_once(process, resident, second_resident):
    proposal = propose(process, resident)  # the author follows the proposal
    follow_set(user=resident, target_kind=Target.PROCESS, target_id=process.pk, following=True)
    follow_set(
        user=second_resident, target_kind=Target.PROCESS, target_id=process.pk, following=True
    )
    gone = UserFactory()
    follow_set(user=gone, target_kind=Target.PROPOSAL, target_id=proposal.pk, following=True)
    gone.is_active = False
    gone.save()
    bystander = UserFactory()
    told = followers_notify(
        process=process,
        target_kind=Target.PROPOSAL,
        target_id=proposal.pk,
        event="participation_proposal_answered",
        context={"proposal": proposal.title, "answer": "Accepted", "url": "/participate/"},
    )
    assert told == 2
    recipients = sorted(
        inbox("participation_proposal_answered").values_list("recipient_id", flat=True)
    )
    assert recipients == sorted([resident.pk, second_resident.pk])
    assert bystander.pk not in recipients


def test_a_phase_is_announced_once_when_it_begins(process, resident, second_resident):
    follow_set(user=resident, target_kind=Target.PROCESS, target_id=process.pk, following=True)
    second_resident.language = "fr"
    second_resident.save(update_fields=["language"])
    follow_set(
        user=second_resident, target_kind=Target.PROCESS, target_id=process.pk, following=True
    )
    assert phases_announce() == 1  # the proposals phase, begun today
    assert phases_announce() == 0  # run again: nothing new
    started = inbox("participation_phase_started")
    assert started.count() == 2
    english = started.get(recipient=resident)
    assert "A new phase of" in english.body
    assert "Proposals" in english.body
    french = started.get(recipient=second_resident)
    assert french.language == "fr"
    assert "Une nouvelle phase" in french.body
    phase = Phase.objects.get(process=process, kind="proposals")
    assert phase.announced_at is not None
    assert AuditEvent.objects.get(action="participation.phase.announce").changes == {
        "followers_told": 2
    }
    # The vote phase is announced on its first day, not before.
    with time_machine.travel(timezone.now() + timedelta(days=10)):
        assert phases_announce() == 0
    with time_machine.travel(timezone.now() + timedelta(days=11)):
        assert phases_announce() == 1
    assert inbox("participation_phase_started").count() == 4


def test_drafts_and_phases_already_over_are_not_announced(department, resident):
    draft = make_process(department, slug="draft-plan", proposals=(0, 5))
    draft.status = Process.Status.DRAFT
    draft.save()
    over = make_process(department, slug="old-plan", information=(-10, -1))
    Follow.objects.create(user=resident, target_kind=Target.PROCESS, target_id=over.pk)
    assert phases_announce() == 0
    assert not Notification.objects.exists()
    assert Phase.objects.filter(announced_at__isnull=False).count() == 0


def test_the_announce_command_runs_the_job(process, resident, capsys):
    follow_set(user=resident, target_kind=Target.PROCESS, target_id=process.pk, following=True)
    call_command("participation", "announce")
    assert "1 announcements sent" in capsys.readouterr().out
    call_command("participation", "announce")
    assert "0 announcements sent" in capsys.readouterr().out
    assert inbox("participation_phase_started").count() == 1
