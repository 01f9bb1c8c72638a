"""The resident's journey through the pages, for a service defined only by a file."""

from __future__ import annotations

import pytest
from django.urls import reverse

from ecitizen.cases.models import Case, Draft

from .support import pdf_file


def _follow(client, response):
    assert response.status_code == 302, response.content.decode()[:2000]
    return response["Location"]


def test_apply_check_answers_and_send(client, shed, resident):
    client.force_login(resident)
    start = client.get(reverse("catalogue:start", args=["shed-permit"]))
    assert "Start now" in start.content.decode()
    url = _follow(client, client.get(reverse("cases:apply_start", args=["shed-permit"])))
    assert "/eligibility/owns_property/" in url
    # No answer: a clear error, nothing lost.
    page = client.post(url, {})
    assert "Select yes if you own the property" in page.content.decode()
    url = _follow(client, client.post(url, {"answer": "yes"}))
    assert url.endswith("/page/shed/")
    page = client.post(url, {"shed_value": "12x", "material": "wood"})
    body = page.content.decode()
    assert "The cost of the shed must be an amount, like 1250 or 1250.50" in body
    assert 'value="wood"' in body
    url = _follow(client, client.post(url, {"shed_value": "800", "material": "wood"}))
    assert url.endswith("/page/treatment/")
    url = _follow(client, client.post(url, {"treated": "no"}))
    assert url.endswith("/page/plans/")
    # Content decides, not the name: a PNG called .pdf is refused.
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
    from django.core.files.uploadedfile import SimpleUploadedFile

    page = client.post(
        url, {"plan_files": SimpleUploadedFile("plans.pdf", png, content_type="application/pdf")}
    )
    assert "must be a PDF" in page.content.decode()
    url = _follow(client, client.post(url, {"plan_files": pdf_file()}))
    assert url.endswith("/page/contact/")
    page = client.get(url)
    assert resident.profile.legal_name in page.content.decode()  # prefilled from the profile
    url = _follow(client, client.post(url, {"applicant_name": resident.profile.legal_name}))
    assert url.endswith("/check/")
    check = client.get(url).content.decode()
    assert "£25.00" in check
    assert "plans.pdf" in check
    assert "Change" in check
    refused = client.post(url, {})
    assert "Confirm that the information" in refused.content.decode()
    done = _follow(client, client.post(url, {"declaration": "on"}))
    case = Case.objects.get()
    assert done == reverse("cases:confirmation", args=[case.reference])
    # A second submission (double click, second tab) lands on the same confirmation.
    again = _follow(client, client.post(url, {"declaration": "on"}))
    assert again == done
    assert Case.objects.count() == 1
    # Going back to a question page after sending leads to the confirmation.
    draft = Draft.objects.get()
    back = client.get(reverse("cases:page", args=[draft.pk, "shed"]))
    assert back["Location"] == done
    confirmation = client.get(done).content.decode()
    assert case.reference in confirmation
    assert "What happens next" in confirmation


def test_a_changed_answer_returns_to_check_your_answers(client, shed, resident):
    from .support import submit_shed  # noqa: F401 - shows the complete answers used

    client.force_login(resident)
    url = _follow(client, client.get(reverse("cases:apply_start", args=["shed-permit"])))
    url = _follow(client, client.post(url, {"answer": "yes"}))
    url = _follow(client, client.post(url, {"shed_value": "800", "material": "metal"}))
    assert url.endswith("/page/plans/")  # the wood page is skipped
    url = _follow(client, client.post(url, {"plan_files": pdf_file()}))
    url = _follow(client, client.post(url, {"applicant_name": "Alex Morgan"}))
    draft = Draft.objects.get()
    change = reverse("cases:page", args=[draft.pk, "shed"]) + "?return=check"
    # Changing to wood reveals a new page, which is asked before returning.
    nxt = _follow(client, client.post(change, {"shed_value": "800", "material": "wood"}))
    assert nxt.endswith("/page/treatment/")
    nxt = _follow(client, client.post(nxt, {"treated": "yes"}))
    assert nxt.endswith("/check/")


def test_ineligible_shows_the_reason(client, shed, resident):
    client.force_login(resident)
    url = _follow(client, client.get(reverse("cases:apply_start", args=["shed-permit"])))
    url = _follow(client, client.post(url, {"answer": "no"}))
    assert "/cannot-apply/" in url
    assert "Only the owner of a property can apply." in client.get(url).content.decode()


def test_catalogue_search_finds_synonyms(client, shed, garden):
    page = client.get(reverse("catalogue:search"), {"q": "brown bins"}).content.decode()
    assert "Sign up for garden waste collection" in page
    page = client.get(reverse("catalogue:search"), {"q": "outbuilding"}).content.decode()
    assert "garden shed permit" in page
    page = client.get(reverse("catalogue:search"), {"q": "zzzz"}).content.decode()
    assert "0 results" in page


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("1250", "1250.00"), ("£1,250.50", "1250.50"), ("1 250,50", "1250.50"), ("99,5", "99.50")],
)
def test_amounts_are_read_as_people_type_them(typed, stored):
    from ecitizen.cases.forms import QuestionPageForm

    question = {"id": "value", "type": "money", "label": {"en": "Cost"}}
    form = QuestionPageForm(
        {"value": typed},
        page={"id": "p", "questions": [question]},
        questions=[question],
        files_present=set(),
    )
    assert form.is_valid(), form.errors
    assert form.answers() == {"value": stored}


def test_only_a_page_with_a_question_to_prefill_reads_the_profile(client, shed, resident):
    """A profile is nine fields to decrypt: a page prefilling none does not read it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from ecitizen.accounts.models import ResidentProfile

    profile_table = ResidentProfile._meta.db_table
    client.force_login(resident)
    url = _follow(client, client.get(reverse("cases:apply_start", args=["shed-permit"])))
    url = _follow(client, client.post(url, {"answer": "yes"}))
    draft = Draft.objects.get()

    def profile_reads(page_id: str) -> tuple[int, str]:
        with CaptureQueriesContext(connection) as queries:
            page = client.get(reverse("cases:page", args=[draft.pk, page_id]))
        assert page.status_code == 200
        reads = [q["sql"] for q in queries.captured_queries if profile_table in q["sql"]]
        return len(reads), page.content.decode()

    assert profile_reads("shed")[0] == 0
    reads, contact = profile_reads("contact")
    assert reads == 1
    assert resident.profile.legal_name in contact


def test_sending_reads_the_applicants_account_and_profile_once(client, shed, resident):
    """Sending one's own application reuses the account the request read (for the case's
    home ward and the "submitted" notifications): one read of the account, by the
    sign-in, and one of the profile, for the ward, which the notifications then reuse."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from ecitizen.accounts.models import ResidentProfile, User
    from ecitizen.notifications.models import Notification

    client.force_login(resident)
    url = _follow(client, client.get(reverse("cases:apply_start", args=["shed-permit"])))
    url = _follow(client, client.post(url, {"answer": "yes"}))
    url = _follow(client, client.post(url, {"shed_value": "800", "material": "wood"}))
    url = _follow(client, client.post(url, {"treated": "no"}))
    url = _follow(client, client.post(url, {"plan_files": pdf_file()}))
    url = _follow(client, client.post(url, {"applicant_name": resident.profile.legal_name}))
    assert url.endswith("/check/")

    def reads(table: str) -> int:
        return sum(
            1
            for query in captured.captured_queries
            if query["sql"].startswith("SELECT") and f'FROM "{table}"' in query["sql"]
        )

    with CaptureQueriesContext(connection) as captured:
        _follow(client, client.post(url, {"declaration": "on"}))
    case = Case.objects.get()
    assert case.ward_id == resident.profile.ward_id
    assert Notification.objects.filter(recipient=resident).exists()
    assert reads(User._meta.db_table) == 1
    assert reads(ResidentProfile._meta.db_table) == 1
