"""Processes: the services (create, change, publish, archive, phases, rules, documents,
invitations, news opt-in), the public pages (list, process page, documents, following,
"yours", news), and the organiser's pages confined to the remit.

The helpers at the top (:func:`make_process`, :func:`pdf_file`...) are shared with the
census, paper and eligibility tests."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ecitizen.accounts import services as accounts
from ecitizen.core.models import AuditEvent
from ecitizen.participation.models import (
    Action,
    EligibilityRule,
    Follow,
    Invitation,
    NewsSubscription,
    Phase,
    Process,
    ProcessDocument,
)
from ecitizen.participation.services import ParticipationError
from ecitizen.participation.services import processes as services
from ecitizen.participation.services.processes import RuleSpec
from tests.factories import JurisdictionFactory, UserFactory
from tests.personas import sign_in_official

#: The tests' "now": phases are dated around it.
NOW = timezone.make_aware(datetime(2027, 3, 10, 12, 0))
TODAY = date(2027, 3, 10)
MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"xref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000052 00000 n \n"
    b"0000000101 00000 n \ntrailer<</Size 4/Root 1 0 R>>\nstartxref\n165\n%%EOF\n"
)


# --- shared helpers ------------------------------------------------------------------------


def make_process(
    actor,
    department,
    *,
    title: str = "Riverside regeneration plan",
    wards=(),
    phases=((Phase.Kind.PROPOSALS, -5, 10),),
    publish: bool = True,
    rules: dict | None = None,
) -> Process:
    """A process made through the services by ``actor``: its phases (kind, first and last
    day as offsets from :data:`TODAY`), its rules (action -> :class:`RuleSpec`), published
    unless ``publish`` is false."""
    process = services.process_create(
        title=title,
        summary=f"{title}: have your say.",
        description="What we plan, and how you can take part.",
        department=department,
        wards=list(wards),
        actor=actor,
    )
    for kind, start, end in phases:
        services.phase_add(
            process=process,
            kind=kind,
            starts_on=TODAY + timedelta(days=start),
            ends_on=TODAY + timedelta(days=end),
            actor=actor,
        )
    if rules:
        services.rules_set(process=process, rules=rules, actor=actor)
    if publish:
        services.process_publish(process=process, actor=actor)
    process.refresh_from_db()
    return process


def pdf_file(name: str = "plan.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, MINIMAL_PDF, content_type="application/pdf")


def live_in(user, ward, **profile) -> None:
    """Give ``user``'s profile a ward (and other profile fields); ``user`` reads it again."""
    accounts.profile_update(user=user, data={"ward": ward, **profile}, actor=user)
    user.refresh_from_db()


def audit_actions(prefix: str = "participation.") -> list[str]:
    return list(
        AuditEvent.objects.filter(action__startswith=prefix)
        .order_by("sequence")
        .values_list("action", flat=True)
    )


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def ward(db):
    return JurisdictionFactory(code="riverside", name="Riverside")


@pytest.fixture
def other_ward(db):
    return JurisdictionFactory(code="hillside", name="Hillside")


@pytest.fixture
def organiser(client, engagement_officer):
    sign_in_official(client, engagement_officer)
    return engagement_officer


# --- services: processes -------------------------------------------------------------------


def test_process_create_makes_a_draft_in_the_remit(engagement_officer, department, ward):
    process = services.process_create(
        title="Riverside regeneration plan",
        summary="The plan for the riverside.",
        description="",
        department=department,
        wards=[ward],
        translations={
            "fr": {"title": "Plan du bord de l'eau", "summary": ""},
            "xx": {"title": "?"},
        },
        actor=engagement_officer,
    )
    assert process.status == Process.Status.DRAFT
    assert process.slug == "riverside-regeneration-plan"
    assert list(process.wards.all()) == [ward]
    assert process.translations == {"fr": {"title": "Plan du bord de l'eau"}}
    assert audit_actions() == ["participation.process.created"]


def test_process_create_refuses_another_department(engagement_officer, other_department):
    with pytest.raises(ParticipationError) as refused:
        services.process_create(
            title="Not ours",
            summary="s",
            description="",
            department=other_department,
            wards=[],
            actor=engagement_officer,
        )
    assert refused.value.code == "outside_remit"
    assert not Process.objects.exists()


def test_a_ward_limited_organiser_creates_only_in_their_ward(department, ward, other_ward):
    limited = UserFactory(email="ward.organiser@example.test")
    accounts.role_assign(
        user=limited,
        role="engagement_officer",
        department=department,
        jurisdiction=ward,
        actor=None,
        system=True,
    )
    for wards in ([], [other_ward]):
        with pytest.raises(ParticipationError):
            services.process_create(
                title="Wide",
                summary="s",
                description="",
                department=department,
                wards=wards,
                actor=limited,
            )
    assert services.process_create(
        title="Ours",
        summary="s",
        description="",
        department=department,
        wards=[ward, other_ward],
        actor=limited,
    ).pk


@pytest.mark.parametrize("slug", ["new", "yours", "code-of-conduct", "moderation", "comments"])
def test_process_slug_reserved_or_taken(engagement_officer, department, slug):
    with pytest.raises(ParticipationError) as refused:
        services.process_create(
            title="x",
            summary="s",
            description="",
            department=department,
            wards=[],
            slug=slug,
            actor=engagement_officer,
        )
    assert refused.value.code == "slug_taken"


def test_process_slug_made_free_from_the_title(engagement_officer, department):
    first = make_process(engagement_officer, department, title="Budget 2027", publish=False)
    second = make_process(engagement_officer, department, title="Budget 2027", publish=False)
    assert (first.slug, second.slug) == ("budget-2027", "budget-2027-2")
    with pytest.raises(ParticipationError) as refused:
        services.process_create(
            title="x",
            summary="s",
            description="",
            department=department,
            wards=[],
            slug="budget-2027",
            actor=engagement_officer,
        )
    assert refused.value.code == "slug_taken"


def test_process_update_changes_fields_and_wards(engagement_officer, department, ward):
    process = make_process(engagement_officer, department, publish=False)
    services.process_update(
        process=process,
        title="Riverside plan",
        summary=process.summary,
        description=process.description,
        department=department,
        wards=[ward],
        support_threshold=50,
        actor=engagement_officer,
    )
    process.refresh_from_db()
    assert (process.title, process.support_threshold) == ("Riverside plan", 50)
    assert list(process.wards.all()) == [ward]
    event = AuditEvent.objects.filter(action="participation.process.updated").get()
    assert set(event.changes["fields"]) == {"title", "support_threshold", "wards"}


def test_process_update_refused_outside_the_remit(
    engagement_officer, other_engagement_officer, department
):
    process = make_process(engagement_officer, department, publish=False)
    with pytest.raises(ParticipationError) as refused:
        services.process_update(
            process=process,
            title="Hijack",
            summary="s",
            description="",
            department=department,
            wards=[],
            actor=other_engagement_officer,
        )
    assert refused.value.code == "outside_remit"
    process.refresh_from_db()
    assert process.title == "Riverside regeneration plan"


def test_publish_needs_a_phase_and_a_draft(engagement_officer, department):
    process = make_process(engagement_officer, department, phases=(), publish=False)
    with pytest.raises(ParticipationError) as refused:
        services.process_publish(process=process, actor=engagement_officer)
    assert refused.value.code == "no_phase"
    services.phase_add(
        process=process,
        kind=Phase.Kind.INFORMATION,
        starts_on=TODAY,
        ends_on=TODAY,
        actor=engagement_officer,
    )
    services.process_publish(process=process, actor=engagement_officer)
    process.refresh_from_db()
    assert process.status == Process.Status.PUBLISHED
    with pytest.raises(ParticipationError) as again:
        services.process_publish(process=process, actor=engagement_officer)
    assert again.value.code == "not_draft"


def test_archive_only_a_published_process(engagement_officer, department):
    draft = make_process(engagement_officer, department, publish=False)
    with pytest.raises(ParticipationError):
        services.process_archive(process=draft, actor=engagement_officer)
    published = make_process(engagement_officer, department, title="Other")
    services.process_archive(process=published, actor=engagement_officer)
    published.refresh_from_db()
    assert published.status == Process.Status.ARCHIVED


# --- services: phases --------------------------------------------------------------------------


def test_phase_dates_must_be_in_order(engagement_officer, department):
    process = make_process(engagement_officer, department, phases=(), publish=False)
    with pytest.raises(ParticipationError) as refused:
        services.phase_add(
            process=process,
            kind=Phase.Kind.VOTE,
            starts_on=TODAY,
            ends_on=TODAY - timedelta(days=1),
            actor=engagement_officer,
        )
    assert refused.value.code == "phase_dates"
    assert "end date" in str(refused.value.message)
    assert not process.phases.exists()


def test_phase_update_and_the_announcement_forgotten_when_it_moves_later(
    engagement_officer, department
):
    process = make_process(engagement_officer, department)
    phase = process.phases.get()
    Phase.objects.filter(pk=phase.pk).update(announced_at=NOW)
    phase.refresh_from_db()
    services.phase_update(
        phase=phase,
        kind=Phase.Kind.DEBATE,
        starts_on=TODAY + timedelta(days=2),
        ends_on=TODAY + timedelta(days=9),
        title="Debate",
        actor=engagement_officer,
    )
    phase.refresh_from_db()
    assert (phase.kind, phase.starts_on, phase.title) == (
        Phase.Kind.DEBATE,
        TODAY + timedelta(days=2),
        "Debate",
    )
    assert phase.announced_at is None
    with pytest.raises(ParticipationError):
        services.phase_update(
            phase=phase,
            kind=Phase.Kind.DEBATE,
            starts_on=TODAY,
            ends_on=TODAY - timedelta(1),
            actor=engagement_officer,
        )


def test_the_last_phase_of_a_published_process_stays(engagement_officer, department):
    process = make_process(engagement_officer, department)
    only = process.phases.get()
    with pytest.raises(ParticipationError) as refused:
        services.phase_delete(phase=only, actor=engagement_officer)
    assert refused.value.code == "last_phase"
    services.phase_add(
        process=process,
        kind=Phase.Kind.VOTE,
        starts_on=TODAY,
        ends_on=TODAY,
        actor=engagement_officer,
    )
    services.phase_delete(phase=only, actor=engagement_officer)
    assert list(process.phases.values_list("kind", flat=True)) == [Phase.Kind.VOTE]


# --- services: rules ---------------------------------------------------------------------------


def test_rule_set_writes_and_audits_once(engagement_officer, department):
    process = make_process(engagement_officer, department, publish=False)
    spec = RuleSpec(email_verified=True, ward_resident=True, min_age=16)
    services.rule_set(process=process, action=Action.VOTE, spec=spec, actor=engagement_officer)
    services.rule_set(process=process, action=Action.VOTE, spec=spec, actor=engagement_officer)
    rule = EligibilityRule.objects.get(process=process, action=Action.VOTE)
    assert (rule.email_verified, rule.ward_resident, rule.min_age) == (True, True, 16)
    assert audit_actions().count("participation.rule.set") == 1


@pytest.mark.parametrize(
    ("action", "spec", "code"),
    [
        (Action.VOTE, RuleSpec(census_only=True, email_verified=True), "rule_census_alone"),
        (Action.VOTE, RuleSpec(anonymous_allowed=True), "rule_anonymous"),
        (Action.VOTE, RuleSpec(min_age=0), "rule_age"),
        (Action.VOTE, RuleSpec(min_age=121), "rule_age"),
        ("dance", RuleSpec(), "rule_action"),
    ],
)
def test_rule_set_refuses_what_does_not_go_together(
    engagement_officer, department, action, spec, code
):
    process = make_process(engagement_officer, department, publish=False)
    with pytest.raises(ParticipationError) as refused:
        services.rule_set(process=process, action=action, spec=spec, actor=engagement_officer)
    assert refused.value.code == code
    assert not EligibilityRule.objects.exists()


def test_rules_set_all_or_nothing(engagement_officer, department):
    process = make_process(engagement_officer, department, publish=False)
    with pytest.raises(ParticipationError):
        services.rules_set(
            process=process,
            rules={
                Action.RESPOND: RuleSpec(anonymous_allowed=True),
                Action.VOTE: RuleSpec(min_age=0),
            },
            actor=engagement_officer,
        )
    assert not EligibilityRule.objects.exists()


# --- services: documents ------------------------------------------------------------------------


def test_document_add_and_remove(engagement_officer, department):
    process = make_process(engagement_officer, department)
    document = services.document_add(
        process=process, title="Draft plan", file=pdf_file(), actor=engagement_officer
    )
    assert document.upload.content_type == "application/pdf"
    services.document_remove(document=document, actor=engagement_officer)
    assert not ProcessDocument.objects.exists()
    assert "participation.document.removed" in audit_actions()


def test_document_must_be_a_pdf(engagement_officer, department):
    process = make_process(engagement_officer, department)
    with pytest.raises(ParticipationError) as refused:
        services.document_add(
            process=process,
            title="Not a PDF",
            file=SimpleUploadedFile("plan.pdf", b"just text", content_type="application/pdf"),
            actor=engagement_officer,
        )
    assert refused.value.code == "wrong_type"
    assert not ProcessDocument.objects.exists()


# --- services: invitations and news ------------------------------------------------------------


def _invitation_event_ready() -> None:
    from ecitizen.notifications.selectors import notification_event_exists

    if not notification_event_exists("participation_invitation"):
        pytest.skip("the participation_invitation message templates are not there yet")


def _inbox_of(user) -> int:
    from ecitizen.notifications.selectors import inbox_messages

    return inbox_messages(user=user).count()


def test_invitation_reaches_only_opted_in_residents_of_the_wards(
    engagement_officer, department, ward, other_ward
):
    _invitation_event_ready()
    in_ward, elsewhere, not_opted, no_address = (
        UserFactory(email=f"{name}@example.test") for name in ("in", "out", "quiet", "nowhere")
    )
    live_in(in_ward, ward)
    live_in(elsewhere, other_ward)
    live_in(not_opted, ward)
    for user in (in_ward, elsewhere, no_address):
        services.news_subscribe(user=user, actor=user)
    process = make_process(engagement_officer, department, wards=[ward])

    invitation = services.invitation_send(process=process, actor=engagement_officer)

    assert invitation.recipients == 1
    assert [_inbox_of(u) for u in (in_ward, elsewhere, not_opted, no_address)] == [1, 0, 0, 0]
    event = AuditEvent.objects.get(action="participation.invitation.sent")
    assert event.changes["recipients"] == 1


def test_invitation_of_a_whole_area_process_reaches_every_opted_in_resident(
    engagement_officer, department, ward, other_ward
):
    _invitation_event_ready()
    opted = [UserFactory(email=f"opted{n}@example.test") for n in range(3)]
    live_in(opted[0], ward)
    live_in(opted[1], other_ward)
    for user in opted:
        services.news_subscribe(user=user, actor=user)
    quiet = UserFactory(email="quiet@example.test")
    process = make_process(engagement_officer, department)

    assert services.invitation_send(process=process, actor=engagement_officer).recipients == 3
    assert _inbox_of(quiet) == 0


def test_invitation_once_a_day_and_only_when_published(engagement_officer, department):
    _invitation_event_ready()
    draft = make_process(engagement_officer, department, publish=False)
    with pytest.raises(ParticipationError) as refused:
        services.invitation_send(process=draft, actor=engagement_officer)
    assert refused.value.code == "not_published"

    process = make_process(engagement_officer, department, title="Published")
    services.invitation_send(process=process, actor=engagement_officer)
    with time_machine.travel(NOW + timedelta(hours=23), tick=False):
        with pytest.raises(ParticipationError) as again:
            services.invitation_send(process=process, actor=engagement_officer)
        assert again.value.code == "invited_recently"
        assert "24 hours" in str(again.value.message)
    with time_machine.travel(NOW + timedelta(hours=24, minutes=1), tick=False):
        services.invitation_send(process=process, actor=engagement_officer)
    assert Invitation.objects.filter(process=process).count() == 2


def test_news_subscribe_and_unsubscribe(resident):
    services.news_subscribe(user=resident, actor=resident)
    services.news_subscribe(user=resident, actor=resident)
    assert NewsSubscription.objects.filter(user=resident).count() == 1
    assert services.news_unsubscribe(user=resident, actor=resident) is True
    assert services.news_unsubscribe(user=resident, actor=resident) is False
    assert audit_actions() == ["participation.news.subscribed", "participation.news.unsubscribed"]


# --- public pages --------------------------------------------------------------------------------


def test_the_list_shows_published_processes_only(client, engagement_officer, department, ward):
    make_process(engagement_officer, department, title="Open plan", wards=[ward])
    make_process(engagement_officer, department, title="Secret draft", publish=False)
    page = client.get(reverse("participation:processes"))
    text = page.content.decode()
    assert page.status_code == 200
    assert "Open plan" in text
    assert "Secret draft" not in text
    assert "Riverside" in text  # its ward
    assert "Submit proposals" in text  # what can be done now
    assert "5 March 2027 to 20 March 2027" in text


def test_the_list_reads_a_fixed_number_of_queries(
    client, engagement_officer, department, ward, django_assert_max_num_queries
):
    make_process(engagement_officer, department, title="First", wards=[ward])
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("participation:processes"))
    for number in range(4):
        make_process(engagement_officer, department, title=f"More {number}", wards=[ward])
    with django_assert_max_num_queries(len(one.captured_queries)):
        page = client.get(reverse("participation:processes"))
    assert len(page.context["rows"]) == 5


def test_the_process_page_links_what_the_process_has(client, engagement_officer, department):
    from decimal import Decimal

    from ecitizen.participation.models import Budget, Consultation

    process = make_process(engagement_officer, department)
    text = client.get(reverse("participation:process", args=[process.slug])).content.decode()
    budget_url = reverse("participation:budget", args=[process.slug])
    assert reverse("participation:proposals", args=[process.slug]) in text  # a proposals phase
    assert budget_url not in text
    for slug, status in (("park", Consultation.Status.OPEN), ("hidden", Consultation.Status.DRAFT)):
        Consultation.objects.create(
            process=process,
            slug=slug,
            title=slug.title(),
            status=status,
            opens_at=NOW - timedelta(days=1),
            closes_at=NOW + timedelta(days=1),
        )
    Budget.objects.create(
        process=process, total_amount=Decimal("1000"), ballot_kind=Budget.BallotKind.APPROVAL
    )
    text = client.get(reverse("participation:process", args=[process.slug])).content.decode()
    assert reverse("participation:consultation", args=[process.slug, "park"]) in text
    assert reverse("participation:consultation", args=[process.slug, "hidden"]) not in text
    assert budget_url in text


def test_a_draft_has_no_public_page(client, engagement_officer, department):
    draft = make_process(engagement_officer, department, publish=False)
    assert client.get(reverse("participation:process", args=[draft.slug])).status_code == 404


def test_the_process_page_marks_the_current_phase(client, engagement_officer, department):
    process = make_process(
        engagement_officer,
        department,
        phases=(
            (Phase.Kind.INFORMATION, -30, -10),
            (Phase.Kind.PROPOSALS, -9, 5),
            (Phase.Kind.VOTE, 6, 20),
        ),
    )
    page = client.get(reverse("participation:process", args=[process.slug]))
    text = page.content.decode()
    assert page.status_code == 200
    assert text.count('aria-current="step"') == 1
    current = text.index('aria-current="step"')
    assert "Proposals" in text[current : current + 200]
    assert "Finished" in text
    assert "Coming" in text
    assert "Sign in" in text  # a visitor sees how to take part


def test_process_documents_are_served_once_published(client, engagement_officer, department):
    draft = make_process(engagement_officer, department, publish=False)
    document = services.document_add(
        process=draft, title="Draft plan", file=pdf_file(), actor=engagement_officer
    )
    url = reverse("participation:process_document", args=[draft.slug, document.pk])
    assert client.get(url).status_code == 404
    services.process_publish(process=draft, actor=engagement_officer)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content == MINIMAL_PDF
    page = client.get(reverse("participation:process", args=[draft.slug]))
    assert url in page.content.decode()


def test_a_document_of_another_process_is_not_found(client, engagement_officer, department):
    first = make_process(engagement_officer, department, title="First")
    second = make_process(engagement_officer, department, title="Second")
    document = services.document_add(
        process=first, title="Plan", file=pdf_file(), actor=engagement_officer
    )
    url = reverse("participation:process_document", args=[second.slug, document.pk])
    assert client.get(url).status_code == 404


def test_follow_and_unfollow_a_process(client, resident, engagement_officer, department):
    pytest.importorskip("ecitizen.participation.services.follows")
    process = make_process(engagement_officer, department)
    url = reverse("participation:process_follow", args=[process.slug])
    assert client.post(url, {"following": "1"}).status_code == 302  # to sign in
    assert not Follow.objects.exists()
    client.force_login(resident)
    assert client.get(url).status_code == 405
    client.post(url, {"following": "1"})
    assert Follow.objects.filter(user=resident, target_id=process.pk).exists()
    page = client.get(reverse("participation:process", args=[process.slug]))
    assert "Stop following" in page.content.decode()
    client.post(url, {"following": "0"})
    assert not Follow.objects.exists()


def test_code_of_conduct(client):
    page = client.get(reverse("participation:code_of_conduct"))
    assert page.status_code == 200
    assert "Code of conduct" in page.content.decode()


def test_news_opt_in_and_out(client, resident):
    url = reverse("participation:news")
    assert client.get(url).status_code == 302
    client.force_login(resident)
    assert client.post(url, {}).status_code == 400
    client.post(url, {"news": "yes"})
    assert NewsSubscription.objects.filter(user=resident).exists()
    page = client.get(reverse("participation:mine"))
    assert "We invite you when there is something to take part in" in page.content.decode()
    client.post(url, {"news": "no"})
    assert not NewsSubscription.objects.exists()


def test_yours_lists_open_processes_with_the_eligibility_per_action(
    client, resident, engagement_officer, department, ward
):
    make_process(
        engagement_officer,
        department,
        title="Riverside votes",
        wards=[ward],
        phases=((Phase.Kind.VOTE, -1, 3),),
        rules={Action.VOTE: RuleSpec(ward_resident=True)},
    )
    make_process(
        engagement_officer, department, title="Finished", phases=((Phase.Kind.RESULTS, -30, -20),)
    )
    client.force_login(resident)
    text = client.get(reverse("participation:mine")).content.decode()
    assert "Riverside votes" in text
    assert "Finished" not in text
    assert "Add your home address" in text
    live_in(resident, ward)
    text = client.get(reverse("participation:mine")).content.decode()
    assert "You can take part" in text


# --- the organiser's pages --------------------------------------------------------------------


def _staff_urls(process: Process) -> list[str]:
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
    ]
    return [reverse(f"staff:{name}", args=[process.slug]) for name in names]


def test_another_departments_organiser_gets_404_everywhere(
    client, engagement_officer, other_engagement_officer, department
):
    process = make_process(engagement_officer, department)
    sign_in_official(client, other_engagement_officer)
    for url in _staff_urls(process):
        assert client.get(url).status_code == 404, url
        assert client.post(url, {}).status_code == 404, url
    codes = reverse("staff:participation_census_codes", args=[process.slug])
    assert client.post(codes).status_code == 404
    listing = client.get(reverse("staff:participation")).content.decode()
    assert process.title not in listing


def test_the_organiser_reaches_every_page(client, organiser, department):
    process = make_process(organiser, department)
    for url in _staff_urls(process):
        assert client.get(url).status_code == 200, url
    assert process.title in client.get(reverse("staff:participation")).content.decode()


def test_a_ward_limited_organiser_sees_the_processes_of_their_ward(
    client, engagement_officer, department, ward, other_ward
):
    mine = make_process(engagement_officer, department, title="Riverside", wards=[ward])
    theirs = make_process(engagement_officer, department, title="Hillside", wards=[other_ward])
    whole = make_process(engagement_officer, department, title="Everywhere")
    limited = UserFactory(email="ward.organiser@example.test")
    accounts.role_assign(
        user=limited,
        role="engagement_officer",
        department=department,
        jurisdiction=ward,
        actor=None,
        system=True,
    )
    accounts.mfa_totp_activate(user=limited, secret="JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", actor=None)
    sign_in_official(client, limited)
    listing = client.get(reverse("staff:participation")).content.decode()
    assert "Riverside" in listing
    assert "Hillside" not in listing
    assert "Everywhere" not in listing
    assert client.get(reverse("staff:participation_process", args=[mine.slug])).status_code == 200
    for other in (theirs, whole):
        url = reverse("staff:participation_process", args=[other.slug])
        assert client.get(url).status_code == 404


@pytest.mark.parametrize(
    ("role", "links", "hidden"),
    [
        ("supervisor", ["Moderation", "Proposals to answer"], ["Paper participation"]),
        ("case_officer", ["Paper participation", "Proposals to answer"], ["Moderation"]),
        ("intermediary", ["Paper participation"], ["Moderation", "Proposals to answer"]),
    ],
)
def test_an_official_who_does_not_organise_reaches_their_participation_work(
    client, department, role, links, hidden
):
    """A moderator, an answerer or a paper clerk has the staff navigation's Participation
    item, and its page links to their work, without the organisers' processes."""
    official = UserFactory(email=f"{role}@example.test")
    accounts.role_assign(user=official, role=role, department=department, actor=None, system=True)
    accounts.mfa_totp_activate(user=official, secret="JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", actor=None)
    sign_in_official(client, official)
    if role == "intermediary":  # not an official: their account page leads to the work
        home = client.get(reverse("accounts:home")).content.decode()
        assert f'href="{reverse("staff:participation_paper_entries")}"' in home
    else:
        home = client.get(reverse("staff:home")).content.decode()
        assert f'href="{reverse("staff:participation")}"' in home
    page = client.get(reverse("staff:participation"))
    assert page.status_code == 200
    text = page.content.decode()
    for link in links:
        assert link in text
    for link in hidden:
        assert link not in text
    assert "Create a process" not in text
    for name in ("staff:participation_moderation", "staff:participation_answers"):
        shown = f'href="{reverse(name)}"' in text
        assert client.get(reverse(name)).status_code == (200 if shown else 403)


def test_residents_are_refused_staff_pages(client, resident):
    client.force_login(resident)
    assert client.get(reverse("staff:participation")).status_code == 403


def test_create_a_process_through_the_page(client, organiser, department, ward):
    url = reverse("staff:participation_process_new")
    page = client.get(url)
    submission = page.context["form"].initial["submission"]
    data = {
        "submission": submission,
        "title": "Riverside plan",
        "summary": "Have your say on the riverside.",
        "department": str(department.pk),
        "wards": [str(ward.pk)],
        "title_fr": "Plan du bord de l'eau",
    }
    response = client.post(url, data)
    process = Process.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("staff:participation_process", args=[process.slug])
    assert process.translations == {"fr": {"title": "Plan du bord de l'eau"}}
    assert client.post(url, data).status_code == 302  # the same submission again
    assert Process.objects.count() == 1


def test_create_refuses_a_taken_web_address_on_its_field(client, organiser, department):
    make_process(organiser, department, title="Budget 2027")
    response = client.post(
        reverse("staff:participation_process_new"),
        {
            "title": "Another",
            "summary": "s",
            "department": str(department.pk),
            "slug": "budget-2027",
        },
    )
    assert response.status_code == 400
    assert response.context["form"].errors["slug"]
    assert "govuk-error-summary" in response.content.decode()


def test_edit_a_process(client, organiser, department):
    process = make_process(organiser, department, publish=False)
    url = reverse("staff:participation_process_edit", args=[process.slug])
    response = client.post(
        url,
        {
            "title": "Renamed",
            "summary": "s",
            "department": str(department.pk),
            "support_threshold": "x",
        },
    )
    assert response.status_code == 400
    assert "Enter a whole number" in response.content.decode()
    client.post(url, {"title": "Renamed", "summary": "s", "department": str(department.pk)})
    process.refresh_from_db()
    assert process.title == "Renamed"


def test_phases_page_add_change_delete(client, organiser, department):
    process = make_process(organiser, department, phases=(), publish=False)
    url = reverse("staff:participation_phases", args=[process.slug])
    bad = client.post(
        url,
        {
            "kind": "vote",
            "starts_on_day": "10",
            "starts_on_month": "3",
            "starts_on_year": "2027",
            "ends_on_day": "9",
            "ends_on_month": "3",
            "ends_on_year": "2027",
        },
    )
    assert bad.status_code == 400
    assert "The end date must be the same as or after the start date" in bad.content.decode()
    assert not process.phases.exists()
    good = dict(bad.wsgi_request.POST.items())
    good["ends_on_day"] = "20"
    assert client.post(url, good).status_code == 302
    phase = process.phases.get()
    assert (phase.kind, phase.ends_on) == ("vote", date(2027, 3, 20))
    changed = {**good, "kind": "debate"}
    assert client.post(f"{url}?change={phase.pk}", changed).status_code == 302
    phase.refresh_from_db()
    assert phase.kind == "debate"
    assert client.get(f"{url}?change=999999").status_code == 404
    client.post(url, {"delete": str(phase.pk)})
    assert not process.phases.exists()


def test_rules_page(client, organiser, department):
    process = make_process(organiser, department, publish=False)
    url = reverse("staff:participation_rules", args=[process.slug])
    bad = client.post(url, {"vote_census_only": "on", "vote_email_verified": "on"})
    assert bad.status_code == 400
    assert "The census list stands alone" in bad.content.decode()
    assert not EligibilityRule.objects.exists()
    client.post(
        url, {"vote_ward_resident": "on", "vote_min_age": "16", "respond_anonymous_allowed": "on"}
    )
    vote = EligibilityRule.objects.get(process=process, action=Action.VOTE)
    assert (vote.ward_resident, vote.min_age, vote.email_verified) == (True, 16, False)
    assert EligibilityRule.objects.get(process=process, action=Action.RESPOND).anonymous_allowed
    overview = client.get(reverse("staff:participation_process", args=[process.slug]))
    assert "aged 16 or over" in overview.content.decode()


def test_documents_page_upload_and_remove(client, organiser, department):
    process = make_process(organiser, department)
    url = reverse("staff:participation_documents", args=[process.slug])
    bad = client.post(
        url, {"title": "Plan", "file": SimpleUploadedFile("a.pdf", b"nope", "application/pdf")}
    )
    assert bad.status_code == 400
    assert "must be a PDF" in bad.content.decode()
    assert client.post(url, {"title": "Plan", "file": pdf_file()}).status_code == 302
    document = ProcessDocument.objects.get()
    client.post(url, {"remove": str(document.pk)})
    assert not ProcessDocument.objects.exists()


def test_publish_page(client, organiser, department):
    process = make_process(organiser, department, phases=(), publish=False)
    url = reverse("staff:participation_publish", args=[process.slug])
    refused = client.post(url, {})
    assert refused.status_code == 400
    assert "Add at least one phase" in refused.content.decode()
    services.phase_add(
        process=process,
        kind=Phase.Kind.INFORMATION,
        starts_on=TODAY,
        ends_on=TODAY,
        actor=organiser,
    )
    assert client.post(url, {}).status_code == 302
    process.refresh_from_db()
    assert process.status == Process.Status.PUBLISHED


def test_invite_page_sends_once_a_day(client, organiser, department, resident):
    _invitation_event_ready()
    services.news_subscribe(user=resident, actor=resident)
    process = make_process(organiser, department)
    url = reverse("staff:participation_invite", args=[process.slug])
    page = client.get(url)
    assert "1 resident would receive it" in page.content.decode()
    first = client.post(url, {"submission": page.context["form"].initial["submission"]})
    assert first.status_code == 302
    second = client.post(url, {})
    assert second.status_code == 400
    assert "already invited" in second.content.decode()
    assert Invitation.objects.count() == 1
    assert _inbox_of(resident) == 1
