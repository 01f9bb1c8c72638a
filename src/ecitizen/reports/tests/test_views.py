"""The street-report pages: "report a problem" page by page (signed in, anonymous with the
emailed link, by street search or by a pin), every error message on its page with
nothing lost, one report for a double submit, "me too", and the public pages (list,
report, photos, feeds) showing nothing personal."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from ecitizen.catalogue.services import service_definitions_publish
from ecitizen.notifications.models import Notification
from ecitizen.reports import journey, selectors, services
from ecitizen.reports.models import Report, ReportSupporter
from tests.factories import DepartmentFactory

from .conftest import LONDON, RIVERSIDE, RIVERSIDE_20M, jpeg_with_gps

CATEGORIES = Path(__file__).resolve().parent.parent / "categories"


@pytest.fixture
def riverton_categories(works, wards):
    """Riverton's eight categories (published as the demo does)."""
    DepartmentFactory(slug="transport-licensing", name="Transport & Licensing")
    service_definitions_publish(directory=CATEGORIES, actor=None)


def _errors(response) -> list[tuple[str, str]]:
    """The error summary's (text, link) pairs."""
    html = response.content.decode()
    summary = re.search(r'<div class="govuk-error-summary".*?</ul>', html, re.S)
    if not summary:
        return []
    return [
        (re.sub(r"\s+", " ", text).strip(), href)
        for href, text in re.findall(r'<a href="([^"]*)">(.*?)</a>', summary.group(0), re.S)
    ]


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def _report(reporter, point=RIVERSIDE, **overrides):
    values = {
        "category": "pothole",
        "latitude": point[0],
        "longitude": point[1],
        "title": "Deep pothole outside number 12",
        "description": "About 30 cm wide, cyclists swerve round it.",
        "address": "Towpath Road",
        "answers": {"hazard": True},
    }
    values.update(overrides)
    return services.report_submit(
        data=services.ReportInput(**values), reporter=reporter, actor=reporter
    )


def _png(name="photo.png") -> SimpleUploadedFile:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 10, 10)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def _to_where(client, category="pothole"):
    response = client.post(reverse("reports:start"), {"category": category})
    assert response.status_code == 302
    assert response["Location"] == reverse("reports:where")


def _by_street(client, query="towpath", **extra):
    page = client.get(reverse("reports:where"), {"q": query})
    value = re.search(r'name="place" value="([^"]+)"', page.content.decode()).group(1)
    return client.post(
        reverse("reports:where") + f"?q={query}", {"place": value, "where": "", **extra}
    )


def _to_check(client, *, photos=(), anonymous_email=""):
    """From the category to check your answers, by street search."""
    _to_where(client)
    response = _by_street(client, where="Outside number 12")
    assert response["Location"] == reverse("reports:describe")
    response = client.post(
        reverse("reports:describe"),
        {"title": "Deep pothole", "description": "Cyclists swerve round it."},
    )
    assert response["Location"] == reverse("reports:questions", args=["details"])
    response = client.post(reverse("reports:questions", args=["details"]), {"hazard": "yes"})
    assert response["Location"] == reverse("reports:photos")
    response = client.post(reverse("reports:photos"), {"photos": list(photos)})
    assert response["Location"] == reverse("reports:about")
    about = {"show_name": "no"}
    if anonymous_email:
        about.update(email=anonymous_email, name="Sam Walker")
    response = client.post(reverse("reports:about"), about)
    assert response["Location"] == reverse("reports:check")


# --- the journey, signed in ------------------------------------------------------------------


def test_categories_are_grouped_in_the_active_language_and_one_must_be_chosen(
    client, riverton_categories
):
    page = client.get(reverse("reports:start"))
    text = _text(page)
    assert "Roads and pavements" in text
    assert "Street lighting" in text
    assert text.index("Roads and pavements") < text.index("Pothole") < text.index("Street lighting")

    response = client.post(reverse("reports:start"), {})
    assert _errors(response) == [("Select the kind of problem", "#id_category_0")]
    assert "<title>Error:" in response.content.decode()
    assert 'id="id_category_0"' in response.content.decode()

    french = client.get(reverse("reports:start"), HTTP_ACCEPT_LANGUAGE="fr")
    assert "Nid-de-poule" in _text(french) or "Nid de poule" in _text(french)


def test_a_signed_in_resident_reports_by_street_search_with_a_photo(
    client, pothole, resident, django_capture_on_commit_callbacks
):
    client.force_login(resident)
    _to_check(client, photos=[jpeg_with_gps()])
    check = client.get(reverse("reports:check"))
    text = _text(check)
    for expected in (
        "Pothole",
        "Outside number 12, Towpath Road, RV2 2EB",
        "Riverside ward",
        "Deep pothole",
    ):
        assert expected in text
    assert "Is it a hazard to traffic? Yes" in text

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("reports:check"))
    assert response["Location"] == reverse("reports:sent")
    report = Report.objects.get()
    assert report.reporter == resident
    assert report.is_public
    assert report.address == "Outside number 12, Towpath Road, RV2 2EB"
    assert report.ward.code == "riverside"
    assert report.case.answers == {"hazard": True}
    assert len(selectors.report_photos_public(report)) == 1
    sent = client.get(reverse("reports:sent"))
    assert report.reference in _text(sent)
    # The journey is over: its pages start again, going back shows the confirmation.
    assert journey.SESSION_KEY not in client.session
    assert client.get(reverse("reports:check"))["Location"] == reverse("reports:sent")


def test_a_double_submit_makes_one_report(client, pothole, resident):
    client.force_login(resident)
    _to_check(client)
    first = client.post(reverse("reports:check"))
    second = client.post(reverse("reports:check"))
    assert first["Location"] == second["Location"] == reverse("reports:sent")
    assert Report.objects.count() == 1


def test_a_submit_racing_another_one_waits_for_its_result(client, pothole, resident):
    """Two requests of one journey at once: the second finds the first one's lock, and
    takes its result instead of sending a second report."""
    client.force_login(resident)
    _to_check(client)
    token = client.session[journey.SESSION_KEY]["token"]
    cache.add(f"reports:submitting:{token}", "1", 60)
    cache.set(
        f"reports:submitted:{token}",
        {"id": 1, "reference": "RIV-PHT-1", "confirmed": True, "email": "", "category": "x"},
        60,
    )
    response = client.post(reverse("reports:check"))
    assert response["Location"] == reverse("reports:sent")
    assert not Report.objects.exists()
    assert "RIV-PHT-1" in _text(client.get(reverse("reports:sent")))


def test_a_pin_on_the_map_is_named_by_the_nearest_street(client, pothole, resident):
    client.force_login(resident)
    _to_where(client)
    response = client.post(
        reverse("reports:where"), {"lat": str(RIVERSIDE[0]), "lon": str(RIVERSIDE[1])}
    )
    assert response["Location"] == reverse("reports:describe")
    state = client.session[journey.SESSION_KEY]
    assert state["ward"] == "riverside"
    assert state["street"] == "Towpath Road"


def test_a_point_outside_the_area_is_refused_on_the_where_page_and_nothing_is_lost(client, pothole):
    _to_where(client)
    response = client.post(
        reverse("reports:where"),
        {"lat": str(LONDON[0]), "lon": str(LONDON[1]), "where": "By the bus stop"},
    )
    assert response.status_code == 200
    message = "This place is outside Riverton. We can only fix problems in Riverton."
    assert _errors(response) == [(message, "#report-map")]
    assert 'id="location-error"' in response.content.decode()
    assert 'value="By the bus stop"' in response.content.decode()
    assert "lat" not in client.session[journey.SESSION_KEY]


def test_where_says_what_is_missing(client, pothole):
    _to_where(client)
    response = client.post(reverse("reports:where"), {})
    assert _errors(response) == [
        (
            "Select where the problem is on the map, or search for a street or postcode",
            "#id_q",
        )
    ]
    # Searched, but no street chosen.
    response = client.post(reverse("reports:where") + "?q=towpath", {})
    assert _errors(response) == [("Select the street", "#id_place_0")]
    assert "Towpath Road, RV2 2EB" in _text(response)
    # Nothing matches.
    page = client.get(reverse("reports:where"), {"q": "zzzz"})
    assert "No street or postcode matches “zzzz”" in _text(page)


def test_a_missing_summary_is_explained_and_the_details_are_kept(client, pothole):
    _to_where(client)
    _by_street(client)
    response = client.post(
        reverse("reports:describe"), {"title": "", "description": "Cyclists swerve round it."}
    )
    assert _errors(response) == [("Enter a summary of the problem", "#id_title")]
    assert "Cyclists swerve round it." in response.content.decode()
    response = client.post(reverse("reports:describe"), {"title": "x" * 121, "description": ""})
    assert _errors(response) == [
        ("The summary must be 120 characters or fewer", "#id_title"),
        ("Enter details of the problem", "#id_description"),
    ]


def test_the_categorys_own_questions_use_its_messages(client, pothole):
    _to_where(client)
    _by_street(client)
    client.post(reverse("reports:describe"), {"title": "Hole", "description": "Deep."})
    response = client.post(reverse("reports:questions", args=["details"]), {})
    assert _errors(response) == [("Select yes if it is a hazard to traffic", "#id_hazard_0")]


def _to_photos(client):
    _to_where(client)
    _by_street(client)
    client.post(reverse("reports:describe"), {"title": "Hole", "description": "Deep."})
    client.post(reverse("reports:questions", args=["details"]), {"hazard": "no"})


def test_a_file_that_is_not_an_image_is_refused_by_name_and_the_good_ones_are_kept(client, pothole):
    _to_photos(client)
    fake = SimpleUploadedFile("notes.jpg", b"not an image at all", content_type="image/jpeg")
    response = client.post(reverse("reports:photos"), {"photos": [fake, _png()]})
    assert response.status_code == 200
    assert _errors(response) == [
        ("notes.jpg: The selected file must be a JPG, PNG or WebP photo", "#id_photos")
    ]
    held = client.session[journey.SESSION_KEY]["photos"]
    assert [photo["name"] for photo in held] == ["photo.png"]
    assert "photo.png" in _text(response)
    # The photo held is this session's to see, nobody else's.
    key = held[0]["key"]
    shown = client.get(reverse("reports:held_photo", args=[key]))
    assert shown.status_code == 200
    assert shown["Content-Type"] == "image/png"
    from django.test import Client

    assert Client().get(reverse("reports:held_photo", args=[key])).status_code == 404


def test_too_many_photos_are_refused_and_none_is_added(client, pothole):
    _to_photos(client)
    response = client.post(
        reverse("reports:photos"), {"photos": [_png(f"{n}.png") for n in range(4)]}
    )
    assert _errors(response) == [("You can add up to 3 photos", "#id_photos")]
    assert not client.session[journey.SESSION_KEY].get("photos")
    client.post(reverse("reports:photos"), {"photos": [_png("a.png")], "add_another": "1"})
    response = client.post(
        reverse("reports:photos"), {"photos": [_png(f"{n}.png") for n in range(3)]}
    )
    assert _errors(response) == [
        ("You can add up to 3 photos. You have already added 1 photo.", "#id_photos")
    ]
    # A photo can be removed.
    key = client.session[journey.SESSION_KEY]["photos"][0]["key"]
    client.post(reverse("reports:photos"), {"remove": key})
    assert client.session[journey.SESSION_KEY]["photos"] == []
    assert journey.photo_held(key) is None


def test_an_oversized_photo_is_refused_with_the_limit(client, pothole, settings):
    settings.REPORTS_PHOTO_MAX_BYTES = 1024
    _to_photos(client)
    response = client.post(reverse("reports:photos"), {"photos": [jpeg_with_gps("big.jpg")]})
    assert _errors(response) == [
        ("big.jpg: The selected file must be smaller than 1 KB", "#id_photos")
    ]
    assert not client.session[journey.SESSION_KEY].get("photos")


def test_a_photo_the_cache_lost_is_asked_for_again(client, pothole, resident):
    client.force_login(resident)
    _to_check(client, photos=[_png()])
    key = client.session[journey.SESSION_KEY]["photos"][0]["key"]
    journey.photo_release(key)
    response = client.post(reverse("reports:check"))
    assert _errors(response) == [
        (
            "We could not keep your photos. Add them again, then send your report.",
            reverse("reports:photos") + "?return=check",
        )
    ]
    assert not Report.objects.exists()
    assert client.get(reverse("reports:check"))["Location"] == reverse("reports:photos")


def test_back_links_and_change_links(client, pothole, resident):
    client.force_login(resident)
    _to_check(client)
    expected_back = {
        "reports:where": reverse("reports:start"),
        "reports:describe": reverse("reports:where"),
        "reports:photos": reverse("reports:questions", args=["details"]),
        "reports:about": reverse("reports:photos"),
        "reports:check": reverse("reports:about"),
    }
    for name, back in expected_back.items():
        html = client.get(reverse(name)).content.decode()
        assert f'href="{back}" class="govuk-back-link"' in html, name
    # Answers are shown again on their page.
    assert 'value="Deep pothole"' in client.get(reverse("reports:describe")).content.decode()
    # A change from check your answers goes back there.
    response = client.post(
        reverse("reports:describe") + "?return=check",
        {"title": "Deeper pothole", "description": "Cyclists swerve round it."},
    )
    assert response["Location"] == reverse("reports:check")
    # The same category again keeps the answers.
    response = client.post(reverse("reports:start") + "?return=check", {"category": "pothole"})
    assert response["Location"] == reverse("reports:check")


def test_another_category_asks_its_own_questions_and_offers_its_own_reports(
    client, riverton_categories, resident, second_resident
):
    services.report_submit(
        data=services.ReportInput(
            category="streetlight",
            latitude=RIVERSIDE_20M[0],
            longitude=RIVERSIDE_20M[1],
            title="Lamp out",
            description="Dark at night.",
            answers={"fault": "out", "lamp_number": "", "several_out": ""},
        ),
        reporter=second_resident,
        actor=second_resident,
    )
    client.force_login(resident)
    _to_where(client)
    client.post(reverse("reports:where"), {"lat": str(RIVERSIDE[0]), "lon": str(RIVERSIDE[1])})
    client.post(reverse("reports:describe"), {"title": "Hole", "description": "Deep."})
    client.post(
        reverse("reports:questions", args=["details"]),
        {"location": "road", "size": "", "hazard": "yes"},
    )
    client.post(reverse("reports:photos"), {})
    client.post(reverse("reports:about"), {"show_name": "no"})
    assert client.get(reverse("reports:check")).status_code == 200

    response = client.post(reverse("reports:start") + "?return=check", {"category": "streetlight"})
    # The open streetlight report 20 m away is offered first, then its questions.
    assert response["Location"] == reverse("reports:nearby") + "?return=check"
    assert "Lamp out" in _text(client.get(reverse("reports:nearby")))
    response = client.post(reverse("reports:nearby") + "?return=check")
    assert response["Location"] == reverse("reports:questions", args=["details"]) + "?return=check"
    assert "answers" not in client.session[journey.SESSION_KEY]


def test_pages_opened_too_early_send_the_resident_to_the_first_unanswered_one(client, pothole):
    assert client.get(reverse("reports:check"))["Location"] == reverse("reports:start")
    _to_where(client)
    assert client.get(reverse("reports:photos"))["Location"] == reverse("reports:where")


# --- the journey, not signed in --------------------------------------------------------------


def test_an_anonymous_reporter_confirms_by_the_emailed_link(
    client, pothole, django_capture_on_commit_callbacks
):
    _to_where(client)
    _by_street(client)
    client.post(reverse("reports:describe"), {"title": "Hole", "description": "Deep."})
    client.post(reverse("reports:questions", args=["details"]), {"hazard": "yes"})
    client.post(reverse("reports:photos"), {})
    response = client.post(reverse("reports:about"), {"show_name": "yes", "email": ""})
    assert _errors(response) == [
        ("Enter your name, or select no to keep it off the report", "#id_name"),
        ("Enter your email address", "#id_email"),
    ]
    client.post(
        reverse("reports:about"),
        {"show_name": "yes", "name": "Sam Walker", "email": "walker@example.test"},
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("reports:check"))
    assert response["Location"] == reverse("reports:sent")
    sent = _text(client.get(reverse("reports:sent")))
    assert "Check your email" in sent
    assert "walker@example.test" in sent
    report = Report.objects.get()
    assert not report.is_public
    assert report.case_id is None

    body = Notification.objects.get(event="report_confirm").body
    path = re.search(r"(/reports/confirm/[^/\s]+/)", body).group(1)
    # Opening the link (a mail scanner would) changes nothing.
    page = client.get(path)
    assert page.status_code == 200
    assert "Send my report" in _text(page)
    report.refresh_from_db()
    assert report.case_id is None
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(path)
    report.refresh_from_db()
    assert report.is_public
    assert report.reference in _text(response)
    detail = _text(client.get(reverse("reports:detail", args=[report.reference])))
    assert "by Sam Walker" in detail
    assert "walker@example.test" not in detail


def test_a_wrong_confirmation_link_is_explained(client, db):
    response = client.post(reverse("reports:confirm", args=["not-a-token"]))
    assert response.status_code == 400
    assert "This link is not valid. Report the problem again." in _text(response)


# --- is it one of these? me too ----------------------------------------------------------------


def test_open_reports_nearby_are_offered_before_a_duplicate(
    client, pothole, resident, second_resident
):
    existing = _report(resident, RIVERSIDE_20M)
    client.force_login(second_resident)
    _to_where(client)
    response = client.post(
        reverse("reports:where"), {"lat": str(RIVERSIDE[0]), "lon": str(RIVERSIDE[1])}
    )
    assert response["Location"] == reverse("reports:nearby")
    page = client.get(reverse("reports:nearby"))
    text = _text(page)
    assert existing.title in text
    assert "20 metres away" in text
    assert "Reported" in text
    # "No, report a new problem" continues.
    response = client.post(reverse("reports:nearby"))
    assert response["Location"] == reverse("reports:describe")
    # "Me too" from the journey supports the report and ends the journey.
    response = client.post(reverse("reports:support", args=[existing.reference]) + "?from=journey")
    assert response["Location"] == reverse("reports:detail", args=[existing.reference])
    assert ReportSupporter.objects.filter(report=existing, user=second_resident).exists()
    assert journey.SESSION_KEY not in client.session
    existing.refresh_from_db()
    assert existing.supporters_count == 1


def test_me_too_needs_signing_in_and_asks_again_after(client, pothole, resident, second_resident):
    existing = _report(resident)
    url = reverse("reports:support", args=[existing.reference])
    response = client.post(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    client.force_login(second_resident)
    page = client.get(url)
    assert page.status_code == 200
    assert "Do you have this problem too?" in _text(page)
    assert not ReportSupporter.objects.exists()


# --- public pages --------------------------------------------------------------------------------


def test_a_report_page_shows_what_the_public_may_see(
    client, pothole, resident, second_resident, django_assert_max_num_queries
):
    report = _report(resident, photos=[jpeg_with_gps()])
    services.report_support(report=report, user=second_resident)
    with django_assert_max_num_queries(8):
        page = client.get(reverse("reports:detail", args=[report.reference]))
    text = _text(page)
    for expected in (report.title, "Pothole", "Towpath Road", "Riverside ward", "Reported"):
        assert expected in text
    assert "1 person has said “me too”" in text
    assert resident.email not in text
    assert resident.full_name not in text
    (photo,) = selectors.report_photos_public(report)
    assert reverse("reports:photo", args=[photo.public_id]) in page.content.decode()

    served = client.get(reverse("reports:photo", args=[photo.public_id]))
    assert served.status_code == 200
    assert served["Content-Type"] == "image/jpeg"
    assert served["Cache-Control"] == "public, max-age=600"
    again = client.get(
        reverse("reports:photo", args=[photo.public_id]), HTTP_IF_NONE_MATCH=served["ETag"]
    )
    assert again.status_code == 304

    services.report_photo_hide(photo=photo, reason="A face", actor=None)
    assert client.get(reverse("reports:photo", args=[photo.public_id])).status_code == 404
    services.report_hide(report=report, reason="Abusive", actor=None)
    assert client.get(reverse("reports:detail", args=[report.reference])).status_code == 404


def test_a_fixed_report_says_how_long_the_fix_took(client, pothole, resident):
    from datetime import timedelta

    from ecitizen.reports.models import ReportUpdate

    report = _report(resident)
    # As report_follow_case leaves a report its case closed as fixed.
    Report.objects.filter(pk=report.pk).update(state="fixed", is_open=False)
    ReportUpdate.objects.create(
        report=report,
        state="fixed",
        is_open=False,
        text="Filled and resurfaced.",
        by_label="Public Works",
        created_at=report.requested_at + timedelta(days=3, hours=2),
    )
    text = _text(client.get(reverse("reports:detail", args=[report.reference])))
    assert "Fixed 3 days after it was reported" in text
    assert "Filled and resurfaced. " in text
    assert text.index("Reported \u2013") < text.index("Fixed \u2013")
    assert "Me too" not in text  # a closed report takes no "me too"


def test_a_merged_report_links_the_surviving_one(client, pothole, resident, second_resident):
    survivor = _report(resident)
    duplicate = _report(second_resident, RIVERSIDE_20M)
    services.report_merge(duplicate=duplicate, into=survivor, actor=None)
    text = _text(client.get(reverse("reports:detail", args=[duplicate.reference])))
    assert f"{survivor.reference}: {survivor.title}" in text
    assert "Me too" not in text


def test_the_list_filters_pages_and_searches_around_a_place(
    client, pothole, resident, django_assert_max_num_queries
):
    near = _report(resident, title="Near the river")
    far = _report(resident, (52.2098, -2.2140), title="Up in Northgate")
    services.report_hide(report=_report(resident, title="Hidden one"), reason="x", actor=None)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("reports:list"))
    text = _text(page)
    assert "Near the river" in text
    assert "Up in Northgate" in text
    assert "Hidden one" not in text
    assert "2 problems" in text

    text = _text(client.get(reverse("reports:list"), {"q": "towpath"}))
    assert "Problems reported near Towpath Road, RV2 2EB" in text
    assert "Near the river" in text
    assert "Up in Northgate" not in text

    text = _text(client.get(reverse("reports:list"), {"ward": "northgate"}))
    assert "Up in Northgate" in text
    assert "Near the river" not in text
    assert (
        reverse("reports:feed_ward", args=["northgate"])
        in client.get(reverse("reports:list"), {"ward": "northgate"}).content.decode()
    )

    assert "0 problems" in _text(client.get(reverse("reports:list"), {"status": "closed"}))
    # A stale or made-up filter shows the list, not an error.
    response = client.get(reverse("reports:list"), {"category": "unicorn", "page": "99"})
    assert response.status_code == 200
    assert "2 problems" in _text(response)
    assert far.pk
    assert near.pk


def test_the_list_is_paged(client, pothole, resident):
    from ecitizen.reports.views import LIST_PAGE_SIZE

    for number in range(LIST_PAGE_SIZE + 1):
        Report.objects.create(
            reporter=resident,
            category="pothole",
            latitude=RIVERSIDE[0],
            longitude=RIVERSIDE[1],
            title=f"Report {number}",
            description="x",
            state="received",
            reference=f"RIV-PHT-T{number}",
            confirmed_at="2026-01-01T00:00:00Z",
        )
    text = _text(client.get(reverse("reports:list")))
    assert "Page 1 of 2" in text
    assert "Page 2 of 2" in _text(client.get(reverse("reports:list"), {"page": 2}))


def test_feeds_per_ward_and_per_category(client, pothole, resident):
    report = _report(resident)
    rss = client.get(reverse("reports:feed_ward", args=["riverside"]))
    assert rss.status_code == 200
    assert rss["Content-Type"].startswith("application/rss+xml")
    body = rss.content.decode()
    assert report.title in body
    assert report.reference in body
    assert resident.email not in body
    assert resident.full_name not in body
    atom = client.get(reverse("reports:feed_category_atom", args=["pothole"]))
    assert atom["Content-Type"].startswith("application/atom+xml")
    assert report.title in atom.content.decode()
    empty = client.get(reverse("reports:feed_ward", args=["northgate"])).content.decode()
    assert report.title not in empty
    assert client.get(reverse("reports:feed_ward", args=["atlantis"])).status_code == 404
    assert client.get(reverse("reports:feed_category", args=["unicorn"])).status_code == 404


def test_your_reports(client, pothole, resident, second_resident):
    own = _report(resident, title="My pothole")
    theirs = _report(second_resident, title="Their pothole")
    services.report_support(report=theirs, user=resident)
    _report(second_resident, title="Not mine")
    response = client.get(reverse("reports:mine"))
    assert response["Location"].startswith(reverse("account_login"))
    client.force_login(resident)
    text = _text(client.get(reverse("reports:mine")))
    assert own.title in text
    assert theirs.title in text
    assert "Not mine" not in text
    assert "You said “me too”" in text


def test_the_wards_for_the_map(client, db):
    response = client.get(reverse("reports:wards"))
    assert response.status_code == 200
    assert len(response.json()["features"]) == 8
    assert "public" in response["Cache-Control"]


def test_the_map_is_left_out_without_tiles(client, pothole, settings):
    _to_where(client)
    assert 'data-report-map="pick"' in client.get(reverse("reports:where")).content.decode()
    settings.MAP_TILE_URL = ""
    html = client.get(reverse("reports:where")).content.decode()
    assert "data-report-map" not in html
    assert "leaflet.js" not in html
    assert 'id="id_q"' in html


def test_the_map_tiles_origin_is_allowed_by_the_content_security_policy(client, db):
    """The tiles come from MAP_TILE_URL's origin (OpenStreetMap by default): the CSP's
    img-src names it, and nothing else is added."""
    policy = client.get(reverse("reports:list"))["Content-Security-Policy"]
    images = next(part for part in policy.split(";") if part.strip().startswith("img-src"))
    assert images.split() == ["img-src", "'self'", "data:", "https://tile.openstreetmap.org"]
