"""A hostile review of the participation app: what residents, officials, attackers and
third-party clients can send or try, checked against what must hold.

Each test states one rule. A rule that holds is an ordinary test (kept so that it keeps
holding); a rule that is broken today is marked ``xfail(strict=True)`` with the defect in
its reason, so the suite stays green and the test turns red the day the defect is fixed
(then drop the marker)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.urls import resolve, reverse
from django.utils import timezone

from ecitizen.core.models import AuditEvent
from ecitizen.participation.models import (
    Ballot,
    Channel,
    Comment,
    Consultation,
    EligibilityRule,
    PendingResponse,
    Phase,
    Process,
    Project,
    Response,
    Result,
)
from ecitizen.participation.services import ParticipationError
from ecitizen.participation.services import budgets as budget_services
from ecitizen.participation.services import census as census_services
from ecitizen.participation.services import comments as comment_services
from ecitizen.participation.services import consultations as consultation_services
from ecitizen.participation.services import processes as process_services
from ecitizen.participation.services import proposals as proposal_services
from ecitizen.participation.services.common import (
    person_key_for_national_id,
    person_key_for_user,
)
from tests.personas import sign_in_official

from .test_ballots import budget_world, cast, live_in
from .test_proposals import make_process, propose

# --- helpers -----------------------------------------------------------------------------


def lenient(client: Client) -> Client:
    """The client answers a view's exception with the 500 page instead of raising it, as
    a real server does: a test then asserts the status a visitor would see."""
    client.raise_request_exception = False
    return client


def submission_key(html: str) -> str:
    found = re.search(r'name="(?:[\w-]+-)?submission" value="([0-9a-f]{32})"', html)
    assert found is not None, "the form carries no one-off key"
    return found.group(1)


QUESTIONS = [
    {
        "id": "visits",
        "type": "single_choice",
        "label": {"en": "How often do you visit the park?"},
        "error_label": {"en": "how often you visit the park"},
        "choices": [
            {"value": "weekly", "label": {"en": "Every week"}},
            {"value": "rarely", "label": {"en": "Rarely"}},
        ],
    },
    {
        "id": "trees",
        "type": "number",
        "required": False,
        "label": {"en": "How many trees should we plant?"},
        "error_label": {"en": "the number of trees"},
        "validation": {"min": 0, "max": 1000},
    },
    {
        "id": "ideas",
        "type": "long_text",
        "required": False,
        "label": {"en": "What else would you change?"},
        "error_label": {"en": "what you would change"},
    },
]


def open_consultation(process: Process, *, questions: list[dict[str, Any]] | None = None):
    now = timezone.now()
    return Consultation.objects.create(
        process=process,
        slug="park",
        title="Riverside Park",
        body="We plan to extend the park.",
        questions=questions or QUESTIONS,
        status=Consultation.Status.OPEN,
        opens_at=now - timedelta(days=2),
        closes_at=now + timedelta(days=20),
    )


def consultation_url(name: str, consultation: Consultation, *args: Any) -> str:
    return reverse(
        f"participation:{name}", args=[consultation.process.slug, consultation.slug, *args]
    )


# --- bad input: a clear answer, never a server error ------------------------------------


@pytest.mark.django_db
def test_a_ballot_posted_with_a_superscript_digit_is_refused_not_a_server_error(
    client, department, resident
):
    world = budget_world(department)
    client.force_login(resident)
    url = reverse("participation:ballot", args=[world.process.slug, "city"])
    response = lenient(client).post(url, {"projects": ["²"], "action": "total"})
    assert response.status_code == 200
    assert "Choose from the projects listed" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["abc", "-1", "0", "1.5", "", "9" * 30])
def test_a_ballot_posted_with_junk_choices_is_refused_not_a_server_error(
    client, department, resident, value
):
    world = budget_world(department)
    client.force_login(resident)
    url = reverse("participation:ballot", args=[world.process.slug, "city"])
    response = lenient(client).post(url, {"projects": [value]})
    assert response.status_code == 200
    assert not Ballot.objects.exists()


@pytest.mark.django_db
def test_a_ballot_with_another_headings_project_is_refused(department, resident):
    world = budget_world(department)
    with pytest.raises(ParticipationError) as refused:
        cast(world, world.city, [world.projects["north"][0]])
    assert refused.value.code == "unknown_project"
    with pytest.raises(ParticipationError) as refused:
        budget_services.ballot_cast(
            heading=world.city,
            project_ids=[-1, 0],
            person_key="someone",
            channel=Channel.ONLINE,
            actor=None,
        )
    assert refused.value.code == "unknown_project"
    assert not Ballot.objects.exists()


@pytest.mark.django_db
def test_a_reply_address_with_a_superscript_digit_is_not_a_server_error(
    client, department, resident
):
    process = make_process(department)
    proposal = propose(process, resident)
    client.force_login(resident)
    url = reverse("participation:comment_new", args=["proposal", proposal.pk])
    assert lenient(client).get(url, {"reply": "²"}).status_code == 200
    assert lenient(client).post(url, {"body": "Agreed.", "parent": "²"}).status_code in {
        200,
        302,
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/participate/budget-2027/budget/projects/99999999999999999999999/",
        "/participate/budget-2027/documents/99999999999999999999999/",
        "/participate/comments/proposal/99999999999999999999999/",
        "/participate/comments/99999999999999999999999/flag/",
        "/participate/budget-2027/budget/nowhere/vote/",
        "/participate/budget-2027/budget/pabulib/nowhere.pb",
        "/participate/budget-2027/proposals/P-NOPE/",
        "/participate/budget-2027/consultations/nowhere/",
        "/participate/no-such-process/",
        "/participate/comments/process/1/",
    ],
)
def test_unknown_or_huge_ids_are_not_found_not_server_errors(client, department, resident, path):
    budget_world(department)
    client.force_login(resident)
    assert lenient(client).get(path).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        {"ward": "abc", "answer": "nonsense", "sort": "evil", "page": "x"},
        {"ward": "9" * 30, "page": "-1"},
        {"page": "99999999999"},
    ],
)
def test_the_proposals_list_ignores_junk_filters(client, department, resident, query):
    process = make_process(department)
    propose(process, resident)
    assert (
        lenient(client)
        .get(reverse("participation:proposals", args=[process.slug]), query)
        .status_code
        == 200
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("lat", "lon"),
    [
        ("NaN", "NaN"),
        ("inf", "-inf"),
        ("1e999", "1e999"),
        ("\u0665\u0662\u066b\u0661", "-\u0662\u066b\u0662"),
        ("52.18976", ""),
    ],
)
def test_a_proposal_with_a_nonsense_place_is_refused_clearly(
    client, department, resident, lat, lon
):
    process = make_process(department)
    client.force_login(resident)
    url = reverse("participation:proposal_new", args=[process.slug])
    response = lenient(client).post(
        url,
        {"title": "A bench", "description": "A bench by the river.", "lat": lat, "lon": lon},
    )
    assert response.status_code in {200, 400}
    assert not process.proposals.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "trees", ["9" * 400, "1e999", "NaN", "-0", "\u0661\u0660", "<script>", "\x00"]
)
def test_a_response_with_out_of_range_or_strange_numbers_is_refused_or_kept_not_a_500(
    client, department, resident, trees
):
    process = make_process(department)
    consultation = open_consultation(process)
    client.force_login(resident)
    url = consultation_url("consultation_respond", consultation)
    response = lenient(client).post(url, {"visits": "weekly", "trees": trees, "ideas": ""})
    assert response.status_code in {200, 302, 400}


@pytest.mark.django_db
def test_a_response_missing_a_required_answer_is_refused_and_nothing_is_lost(
    client, department, resident
):
    process = make_process(department)
    consultation = open_consultation(process)
    client.force_login(resident)
    url = consultation_url("consultation_respond", consultation)
    response = client.post(url, {"trees": "12", "ideas": "More benches, please."})
    assert response.status_code == 200
    html = response.content.decode()
    assert "More benches, please." in html  # what was typed comes back
    assert "12" in html
    assert not Response.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "name"),
    [
        ("get", "process_follow"),
        ("get", "census_codes"),
    ],
)
def test_post_only_pages_refuse_other_methods(client, department, engagement_officer, method, name):
    process = make_process(department)
    sign_in_official(client, engagement_officer)
    client.force_login(engagement_officer)
    if name == "process_follow":
        url = reverse("participation:process_follow", args=[process.slug])
    else:
        url = reverse("staff:participation_census_codes", args=[process.slug])
    assert getattr(client, method)(url).status_code == 405


# --- addresses: a process's slug never hides a fixed address ---------------------------

FIXED_ADDRESS_SLUGS = [
    "moderation",
    "answers",
    "new",
    "yours",
    "news",
    "code-of-conduct",
    "comments",
    "paper",
    "budgets",
]


@pytest.mark.django_db
@pytest.mark.parametrize("slug", FIXED_ADDRESS_SLUGS)
def test_a_process_slug_is_refused_or_reaches_its_own_pages(department, engagement_officer, slug):
    refused = ""
    try:
        process = process_services.process_create(
            title="A plan",
            summary="About the plan",
            description="",
            department=department,
            wards=[],
            slug=slug,
            actor=engagement_officer,
        )
    except ParticipationError as error:
        refused = error.code
    if refused:
        assert refused == "slug_taken"
        return
    assert resolve(reverse("participation:process", args=[process.slug])).url_name == "process"
    assert (
        resolve(reverse("staff:participation_process", args=[process.slug])).url_name
        == "participation_process"
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "title",
    [
        "Moderation",
        "Answers",
        "Yours",
        "Code of conduct",
    ],
)
def test_a_slug_made_from_a_title_never_hides_a_fixed_address(
    department, engagement_officer, title
):
    process = process_services.process_create(
        title=title,
        summary="About it",
        description="",
        department=department,
        wards=[],
        actor=engagement_officer,
    )
    assert resolve(reverse("participation:process", args=[process.slug])).url_name == "process"
    assert (
        resolve(reverse("staff:participation_process", args=[process.slug])).url_name
        == "participation_process"
    )


# --- eligibility: nobody acts where the rules say they cannot ---------------------------


@pytest.mark.django_db
def test_an_archived_process_takes_no_more_responses(client, department, resident):
    process = make_process(department)
    consultation = open_consultation(process)
    Process.objects.filter(pk=process.pk).update(status=Process.Status.ARCHIVED)
    client.force_login(resident)
    client.post(consultation_url("consultation_respond", consultation), {"visits": "weekly"})
    assert not Response.objects.exists()


@pytest.mark.django_db
def test_an_archived_process_takes_no_supports_comments_or_ballots(department, resident):
    process = make_process(department)
    proposal = propose(process, resident)
    world = budget_world(department)
    Process.objects.filter(pk__in=[process.pk, world.process.pk]).update(
        status=Process.Status.ARCHIVED
    )
    with pytest.raises(ParticipationError) as refused:
        proposal_services.support_add(
            proposal=proposal, person_key="someone", channel=Channel.ONLINE, actor=None
        )
    assert refused.value.code == "proposal_not_published"
    with pytest.raises(ParticipationError) as refused:
        comment_services.comment_post(
            target_kind="proposal",
            target_id=proposal.pk,
            body="Still open?",
            author=resident,
            actor=resident,
        )
    assert refused.value.code == "comments_closed"
    with pytest.raises(ParticipationError) as refused:
        cast(world, world.city, [world.projects["city"][1]])
    assert refused.value.code == "vote_closed"


@pytest.mark.django_db
def test_a_resident_responding_signed_in_and_anonymously_counts_once(department, resident):
    process = make_process(department)
    EligibilityRule.objects.create(
        process=process, action="respond", email_verified=False, anonymous_allowed=True
    )
    consultation = open_consultation(process)
    consultation_services.response_record(
        consultation=consultation,
        answers={"visits": "weekly"},
        person_key=person_key_for_user(resident),
        channel=Channel.ONLINE,
        actor=resident,
    )
    pending = consultation_services.pending_response_create(
        consultation=consultation, email=resident.email, answers={"visits": "rarely"}
    )
    token = "known-token"
    PendingResponse.objects.filter(pk=pending.pk).update(
        token_hash=consultation_services.token_hash(token)
    )
    consultation_services.pending_response_confirm(
        consultation=consultation, pending_id=pending.pk, token=token
    )
    assert Response.objects.filter(consultation=consultation).count() == 1


@pytest.mark.django_db
def test_an_anonymous_response_counts_only_once_confirmed_and_its_link_works_once(
    client, department, mailoutbox
):
    process = make_process(department)
    EligibilityRule.objects.create(
        process=process, action="respond", email_verified=False, anonymous_allowed=True
    )
    consultation = open_consultation(process)
    url = consultation_url("consultation_respond", consultation)
    page = client.get(url).content.decode()
    client.post(
        url,
        {"visits": "weekly", "email": "Someone@Example.com", "submission": submission_key(page)},
    )
    assert PendingResponse.objects.count() == 1
    assert not Response.objects.exists()  # not counted before the link is followed
    link = re.search(r"https?://\S+/confirm/\S+", mailoutbox[0].body).group(0)
    path = "/" + link.split("/", 3)[3]
    assert client.get(path).status_code == 200
    assert not Response.objects.exists()  # a mail scanner's GET confirms nothing
    assert client.post(path).status_code == 302
    assert Response.objects.count() == 1
    replay = client.post(path)
    assert replay.status_code == 400
    assert Response.objects.count() == 1
    # Another address for the same consultation with a changed case is the same voice.
    page = client.get(url).content.decode()
    client.post(
        url,
        {"visits": "rarely", "email": "someone@example.COM", "submission": submission_key(page)},
    )
    link = re.search(r"https?://\S+/confirm/\S+", mailoutbox[1].body).group(0)
    client.post("/" + link.split("/", 3)[3])
    assert Response.objects.count() == 1
    assert Response.objects.get().answers["visits"] == "rarely"


@pytest.mark.django_db
def test_a_confirmation_link_of_another_consultation_or_a_forged_token_is_refused(
    department,
):
    process = make_process(department)
    EligibilityRule.objects.create(
        process=process, action="respond", email_verified=False, anonymous_allowed=True
    )
    consultation = open_consultation(process)
    other = Consultation.objects.create(
        process=process,
        slug="other",
        title="Other",
        questions=QUESTIONS,
        status=Consultation.Status.OPEN,
        opens_at=consultation.opens_at,
        closes_at=consultation.closes_at,
    )
    pending = consultation_services.pending_response_create(
        consultation=consultation, email="a@example.com", answers={"visits": "weekly"}
    )
    for target, token in ((consultation, "forged"), (other, "forged"), (consultation, "")):
        with pytest.raises(ParticipationError) as refused:
            consultation_services.pending_response_confirm(
                consultation=target, pending_id=pending.pk, token=token
            )
        assert refused.value.code == "bad_link"
    assert not Response.objects.exists()


@pytest.mark.django_db
def test_an_online_voter_cannot_vote_in_another_wards_heading(client, department, resident):
    world = budget_world(department)
    live_in(resident, world.ward_north)
    client.force_login(resident)
    south = world.projects["south"][1]
    url = reverse("participation:ballot", args=[world.process.slug, "south"])
    response = client.post(url, {"projects": [str(south.pk)]})
    assert (
        "This part of the budget is for the people who live in South" in response.content.decode()
    )
    session = client.session
    session["participation.ballot_draft"] = {str(world.south.pk): [south.pk]}
    session.save()
    check = reverse("participation:ballot_check", args=[world.process.slug, "south"])
    page = client.get(check).content.decode()
    assert "This part of the budget is for the people who live in South" in page
    client.post(check, {"submission": "a" * 32})
    assert not Ballot.objects.exists()


@pytest.mark.django_db
def test_one_person_votes_in_one_wards_heading_whichever_way(department, resident):
    world = budget_world(department)
    key = person_key_for_national_id("RV12345678")
    cast(world, world.north, [world.projects["north"][3]], key=key, channel=Channel.CENSUS)
    with pytest.raises(ParticipationError) as refused:
        cast(world, world.south, [world.projects["south"][1]], key=key, channel=Channel.PAPER)
    assert refused.value.code == "other_heading"
    cast(world, world.city, [world.projects["city"][1]], key=key, channel=Channel.PAPER)
    assert Ballot.objects.filter(person_key=key).count() == 2


@pytest.mark.django_db
def test_a_census_code_works_for_one_session_only_and_locks_after_wrong_tries(
    client, department, engagement_officer
):
    process = make_process(department)
    EligibilityRule.objects.create(process=process, action="support", census_only=True)
    result = census_services.census_upload(
        process=process, rows=[(2, "V-1"), (3, "V-2")], actor=engagement_officer
    )
    codes = dict(result.codes)
    url = reverse("participation:census_claim", args=[process.slug])
    assert (
        client.post(url, {"identifier": " v-1 ", "code": codes["V-1"].lower()}).status_code == 302
    )
    other = lenient(Client())
    refused = other.post(url, {"identifier": "V-1", "code": codes["V-1"]})
    assert refused.status_code == 400
    assert "already been used" in refused.content.decode()
    for _attempt in range(5):
        other.post(url, {"identifier": "V-2", "code": "AAAA-AAAA-AAAA"})
    locked = other.post(url, {"identifier": "V-2", "code": codes["V-2"]})
    assert locked.status_code == 400
    assert "V-2" not in str(AuditEvent.objects.values_list("changes", flat=True))
    assert codes["V-2"] not in str(AuditEvent.objects.values_list("changes", flat=True))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        " //evil.example",
    ],
)
def test_the_census_claim_never_redirects_off_site(client, department, engagement_officer, target):
    process = make_process(department)
    result = census_services.census_upload(
        process=process, rows=[(2, "V-1")], actor=engagement_officer
    )
    url = reverse("participation:census_claim", args=[process.slug]) + "?next=" + target
    response = client.post(url, {"identifier": "V-1", "code": dict(result.codes)["V-1"]})
    assert response.status_code == 302
    assert response["Location"] == reverse("participation:process", args=[process.slug])


# --- moderation: what a moderator hid is served nowhere --------------------------------

HIDDEN_TEXT = "You are all idiots and I know where you live"


def _hidden_comment(department, resident, second_resident, engagement_officer):
    process = make_process(department)
    proposal = propose(process, resident)
    comment = comment_services.comment_post(
        target_kind="proposal",
        target_id=proposal.pk,
        body=HIDDEN_TEXT,
        author=second_resident,
        actor=second_resident,
    )
    comment_services.comment_hide(
        comment=comment, reason="Abusive: breaks rule 1.", actor=engagement_officer
    )
    return process, proposal, comment


@pytest.mark.django_db
def test_a_hidden_comment_is_not_on_its_page_nor_quoted_in_a_reply_form(
    client, department, resident, second_resident, engagement_officer
):
    process, proposal, comment = _hidden_comment(
        department, resident, second_resident, engagement_officer
    )
    client.force_login(resident)
    page = client.get(reverse("participation:proposal", args=[process.slug, proposal.reference]))
    assert HIDDEN_TEXT not in page.content.decode()
    assert "Abusive: breaks rule 1." in page.content.decode()
    reply = client.get(
        reverse("participation:comment_new", args=["proposal", proposal.pk]),
        {"reply": comment.pk},
    )
    assert HIDDEN_TEXT not in reply.content.decode()


@pytest.mark.django_db
def test_the_report_page_of_a_hidden_comment_does_not_serve_its_text(
    client, department, resident, second_resident, engagement_officer
):
    _process, _proposal, comment = _hidden_comment(
        department, resident, second_resident, engagement_officer
    )
    client.force_login(resident)
    page = client.get(reverse("participation:comment_flag", args=[comment.pk]))
    assert page.status_code == 200
    assert HIDDEN_TEXT not in page.content.decode()


@pytest.mark.django_db
def test_a_hidden_proposals_title_is_not_served_by_the_comment_pages(
    client, department, resident, second_resident, engagement_officer
):
    process = make_process(department)
    title = "Throw the councillors in the river"
    proposal = propose(process, resident, title=title)
    comment = comment_services.comment_post(
        target_kind="proposal",
        target_id=proposal.pk,
        body="Hear hear.",
        author=second_resident,
        actor=second_resident,
    )
    proposal_services.proposal_hide(
        proposal=proposal, reason="Incites violence.", actor=engagement_officer
    )
    client.force_login(second_resident)
    assert (
        title
        not in client.get(
            reverse("participation:proposal", args=[process.slug, proposal.reference])
        ).content.decode()
    )
    for url in (
        reverse("participation:comment_new", args=["proposal", proposal.pk]),
        reverse("participation:comment_flag", args=[comment.pk]),
    ):
        assert title not in client.get(url).content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        "Mail me: Alex.Morgan+parks@example.co.uk",
        "alex.morgan @ example.com",
        "alex[at]example[dot]com",
        "alex\u200b@example.com",
        "alex\uff20example.com",
        "Call 07700900123",
        "call +447700900123 now",
        "tel:07700 900 123",
        "(+44) 7700 900123",
        "\u0660\u0667\u0667\u0660\u0660 \u0669\u0660\u0660\u0661\u0662\u0663",
        "RV12345678",
    ],
)
def test_comments_with_personal_data_in_usual_shapes_are_refused(department, resident, body):
    process = make_process(department)
    proposal = propose(process, resident)
    with pytest.raises(ParticipationError) as refused:
        comment_services.comment_post(
            target_kind="proposal",
            target_id=proposal.pk,
            body=body,
            author=resident,
            actor=resident,
        )
    assert refused.value.code == "personal_data"
    assert not Comment.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("title", "description"),
    [
        ("Ring 07700 900123", "A bench."),
        ("A bench", "Write to alex@example.com for details."),
    ],
)
def test_proposals_with_personal_data_are_refused_in_title_and_description(
    department, resident, title, description
):
    process = make_process(department)
    with pytest.raises(ParticipationError) as refused:
        propose(process, resident, title=title, description=description)
    assert refused.value.code == "personal_data"


# --- organisers' and residents' text is shown, never run --------------------------------

SCRIPT = "<script>alert('xss')</script>"


@pytest.mark.django_db
def test_organiser_and_resident_texts_are_escaped_on_public_pages(client, department, resident):
    world = budget_world(department)
    Process.objects.filter(pk=world.process.pk).update(
        title=SCRIPT, summary=SCRIPT, description=SCRIPT
    )
    Project.objects.filter(pk=world.projects["city"][0].pk).update(title=SCRIPT, description=SCRIPT)
    process = make_process(department, slug="plan")
    proposal = propose(process, resident, title="A <b>bench</b>", description=SCRIPT)
    client.force_login(resident)
    pages = [
        reverse("participation:processes"),
        reverse("participation:process", args=[world.process.slug]),
        reverse("participation:budget", args=[world.process.slug]),
        reverse("participation:ballot", args=[world.process.slug, "city"]),
        reverse(
            "participation:project", args=[world.process.slug, world.projects["city"][0].number]
        ),
        reverse("participation:proposal", args=[process.slug, proposal.reference]),
        reverse("participation:proposals", args=[process.slug]),
    ]
    for url in pages:
        html = client.get(url).content.decode()
        assert SCRIPT not in html, url
        assert "<b>bench</b>" not in html, url


@pytest.mark.django_db
def test_a_consultation_questions_hint_is_escaped(client, department, resident):
    process = make_process(department)
    questions = [dict(QUESTIONS[0], hint={"en": SCRIPT})]
    problems = consultation_services.questions_problems(questions)
    assert not problems  # the organiser's form takes it
    consultation = open_consultation(process, questions=questions)
    client.force_login(resident)
    html = client.get(consultation_url("consultation_respond", consultation)).content.decode()
    assert "How often do you visit the park?" in html
    assert SCRIPT not in html


# --- budget rules, dates and counting ------------------------------------------------------


def close_vote(world: Any) -> None:
    Phase.objects.filter(process=world.process, kind=Phase.Kind.VOTE).update(
        ends_on=timezone.localdate() - timedelta(days=1)
    )


@pytest.mark.django_db
def test_a_knapsack_ballot_over_the_amount_by_one_penny_is_refused(department):
    world = budget_world(
        department, costs={"north": [250000, Decimal("150000.01")], "south": [1], "city": [1]}
    )
    with pytest.raises(ParticipationError) as refused:
        cast(world, world.north, world.projects["north"])
    assert refused.value.code == "over_budget"
    assert "£0.01" in str(refused.value.message)
    assert not Ballot.objects.exists()


@pytest.mark.django_db
def test_a_knapsack_ballot_spending_exactly_the_amount_is_taken(department):
    world = budget_world(
        department, costs={"north": [250000, Decimal("150000.00")], "south": [1], "city": [1]}
    )
    assert cast(world, world.north, world.projects["north"]).choices


@pytest.mark.django_db
def test_the_minimum_share_is_never_rounded_below_the_share(department):
    world = budget_world(
        department,
        min_share=50,
        costs={"north": [Decimal("166.66"), Decimal("166.67")], "south": [1], "city": [1]},
    )
    budget_services.heading_update(
        heading=world.north,
        fields=budget_services.HeadingFields(slug="north", name="North", amount=Decimal("333.33")),
        actor=None,
    )
    world.north.refresh_from_db()
    assert cast(world, world.north, [world.projects["north"][1]], key="a").choices
    with pytest.raises(ParticipationError) as refused:
        cast(world, world.north, [world.projects["north"][0]], key="b")
    assert refused.value.code == "under_min_share"


LONDON_SUMMER_DAY = datetime(2027, 6, 30)


@pytest.mark.django_db
def test_the_vote_is_open_all_of_its_last_day_in_the_authoritys_time_zone(department):
    # 23:30 in London on the last day is 22:30 UTC; 00:30 the next day is still 30 June
    # in UTC: the vote's last day is the authority's, not the server's.
    with time_machine.travel(timezone.make_aware(LONDON_SUMMER_DAY.replace(hour=12)), tick=False):
        world = budget_world(department, vote_days=(-3, 0))
    late = timezone.make_aware(LONDON_SUMMER_DAY.replace(hour=23, minute=30))
    with time_machine.travel(late, tick=False):
        assert cast(world, world.city, [world.projects["city"][1]], key="late").choices
    after = timezone.make_aware(datetime(2027, 7, 1, 0, 30))
    assert after.astimezone(UTC).date() == LONDON_SUMMER_DAY.date()
    with time_machine.travel(after, tick=False):
        with pytest.raises(ParticipationError) as refused:
            cast(world, world.city, [world.projects["city"][0]], key="late")
        assert refused.value.code == "vote_closed"
        assert "30 June 2027" in str(refused.value.message)
    assert Ballot.objects.get(person_key="late").choices == [world.projects["city"][1].pk]


@pytest.mark.django_db
def test_a_vote_before_the_first_day_is_refused_with_the_opening_date(department):
    world = budget_world(department, vote_days=(3, 10))
    with pytest.raises(ParticipationError) as refused:
        cast(world, world.city, [world.projects["city"][1]])
    assert refused.value.code == "vote_closed"
    assert "Voting opens on" in str(refused.value.message)


@pytest.mark.django_db
def test_counting_headings_without_ballots_or_feasible_projects_does_not_fail(department):
    world = budget_world(department, costs={"north": [100], "south": [200], "city": [300]})
    # South's only project was found not feasible; nobody votes in north or south.
    Project.objects.filter(heading=world.south).update(feasibility=Project.Feasibility.NOT_FEASIBLE)
    cast(world, world.city, [world.projects["city"][0]], key="only")
    close_vote(world)
    budget_services.results_compute(budget=world.budget, actor=None)
    again = budget_services.results_compute(budget=world.budget, actor=None)
    assert len(again) == Result.objects.count() == 9
    for result in Result.objects.exclude(heading=world.city):
        assert result.ballots == 0
    for result in Result.objects.filter(heading__in=[world.south, world.city]):
        assert result.winners in ([], [world.projects["city"][0].number])
    budget_services.results_publish(budget=world.budget, actor=None)
    assert client_free_results_page(world)
    for heading in ("north", "south", "city"):
        url = reverse("participation:budget_pabulib", args=[world.process.slug, heading])
        assert lenient(Client()).get(url).status_code == 200, heading


def client_free_results_page(world: Any) -> bool:
    """The public results page renders for every heading (none failing on no ballots)."""
    response = Client().get(reverse("participation:budget_results", args=[world.process.slug]))
    return response.status_code == 200


@pytest.mark.django_db
def test_a_project_nobody_voted_for_is_not_funded(department):
    world = budget_world(department, costs={"north": [100], "south": [200], "city": [300, 400]})
    cast(world, world.city, [world.projects["city"][0]], key="only")
    close_vote(world)
    budget_services.results_compute(budget=world.budget, actor=None)
    budget_services.results_publish(budget=world.budget, actor=None)
    assert list(Project.objects.filter(selected=True)) == [world.projects["city"][0]]


@pytest.mark.django_db
def test_a_tie_is_broken_the_same_way_every_count(department):
    world = budget_world(
        department,
        kind="approval",
        max_projects=1,
        costs={"north": [1], "south": [1], "city": [300000, 300000]},
    )
    first, second = world.projects["city"]
    cast(world, world.city, [second], key="a")
    cast(world, world.city, [first], key="b")
    close_vote(world)
    winners = set()
    for _count in range(3):
        budget_services.results_compute(budget=world.budget, actor=None)
        winners.add(tuple(Result.objects.get(heading=world.city, method="greedy").winners))
    assert len(winners) == 1


@pytest.mark.django_db
def test_results_are_not_counted_while_the_vote_is_open(department):
    world = budget_world(department)
    cast(world, world.city, [world.projects["city"][1]])
    with pytest.raises(ParticipationError) as refused:
        budget_services.results_compute(budget=world.budget, actor=None)
    assert refused.value.code == "vote_open"
    assert not Result.objects.exists()


@pytest.mark.django_db
def test_results_counted_before_ballots_changed_cannot_be_published(department):
    world = budget_world(
        department,
        kind="approval",
        max_projects=1,
        costs={"north": [1], "south": [1], "city": [300000, 300000]},
    )
    first, second = world.projects["city"]
    for key in ("a", "b", "c"):
        cast(world, world.city, [first], key=key)
    close_vote(world)
    budget_services.results_compute(budget=world.budget, actor=None)
    # The organiser extends the vote; two voters change their minds; the vote closes.
    Phase.objects.filter(process=world.process, kind=Phase.Kind.VOTE).update(
        ends_on=timezone.localdate() + timedelta(days=1)
    )
    cast(world, world.city, [second], key="a")
    cast(world, world.city, [second], key="b")
    close_vote(world)
    refused = ""
    try:
        budget_services.results_publish(budget=world.budget, actor=None)
    except ParticipationError as error:
        refused = error.code
    if refused:
        assert refused == "results_missing"
    else:
        assert set(Project.objects.filter(selected=True)) == {second}


# --- the remit: nobody outside it sees or acts ---------------------------------------------


@pytest.fixture
def remit_world(department, resident, second_resident, engagement_officer):
    """A process of ``department`` with a consultation (one response), a proposal with a
    flagged comment, and a budget."""
    world = budget_world(department)
    process = make_process(department, slug="plan", proposals=(-5, 10), debate=(-5, 10))
    consultation = open_consultation(process)
    consultation_services.response_record(
        consultation=consultation,
        answers={"visits": "weekly", "ideas": "Secret idea of a resident"},
        person_key=person_key_for_user(resident),
        channel=Channel.ONLINE,
        actor=resident,
    )
    proposal = propose(process, resident)
    comment = comment_services.comment_post(
        target_kind="proposal",
        target_id=proposal.pk,
        body="A comment to moderate.",
        author=second_resident,
        actor=second_resident,
    )
    comment_services.comment_flag(comment=comment, reason="spam", user=resident)
    return {
        "world": world,
        "process": process,
        "consultation": consultation,
        "proposal": proposal,
        "comment": comment,
    }


def _staff_pages(remit_world: dict[str, Any]) -> list[str]:
    slug = remit_world["process"].slug
    cslug = remit_world["consultation"].slug
    ref = remit_world["proposal"].reference
    budget_slug = remit_world["world"].process.slug
    names = [
        "participation_process",
        "participation_process_edit",
        "participation_phases",
        "participation_rules",
        "participation_documents",
        "participation_census",
        "participation_invite",
        "participation_publish",
        "participation_archive",
        "participation_paper",
        "participation_paper_support",
        "participation_consultation_new",
        "participation_proposals",
    ]
    return [
        *(reverse(f"staff:{name}", args=[slug]) for name in names),
        reverse("staff:participation_consultation", args=[slug, cslug]),
        reverse("staff:participation_consultation_export", args=[slug, cslug]),
        reverse("staff:participation_consultation_outcome", args=[slug, cslug]),
        reverse("staff:participation_paper_response", args=[slug]) + f"?consultation={cslug}",
        reverse("staff:participation_proposal_answer", args=[slug, ref]),
        reverse("staff:participation_proposal_hide", args=[slug, ref]),
        reverse("staff:participation_comment_hide", args=[remit_world["comment"].pk]),
        reverse("staff:participation_budget", args=[budget_slug]),
        reverse("staff:participation_budget_results", args=[budget_slug]),
        reverse("staff:participation_paper_ballot", args=[budget_slug]) + "?heading=city",
    ]


@pytest.mark.django_db
def test_another_departments_officer_gets_404_for_every_staff_page_and_changes_nothing(
    client, remit_world, other_engagement_officer
):
    sign_in_official(client, other_engagement_officer)
    before = AuditEvent.objects.count()
    for url in _staff_pages(remit_world):
        assert client.get(url).status_code == 404, url
        answer = client.post(
            url,
            {
                "action": "hide",
                "reason": "Outsider says so",
                "answer": "accepted",
                "text": "Accepted by an outsider",
                "title": "Hijacked",
                "summary": "Hijacked",
                "submission": "b" * 32,
            },
        )
        assert answer.status_code == 404, url
    assert AuditEvent.objects.count() == before
    comment = Comment.objects.get(pk=remit_world["comment"].pk)
    assert comment.status == Comment.Status.VISIBLE
    assert not Process.objects.filter(title="Hijacked").exists()
    queue = client.get(reverse("staff:participation_moderation")).content.decode()
    assert "A comment to moderate." not in queue
    answers = client.get(reverse("staff:participation_answers")).content.decode()
    assert remit_world["proposal"].reference not in answers


@pytest.mark.django_db
def test_an_officer_limited_to_another_ward_does_not_reach_the_process(
    client, department, remit_world
):
    from .test_proposals import official

    ward = remit_world["world"].ward_north
    limited = official("engagement_officer", department, ward=ward, email="limited@example.test")
    sign_in_official(client, limited)
    for url in _staff_pages(remit_world)[:5]:
        assert client.get(url).status_code == 404, url


# --- personal data: no person key, identity number or answer leaks -------------------------


@pytest.mark.django_db
def test_the_consultation_export_names_nobody_and_defuses_formulas(
    client, department, resident, engagement_officer
):
    process = make_process(department)
    consultation = open_consultation(process)
    key = person_key_for_user(resident)
    consultation_services.response_record(
        consultation=consultation,
        answers={"visits": "weekly", "ideas": '=HYPERLINK("http://evil.example")'},
        person_key=key,
        channel=Channel.ONLINE,
        actor=resident,
    )
    sign_in_official(client, engagement_officer)
    url = reverse("staff:participation_consultation_export", args=[process.slug, consultation.slug])
    text = client.get(url).content.decode()
    assert key not in text
    assert resident.email not in text
    assert str(resident.pk) not in text.split("\r\n", 1)[1].split(",")[0]
    assert "'=HYPERLINK" in text
    event = AuditEvent.objects.get(action="participation.consultation.export")
    assert "HYPERLINK" not in str(event.changes)


@pytest.mark.django_db
def test_no_ballot_choice_person_key_or_identity_number_reaches_the_audit_trail(
    client, department, resident, engagement_officer
):
    world = budget_world(department)
    national_id = "RV12345678"
    sign_in_official(client, engagement_officer)
    url = reverse("staff:participation_paper_ballot", args=[world.process.slug]) + "?heading=city"
    page = client.get(url)
    chosen = world.projects["city"][1]
    response = client.post(
        url,
        {
            "projects": [str(chosen.pk)],
            "national_id": national_id,
            "declaration": "on",
            "submission": page.context["form"].initial["submission"],
        },
    )
    assert response.status_code == 302
    key = person_key_for_national_id(national_id)
    assert Ballot.objects.get(person_key=key).channel == Channel.PAPER
    trail = str(list(AuditEvent.objects.values_list("changes", "object_id", "actor_label")))
    for secret in (national_id, key, f"[{chosen.pk}]"):
        assert secret not in trail


@pytest.mark.django_db
def test_an_official_sees_their_own_paper_entries_only(
    client, department, engagement_officer, intermediary
):
    world = budget_world(department)
    chosen = world.projects["city"][1]
    budget_services.ballot_cast(
        heading=world.city,
        project_ids=[chosen.pk],
        person_key=person_key_for_national_id("RV12345678"),
        channel=Channel.PAPER,
        entered_by=engagement_officer,
        actor=engagement_officer,
    )
    # A second official re-enters the same person's ballot: the first no longer sees it.
    budget_services.ballot_cast(
        heading=world.city,
        project_ids=[world.projects["city"][0].pk],
        person_key=person_key_for_national_id("RV12345678"),
        channel=Channel.PAPER,
        entered_by=intermediary,
        actor=intermediary,
    )
    sign_in_official(client, engagement_officer)
    mine = client.get(reverse("staff:participation_paper_entries")).content.decode()
    assert str(world.projects["city"][0]) not in mine
    client.logout()
    sign_in_official(client, intermediary)
    theirs = client.get(reverse("staff:participation_paper_entries")).content.decode()
    assert str(world.projects["city"][0]) in theirs


@pytest.mark.django_db
def test_the_pabulib_file_names_no_voter(client, department, resident):
    world = budget_world(department)
    live_in(resident, world.ward_north)
    key = person_key_for_user(resident)
    cast(world, world.city, [world.projects["city"][1]], key=key)
    cast(
        world, world.city, [world.projects["city"][0]], key=person_key_for_national_id("RV12345678")
    )
    close_vote(world)
    budget_services.results_compute(budget=world.budget, actor=None)
    budget_services.results_publish(budget=world.budget, actor=None)
    url = reverse("participation:budget_pabulib", args=[world.process.slug, "city"])
    text = client.get(url).content.decode()
    assert "VOTES" in text
    assert key not in text
    assert person_key_for_national_id("RV12345678") not in text
    assert resident.email not in text


@pytest.mark.django_db
def test_no_results_or_ballot_files_are_public_before_publication(client, department):
    world = budget_world(department)
    cast(world, world.city, [world.projects["city"][1]])
    for url in (
        reverse("participation:budget_results", args=[world.process.slug]),
        reverse("participation:budget_pabulib", args=[world.process.slug, "city"]),
    ):
        assert client.get(url).status_code == 404
    close_vote(world)
    budget_services.results_compute(budget=world.budget, actor=None)
    for url in (
        reverse("participation:budget_results", args=[world.process.slug]),
        reverse("participation:budget_pabulib", args=[world.process.slug, "city"]),
    ):
        assert client.get(url).status_code == 404


# --- double submissions ----------------------------------------------------------------------


@pytest.mark.django_db
def test_a_ballot_cast_twice_from_the_check_page_is_one_ballot(client, department, resident):
    world = budget_world(department)
    client.force_login(resident)
    url = reverse("participation:ballot", args=[world.process.slug, "city"])
    client.post(url, {"projects": [str(world.projects["city"][1].pk)]})
    check = reverse("participation:ballot_check", args=[world.process.slug, "city"])
    key = submission_key(client.get(check).content.decode())
    first = client.post(check, {"submission": key})
    second = client.post(check, {"submission": key})
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    ballot = Ballot.objects.get()
    assert ballot.changes == 0
    assert AuditEvent.objects.filter(action="participation.ballot.cast").count() == 1


@pytest.mark.django_db
def test_a_support_sent_twice_is_counted_once(client, department, resident, second_resident):
    process = make_process(department)
    proposal = propose(process, resident)
    client.force_login(second_resident)
    page = reverse("participation:proposal", args=[process.slug, proposal.reference])
    key = submission_key(client.get(page).content.decode())
    url = reverse("participation:proposal_support", args=[process.slug, proposal.reference])
    client.post(url, {"submission": key})
    client.post(url, {"submission": key})
    client.post(url, {"submission": "c" * 32})  # a fresh form: refused as a duplicate
    proposal.refresh_from_db()
    assert proposal.support_count == 1
    assert proposal.supports.count() == 1


@pytest.mark.django_db
def test_a_new_consultation_sent_twice_is_made_once(client, department, engagement_officer):
    process = make_process(department)
    sign_in_official(client, engagement_officer)
    url = reverse("staff:participation_consultation_new", args=[process.slug])
    page = client.get(url).content.decode()
    data = {
        "title": "Park",
        "kind": "survey",
        "body": "",
        "opens_on_day": "1",
        "opens_on_month": "3",
        "opens_on_year": "2030",
        "closes_on_day": "1",
        "closes_on_month": "4",
        "closes_on_year": "2030",
        "questions": "- id: q\n  type: yes_no\n  label: Yes?\n  errors:\n    required: Say\n",
    }
    found = re.search(r'name="submission" value="([0-9a-f]{32})"', page)
    if found:
        data["submission"] = found.group(1)
    first = client.post(url, data)
    assert first.status_code == 302, first.content.decode()[:2000]
    client.post(url, data)
    assert Consultation.objects.filter(process=process).count() == 1


# --- at the same instant (PostgreSQL: SQLite lets one writer in at a time) ---------------


def concurrent(function: Any) -> Any:
    """Marks a test that runs work in threads at the same instant, on PostgreSQL only."""
    for mark in (
        pytest.mark.django_db(transaction=True),
        pytest.mark.db_specific,
        pytest.mark.skipif(
            connection.vendor != "postgresql", reason="needs concurrent writers (PostgreSQL)"
        ),
    ):
        function = mark(function)
    return function


def _at_once(work: Any, count: int) -> list[BaseException]:
    from tests.concurrency import run_together

    return run_together(work, count)


@concurrent
def test_one_persons_supports_at_once_count_once(department, resident):
    process = make_process(department)
    proposal = propose(process, resident)
    refused: list[str] = []

    def support(_number: int) -> None:
        try:
            proposal_services.support_add(
                proposal=proposal, person_key="same-person", channel=Channel.ONLINE, actor=None
            )
        except ParticipationError as error:
            refused.append(error.code)

    assert not _at_once(support, 8)
    proposal.refresh_from_db()
    assert proposal.support_count == proposal.supports.count() == 1
    assert refused == ["already_supported"] * 7


@concurrent
def test_many_peoples_supports_at_once_are_all_counted(department, resident):
    process = make_process(department)
    proposal = propose(process, resident)

    def support(number: int) -> None:
        proposal_services.support_add(
            proposal=proposal, person_key=f"person-{number}", channel=Channel.ONLINE, actor=None
        )

    assert not _at_once(support, 10)
    proposal.refresh_from_db()
    assert proposal.support_count == proposal.supports.count() == 10


@concurrent
def test_one_persons_ballots_in_two_wards_at_once_make_one_ballot(department):
    world = budget_world(department)
    refused: list[str] = []

    def vote(number: int) -> None:
        heading, project = (
            (world.north, world.projects["north"][3])
            if number % 2
            else (world.south, world.projects["south"][1])
        )
        try:
            cast(world, heading, [project], key="same-person", channel=Channel.CENSUS)
        except ParticipationError as error:
            refused.append(error.code)

    assert not _at_once(vote, 6)
    ballots = Ballot.objects.filter(person_key="same-person")
    assert ballots.count() == 1
    assert set(refused) == {"other_heading"}


@concurrent
def test_one_census_code_used_from_many_sessions_at_once_is_claimed_once(
    department, engagement_officer
):
    process = make_process(department)
    result = census_services.census_upload(
        process=process, rows=[(2, "V-1")], actor=engagement_officer
    )
    code = dict(result.codes)["V-1"]
    claimed: list[int] = []

    def claim(number: int) -> None:
        try:
            census_services.census_claim(
                process=process, identifier="V-1", code=code, user=None, session_entry_id=None
            )
        except ParticipationError:
            return
        claimed.append(number)

    assert not _at_once(claim, 8)
    assert len(claimed) == 1


@concurrent
def test_one_persons_first_responses_at_once_make_one_response(department):
    process = make_process(department)
    consultation = open_consultation(process)

    def respond(number: int) -> None:
        consultation_services.response_record(
            consultation=consultation,
            answers={"visits": "weekly" if number % 2 else "rarely"},
            person_key="same-person",
            channel=Channel.ONLINE,
            actor=None,
        )

    assert not _at_once(respond, 6)
    assert Response.objects.filter(consultation=consultation).count() == 1


# --- more: consultation dates, identifying questions, census and paper ------------------


@pytest.mark.django_db
def test_a_consultation_takes_responses_all_of_its_last_day_in_the_authoritys_time_zone(
    department,
):
    from ecitizen.participation.forms_consultations import ConsultationEditForm

    process = make_process(department)
    form = ConsultationEditForm(
        data={
            "title": "Park",
            "kind": "survey",
            "opens_on_day": "1",
            "opens_on_month": "6",
            "opens_on_year": "2027",
            "closes_on_day": "30",
            "closes_on_month": "6",
            "closes_on_year": "2027",
            "questions": "- id: q\n  type: yes_no\n  label: Yes?\n  errors:\n    required: Say\n",
        }
    )
    assert form.is_valid(), form.errors
    with time_machine.travel(timezone.make_aware(datetime(2027, 5, 1, 12)), tick=False):
        consultation = consultation_services.consultation_create(
            process=process, data=form.consultation_input(), actor=None
        )
        consultation_services.consultation_open(consultation=consultation, actor=None)

    def respond(key: str) -> Response:
        return consultation_services.response_record(
            consultation=consultation,
            answers={"q": True},
            person_key=key,
            channel=Channel.ONLINE,
            actor=None,
        )

    with time_machine.travel(timezone.make_aware(datetime(2027, 6, 30, 23, 59)), tick=False):
        assert respond("late").pk
    with time_machine.travel(timezone.make_aware(datetime(2027, 7, 1, 0, 1)), tick=False):
        with pytest.raises(ParticipationError) as refused:
            respond("too-late")
        assert refused.value.code == "consultation_closed"
    with time_machine.travel(timezone.make_aware(datetime(2027, 5, 31, 23, 59)), tick=False):
        with pytest.raises(ParticipationError) as early:
            respond("early")
        assert early.value.code == "consultation_closed"
        assert "1 June 2027" in str(early.value.message)


@pytest.mark.parametrize("kind", ["national_id", "email", "phone", "address"])
def test_a_consultation_never_asks_who_people_are(kind):
    """Answers are exported apart from who gave them: a question asking for an identity
    would put it in the organiser's CSV beside the answers."""
    questions = [
        *QUESTIONS,
        {
            "id": "who",
            "type": kind,
            "label": {"en": "Who are you?"},
            "error_label": {"en": "who you are"},
        },
    ]
    problems = consultation_services.questions_problems(questions)
    assert len(problems) == 1
    assert problems[0].startswith(
        f"Question {len(QUESTIONS) + 1} (who): a consultation does not ask who people are"
    )


@pytest.mark.django_db
def test_an_organisers_pattern_cannot_stall_the_response_page(client, department, resident):
    """A pattern RE2 cannot match is refused when written; one that would backtrack for
    ever in Python's ``re`` checks a long answer in one pass."""
    question = {
        "id": "code",
        "type": "text",
        "label": {"en": "Your tree's code"},
        "error_label": {"en": "your tree's code"},
        "validation": {"max_length": 500},
    }
    refused = consultation_services.questions_problems(
        [{**question, "validation": {"pattern": r"^(a)\1$"}}]
    )
    assert refused == [
        "Question 1 (code): the pattern cannot be used (invalid escape sequence: \\1). "
        "Write it without back-references or look-arounds."
    ]
    slow_in_re = {**question, "validation": {"max_length": 500, "pattern": r"^(a+)+$"}}
    assert not consultation_services.questions_problems([slow_in_re])
    consultation = open_consultation(make_process(department), questions=[slow_in_re])
    client.force_login(resident)
    page = client.post(
        consultation_url("consultation_respond", consultation), {"code": "a" * 400 + "!"}
    )
    assert page.status_code == 200
    assert "Enter your tree" in page.content.decode()
    assert not Response.objects.exists()


@pytest.mark.django_db
def test_a_census_voter_who_also_votes_on_paper_counts_once(client, department, engagement_officer):
    world = budget_world(department)
    EligibilityRule.objects.create(process=world.process, action="vote", census_only=True)
    national_id = "RV12345678"
    result = census_services.census_upload(
        process=world.process, rows=[(2, national_id)], actor=engagement_officer
    )
    claim = reverse("participation:census_claim", args=[world.process.slug])
    client.post(claim, {"identifier": national_id, "code": dict(result.codes)[national_id]})
    client.post(
        reverse("participation:ballot", args=[world.process.slug, "city"]),
        {"projects": [str(world.projects["city"][1].pk)]},
    )
    check = reverse("participation:ballot_check", args=[world.process.slug, "city"])
    client.post(check, {"submission": submission_key(client.get(check).content.decode())})
    assert Ballot.objects.filter(channel=Channel.CENSUS).count() == 1
    budget_services.ballot_cast(
        heading=world.city,
        project_ids=[world.projects["city"][0].pk],
        person_key=person_key_for_national_id(national_id),
        channel=Channel.PAPER,
        entered_by=engagement_officer,
        actor=engagement_officer,
    )
    assert Ballot.objects.filter(heading=world.city).count() == 1


@pytest.mark.django_db
def test_a_census_voter_keeps_to_one_wards_heading_through_the_pages(
    client, department, engagement_officer
):
    world = budget_world(department)
    EligibilityRule.objects.create(process=world.process, action="vote", census_only=True)
    result = census_services.census_upload(
        process=world.process, rows=[(2, "V-1")], actor=engagement_officer
    )
    client.post(
        reverse("participation:census_claim", args=[world.process.slug]),
        {"identifier": "V-1", "code": dict(result.codes)["V-1"]},
    )
    for heading, project in (
        ("north", world.projects["north"][3]),
        ("south", world.projects["south"][1]),
    ):
        client.post(
            reverse("participation:ballot", args=[world.process.slug, heading]),
            {"projects": [str(project.pk)]},
        )
        check = reverse("participation:ballot_check", args=[world.process.slug, heading])
        page = client.get(check).content.decode()
        answer = client.post(check, {"submission": submission_key(page)})
        if heading == "south":
            assert answer.status_code == 200
            assert "You have already voted in North" in answer.content.decode()
    assert Ballot.objects.count() == 1
    assert Ballot.objects.get().heading == world.north


@pytest.mark.django_db
def test_consultation_results_and_charts_escape_organiser_labels(client, department, resident):
    process = make_process(department)
    questions = [
        {
            **QUESTIONS[0],
            "label": {"en": SCRIPT},
            "choices": [
                {"value": "weekly", "label": {"en": SCRIPT}},
                {"value": "rarely", "label": {"en": "Rarely"}},
            ],
        }
    ]
    consultation = open_consultation(process, questions=questions)
    consultation_services.response_record(
        consultation=consultation,
        answers={"visits": "weekly"},
        person_key="someone",
        channel=Channel.ONLINE,
        actor=None,
    )
    Consultation.objects.filter(pk=consultation.pk).update(
        status=Consultation.Status.CLOSED, outcome=SCRIPT, outcome_published_at=timezone.now()
    )
    for name in ("consultation", "consultation_results", "consultation_outcome"):
        html = client.get(consultation_url(name, consultation)).content.decode()
        assert SCRIPT not in html, name


# --- junk sent to every page: a clear answer, never a 500 --------------------------------

JUNK_VALUES = ["", "²", "-1", "9" * 30, "\x00", "<script>", "NaN", "٣"]


def _junk(value: str) -> dict[str, Any]:
    names = [
        "action", "delete", "remove", "following", "news", "submission", "title", "summary",
        "description", "slug", "department", "wards", "support_threshold", "kind",
        "starts_on_day", "starts_on_month", "starts_on_year", "ends_on_day", "ends_on_month",
        "ends_on_year", "respond_min_age", "vote_census_only", "total_amount", "ballot_kind",
        "min_projects", "max_projects", "min_share_percent", "method", "completion", "name",
        "ward", "amount", "heading", "proposal", "cost", "feasibility", "reason", "delivery",
        "form", "happened_on_day", "happened_on_month", "happened_on_year", "answer", "text",
        "body", "parent", "projects", "national_id", "declaration", "reference", "identifier",
        "code", "visits", "trees", "ideas", "email", "lat", "lon", "outcome", "questions",
        "opens_on_day", "closes_on_year", "has_header", "person-national_id",
        "person-declaration",
    ]  # fmt: skip
    return dict.fromkeys(names, value)


@pytest.mark.django_db
@pytest.mark.parametrize("value", JUNK_VALUES)
def test_staff_pages_answer_junk_without_a_server_error(
    client, remit_world, engagement_officer, value
):
    sign_in_official(client, engagement_officer)
    client = lenient(client)
    slug = remit_world["world"].process.slug
    number = remit_world["world"].projects["city"][0].number
    urls = [
        *_staff_pages(remit_world),
        reverse("staff:participation"),
        reverse("staff:participation_process_new"),
        reverse("staff:participation_paper_entries"),
        reverse("staff:participation_moderation"),
        reverse("staff:participation_projects"),
        reverse("staff:participation_budget_heading", args=[slug]) + f"?heading={value}",
        reverse("staff:participation_project_new", args=[slug]),
        reverse("staff:participation_project_review", args=[slug, number]),
        reverse("staff:participation_project_delivery", args=[slug, number]),
        reverse("staff:participation_phases", args=[remit_world["process"].slug])
        + f"?change={value}",
        reverse("staff:participation_paper_ballot", args=[slug]) + f"?heading={value}",
        reverse("staff:participation_paper_response", args=[slug]) + f"?consultation={value}",
    ]
    for url in urls:
        assert client.get(url, {"page": value}).status_code < 500, url
        assert client.post(url, _junk(value)).status_code < 500, url


@pytest.mark.django_db
@pytest.mark.parametrize("value", JUNK_VALUES)
def test_resident_pages_answer_junk_without_a_server_error(
    client, remit_world, second_resident, value
):
    client.force_login(second_resident)
    client = lenient(client)
    world = remit_world["world"]
    process, consultation = remit_world["process"], remit_world["consultation"]
    ref = remit_world["proposal"].reference
    urls = [
        reverse("participation:processes"),
        reverse("participation:mine"),
        reverse("participation:news"),
        reverse("participation:process", args=[process.slug]),
        reverse("participation:process_follow", args=[process.slug]),
        reverse("participation:census_claim", args=[process.slug]) + f"?next={value}",
        consultation_url("consultation", consultation),
        consultation_url("consultation_respond", consultation),
        consultation_url("consultation_done", consultation),
        consultation_url("consultation_results", consultation),
        reverse("participation:proposals", args=[process.slug]),
        reverse("participation:proposal_new", args=[process.slug]),
        reverse("participation:proposal", args=[process.slug, ref]),
        reverse("participation:proposal_support", args=[process.slug, ref]),
        reverse("participation:proposal_follow", args=[process.slug, ref]),
        reverse("participation:comment_new", args=["proposal", remit_world["proposal"].pk])
        + f"?reply={value}",
        reverse("participation:comment_flag", args=[remit_world["comment"].pk]),
        reverse("participation:budget", args=[world.process.slug]),
        reverse("participation:ballot", args=[world.process.slug, "city"]),
        reverse("participation:ballot_check", args=[world.process.slug, "city"]),
        reverse("participation:ballot_done", args=[world.process.slug, "city"]),
        reverse("participation:project", args=[world.process.slug, 1]),
    ]
    for url in urls:
        assert client.get(url, {"page": value, "ward": value}).status_code < 500, url
        assert client.post(url, _junk(value)).status_code < 500, url


@pytest.mark.django_db
def test_questions_do_not_change_under_answers_waiting_for_confirmation(department):
    process = make_process(department)
    EligibilityRule.objects.create(
        process=process, action="respond", email_verified=False, anonymous_allowed=True
    )
    consultation = open_consultation(process)
    pending = consultation_services.pending_response_create(
        consultation=consultation, email="a@example.com", answers={"visits": "weekly"}
    )
    token = "known-token"
    PendingResponse.objects.filter(pk=pending.pk).update(
        token_hash=consultation_services.token_hash(token)
    )
    changed = [
        {
            **QUESTIONS[0],
            "choices": [
                {"value": "daily", "label": {"en": "Every day"}},
                {"value": "never", "label": {"en": "Never"}},
            ],
        }
    ]
    refused = ""
    try:
        consultation_services.consultation_update(
            consultation=consultation,
            data=consultation_services.ConsultationInput(
                title=consultation.title,
                kind=consultation.kind,
                body=consultation.body,
                opens_at=consultation.opens_at,
                closes_at=consultation.closes_at,
                questions=changed,
            ),
            actor=None,
        )
    except ParticipationError as error:
        refused = error.code
    if refused:
        assert refused == "questions_locked"
        return
    consultation_services.pending_response_confirm(
        consultation=consultation, pending_id=pending.pk, token=token
    )
    assert Response.objects.filter(consultation=consultation).exists()


# --- invitations and publication reach whom they should, once ------------------------------


@pytest.mark.django_db
def test_an_invitation_reaches_only_opted_in_residents_of_the_wards(
    department, engagement_officer, resident, second_resident, outsider
):
    from ecitizen.notifications.models import Notification
    from tests.factories import JurisdictionFactory, UserFactory

    ward, elsewhere = JurisdictionFactory(code="w1"), JurisdictionFactory(code="w2")
    process = make_process(department, wards=[ward])
    gone = UserFactory(email="gone@example.test")
    for user in (resident, outsider, gone):
        live_in(user, ward)
        process_services.news_subscribe(user=user, actor=user)
    live_in(second_resident, elsewhere)
    process_services.news_subscribe(user=second_resident, actor=second_resident)
    process_services.news_unsubscribe(user=outsider, actor=outsider)
    type(gone).objects.filter(pk=gone.pk).update(is_active=False)
    invitation = process_services.invitation_send(process=process, actor=engagement_officer)
    assert invitation.recipients == 1
    invited = set(
        Notification.objects.filter(event="participation_invitation").values_list(
            "recipient_id", flat=True
        )
    )
    assert invited == {resident.pk}
    with pytest.raises(ParticipationError) as again:
        process_services.invitation_send(process=process, actor=engagement_officer)
    assert again.value.code == "invited_recently"


@concurrent
def test_results_published_twice_at_once_are_published_and_told_once(department, resident):
    from ecitizen.notifications.models import Notification
    from ecitizen.participation.models import Follow, Target

    world = budget_world(department)
    cast(world, world.city, [world.projects["city"][1]], key="a")
    Follow.objects.create(user=resident, target_kind=Target.PROCESS, target_id=world.process.pk)
    close_vote(world)
    budget_services.results_compute(budget=world.budget, actor=None)
    refused: list[str] = []

    def publish(_number: int) -> None:
        try:
            budget_services.results_publish(budget=world.budget, actor=None)
        except ParticipationError as error:
            refused.append(error.code)

    assert not _at_once(publish, 4)
    assert refused == ["results_published"] * 3
    assert (
        Notification.objects.filter(
            recipient=resident, event="participation_results_published"
        ).count()
        >= 1
    )
    assert (
        len(
            set(
                Notification.objects.filter(
                    recipient=resident, event="participation_results_published"
                ).values_list("channel", flat=True)
            )
        )
        == Notification.objects.filter(
            recipient=resident, event="participation_results_published"
        ).count()
    )


@pytest.mark.django_db
def test_the_counting_method_cannot_be_chosen_after_seeing_the_count(department):
    world = budget_world(department)
    cast(world, world.city, [world.projects["city"][1]], key="a")
    close_vote(world)
    budget_services.results_compute(budget=world.budget, actor=None)
    budget = world.budget
    with pytest.raises(ParticipationError):
        budget_services.budget_update(
            budget=budget,
            settings=budget_services.BudgetSettings(
                total_amount=budget.total_amount,
                ballot_kind=budget.ballot_kind,
                min_projects=budget.min_projects,
                max_projects=budget.max_projects,
                min_share_percent=budget.min_share_percent,
                method="greedy",
                completion=budget.completion,
            ),
            actor=None,
        )


@pytest.mark.django_db
def test_who_may_vote_does_not_change_once_people_have_voted(
    client, department, resident, engagement_officer
):
    world = budget_world(department)
    cast(world, world.city, [world.projects["city"][1]], key=person_key_for_user(resident))
    with pytest.raises(ParticipationError) as refused:
        process_services.rule_set(
            process=world.process,
            action="vote",
            spec=process_services.RuleSpec(census_only=True),
            actor=engagement_officer,
        )
    assert refused.value.code == "rule_in_use"
    assert "who may vote here" in str(refused.value.message)


@pytest.mark.django_db
def test_who_may_respond_is_frozen_by_a_response_but_who_may_propose_is_not(
    client, department, resident, engagement_officer
):
    process = make_process(department)
    consultation = open_consultation(process)
    client.force_login(resident)
    client.post(consultation_url("consultation_respond", consultation), {"visits": "weekly"})
    assert Response.objects.filter(consultation=consultation).exists()
    with pytest.raises(ParticipationError) as refused:
        process_services.rule_set(
            process=process,
            action="respond",
            spec=process_services.RuleSpec(min_age=18),
            actor=engagement_officer,
        )
    assert refused.value.code == "rule_in_use"
    assert not EligibilityRule.objects.filter(process=process, action="respond", min_age=18)
    rule = process_services.rule_set(
        process=process,
        action="propose",
        spec=process_services.RuleSpec(min_age=18),
        actor=engagement_officer,
    )
    assert rule.min_age == 18


# In autocommit (transaction=True): on PostgreSQL the failed query would otherwise abort the
# test's transaction and the teardown with it.
@pytest.mark.django_db(transaction=True)
@pytest.mark.db_specific
def test_the_answers_index_lists_the_proposals_waiting(
    client, department, resident, engagement_officer
):
    process = make_process(department, threshold=1)
    proposal = propose(process, resident)
    proposal_services.support_add(
        proposal=proposal, person_key="someone", channel=Channel.ONLINE, actor=None
    )
    sign_in_official(client, engagement_officer)
    response = lenient(client).get(reverse("staff:participation_answers"))
    assert response.status_code == 200
    assert (
        reverse("staff:participation_proposals", args=[process.slug]) in response.content.decode()
    )
