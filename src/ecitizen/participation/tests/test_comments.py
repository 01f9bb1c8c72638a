"""Comments: posted on public consultations, proposals and projects (one level of replies:
a reply to a reply joins the top-level comment's thread), screened for personal data
(refused, saying what was found, the text kept), flagged once per person (never one's
own), hidden by moderators with a reason shown in their place (audited, reversible), and
the moderators' queue within their remit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ecitizen.core.models import AuditEvent
from ecitizen.participation.models import (
    Comment,
    CommentFlag,
    Consultation,
    EligibilityRule,
    Process,
    Target,
)
from ecitizen.participation.selectors.comments import comment_threads, public_name
from ecitizen.participation.services import ParticipationError
from ecitizen.participation.services import comments as services
from ecitizen.participation.services import proposals as proposal_services
from tests.factories import UserFactory
from tests.personas import sign_in_official

from .test_proposals import make_process, propose, text_of


@pytest.fixture
def process(department):
    return make_process(department)


@pytest.fixture
def proposal(process, resident):
    return propose(process, resident)


def post(target, author, body="I agree: the crossing is dangerous.", parent=None):
    return services.comment_post(
        target_kind=Target.PROPOSAL,
        target_id=target.pk,
        body=body,
        parent=parent,
        author=author,
        actor=author,
    )


@pytest.fixture
def comment(proposal, second_resident):
    return post(proposal, second_resident)


def comment_url(proposal):
    return reverse("participation:comment_new", args=["proposal", proposal.pk])


# --- posting --------------------------------------------------------------------------------


def test_a_reply_to_a_reply_joins_the_thread_of_the_top_level_comment(
    proposal, comment, resident, outsider
):
    reply = post(proposal, resident, "Thanks for your support.", parent=comment)
    answer = post(proposal, outsider, "Me too.", parent=reply)
    assert reply.parent == comment
    assert answer.parent == comment
    threads = comment_threads(target_kind="proposal", target_id=proposal.pk, user=outsider)
    assert [row.comment for row in threads] == [comment]
    assert [row.comment for row in threads[0].replies] == [reply, answer]
    event = AuditEvent.objects.get(action="participation.comment.post", object_id=str(answer.pk))
    assert event.changes == {
        "target_kind": "proposal",
        "target_id": proposal.pk,
        "reply_to": comment.pk,
    }
    assert "Me too" not in str(event.changes)


@pytest.mark.parametrize(
    ("body", "found"),
    [
        ("Write to me at alex.morgan@example.com", "an email address (alex.morgan@example.com)"),
        ("Ring 07700 900123 after six", "a phone number (07700 900123)"),
        ("My number is +33 6 12 34 56 78", "a phone number (+33 6 12 34 56 78)"),
        ("My ID is RV 1234 5678", "a national identity number (RV 1234 5678)"),
        ("Pay with 4111 1111 1111 1111", "a bank card number ending 1111"),
    ],
)
def test_comments_with_personal_data_are_refused(proposal, second_resident, body, found):
    with pytest.raises(ParticipationError) as refused:
        post(proposal, second_resident, body)
    assert refused.value.code == "personal_data"
    assert found in str(refused.value.message)
    assert not Comment.objects.exists()


def test_ordinary_numbers_are_published(proposal, second_resident):
    made = post(proposal, second_resident, "15 trees for £20,000 by 2026-05-12, not 1 200 000.")
    assert made.body.startswith("15 trees")


def test_a_refused_comment_keeps_its_text_and_says_what_was_found(
    client, proposal, process, second_resident
):
    client.force_login(second_resident)
    body = "Good idea, call me on 07700 900123 to help."
    refused = client.post(comment_url(proposal), {"body": body})
    assert refused.status_code == 200
    page = text_of(refused)
    assert "There is a problem" in page
    assert "a phone number (07700 900123)" in page
    assert body in refused.content.decode()
    assert not Comment.objects.exists()


def test_posting_from_the_page_and_a_double_submit(client, proposal, process, second_resident):
    client.force_login(second_resident)
    page = client.get(reverse("participation:proposal", args=[process.slug, proposal.reference]))
    form = page.context["comments"]["form"]
    key = form.initial["submission"]
    done = client.post(comment_url(proposal), {"submission": key, "body": "Yes please."})
    made = Comment.objects.get()
    assert done["Location"].endswith(f"#comment-{made.pk}")
    again = client.post(comment_url(proposal), {"submission": key, "body": "Yes please."})
    assert again.status_code == 302
    assert Comment.objects.count() == 1
    shown = text_of(client.get(done["Location"].split("#")[0]))
    assert "Yes please." in shown
    assert "Yasmin F." in shown


def test_the_reply_page_works_without_javascript(client, proposal, comment, resident):
    client.force_login(resident)
    form = client.get(comment_url(proposal), {"reply": comment.pk})
    assert "Reply to a comment" in text_of(form)
    assert "I agree: the crossing is dangerous." in text_of(form)
    client.post(comment_url(proposal), {"body": "Thank you.", "parent": str(comment.pk)})
    reply = Comment.objects.get(body="Thank you.")
    assert reply.parent == comment


def test_comments_need_a_public_open_target(
    client, process, proposal, second_resident, engagement_officer
):
    client.force_login(second_resident)
    assert client.get(reverse("participation:comment_new", args=["process", 1])).status_code == 404
    assert (
        client.get(reverse("participation:comment_new", args=["proposal", 999])).status_code == 404
    )
    proposal_services.proposal_hide(proposal=proposal, reason="Spam", actor=engagement_officer)
    with pytest.raises(ParticipationError) as closed:
        post(proposal, second_resident)
    assert closed.value.code == "comments_closed"
    process.status = Process.Status.DRAFT
    process.save()
    assert client.get(comment_url(proposal)).status_code == 404
    with pytest.raises(ParticipationError) as refused:
        post(proposal, second_resident)
    assert refused.value.code == "unknown_target"
    assert not Comment.objects.exists()


def test_comments_are_closed_once_the_process_is_archived(
    client, process, proposal, second_resident
):
    process.status = Process.Status.ARCHIVED
    process.save()
    with pytest.raises(ParticipationError) as closed:
        post(proposal, second_resident)
    assert closed.value.code == "comments_closed"
    client.force_login(second_resident)
    assert "Comments are closed here." in text_of(client.get(comment_url(proposal)))


def test_residents_not_eligible_to_comment_are_told_why(client, process, proposal, second_resident):
    EligibilityRule.objects.create(process=process, action="comment", min_age=18)
    client.force_login(second_resident)
    page = text_of(
        client.get(reverse("participation:proposal", args=[process.slug, proposal.reference]))
    )
    assert "You cannot comment here yet:" in page
    assert "Add your date of birth to your account" in page
    assert "You cannot comment here yet:" in text_of(client.get(comment_url(proposal)))
    assert client.post(comment_url(proposal), {"body": "Hello"}).status_code == 200
    assert not Comment.objects.exists()


def test_comments_on_a_consultation(client, process, second_resident):
    now = timezone.now()
    consultation = Consultation.objects.create(
        process=process,
        slug="towpath",
        title="The towpath",
        status=Consultation.Status.OPEN,
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=10),
    )
    made = services.comment_post(
        target_kind=Target.CONSULTATION,
        target_id=consultation.pk,
        body="Keep it for walkers.",
        author=second_resident,
        actor=second_resident,
    )
    assert made.process == process
    client.force_login(second_resident)
    done = client.post(
        reverse("participation:comment_new", args=["consultation", consultation.pk]),
        {"body": "And cyclists."},
    )
    assert done["Location"].startswith(
        reverse("participation:consultation", args=[process.slug, consultation.slug])
    )


def test_the_comments_of_a_page_take_a_fixed_number_of_queries(rf, proposal, second_resident):
    from django.contrib.auth.models import AnonymousUser
    from django.contrib.sessions.backends.db import SessionStore

    from ecitizen.participation.selectors.comments import comments_context

    for index in range(3):
        top = post(proposal, UserFactory(), f"Comment {index}")
        post(proposal, UserFactory(), f"Reply {index}", parent=top)
    request = rf.get("/")
    request.user = AnonymousUser()
    request.session = SessionStore()
    with CaptureQueriesContext(connection) as few:
        comments_context(request, proposal.process, Target.PROPOSAL, proposal.pk)
    for index in range(3, 10):
        top = post(proposal, UserFactory(), f"Comment {index}")
        post(proposal, UserFactory(), f"Reply {index}", parent=top)
    with CaptureQueriesContext(connection) as many:
        context = comments_context(request, proposal.process, Target.PROPOSAL, proposal.pk)
    assert context["count"] == 20
    assert len(many) == len(few)


def test_public_names_are_a_first_name_and_an_initial(resident):
    assert public_name(resident) == "Alex M."
    assert public_name(None) == "A former resident"


# --- flags ------------------------------------------------------------------------------------


def test_a_comment_is_flagged_once_per_person_and_never_by_its_author(
    comment, resident, second_resident
):
    services.comment_flag(comment=comment, reason="offensive", user=resident)
    with pytest.raises(ParticipationError) as again:
        services.comment_flag(comment=comment, reason="spam", user=resident)
    assert again.value.code == "already_flagged"
    with pytest.raises(ParticipationError) as own:
        services.comment_flag(comment=comment, reason="spam", user=second_resident)
    assert own.value.code == "own_comment"
    comment.refresh_from_db()
    assert comment.flag_count == 1
    assert CommentFlag.objects.count() == 1
    assert AuditEvent.objects.get(action="participation.comment.flag").changes == {
        "reason": "offensive"
    }


def test_flagging_from_the_page(client, proposal, process, comment, resident):
    client.force_login(resident)
    url = reverse("participation:comment_flag", args=[comment.pk])
    missing = client.post(url, {})
    assert "Select why the comment should be removed" in text_of(missing)
    done = client.post(url, {"reason": "off_topic"}, follow=True)
    assert "A moderator will look at the comment." in text_of(done)
    assert "You reported this comment." in text_of(done)
    again = client.get(url)
    assert "You have already reported this comment." in text_of(again)
    assert CommentFlag.objects.count() == 1


# --- moderation -------------------------------------------------------------------------------


def test_a_hidden_comment_shows_the_reason_in_its_place(
    client, process, proposal, comment, resident, engagement_officer
):
    services.comment_flag(comment=comment, reason="offensive", user=resident)
    with pytest.raises(ParticipationError) as missing:
        services.comment_hide(comment=comment, reason="  ", actor=engagement_officer)
    assert missing.value.code == "reason_missing"
    services.comment_hide(
        comment=comment, reason="It insults a neighbour.", actor=engagement_officer
    )
    page = text_of(
        client.get(reverse("participation:proposal", args=[process.slug, proposal.reference]))
    )
    assert "This comment was hidden by a moderator: It insults a neighbour." in page
    assert "the crossing is dangerous" not in page
    assert CommentFlag.objects.get().resolved_at is not None
    event = AuditEvent.objects.get(action="participation.comment.hide")
    assert event.changes == {"reason": "It insults a neighbour.", "flags_resolved": 1}
    services.comment_unhide(comment=comment, actor=engagement_officer)
    page = text_of(
        client.get(reverse("participation:proposal", args=[process.slug, proposal.reference]))
    )
    assert "the crossing is dangerous" in page
    assert AuditEvent.objects.filter(action="participation.comment.unhide").exists()


def test_the_moderation_queue_and_its_actions(
    client, proposal, comment, resident, outsider, engagement_officer
):
    quiet = post(proposal, outsider, "A fair point.")
    services.comment_flag(comment=comment, reason="offensive", user=resident)
    services.comment_flag(comment=comment, reason="spam", user=outsider)
    services.comment_flag(comment=quiet, reason="spam", user=resident)
    sign_in_official(client, engagement_officer)
    queue = client.get(reverse("staff:participation_moderation"))
    rows = [row["comment"] for row in queue.context["flagged_rows"]]
    assert rows == [comment, quiet]  # the most flagged first
    review = client.get(reverse("staff:participation_comment_hide", args=[quiet.pk]))
    assert "Spam or advertising: 1 report" in text_of(review)
    kept = client.post(
        reverse("staff:participation_comment_hide", args=[quiet.pk]), {"action": "keep"}
    )
    assert kept.status_code == 302
    url = reverse("staff:participation_comment_hide", args=[comment.pk])
    missing = client.post(url, {"action": "hide", "reason": ""})
    assert "Enter why it is hidden" in text_of(missing)
    client.post(url, {"action": "hide", "reason": "Abusive."})
    comment.refresh_from_db()
    assert (comment.status, comment.hidden_reason, comment.hidden_by) == (
        "hidden",
        "Abusive.",
        engagement_officer,
    )
    queue = client.get(reverse("staff:participation_moderation"))
    assert queue.context["flagged_rows"] == []
    assert "Abusive." in text_of(queue)


def test_moderators_of_another_department_get_404(
    client, comment, proposal, process, other_engagement_officer
):
    sign_in_official(client, other_engagement_officer)
    assert (
        client.get(reverse("staff:participation_comment_hide", args=[comment.pk])).status_code
        == 404
    )
    hide = reverse("staff:participation_proposal_hide", args=[process.slug, proposal.reference])
    assert client.get(hide).status_code == 404
    with pytest.raises(ParticipationError) as refused:
        services.comment_hide(comment=comment, reason="x", actor=other_engagement_officer)
    assert refused.value.code == "outside_remit"
    services.comment_flag(comment=comment, reason="spam", user=UserFactory())
    queue = client.get(reverse("staff:participation_moderation"))
    assert queue.status_code == 200
    assert queue.context["flagged_rows"] == []
    assert list(queue.context["proposals"].object_list) == []


def test_a_reply_address_that_is_no_number_is_ignored(client, proposal, comment, resident):
    client.force_login(resident)
    for odd in ("²", "99999999999999999999999", "abc"):
        assert client.get(comment_url(proposal), {"reply": odd}).status_code == 200
        sent = client.post(comment_url(proposal), {"body": f"Reply {odd}", "parent": odd})
        assert sent.status_code == 302
    assert not Comment.objects.filter(parent__isnull=False).exists()


def test_what_a_moderator_hid_is_served_nowhere(
    client, process, proposal, comment, resident, engagement_officer
):
    services.comment_hide(comment=comment, reason="Abusive.", actor=engagement_officer)
    client.force_login(resident)
    flag_page = client.get(reverse("participation:comment_flag", args=[comment.pk]))
    assert "the crossing is dangerous" not in flag_page.content.decode()
    assert "This comment was hidden by a moderator: Abusive." in text_of(flag_page)
    visible = post(proposal, resident, "Still a good idea.")
    proposal_services.proposal_hide(proposal=proposal, reason="Spam", actor=engagement_officer)
    flag_url = reverse("participation:comment_flag", args=[visible.pk])
    assert client.get(flag_url).status_code == 404
    closed = client.get(comment_url(proposal))
    assert proposal.title not in closed.content.decode()
    assert f"Proposal {proposal.reference}" in text_of(closed)
