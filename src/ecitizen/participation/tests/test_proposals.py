"""Proposals: made in a proposals phase (screened for personal data, a photo stripped of its
metadata, a place on the map), supported once per person (online, census code, paper)
while supports are open, queued for an official answer at the threshold, answered (the
followers told once), hidden by moderators; the pages for residents and officials, and
the remit (404 outside it).

The fixtures here are the participation tests' world (``test_comments`` and
``test_follows`` import them)."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import resolve, reverse
from django.utils import timezone

from ecitizen.accounts import services as accounts
from ecitizen.accounts.models import Role
from ecitizen.core.models import AuditEvent
from ecitizen.notifications.models import Notification
from ecitizen.participation.models import (
    CensusEntry,
    Channel,
    EligibilityRule,
    Follow,
    Phase,
    Process,
    Proposal,
    Support,
    Target,
)
from ecitizen.participation.selectors import proposals as selectors
from ecitizen.participation.services import ParticipationError
from ecitizen.participation.services import proposals as services
from ecitizen.participation.services.common import (
    person_key_for_census,
    person_key_for_national_id,
    person_key_for_user,
)
from ecitizen.participation.views.common import CENSUS_SESSION_KEY
from tests.factories import JurisdictionFactory, UserFactory
from tests.personas import TOTP_SECRET, sign_in_official

RIVERSIDE = ("52.18976", "-2.24702")  # a point in Riverton (reports' Riverside ward)
LONDON = ("51.5072", "-0.1276")


# --- the world ---------------------------------------------------------------------------


@pytest.fixture
def ward(db):
    return JurisdictionFactory(code="riverside", name="Riverside")


@pytest.fixture
def other_ward(db):
    return JurisdictionFactory(code="castle", name="Castle")


def make_process(department, *, slug="riverside-plan", wards=(), threshold=3, **phases):
    """A published process of ``department`` with a proposals phase around today (or the
    phases given as ``kind=(start offset, end offset)`` in days from today)."""
    today = timezone.localdate()
    process = Process.objects.create(
        slug=slug,
        title="Riverside regeneration plan",
        summary="What the riverside should become",
        department=department,
        status=Process.Status.PUBLISHED,
        support_threshold=threshold,
    )
    process.wards.set(wards)
    for kind, (start, end) in (phases or {"proposals": (-5, 10)}).items():
        Phase.objects.create(
            process=process,
            kind=kind,
            starts_on=today + timedelta(days=start),
            ends_on=today + timedelta(days=end),
        )
    return process


@pytest.fixture
def process(department):
    return make_process(department)


@pytest.fixture
def ward_process(department, ward, other_ward):
    return make_process(department, slug="two-wards", wards=[ward, other_ward])


def propose(process, author, *, title="A crossing outside the school", ward=None, **extra):
    values = {"description": "Children cross a busy road every morning.", **extra}
    return services.proposal_submit(
        process=process, title=title, ward=ward, author=author, actor=author, **values
    )


@pytest.fixture
def proposal(process, resident):
    return propose(process, resident)


def supporters(count):
    return [UserFactory() for _ in range(count)]


def support_by(proposal, user):
    return services.support_add(
        proposal=proposal,
        person_key=person_key_for_user(user),
        channel=Channel.ONLINE,
        actor=user,
    )


def official(role, department, *, ward=None, email):
    user = UserFactory(email=email)
    accounts.role_assign(
        user=user, role=role, department=department, jurisdiction=ward, actor=None, system=True
    )
    accounts.mfa_totp_activate(user=user, secret=TOTP_SECRET, actor=None)
    return user


def text_of(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def jpeg_with_gps() -> SimpleUploadedFile:
    from PIL import Image

    image = Image.new("RGB", (320, 240), (120, 110, 100))
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (52.0, 11.0, 23.0)
    exif[0x010F] = "PhoneMaker"
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    return SimpleUploadedFile("my-street.jpg", buffer.getvalue(), content_type="image/jpeg")


# --- making a proposal -------------------------------------------------------------------


def test_a_proposal_is_published_its_author_follows_it_and_it_is_audited(process, resident):
    made = propose(process, resident, latitude=Decimal("52.189760"), longitude=Decimal("-2.247020"))
    assert made.status == Proposal.Status.PUBLISHED
    assert re.fullmatch(r"P-[A-Z2-9]{6}", made.reference)
    assert made.latitude == Decimal("52.189760")
    assert Follow.objects.filter(
        user=resident, target_kind=Target.PROPOSAL, target_id=made.pk
    ).exists()
    event = AuditEvent.objects.get(action="participation.proposal.submit", object_id=str(made.pk))
    assert event.changes["point"] is True


def test_proposals_are_taken_only_in_a_proposals_phase(department, resident):
    voting = make_process(department, vote=(-1, 5))
    with pytest.raises(ParticipationError) as refused:
        propose(voting, resident)
    assert refused.value.code == "proposals_closed"
    assert not Proposal.objects.exists()


def test_a_proposal_with_personal_data_is_refused(process, resident):
    with pytest.raises(ParticipationError) as refused:
        propose(process, resident, description="Call me on 07700 900123 to discuss.")
    assert refused.value.code == "personal_data"
    assert "07700 900123" in str(refused.value.message)
    assert not Proposal.objects.exists()


def test_a_process_about_some_wards_takes_proposals_about_one_of_them(
    ward_process, resident, ward, department
):
    with pytest.raises(ParticipationError) as missing:
        propose(ward_process, resident)
    assert missing.value.code == "ward_required"
    elsewhere = JurisdictionFactory(code="harbour", name="Harbour")
    with pytest.raises(ParticipationError) as outside:
        propose(ward_process, resident, ward=elsewhere)
    assert outside.value.code == "ward_invalid"
    assert propose(ward_process, resident, ward=ward).ward == ward


def test_a_place_needs_both_coordinates(process, resident):
    with pytest.raises(ParticipationError) as refused:
        propose(process, resident, latitude=Decimal("52.1"))
    assert refused.value.code == "point_incomplete"


# --- supports ----------------------------------------------------------------------------


def test_a_support_is_counted_once_and_a_duplicate_is_refused_clearly(proposal, second_resident):
    support_by(proposal, second_resident)
    with pytest.raises(ParticipationError) as again:
        support_by(proposal, second_resident)
    assert again.value.code == "already_supported"
    assert "already supported" in str(again.value.message)
    proposal.refresh_from_db()
    assert proposal.support_count == 1
    assert Support.objects.filter(proposal=proposal).count() == 1
    event = AuditEvent.objects.get(action="participation.support.add")
    assert event.changes == {"channel": "online", "support_count": 1, "threshold_reached": False}
    assert person_key_for_user(second_resident) not in str(event.changes)


def test_a_paper_support_of_someone_who_supported_online_is_refused(
    proposal, second_resident, intermediary
):
    accounts.identity_verification_record(
        user=second_resident,
        provider_id="eid",
        claims={"national_id": "RV12345678"},
        claim_names={},
    )
    second_resident.profile.refresh_from_db()
    support_by(proposal, second_resident)
    with pytest.raises(ParticipationError) as refused:
        services.support_add(
            proposal=proposal,
            person_key=person_key_for_national_id("rv 1234 5678"),
            channel=Channel.PAPER,
            entered_by=intermediary,
            actor=intermediary,
        )
    assert refused.value.code == "already_supported"
    assert "This person has already supported" in str(refused.value.message)
    proposal.refresh_from_db()
    assert proposal.support_count == 1


def test_a_typed_unverified_number_does_not_block_its_holders_paper_support(
    proposal, second_resident, intermediary
):
    """A resident who typed someone else's number into their profile (unverified) and
    supported online does not take that person's place: the holder's paper support counts."""
    accounts.profile_update(
        user=second_resident, data={"national_id": "RV12345678"}, actor=second_resident
    )
    second_resident.profile.refresh_from_db()
    support_by(proposal, second_resident)
    services.support_add(
        proposal=proposal,
        person_key=person_key_for_national_id("RV12345678"),
        channel=Channel.PAPER,
        entered_by=intermediary,
        actor=intermediary,
    )
    proposal.refresh_from_db()
    assert proposal.support_count == 2


def test_supports_are_refused_after_the_phase_ends(proposal, second_resident):
    with (
        time_machine.travel(timezone.now() + timedelta(days=11)),
        pytest.raises(ParticipationError) as closed,
    ):
        support_by(proposal, second_resident)
    assert closed.value.code == "support_closed"
    proposal.refresh_from_db()
    assert proposal.support_count == 0
    assert not Support.objects.exists()


def test_supports_are_taken_in_the_debate_phase(department, resident, second_resident):
    debating = make_process(department, proposals=(-10, -1), debate=(0, 5))
    with time_machine.travel(timezone.now() - timedelta(days=2)):
        made = propose(debating, resident)
    support_by(made, second_resident)
    made.refresh_from_db()
    assert made.support_count == 1


def test_a_hidden_proposal_cannot_be_supported(proposal, second_resident, engagement_officer):
    services.proposal_hide(proposal=proposal, reason="Offensive language", actor=engagement_officer)
    with pytest.raises(ParticipationError) as refused:
        support_by(proposal, second_resident)
    assert refused.value.code == "proposal_not_published"


def test_reaching_the_threshold_puts_the_proposal_first_in_the_answer_queue(
    process, resident, engagement_officer
):
    older = propose(process, resident, title="Benches by the river")
    popular = propose(process, resident, title="More trees")
    for person in supporters(3):
        support_by(popular, person)
    support_by(older, UserFactory())
    queue = list(
        selectors.proposals_for_answer(
            user=engagement_officer, capability="participation.answer", process=process
        )
    )
    assert [(item.pk, item.due) for item in queue] == [(popular.pk, 1), (older.pk, 0)]
    reached = AuditEvent.objects.filter(action="participation.support.add").order_by("sequence")
    assert [event.changes["threshold_reached"] for event in reached] == [False, False, True, False]
    services.proposal_answer(
        proposal=popular, answer=Proposal.Answer.ACCEPTED, text="", actor=engagement_officer
    )
    waiting = selectors.proposals_for_answer(
        user=engagement_officer, capability="participation.answer", process=process
    )
    assert [item.pk for item in waiting] == [older.pk]


# --- official answers --------------------------------------------------------------------


def test_an_answer_reaches_each_follower_once(
    proposal, resident, second_resident, process, engagement_officer
):
    # The author follows the proposal (on submitting); they follow the process too.
    Follow.objects.create(user=resident, target_kind=Target.PROCESS, target_id=process.pk)
    Follow.objects.create(user=second_resident, target_kind=Target.PROCESS, target_id=process.pk)
    services.proposal_answer(
        proposal=proposal,
        answer=Proposal.Answer.NOT_ACCEPTED,
        text="The road is the county's, not ours.",
        actor=engagement_officer,
    )

    def sent():
        return Notification.objects.filter(event="participation_proposal_answered", channel="inbox")

    assert sorted(sent().values_list("recipient_id", flat=True)) == sorted(
        [resident.pk, second_resident.pk]
    )
    assert "Not accepted" in sent().get(recipient=resident).body
    # The same answer sent again (a double submit) tells nobody again.
    services.proposal_answer(
        proposal=proposal,
        answer=Proposal.Answer.NOT_ACCEPTED,
        text="The road is the county's, not ours.",
        actor=engagement_officer,
    )
    assert sent().count() == 2
    # A changed answer is published, audited as a change, and told again.
    services.proposal_answer(
        proposal=proposal, answer=Proposal.Answer.ALREADY_PLANNED, text="", actor=engagement_officer
    )
    assert sent().count() == 4
    change = AuditEvent.objects.get(action="participation.proposal.answer_change")
    assert change.changes["answer"] == ["not_accepted", "already_planned"]


def test_not_accepted_needs_a_reason(proposal, engagement_officer):
    with pytest.raises(ParticipationError) as refused:
        services.proposal_answer(
            proposal=proposal,
            answer=Proposal.Answer.NOT_ACCEPTED,
            text=" ",
            actor=engagement_officer,
        )
    assert refused.value.code == "reason_missing"
    proposal.refresh_from_db()
    assert proposal.answer == ""


def test_an_official_of_another_department_cannot_answer(proposal, other_engagement_officer):
    with pytest.raises(ParticipationError) as refused:
        services.proposal_answer(
            proposal=proposal, answer="accepted", text="", actor=other_engagement_officer
        )
    assert refused.value.code == "outside_remit"


# --- the public pages --------------------------------------------------------------------


def test_the_list_filters_by_ward_and_answer_and_sorts(
    client, ward_process, resident, ward, other_ward, engagement_officer
):
    first = propose(ward_process, resident, title="Benches", ward=ward)
    second = propose(ward_process, resident, title="Trees", ward=other_ward)
    support_by(first, UserFactory())
    services.proposal_answer(
        proposal=second, answer="already_planned", text="", actor=engagement_officer
    )
    url = reverse("participation:proposals", args=[ward_process.slug])
    assert "(optional)" not in text_of(client.get(url))  # filters are optional by nature
    assert text_of(client.get(url)).index("Benches") < text_of(client.get(url)).index("Trees")
    newest = text_of(client.get(url, {"sort": "newest"}))
    assert newest.index("Trees") < newest.index("Benches")
    by_ward = text_of(client.get(url, {"ward": str(other_ward.pk)}))
    assert "Trees" in by_ward
    assert "Benches" not in by_ward
    waiting = text_of(client.get(url, {"answer": "waiting"}))
    assert "Benches" in waiting
    assert "Trees" not in waiting
    stale = client.get(url, {"ward": "nonsense", "page": "99"})
    assert stale.status_code == 200


def test_drafts_have_no_proposal_pages(client, process, proposal):
    process.status = Process.Status.DRAFT
    process.save()
    for name, args in (
        ("participation:proposals", [process.slug]),
        ("participation:proposal", [process.slug, proposal.reference]),
    ):
        assert client.get(reverse(name, args=args)).status_code == 404


def test_making_a_proposal_with_a_photo_and_a_place(client, process, resident):
    client.force_login(resident)
    url = reverse("participation:proposal_new", args=[process.slug])
    page = client.get(url)
    assert page.status_code == 200
    submission = page.context["form"].initial["submission"]
    response = client.post(
        url,
        {
            "submission": submission,
            "title": "A crossing outside the school",
            "description": "Children cross here every morning.",
            "ward": "",
            "photo": jpeg_with_gps(),
            "lat": RIVERSIDE[0],
            "lon": RIVERSIDE[1],
        },
    )
    made = Proposal.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "participation:proposal", args=[process.slug, made.reference]
    )
    assert made.latitude == Decimal(RIVERSIDE[0])
    photo = client.get(reverse("participation:proposal_photo", args=[process.slug, made.reference]))
    assert photo.status_code == 200
    assert photo["Content-Type"] == "image/jpeg"
    from PIL import Image

    kept = Image.open(
        io.BytesIO(b"".join(photo.streaming_content) if photo.streaming else photo.content)
    )
    assert not kept.getexif()  # no GPS, no camera
    # The same form sent again (a double click) makes no second proposal.
    again = client.post(url, {"submission": submission, "title": "x", "description": "y"})
    assert again.status_code == 302
    assert Proposal.objects.count() == 1


def test_a_refused_proposal_keeps_the_text_and_the_photo(client, process, resident):
    client.force_login(resident)
    url = reverse("participation:proposal_new", args=[process.slug])
    refused = client.post(
        url,
        {
            "title": "A crossing",
            "description": "Email me at alex@example.com for details.",
            "photo": jpeg_with_gps(),
            "lat": LONDON[0],
            "lon": LONDON[1],
        },
    )
    assert refused.status_code == 200
    page = text_of(refused)
    assert "There is a problem" in page
    assert "an email address (alex@example.com)" in page
    assert "outside the area" in page
    assert "Email me at alex@example.com for details." in refused.content.decode()
    assert "You added a photo" in page
    assert not Proposal.objects.exists()
    sent = client.post(
        url,
        {"title": "A crossing", "description": "Children cross here.", "lat": "", "lon": ""},
    )
    assert sent.status_code == 302
    assert Proposal.objects.get().photo is not None


def test_residents_not_eligible_are_told_why(client, process, resident):
    EligibilityRule.objects.create(process=process, action="propose", ward_resident=True)
    client.force_login(resident)
    page = client.get(reverse("participation:proposal_new", args=[process.slug]))
    assert "Add your home address to your account" in text_of(page)
    assert "form" not in page.context or page.context.get("form") is None


def test_the_proposal_page_shows_the_progress_and_the_answer(
    client, proposal, process, engagement_officer
):
    support_by(proposal, UserFactory())
    services.proposal_answer(
        proposal=proposal,
        answer="not_accepted",
        text="The county owns the road.",
        actor=engagement_officer,
    )
    page = text_of(
        client.get(reverse("participation:proposal", args=[process.slug, proposal.reference]))
    )
    assert "1 of 3 supports needed for an official answer" in page
    assert "Not accepted" in page
    assert "The county owns the road." in page
    assert "Alex M." in page  # the author's first name and initial, never the full name
    assert "Alex Morgan" not in page


def test_a_hidden_proposal_shows_the_reason_and_no_photo(
    client, process, resident, engagement_officer
):
    client.force_login(resident)
    client.post(
        reverse("participation:proposal_new", args=[process.slug]),
        {"title": "Rude words", "description": "Something offensive.", "photo": jpeg_with_gps()},
    )
    made = Proposal.objects.get()
    services.proposal_hide(
        proposal=made, reason="It insults a neighbour.", actor=engagement_officer
    )
    page = client.get(reverse("participation:proposal", args=[process.slug, made.reference]))
    assert "This proposal was hidden by a moderator: It insults a neighbour." in text_of(page)
    assert "Something offensive." not in text_of(page)
    photo = reverse("participation:proposal_photo", args=[process.slug, made.reference])
    assert client.get(photo).status_code == 404


def test_supporting_on_the_page(client, proposal, process, second_resident):
    page = reverse("participation:proposal", args=[process.slug, proposal.reference])
    url = reverse("participation:proposal_support", args=[process.slug, proposal.reference])
    anonymous = client.post(url)
    assert anonymous.status_code == 302
    assert reverse("account_login") in anonymous["Location"]
    client.force_login(second_resident)
    assert client.get(url)["Location"] == page  # a GET only leads to the proposal
    done = client.post(url, follow=True)
    assert "Thank you: your support is counted." in text_of(done)
    assert "You support this proposal." in text_of(done)
    again = client.post(url, follow=True)
    assert "You have already supported this proposal." in text_of(again)
    proposal.refresh_from_db()
    assert proposal.support_count == 1


def test_supporting_after_the_phase_gives_a_clear_message(
    client, proposal, process, second_resident
):
    url = reverse("participation:proposal_support", args=[process.slug, proposal.reference])
    with time_machine.travel(timezone.now() + timedelta(days=11)):
        client.force_login(second_resident)
        done = client.post(url, follow=True)
    assert "Supports are closed" in text_of(done)
    assert not Support.objects.exists()


def test_a_census_participant_supports_without_an_account(client, proposal, process):
    EligibilityRule.objects.create(process=process, action="support", census_only=True)
    entry = CensusEntry.objects.create(
        process=process,
        identifier="V-1001",
        identifier_index="v-1001",
        code_hash="unused",
        claimed_at=timezone.now(),
    )
    session = client.session
    session[CENSUS_SESSION_KEY] = {str(process.pk): entry.pk}
    session.save()
    done = client.post(
        reverse("participation:proposal_support", args=[process.slug, proposal.reference]),
        follow=True,
    )
    assert "Thank you: your support is counted." in text_of(done)
    support = Support.objects.get()
    assert support.channel == Channel.CENSUS
    assert support.person_key == person_key_for_census(entry)


def test_following_and_unfollowing_a_proposal(client, proposal, process, second_resident):
    client.force_login(second_resident)
    url = reverse("participation:proposal_follow", args=[process.slug, proposal.reference])
    client.post(url, {"following": "1"})
    assert Follow.objects.filter(user=second_resident, target_id=proposal.pk).exists()
    client.post(url, {"following": "0"})
    assert not Follow.objects.filter(user=second_resident, target_id=proposal.pk).exists()


# --- officials -----------------------------------------------------------------------------


def test_the_answer_page_publishes_the_answer(client, proposal, process, engagement_officer):
    sign_in_official(client, engagement_officer)
    queue = client.get(reverse("staff:participation_proposals", args=[process.slug]))
    assert proposal.reference in text_of(queue)
    url = reverse("staff:participation_proposal_answer", args=[process.slug, proposal.reference])
    missing = client.post(url, {"answer": "not_accepted", "text": ""})
    assert "Enter the reason the proposal is not accepted" in text_of(missing)
    done = client.post(url, {"answer": "accepted", "text": "We will build it in 2027."})
    assert done.status_code == 302
    proposal.refresh_from_db()
    assert (proposal.answer, proposal.answered_by) == ("accepted", engagement_officer)


@pytest.mark.parametrize(
    "name",
    ["participation_proposals", "participation_proposal_answer", "participation_proposal_hide"],
)
def test_officials_of_another_department_get_404(
    client, proposal, process, other_engagement_officer, name
):
    sign_in_official(client, other_engagement_officer)
    args = (
        [process.slug] if name == "participation_proposals" else [process.slug, proposal.reference]
    )
    assert client.get(reverse(f"staff:{name}", args=args)).status_code == 404


def test_a_ward_limited_official_sees_only_their_ward(
    client, ward_process, resident, ward, other_ward, department
):
    own = propose(ward_process, resident, ward=ward, title="Here")
    other = propose(ward_process, resident, ward=other_ward, title="There")
    limited = official(Role.CASE_OFFICER, department, ward=ward, email="ward.officer@example.test")
    sign_in_official(client, limited)
    queue = text_of(client.get(reverse("staff:participation_proposals", args=[ward_process.slug])))
    assert own.reference in queue
    assert other.reference not in queue
    answer = "staff:participation_proposal_answer"
    assert client.get(reverse(answer, args=[ward_process.slug, own.reference])).status_code == 200
    assert client.get(reverse(answer, args=[ward_process.slug, other.reference])).status_code == 404


def test_a_resident_cannot_reach_the_staff_pages(client, proposal, process, resident):
    client.force_login(resident)
    assert (
        client.get(reverse("staff:participation_proposals", args=[process.slug])).status_code == 403
    )


def test_hiding_and_showing_a_proposal_again(client, proposal, process, engagement_officer):
    sign_in_official(client, engagement_officer)
    url = reverse("staff:participation_proposal_hide", args=[process.slug, proposal.reference])
    missing = client.post(url, {"action": "hide", "reason": ""})
    assert "Enter why it is hidden" in text_of(missing)
    assert client.post(url, {"action": "hide", "reason": "Spam"}).status_code == 302
    proposal.refresh_from_db()
    assert (proposal.status, proposal.moderation_reason) == ("hidden", "Spam")
    assert client.post(url, {"action": "unhide"}).status_code == 302
    proposal.refresh_from_db()
    assert proposal.status == "published"
    actions = list(
        AuditEvent.objects.filter(
            object_id=str(proposal.pk), action__startswith="participation.proposal.h"
        )
        .order_by("sequence")
        .values_list("action", flat=True)
    )
    assert actions == ["participation.proposal.hide"]
    assert AuditEvent.objects.filter(action="participation.proposal.unhide").exists()


def test_the_staff_addresses_reach_these_pages(client, proposal, process, engagement_officer):
    """The single-segment staff addresses are not taken by a process's address."""
    assert resolve("/staff/participation/moderation/").func.__name__ == "moderation"
    assert resolve("/staff/participation/answers/").func.__name__ == "staff_answers"
    for person in supporters(3):
        support_by(proposal, person)
    sign_in_official(client, engagement_officer)
    index = text_of(client.get(reverse("staff:participation_answers")))
    assert "Riverside regeneration plan" in index
