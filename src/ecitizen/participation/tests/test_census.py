"""Census lists: uploading identifiers (new ones only, repeats reported), codes shown once
and kept only as hashes, claiming a code once, wrong codes counted and locked out with one
answer for every failure, and the pages of both sides."""

from __future__ import annotations

import csv
import io

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from ecitizen.core.models import AuditEvent
from ecitizen.participation.models import Action, CensusEntry
from ecitizen.participation.services import ParticipationError
from ecitizen.participation.services import census as census_services
from ecitizen.participation.services.processes import RuleSpec
from ecitizen.participation.tests.test_processes import NOW, make_process
from ecitizen.participation.views.common import CENSUS_SESSION_KEY
from tests.personas import sign_in_official

IDENTIFIERS = ["V-1001", "V-1002", "V-1003"]


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def process(engagement_officer, department):
    return make_process(
        engagement_officer, department, rules={Action.SUPPORT: RuleSpec(census_only=True)}
    )


def _upload(process, actor, identifiers=IDENTIFIERS):
    rows = [(number, value) for number, value in enumerate(identifiers, start=2)]
    return census_services.census_upload(process=process, rows=rows, actor=actor)


def _codes(result) -> dict[str, str]:
    return dict(result.codes)


# --- upload --------------------------------------------------------------------------------


def test_upload_gives_each_new_identifier_a_code_kept_only_as_a_hash(process, engagement_officer):
    result = _upload(process, engagement_officer)
    codes = _codes(result)
    assert sorted(codes) == IDENTIFIERS
    assert len(set(codes.values())) == 3
    for identifier, code in codes.items():
        assert len(code.replace("-", "")) == census_services.CODE_LENGTH
        entry = CensusEntry.objects.get(
            identifier_index=census_services.identifier_index(process, identifier)
        )
        assert entry.identifier == identifier
        assert code not in entry.code_hash
        assert code.replace("-", "") not in entry.code_hash
    event = AuditEvent.objects.get(action="participation.census.uploaded")
    assert event.changes == {"added": 3, "already_listed": 0, "duplicates": 0}
    assert "V-1001" not in str(event.changes)


def test_upload_again_adds_only_the_new_ones_and_reports_repeats(process, engagement_officer):
    first = _codes(_upload(process, engagement_officer))
    again = _upload(process, engagement_officer, ["V-1001", "v 1004", "V-1005", "V1004"])
    assert [identifier for identifier, _code in again.codes] == ["v 1004", "V-1005"]
    assert again.already_listed == 1
    # "V1004" (row 5) is "v 1004" (row 3) once spaces and case are set aside.
    assert again.duplicates == [(5, 3)]
    assert CensusEntry.objects.filter(process=process).count() == 5
    # The first upload's codes still work.
    entry = census_services.census_claim(
        process=process, identifier="V-1002", code=first["V-1002"], user=None
    )
    assert entry.claimed_at is not None


def test_upload_refuses_an_empty_list(process, engagement_officer):
    with pytest.raises(ParticipationError) as refused:
        census_services.census_upload(process=process, rows=[], actor=engagement_officer)
    assert refused.value.code == "census_empty"


# --- claim -----------------------------------------------------------------------------------


def test_a_code_works_once(process, engagement_officer, resident, second_resident):
    code = _codes(_upload(process, engagement_officer))["V-1001"]
    entry = census_services.census_claim(
        process=process, identifier=" v-1001 ", code=code.lower().replace("-", " "), user=resident
    )
    assert entry.claimed_by == resident
    # The same account may use it again (on another device, say).
    assert (
        census_services.census_claim(
            process=process, identifier="V-1001", code=code, user=resident
        ).pk
        == entry.pk
    )
    # The session that holds it, too.
    assert (
        census_services.census_claim(
            process=process, identifier="V-1001", code=code, user=None, session_entry_id=entry.pk
        ).pk
        == entry.pk
    )
    for someone_else in (second_resident, None):
        with pytest.raises(ParticipationError) as refused:
            census_services.census_claim(
                process=process, identifier="V-1001", code=code, user=someone_else
            )
        assert refused.value.code == "census_code_used"
        assert "already been used" in str(refused.value.message)
    claims = AuditEvent.objects.filter(action="participation.census.claimed")
    assert claims.count() == 1
    assert "V-1001" not in str(list(AuditEvent.objects.values_list("changes", flat=True)))


def test_wrong_codes_lock_the_entry_after_five(process, engagement_officer):
    code = _codes(_upload(process, engagement_officer))["V-1001"]
    for _attempt in range(census_services.CENSUS_MAX_ATTEMPTS):
        with pytest.raises(ParticipationError) as refused:
            census_services.census_claim(
                process=process, identifier="V-1001", code="AAAA-AAAA-AAAA", user=None
            )
        assert refused.value.code == "census_no_match"
    entry = CensusEntry.objects.get(
        identifier_index=census_services.identifier_index(process, "V-1001")
    )
    assert entry.failed_attempts == census_services.CENSUS_MAX_ATTEMPTS
    # Now even the right code is refused, with the same answer.
    with pytest.raises(ParticipationError) as locked:
        census_services.census_claim(process=process, identifier="V-1001", code=code, user=None)
    assert locked.value.code == "census_no_match"
    assert str(locked.value.message) == str(refused.value.message)
    entry.refresh_from_db()
    assert entry.claimed_at is None
    reasons = [
        event.changes["reason"]
        for event in AuditEvent.objects.filter(
            action="participation.census.claim_refused"
        ).order_by("sequence")
    ]
    assert reasons == ["wrong_code"] * 5 + ["locked"]


def test_an_unknown_identifier_gets_the_same_answer_as_a_wrong_code(process, engagement_officer):
    _upload(process, engagement_officer)
    answers = []
    for identifier in ("V-1001", "NOT-ON-THE-LIST"):
        with pytest.raises(ParticipationError) as refused:
            census_services.census_claim(
                process=process, identifier=identifier, code="AAAA-AAAA-AAAA", user=None
            )
        answers.append((refused.value.code, str(refused.value.message)))
    assert answers[0] == answers[1]


def test_a_code_of_another_process_does_not_work(process, engagement_officer, department):
    code = _codes(_upload(process, engagement_officer))["V-1001"]
    other = make_process(engagement_officer, department, title="Other")
    _upload(other, engagement_officer)
    with pytest.raises(ParticipationError) as refused:
        census_services.census_claim(process=other, identifier="V-1001", code=code, user=None)
    assert refused.value.code == "census_no_match"


# --- the resident's page ---------------------------------------------------------------------


def test_claim_page_remembers_the_entry_and_goes_back(client, process, engagement_officer):
    code = _codes(_upload(process, engagement_officer))["V-1001"]
    url = reverse("participation:census_claim", args=[process.slug])
    back = reverse("participation:process", args=[process.slug]) + "?x=1"
    page = client.get(url, {"next": back})
    assert page.status_code == 200
    response = client.post(url, {"identifier": "V-1001", "code": code, "next": back})
    assert response.status_code == 302
    assert response["Location"] == back
    entry = CensusEntry.objects.get(claimed_at__isnull=False)
    assert client.session[CENSUS_SESSION_KEY] == {str(process.pk): entry.pk}
    # The process page now says the visitor may support (a census-only action).
    text = client.get(reverse("participation:process", args=[process.slug])).content.decode()
    assert "You are taking part with the code you were sent" in text


def test_claim_page_ignores_a_next_to_another_site(client, process, engagement_officer):
    code = _codes(_upload(process, engagement_officer))["V-1001"]
    url = reverse("participation:census_claim", args=[process.slug])
    response = client.post(
        url, {"identifier": "V-1001", "code": code, "next": "https://evil.example/steal"}
    )
    assert response["Location"] == reverse("participation:process", args=[process.slug])


def test_claim_page_errors(client, process, engagement_officer):
    code = _codes(_upload(process, engagement_officer))["V-1001"]
    url = reverse("participation:census_claim", args=[process.slug])
    empty = client.post(url, {})
    assert empty.status_code == 400
    assert "Enter your identifier" in empty.content.decode()
    wrong = client.post(url, {"identifier": "V-1001", "code": "AAAA-AAAA-AAAA"})
    assert wrong.status_code == 400
    assert "do not match" in wrong.content.decode()
    assert "govuk-error-summary" in wrong.content.decode()
    client.post(url, {"identifier": "V-1001", "code": code})
    other_browser = client.__class__()
    used = other_browser.post(url, {"identifier": "V-1001", "code": code})
    assert used.status_code == 400
    assert "This code has already been used" in used.content.decode()


def test_census_claim_page_of_a_draft_is_not_found(client, engagement_officer, department):
    draft = make_process(engagement_officer, department, publish=False)
    assert client.get(reverse("participation:census_claim", args=[draft.slug])).status_code == 404


# --- the organiser's page ----------------------------------------------------------------------


def _csv(*rows: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("list.csv", "\n".join(rows).encode("utf-8"), content_type="text/csv")


def test_organiser_uploads_and_downloads_the_codes_once(client, process, engagement_officer):
    sign_in_official(client, engagement_officer)
    url = reverse("staff:participation_census", args=[process.slug])
    response = client.post(
        url,
        {"file": _csv("voter number;name", "V-1;A", "=SUM(1);B", "V-1;C", ""), "has_header": "on"},
    )
    assert response.status_code == 302
    page = client.get(url).content.decode()
    assert "2 people added to the list" in page
    assert "Row 4 repeats row 2" in page
    assert "Download the 2 new codes now" in page

    codes_url = reverse("staff:participation_census_codes", args=[process.slug])
    assert client.get(codes_url).status_code == 405
    download = client.post(codes_url)
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert rows[0] == ["identifier", "code"]
    assert [row[0] for row in rows[1:]] == ["V-1", "'=SUM(1)"]
    code = rows[1][1]
    assert census_services.census_claim(process=process, identifier="V-1", code=code, user=None)

    again = client.post(codes_url)
    assert again.status_code == 302
    assert "already downloaded" in client.get(url).content.decode()
    assert "Download the" not in client.get(url).content.decode()
    assert AuditEvent.objects.filter(action="participation.census.codes_downloaded").count() == 1


def test_organiser_upload_errors(client, process, engagement_officer):
    sign_in_official(client, engagement_officer)
    url = reverse("staff:participation_census", args=[process.slug])
    not_utf8 = client.post(
        url, {"file": SimpleUploadedFile("l.csv", "Zoë\n".encode("latin-1"), "text/csv")}
    )
    assert not_utf8.status_code == 400
    assert "saved as UTF-8" in not_utf8.content.decode()
    only_header = client.post(url, {"file": _csv("identifier"), "has_header": "on"})
    assert only_header.status_code == 400
    assert "has no identifiers" in only_header.content.decode()
    assert not CensusEntry.objects.exists()


def test_another_department_cannot_download_codes(
    client, process, engagement_officer, other_engagement_officer
):
    sign_in_official(client, engagement_officer)
    client.post(reverse("staff:participation_census", args=[process.slug]), {"file": _csv("V-1")})
    client.logout()
    sign_in_official(client, other_engagement_officer)
    codes_url = reverse("staff:participation_census_codes", args=[process.slug])
    assert client.post(codes_url).status_code == 404
    census_page = reverse("staff:participation_census", args=[process.slug])
    assert client.get(census_page).status_code == 404
