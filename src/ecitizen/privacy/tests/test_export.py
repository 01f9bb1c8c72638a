"""A resident's download of their data: what the ZIP holds (each kind of record, nothing
of anyone else, a JSON document that matches its schema, the files, a readable summary),
one download in progress at a time, the task run twice, the link's owner and expiry."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pypdfium2 as pdfium
import pytest
import time_machine
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone
from jsonschema import Draft202012Validator

from ecitizen.accounts.services import profile_update
from ecitizen.cases.tests.conftest import published, shed, works  # noqa: F401 - fixtures
from ecitizen.cases.tests.support import SHED_ANSWERS, submit_shed
from ecitizen.core.registry import registry
from ecitizen.core.services import audit_record
from ecitizen.documents.tests.factories import issue
from ecitizen.feedback.services import About, remark_send
from ecitizen.notifications.models import Notification
from ecitizen.participation.models import Consultation, Process
from ecitizen.participation.services import consultations as consultation_services
from ecitizen.participation.services.common import person_key_for_user
from ecitizen.payments.services import payment_record_offline
from ecitizen.privacy import exports, selectors
from ecitizen.privacy.models import DataExport
from ecitizen.voting.models import CastBallot, Election, Voter
from ecitizen.voting.services import elections as election_services
from tests.factories import PASSWORD, UserFactory, business_with
from tests.personas import _official
from tests.processes import free_port
from tests.s3 import Bucket

QUESTIONS = [
    {
        "id": "ideas",
        "type": "long_text",
        "label": {"en": "What would you change?"},
        "error_label": {"en": "what you would change"},
    }
]


@pytest.fixture
def consultation(works):  # noqa: F811 - the cases tests' fixture
    process = Process.objects.create(
        slug="riverside",
        title="Riverside regeneration plan",
        summary="The future of the riverside",
        department=works,
        status=Process.Status.PUBLISHED,
    )
    now = timezone.now()
    return Consultation.objects.create(
        process=process,
        slug="park",
        status=Consultation.Status.OPEN,
        title="Riverside Park",
        body="Tell us what you think.",
        questions=QUESTIONS,
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=10),
    )


@pytest.fixture
def election(works):  # noqa: F811 - the cases tests' fixture
    administrator = _official("election_administrator", works, email="eo@example.test")
    authority = _official("credential_authority", works, email="ca@example.test")
    now = timezone.now()
    return election_services.election_create(
        actor=administrator,
        slug="car-free",
        title="Car-free Sundays",
        description="A referendum.",
        department_id=works.pk,
        ward_id=None,
        opens_at=now + timedelta(days=1),
        closes_at=now + timedelta(days=2),
        threshold=1,
        voters_from=Election.Voters.LIST,
        process_id=None,
        credentials=Election.Credentials.PLATFORM,
        credential_authority=authority,
        translations={},
    )


def _give_business(
    user,
    *,
    shed,  # noqa: F811 - the fixture's value, passed on
    works,  # noqa: F811
    consultation,
    election,
    marker,
    national_id,
    idea,
):
    """One of everything the platform can hold about a resident."""
    profile_update(
        user=user,
        data={"national_id": national_id, "phone": "+44 7700 900123", "town": "Riverton"},
        actor=user,
    )
    answers = {**SHED_ANSWERS, "applicant_name": user.full_name}
    case = submit_shed(shed, user, answers=answers)
    # The uploaded plan carries a marker of its owner, to find it (or not) in the ZIP.
    from ecitizen.cases.services import draft_save_answers, draft_start, draft_submit
    from ecitizen.cases.tests.support import pdf_file

    draft = draft_start(service=shed, applicant=user, actor=user)
    draft = draft_save_answers(draft=draft, values=answers, actor=user)
    draft = draft_save_answers(
        draft=draft, values={}, files={"plan_files": [pdf_file(marker=marker)]}, actor=user
    )
    second = draft_submit(draft=draft, actor=user)
    bill = business_with(user, works)
    payment_record_offline(bill=bill, amount_minor=bill.balance_minor)
    document = issue(
        user,
        reference=f"RIV-BP-{user.pk:06d}",
        holder_name=user.full_name,
        printed=[("Holder's number", national_id)],
    )
    remark_send(
        kind="suggestion",
        about=About(department=works),
        text=idea,
        author=user,
        confirmed=True,
    )
    consultation_services.response_record(
        consultation=consultation,
        answers={"ideas": idea},
        person_key=person_key_for_user(user),
        channel="online",
        actor=None,
    )
    voter = Voter.objects.get(election=election, user=user)
    # A cast ballot needs the whole key ceremony; its row is what the export reads.
    tracker = f"tracker{user.pk:04d}" + "x" * 30
    CastBallot.objects.create(election=election, voter=voter, tracker=tracker)
    return {
        "case": case,
        "second_case": second,
        "bill": bill,
        "document": document,
        "tracker": tracker,
    }


@pytest.fixture
def world(resident, second_resident, shed, works, consultation, election, case_officer):  # noqa: F811
    election_services.voters_upload(
        election=election, emails=[resident.email, second_resident.email], actor=None
    )
    mine = _give_business(
        resident,
        shed=shed,
        works=works,
        consultation=consultation,
        election=election,
        marker=b"ALEX-PLAN-MARKER",
        national_id="RV31415926",
        idea="Plant more oaks along the quay",
    )
    theirs = _give_business(
        second_resident,
        shed=shed,
        works=works,
        consultation=consultation,
        election=election,
        marker=b"YASMIN-PLAN-MARKER",
        national_id="RV27182818",
        idea="Open a swimming spot by the weir",
    )
    # A member of staff opened the resident's details: the data tracker shows it.
    audit_record(
        action="personal_data.viewed",
        actor=case_officer,
        actor_role="Case officer, Public Works",
        object_type="accounts.residentprofile",
        object_id="1",
        subject_user_id=resident.pk,
    )
    return {"mine": mine, "theirs": theirs}


def _prepare(user, django_capture_on_commit_callbacks) -> DataExport:
    with django_capture_on_commit_callbacks(execute=True):
        export, created = exports.export_request(user=user, language="en", actor=user)
    assert created
    export.refresh_from_db()
    return export


def _members(export) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(selectors.export_content(export=export))) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _pdf_text(data: bytes) -> str:
    document = pdfium.PdfDocument(data)
    return "\n".join(page.get_textpage().get_text_range() for page in document)


@pytest.mark.django_db
def test_the_download_holds_each_kind_of_record_and_nothing_of_anyone_else(
    world, resident, second_resident, django_capture_on_commit_callbacks
):
    export = _prepare(resident, django_capture_on_commit_callbacks)
    assert export.status == DataExport.Status.READY
    assert export.percent == 100
    members = _members(export)
    data = json.loads(members["data.json"])

    sources = data["sources"]
    assert set(sources) == set(registry.personal_data)

    def kinds(name):
        return [item["kind"] for item in sources[name]["items"]]

    profile = next(i for i in sources["accounts"]["items"] if i["kind"] == "profile")
    assert profile["national_id"] == "RV31415926"
    assert profile["phone"] == "+44 7700 900123"
    applications = [i for i in sources["cases"]["items"] if i["kind"] == "application"]
    assert {a["reference"] for a in applications} == {
        world["mine"]["case"].reference,
        world["mine"]["second_case"].reference,
    }
    assert all(a["answers"]["applicant_name"] == "Alex Morgan" for a in applications)
    uploaded = [f["path"] for a in applications for f in a["files"]]
    assert uploaded
    assert all(path in members for path in uploaded)
    assert any(b"ALEX-PLAN-MARKER" in members[path] for path in uploaded)
    documents = [i for i in sources["documents"]["items"] if i["kind"] == "issued_document"]
    assert world["mine"]["document"].code_display in {d["verification_code"] for d in documents}
    assert all(members[d["file"]].startswith(b"%PDF") for d in documents)
    assert {"bill", "payment"} <= set(kinds("payments"))
    assert "message" in kinds("notifications")
    assert Notification.objects.filter(recipient=resident, event=exports.READY_EVENT).exists()
    assert kinds("feedback") == ["suggestion"]
    response = next(i for i in sources["participation"]["items"])
    assert response["kind"] == "consultation_response"
    assert response["answers"] == {"ideas": "Plant more oaks along the quay"}
    voter = next(i for i in sources["voting"]["items"] if i["kind"] == "voter")
    assert [b["tracker"] for b in voter["ballots"]] == [world["mine"]["tracker"]]
    reads = [i for i in sources["audit"]["items"] if i["kind"] == "staff_read"]
    assert reads == [
        {
            "kind": "staff_read",
            "at": reads[0]["at"],
            "action": "personal_data.viewed",
            "by": "staff",
            "role": "Case officer, Public Works",
            "object_type": "accounts.residentprofile",
            "ip_address": None,
        }
    ]

    summary = _pdf_text(members["summary.pdf"])
    assert "Alex Morgan" in summary
    assert world["mine"]["case"].reference in summary

    # Nothing of the second resident anywhere: in the JSON, the files, the summary's text.
    readable = {name: content for name, content in members.items() if name != "summary.pdf"}
    readable["summary.txt"] = summary.encode()
    theirs = world["theirs"]
    for secret in (
        second_resident.email,
        second_resident.full_name,
        "RV27182818",
        "YASMIN-PLAN-MARKER",
        "Open a swimming spot by the weir",
        theirs["case"].reference,
        theirs["second_case"].reference,
        theirs["bill"].reference,
        theirs["document"].code,
        theirs["document"].code_display,
        theirs["tracker"],
    ):
        for name, content in readable.items():
            assert secret.encode() not in content, f"{secret!r} found in {name}"
    # ...and the staff member who looked is named by their office only.
    for content in readable.values():
        assert b"officer@example.test" not in content


@pytest.mark.django_db
def test_data_json_matches_its_published_schema(
    world, resident, django_capture_on_commit_callbacks
):
    export = _prepare(resident, django_capture_on_commit_callbacks)
    data = json.loads(_members(export)["data.json"])
    schema = json.loads(exports.SCHEMA_PATH.read_text())
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    assert not list(validator.iter_errors(data))
    # The schema is not vacuous: a source without its lawful basis does not match.
    del data["sources"]["cases"]["lawful_basis"]
    assert list(validator.iter_errors(data))


@pytest.mark.django_db
def test_the_file_is_stored_encrypted(resident, django_capture_on_commit_callbacks):
    export = _prepare(resident, django_capture_on_commit_callbacks)
    with default_storage.open(export.storage_name, "rb") as handle:
        stored = handle.read()
    assert b"data.json" not in stored
    assert resident.email.encode() not in stored
    assert zipfile.is_zipfile(io.BytesIO(selectors.export_content(export=export)))


@pytest.mark.django_db
def test_one_download_at_a_time_and_the_task_run_again_changes_nothing(
    resident, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first, created = exports.export_request(user=resident, language="en", actor=resident)
        again, created_again = exports.export_request(user=resident, language="en", actor=resident)
    assert created
    assert not created_again
    assert again.pk == first.pk
    assert len(callbacks) == 1  # one task enqueued
    assert DataExport.objects.filter(owner=resident).count() == 1

    ready = exports.export_prepare(export_id=first.pk)
    assert ready is not None
    assert ready.status == DataExport.Status.READY
    stored = ready.storage_name
    # The task delivered twice (a retry): nothing is prepared or sent a second time.
    assert exports.export_prepare(export_id=first.pk) is None
    ready.refresh_from_db()
    assert ready.storage_name == stored
    sent = Notification.objects.filter(recipient=resident, event=exports.READY_EVENT)
    assert sorted(sent.values_list("channel", flat=True)) == ["email", "inbox"]  # once each


@pytest.mark.django_db
def test_a_new_download_replaces_the_ready_one(resident, django_capture_on_commit_callbacks):
    first = _prepare(resident, django_capture_on_commit_callbacks)
    second = _prepare(resident, django_capture_on_commit_callbacks)
    first.refresh_from_db()
    assert first.status == DataExport.Status.EXPIRED
    assert not default_storage.exists(f"privacy/exports/{first.pk.hex[:2]}/{first.pk.hex}.bin")
    assert second.status == DataExport.Status.READY


@pytest.mark.django_db
def test_only_the_resident_asks_for_their_own(resident, second_resident):
    from ecitizen.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        exports.export_request(user=resident, language="en", actor=second_resident)
    assert not DataExport.objects.exists()


@pytest.mark.django_db
def test_a_source_that_fails_fails_the_download_with_a_code(
    resident, django_capture_on_commit_callbacks, monkeypatch
):
    broken = registry.personal_data["notifications"]

    def fails(user):
        raise RuntimeError("boom")

    monkeypatch.setitem(
        registry.personal_data,
        "notifications",
        type(broken)(**{**broken.__dict__, "export": fails}),
    )
    with django_capture_on_commit_callbacks(execute=True):
        export, _created = exports.export_request(user=resident, language="en", actor=resident)
    export.refresh_from_db()
    assert export.status == DataExport.Status.FAILED
    assert export.failure == "internal_error"
    assert not export.storage_name
    # The resident may ask again at once.
    _again, created = exports.export_request(user=resident, language="en", actor=resident)
    assert created


@pytest.mark.django_db
def test_a_download_the_storage_cannot_keep_fails_with_a_code_and_leaves_nothing(
    resident, django_capture_on_commit_callbacks, s3_media
):
    s3_media.delete()  # the bucket is gone: S3 refuses the write (NoSuchBucket)
    with django_capture_on_commit_callbacks(execute=True):
        export, _created = exports.export_request(user=resident, language="en", actor=resident)
    export.refresh_from_db()
    assert export.status == DataExport.Status.FAILED
    assert export.failure == "not_stored"
    assert not export.storage_name
    # The resident may ask again at once.
    _again, created = exports.export_request(user=resident, language="en", actor=resident)
    assert created


# --- the pages -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_resident_asks_sees_progress_and_downloads(
    client, resident, django_capture_on_commit_callbacks
):
    client.force_login(resident)
    page = client.get(reverse("privacy:data"))
    assert page.status_code == 200
    assert "Ask for a download of your data" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(reverse("privacy:data"))
    assert response.status_code == 302
    page = client.get(reverse("privacy:data")).content.decode()
    assert "We are preparing your data" in page
    assert "Check progress" in page
    assert 'http-equiv="refresh"' not in page  # no timed refresh (WCAG 2.2.1)

    export = DataExport.objects.get(owner=resident)
    exports.export_prepare(export_id=export.pk)
    page = client.get(reverse("privacy:data")).content.decode()
    link = reverse("privacy:data_download", args=[export.pk])
    assert link in page
    response = client.get(link)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "no-store" in response["Cache-Control"]
    assert "attachment" in response["Content-Disposition"]
    assert zipfile.is_zipfile(io.BytesIO(response.content))
    export.refresh_from_db()
    assert export.downloads == 1


def _endpoint_down(request, bucket):
    """Nothing answers at the storage's address any more (the S3 service is down)."""
    down = Bucket(name=bucket.name, endpoint=f"http://127.0.0.1:{free_port()}", client=None)
    return down.storage()


def _transfer_cut(request, bucket):
    """Every download of the file is cut halfway, attempt after attempt: boto3's transfer
    manager gives up with s3transfer's ``RetriesExceededError``."""
    link = request.getfixturevalue("s3_link")
    link.cut_bodies()
    return link.storage()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "storage_fails",
    [
        pytest.param(_endpoint_down, id="s3-endpoint-down"),
        pytest.param(_transfer_cut, id="s3-transfer-cut"),
    ],
)
def test_a_download_the_storage_cannot_give_back_gets_the_damaged_page(
    client, resident, django_capture_on_commit_callbacks, s3_media, settings, request, storage_fails
):
    export = _prepare(resident, django_capture_on_commit_callbacks)
    settings.STORAGES = {**settings.STORAGES, "default": storage_fails(request, s3_media)}
    client.force_login(resident)
    response = client.get(reverse("privacy:data_download", args=[export.pk]))
    assert response.status_code == 410
    assert "We could not read the file of this download" in response.content.decode()


@pytest.mark.django_db
def test_another_user_gets_404_and_nobody_signed_in_is_sent_to_sign_in(
    client, resident, second_resident, django_capture_on_commit_callbacks
):
    export = _prepare(resident, django_capture_on_commit_callbacks)
    link = reverse("privacy:data_download", args=[export.pk])
    response = client.get(link)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    client.force_login(second_resident)
    assert client.get(link).status_code == 404
    assert client.get("/privacy/your-data/not-a-uuid/download/").status_code == 404


@pytest.mark.django_db
def test_the_link_expires_and_its_file_is_deleted(
    client, resident, django_capture_on_commit_callbacks, settings
):
    settings.PRIVACY_EXPORT_DAYS = 7
    export = _prepare(resident, django_capture_on_commit_callbacks)
    link = reverse("privacy:data_download", args=[export.pk])
    client.force_login(resident)
    with time_machine.travel(timezone.now() + timedelta(days=6, hours=23)):
        client.force_login(resident)  # a new session: the first one timed out
        assert client.get(link).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=7, minutes=1)):
        client.force_login(resident)
        # Past its time: refused even before the job ran...
        response = client.get(link)
        assert response.status_code == 410
        assert "no longer available" in response.content.decode()
        # ...and the job deletes the file.
        with django_capture_on_commit_callbacks(execute=True):
            assert exports.exports_expire() == 1
        assert exports.exports_expire() == 0
    export.refresh_from_db()
    assert export.status == DataExport.Status.EXPIRED
    assert export.storage_name == ""
    assert not default_storage.exists(f"privacy/exports/{export.pk.hex[:2]}/{export.pk.hex}.bin")
    client.force_login(resident)
    assert client.get(link).status_code == 410


@pytest.mark.django_db
def test_a_download_stuck_in_preparation_is_given_up(resident, settings):
    settings.PRIVACY_EXPORT_STALE_MINUTES = 60
    export, _created = exports.export_request(user=resident, language="en", actor=resident)
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        assert exports.exports_expire() == 1
    export.refresh_from_db()
    assert export.status == DataExport.Status.FAILED
    assert export.failure == "timed_out"


@pytest.mark.django_db
def test_rows_of_downloads_long_gone_are_forgotten(resident, settings):
    export, _created = exports.export_request(user=resident, language="en", actor=resident)
    with time_machine.travel(timezone.now() + timedelta(days=1)):
        exports.exports_expire()  # given up: failed
    export.refresh_from_db()
    assert export.status == DataExport.Status.FAILED
    with time_machine.travel(timezone.now() + exports.FORGET_AFTER - timedelta(days=1)):
        exports.exports_expire()
    assert DataExport.objects.filter(pk=export.pk).exists()
    with time_machine.travel(timezone.now() + exports.FORGET_AFTER + timedelta(days=1)):
        assert exports.exports_expire() == 1
    assert not DataExport.objects.filter(pk=export.pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["fr", "ar"])
def test_the_summary_is_in_the_residents_language(
    resident, django_capture_on_commit_callbacks, language
):
    with django_capture_on_commit_callbacks(execute=True):
        export, _created = exports.export_request(user=resident, language=language, actor=resident)
    export.refresh_from_db()
    assert export.language == language
    assert export.status == DataExport.Status.READY
    members = _members(export)
    assert json.loads(members["data.json"])["language"] == language
    # The resident's own words come out as they are, also right to left.
    assert "Alex Morgan" in _pdf_text(members["summary.pdf"])


def test_the_export_file_lists_a_new_user_too(db, django_capture_on_commit_callbacks):
    """A resident with nothing but an account still gets every source (empty lists)."""
    user = UserFactory(email="new@example.test", full_name="Nia New")
    export = _prepare(user, django_capture_on_commit_callbacks)
    data = json.loads(_members(export)["data.json"])
    assert data["sources"]["cases"]["items"] == []
    assert data["sources"]["accounts"]["items"][0]["email"] == "new@example.test"


@pytest.mark.django_db
def test_downloading_needs_the_password_again_after_a_while(
    client, resident, django_capture_on_commit_callbacks, settings
):
    export = _prepare(resident, django_capture_on_commit_callbacks)
    link = reverse("privacy:data_download", args=[export.pk])
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.post(reverse("account_login"), {"login": resident.email, "password": PASSWORD})
        assert client.get(link).status_code == 200
    later = start.timestamp() + settings.ACCOUNT_REAUTHENTICATION_TIMEOUT + 60
    with time_machine.travel(later, tick=False):
        response = client.get(link)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_reauthenticate"))
        back = client.post(response["Location"], {"password": PASSWORD})
        assert back.status_code == 302
        assert back["Location"] == link
        assert client.get(link).status_code == 200
    export.refresh_from_db()
    assert export.downloads == 2


@pytest.mark.django_db
def test_no_source_asks_the_database_once_per_record(world, resident, shed, works):  # noqa: F811
    """Each source reads a resident's records in a fixed number of queries: a second
    application (and its notifications), bill, document and remark add no query (an N+1
    would add one each)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_per_source() -> dict[str, int]:
        counts = {}
        for data in registry.personal_data_in_order():
            exported = data.export(resident)
            with CaptureQueriesContext(connection) as captured:
                exported = data.export(resident)
                # Reading the listed items must not query either (lazy relations).
                json.dumps(exported, default=str)
            counts[data.name] = len(captured.captured_queries)
        return counts

    before = queries_per_source()
    submit_shed(shed, resident, answers={**SHED_ANSWERS, "applicant_name": "A"})
    bill = business_with(resident, works, number=987654)
    payment_record_offline(bill=bill, amount_minor=bill.balance_minor)
    issue(resident, reference=f"RIV-BP-9{resident.pk:05d}", holder_name="A", printed=[])
    remark_send(
        kind="suggestion",
        about=About(department=works),
        text="More",
        author=resident,
        confirmed=True,
    )
    assert queries_per_source() == before
