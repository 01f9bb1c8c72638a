"""Email alerts of new street reports: setting one up (signed in at once, or by the
emailed link), the job that sends each new report once (reruns, a missed run, a report
made public just before a run), matching by ward, distance and category, the message in
the subscriber's language, stopping an alert (the emailed link, "Your alerts"), and no
address or watched place in clear in the alerts' table."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from io import StringIO
from pathlib import Path
from urllib.parse import quote

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from ecitizen.accounts.models import User
from ecitizen.accounts.services import preferences_update, user_create
from ecitizen.catalogue.services import service_definitions_publish
from ecitizen.core.registry import registry
from ecitizen.notifications.models import Notification
from ecitizen.reports import selectors, services
from ecitizen.reports.models import ReportAlert, ReportUpdate
from tests.factories import DepartmentFactory, UserFactory

from .conftest import LONDON, RIVERSIDE

CATEGORIES = Path(__file__).resolve().parent.parent / "categories"
T0 = datetime.fromisoformat("2026-03-02T09:00:00+00:00")
#: Metres north of RIVERSIDE, as degrees of latitude (the points stay on its meridian).
_DEGREE_M = 111195.0


def north(metres: float) -> tuple[float, float]:
    """A point ``metres`` north of RIVERSIDE (up to 520 m: Riverside ward; 990 m and
    beyond: Westhill)."""
    return (RIVERSIDE[0] + metres / _DEGREE_M, RIVERSIDE[1])


@pytest.fixture
def riverton(works, wards):
    """Riverton's eight categories (published as the demo does)."""
    DepartmentFactory(slug="transport-licensing", name="Transport & Licensing")
    service_definitions_publish(directory=CATEGORIES, actor=None)


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def _report(
    reporter, point=RIVERSIDE, *, category="pothole", title="Deep pothole", address="Towpath Road"
):
    answers = {"location": "road"} if category == "pothole" else {}
    return services.report_submit(
        data=services.ReportInput(
            category=category,
            latitude=point[0],
            longitude=point[1],
            title=title,
            description="Cyclists swerve round it.",
            address=address,
            answers=answers,
        ),
        reporter=reporter,
        actor=reporter,
    )


def _ward_alert(user, ward="riverside", category=""):
    return services.report_alert_subscribe(
        spec=services.AlertSpec(ward_code=ward, category=category), user=user
    )


def _area_alert(user, radius, point=RIVERSIDE, category="", label="Towpath Road, RV2 2EB"):
    return services.report_alert_subscribe(
        spec=services.AlertSpec(
            latitude=point[0],
            longitude=point[1],
            label=label,
            radius_m=radius,
            category=category,
        ),
        user=user,
    )


def _digests(user=None):
    found = Notification.objects.filter(event="report_alert").order_by("pk")
    return list(found.filter(recipient=user) if user is not None else found)


def _titles(notification) -> set[str]:
    return set(re.findall(r"^- (.+) \(", notification.body, re.M))


def _errors(response) -> list[tuple[str, str]]:
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


def _confirm_path(user) -> str:
    body = Notification.objects.filter(event="report_alert_confirm", recipient=user).last().body
    return re.search(r"https?://[^/\s]+(/reports/alerts/confirm/[^/\s]+/)", body).group(1)


def _unsubscribe_path(notification) -> str:
    return re.search(r"https?://[^/\s]+(/reports/alerts/stop/[^/\s]+/)", notification.body).group(1)


# --- the job -----------------------------------------------------------------------------------


def test_each_new_report_is_sent_once_across_reruns_and_a_missed_run(
    resident, second_resident, riverton, clock
):
    alert = _ward_alert(resident)
    assert alert.is_active  # a verified address: at once
    clock.shift(timedelta(minutes=1))
    first = _report(second_resident, title="Pothole by the lock")
    _report(second_resident, north(1500), title="Pothole in Westhill")  # another ward

    clock.shift(timedelta(minutes=14))
    run = services.report_alerts_send()
    assert (run.emails, run.reports) == (1, 1)
    (digest,) = _digests(resident)
    assert _titles(digest) == {"Pothole by the lock"}
    assert f"{settings.PUBLIC_BASE_URL}/reports/{first.reference}/" in digest.body
    assert digest.subject == "New problems reported in Riverside ward"
    assert "1 new problem has been reported." in digest.body

    # A rerun at once, and a later one with nothing new, send nothing.
    assert services.report_alerts_send().emails == 0
    clock.shift(timedelta(minutes=15))
    assert services.report_alerts_send().emails == 0
    assert len(_digests(resident)) == 1

    # A report, then runs missed for two hours: the next run sends it, and only it.
    clock.shift(timedelta(minutes=1))
    _report(second_resident, title="Pothole by the school")
    clock.shift(timedelta(hours=2))
    assert services.report_alerts_send().reports == 1
    latest = _digests(resident)[-1]
    assert _titles(latest) == {"Pothole by the school"}
    assert services.report_alerts_send().emails == 0
    alert.refresh_from_db()
    assert alert.last_sent_at == T0 + timedelta(minutes=15 + 15 + 1 + 120)


def test_a_report_made_public_just_before_a_run_waits_for_the_next_run(
    resident, second_resident, riverton, clock
):
    _ward_alert(resident)
    clock.shift(timedelta(minutes=10))
    _report(second_resident, title="Just now")
    # Its transaction might not have committed when a run starts: the run leaves it.
    clock.shift(timedelta(seconds=30))
    assert services.report_alerts_send().emails == 0
    clock.shift(services.ALERT_SETTLE)
    assert services.report_alerts_send().reports == 1
    assert _titles(_digests(resident)[0]) == {"Just now"}


def test_area_alerts_match_by_distance_and_category(
    resident, second_resident, outsider, riverton, clock
):
    potholes_250 = _area_alert(resident, 250, category="pothole")
    everything_1km = _area_alert(second_resident, 1000)
    clock.shift(timedelta(minutes=1))
    reporter = outsider
    _report(reporter, north(240), title="Pothole 240 m")
    _report(reporter, north(260), title="Pothole 260 m")
    _report(reporter, north(240), category="graffiti", title="Graffiti 240 m")
    _report(reporter, north(990), category="graffiti", title="Graffiti 990 m")
    _report(reporter, north(1010), title="Pothole 1010 m")
    clock.shift(timedelta(minutes=15))
    services.report_alerts_send()

    (near,) = _digests(potholes_250.user)
    assert _titles(near) == {"Pothole 240 m"}
    assert near.subject == "New problems reported within 250 metres of Towpath Road, RV2 2EB"
    (wide,) = _digests(everything_1km.user)
    assert _titles(wide) == {"Pothole 240 m", "Pothole 260 m", "Graffiti 240 m", "Graffiti 990 m"}
    assert "within 1 kilometre of Towpath Road, RV2 2EB (all problems)" in wide.body


def test_ward_alerts_match_their_ward_and_category_and_leave_out_hidden_merged_and_own(
    resident, second_resident, riverton, works_supervisor, clock
):
    _ward_alert(resident, category="graffiti")
    clock.shift(timedelta(minutes=1))
    _report(second_resident, category="graffiti", title="Graffiti on the bridge")
    _report(second_resident, title="A pothole, not graffiti")
    _report(second_resident, north(1500), category="graffiti", title="Graffiti in Westhill")
    _report(resident, category="graffiti", title="My own graffiti report")
    hidden = _report(second_resident, category="graffiti", title="Hidden graffiti")
    services.report_hide(report=hidden, reason="A name is written in it", actor=works_supervisor)
    survivor = _report(second_resident, category="graffiti", title="Graffiti, reported first")
    duplicate = _report(second_resident, category="graffiti", title="Graffiti, again")
    services.report_merge(duplicate=duplicate, into=survivor, actor=works_supervisor)
    clock.shift(timedelta(minutes=15))
    services.report_alerts_send()

    (digest,) = _digests(resident)
    assert _titles(digest) == {"Graffiti on the bridge", "Graffiti, reported first"}
    assert "(Graffiti)" in digest.body


def test_one_message_lists_the_20_newest_and_says_how_many_there_were(
    resident, second_resident, riverton, clock
):
    _ward_alert(resident)
    for number in range(1, 23):
        clock.shift(timedelta(seconds=10))
        _report(second_resident, category="graffiti", title=f"Graffiti number {number}")
    clock.shift(timedelta(minutes=15))
    run = services.report_alerts_send()
    assert (run.emails, run.reports) == (1, 22)
    (digest,) = _digests(resident)
    assert "22 new problems have been reported. Here are the 20 most recent." in digest.body
    assert _titles(digest) == {f"Graffiti number {number}" for number in range(3, 23)}
    assert digest.body.index("Graffiti number 22") < digest.body.index("Graffiti number 3 ")


def test_nothing_is_sent_when_nothing_is_new_and_pending_alerts_get_nothing(
    resident, second_resident, riverton, client, clock
):
    _ward_alert(resident)
    client.post(reverse("reports:alert_new") + "?ward=riverside", {"email": "walker@example.test"})
    pending = ReportAlert.objects.get(confirmed_at__isnull=True)
    clock.shift(timedelta(hours=1))
    assert services.report_alerts_send() == services.AlertsRun(alerts=1, emails=0, reports=0)
    _report(second_resident)
    clock.shift(timedelta(hours=1))
    services.report_alerts_send()
    assert len(_digests(resident)) == 1
    assert not _digests(pending.user)


def test_the_message_is_in_the_subscriber_s_language(resident, second_resident, riverton, clock):
    preferences_update(user=resident, language="fr")
    preferences_update(user=second_resident, language="ar")
    _ward_alert(resident)
    _ward_alert(second_resident)
    clock.shift(timedelta(minutes=1))
    _report(UserFactory(), title="Trou profond")
    clock.shift(timedelta(minutes=15))
    services.report_alerts_send()

    (french,) = _digests(resident)
    assert french.language == "fr"
    assert french.subject.startswith("Nouveaux problèmes signalés")
    assert "Bonjour" in french.body
    assert "Trou profond (Nid-de-poule)" in french.body
    (arabic,) = _digests(second_resident)
    assert arabic.language == "ar"
    assert "مرحبًا" in arabic.body
    assert "(حفرة في الطريق)" in arabic.body


def test_the_command_and_the_scheduler_run_the_job(resident, second_resident, riverton):
    job = registry.jobs["reports.alerts"]
    assert job.command == ("reports", "alerts")
    assert job.every == timedelta(minutes=15)
    with time_machine.travel(T0, tick=False) as traveller:
        _ward_alert(resident)
        traveller.shift(timedelta(minutes=1))
        _report(second_resident)
        traveller.shift(timedelta(minutes=15))
        out = StringIO()
        call_command("reports", "alerts", stdout=out)
    assert out.getvalue().strip() == "alerts due: 1, emails written: 1, reports sent: 1"


# --- setting one up ------------------------------------------------------------------------------


def test_a_visitor_sets_up_a_ward_alert_by_the_emailed_link(client, riverton, clock):
    url = reverse("reports:alert_new") + "?ward=riverside"
    page = client.get(url)
    assert page.status_code == 200
    assert "Riverside" in _text(page)
    users = User.objects.count()

    # Nothing stored until the address is given, and given right.
    missing = client.post(url, {"category": "pothole"})
    assert _errors(missing) == [("Enter your email address", "#id_email")]
    assert 'value="pothole" selected' in missing.content.decode()  # the choice is kept
    wrong = client.post(url, {"email": "walker.example.test", "category": "pothole"})
    assert _errors(wrong) == [
        ("Enter an email address in the correct format, like name@example.com", "#id_email")
    ]
    assert 'value="walker.example.test"' in wrong.content.decode()
    assert not ReportAlert.objects.exists()
    assert User.objects.count() == users

    sent = client.post(url, {"email": "Walker@Example.test", "category": "pothole"})
    assert sent["Location"] == reverse("reports:alert_sent")
    assert "walker@example.test" in _text(client.get(sent["Location"])).lower()
    alert = ReportAlert.objects.get()
    assert not alert.is_active
    assert alert.user.email == "walker@example.test"
    assert not alert.user.has_usable_password()
    (message,) = Notification.objects.filter(event="report_alert_confirm")
    assert message.channel == "email"
    assert message.subject == "Confirm your email alerts: new problems reported in Riverside ward"
    assert "(Pothole)" in message.body
    # The link is only in the encrypted message, not in the notification's clear address.
    assert "/confirm/" not in message.url

    link = _confirm_path(alert.user)
    assert client.get(link).status_code == 200  # a mail scanner opening it starts nothing
    alert.refresh_from_db()
    assert not alert.is_active
    done = client.post(link)
    assert done.status_code == 200
    assert "Your alerts have started" in _text(done)
    alert.refresh_from_db()
    assert alert.is_active
    assert alert.sent_up_to == T0
    assert client.post(link).status_code == 200  # a second click: the same alert
    assert ReportAlert.objects.count() == 1


def test_a_confirmation_link_that_is_made_up_or_expired_is_refused(client, riverton, clock):
    client.post(reverse("reports:alert_new") + "?ward=riverside", {"email": "w@example.test"})
    alert = ReportAlert.objects.get()
    link = _confirm_path(alert.user)

    forged = client.post(link[:-5] + "abcd/")
    assert forged.status_code == 400
    assert "This link is not valid. Set up the alert again." in _text(forged)
    clock.shift(timedelta(hours=services.CONFIRMATION_HOURS, seconds=1))
    expired = client.post(link)
    assert expired.status_code == 400
    assert "This link has expired. Set up the alert again." in _text(expired)
    alert.refresh_from_db()
    assert not alert.is_active

    # Unconfirmed alerts go a week after their link expired; active ones stay.
    active = _ward_alert(UserFactory())
    clock.shift(services.ALERT_PENDING_KEPT)
    assert services.report_alerts_prune() == 1
    assert list(ReportAlert.objects.all()) == [active]


def test_a_double_submit_is_one_alert_and_one_link_and_links_are_limited(client, riverton, clock):
    url = reverse("reports:alert_new") + "?ward=riverside"
    client.post(url, {"email": "walker@example.test"})
    client.post(url, {"email": "walker@example.test"})
    assert ReportAlert.objects.count() == 1
    assert Notification.objects.filter(event="report_alert_confirm").count() == 1
    # Asked again later: a new link for the same alert.
    clock.shift(services.ALERT_RESEND_AFTER)
    client.post(url, {"email": "walker@example.test"})
    assert ReportAlert.objects.count() == 1
    assert Notification.objects.filter(event="report_alert_confirm").count() == 2

    # Someone typing this address for more alerts gets it only so many links.
    for ward in ("northgate", "old-town", "eastfield", "millbrook"):
        client.post(
            reverse("reports:alert_new") + f"?ward={ward}", {"email": "walker@example.test"}
        )
    refused = client.post(
        reverse("reports:alert_new") + "?ward=harbour", {"email": "walker@example.test"}
    )
    assert _errors(refused) == [
        (
            "We have already sent several links to this email address. Follow one of them, "
            "or try again in a few days.",
            "#id_email",
        )
    ]
    assert ReportAlert.objects.count() == services.ALERT_MAX_PENDING
    assert Notification.objects.filter(event="report_alert_confirm").count() == 6


def test_an_area_alert_around_a_searched_place_asks_how_far(client, riverton):
    chooser = client.get(reverse("reports:alert_new"), {"q": "towpath", "category": "pothole"})
    href = re.search(r'href="(/reports/alerts/new/\?place=[^"]+)"', chooser.content.decode())
    url = href.group(1).replace("&amp;", "&")
    assert "category=pothole" in url
    page = client.get(url)
    assert "Towpath Road, RV2 2EB" in _text(page)
    assert 'value="pothole" selected' in page.content.decode()

    missing = client.post(url, {"email": "walker@example.test", "category": "pothole"})
    assert _errors(missing) == [("Select how far from the place", "#id_radius_0")]
    assert not ReportAlert.objects.exists()
    client.post(url, {"email": "walker@example.test", "category": "pothole", "radius": "500"})
    alert = ReportAlert.objects.get()
    assert (alert.kind, alert.radius_m, alert.category) == ("area", 500, "pothole")
    assert alert.place["label"] == "Towpath Road, RV2 2EB"


def test_where_is_checked_and_a_report_s_page_offers_its_place(client, second_resident, riverton):
    new = reverse("reports:alert_new")
    unknown_ward = client.get(new, {"ward": "atlantis"})
    assert _errors(unknown_ward) == [("Select a ward", "#id_ward")]
    assert "<title>Error:" in unknown_ward.content.decode()
    london = client.get(new, {"place": f"{LONDON[0]},{LONDON[1]}"})
    ((message, target),) = _errors(london)
    assert "Riverton" in message
    assert target == "#id_q"
    not_a_point = client.get(new, {"place": "north,south"})
    assert _errors(not_a_point)[0][1] == "#id_q"
    assert not _errors(client.get(new, {"q": "nowhere street"}))

    report = _report(second_resident, address="Outside number 12, Towpath Road")
    detail = client.get(reverse("reports:detail", args=[report.reference]))
    assert f'href="{new}?near={quote(report.reference)}"' in detail.content.decode()
    page = client.get(new, {"near": report.reference})
    assert "Outside number 12, Towpath Road" in _text(page)
    assert _errors(client.get(new, {"near": "NOPE-1"})) == [
        ("We could not find that report. Choose a ward or a place.", "#id_ward")
    ]


def test_the_public_list_offers_alerts_for_its_ward(client, riverton):
    page = client.get(reverse("reports:list"), {"ward": "riverside", "category": "pothole"})
    assert (
        f'href="{reverse("reports:alert_new")}?ward=riverside&amp;category=pothole"'
        in page.content.decode()
    )


def test_a_signed_in_resident_s_alert_starts_at_once_and_is_not_set_up_twice(
    client, resident, riverton
):
    client.force_login(resident)
    url = reverse("reports:alert_new") + "?ward=riverside"
    page = client.get(url)
    assert 'name="email"' not in page.content.decode()
    done = client.post(url, {"category": ""}, follow=True)
    assert done.redirect_chain[-1][0] == reverse("reports:alerts")
    assert "Your alert is set up" in _text(done)
    alert = ReportAlert.objects.get()
    assert alert.is_active
    assert alert.user == resident
    assert not Notification.objects.filter(event="report_alert_confirm").exists()

    again = client.post(url, {"category": ""})
    assert _errors(again) == [("You already get these alerts", "#id_category")]
    assert ReportAlert.objects.count() == 1


def test_a_resident_whose_address_is_not_verified_confirms_it_by_the_link(client, riverton):
    unverified = user_create(email="new@example.test", full_name="New Person", password="x")
    client.force_login(unverified)
    response = client.post(reverse("reports:alert_new") + "?ward=riverside", {"category": ""})
    assert response["Location"] == reverse("reports:alert_sent")
    alert = ReportAlert.objects.get()
    assert alert.user == unverified
    assert not alert.is_active
    client.post(_confirm_path(unverified))
    alert.refresh_from_db()
    assert alert.is_active


def test_a_visitor_is_not_told_which_alerts_an_address_has(client, resident, riverton):
    _ward_alert(resident)
    response = client.post(
        reverse("reports:alert_new") + "?ward=riverside", {"email": resident.email}
    )
    assert response["Location"] == reverse("reports:alert_sent")
    assert ReportAlert.objects.count() == 1


def test_a_visitor_s_new_account_keeps_the_language_of_the_page(client, riverton):
    client.post(
        reverse("reports:alert_new") + "?ward=riverside",
        {"email": "marie@example.test"},
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    alert = ReportAlert.objects.get()
    assert alert.user.language == "fr"
    (message,) = Notification.objects.filter(event="report_alert_confirm")
    assert message.language == "fr"
    assert message.subject.startswith("Confirmez vos alertes par e-mail")


# --- stopping one -------------------------------------------------------------------------------


def test_the_link_in_every_email_stops_the_alert(resident, second_resident, riverton, client):
    with time_machine.travel(T0, tick=False) as traveller:
        alert = _ward_alert(resident)
        traveller.shift(timedelta(minutes=1))
        _report(second_resident)
        traveller.shift(timedelta(minutes=15))
        services.report_alerts_send()
    (digest,) = _digests(resident)
    link = _unsubscribe_path(digest)
    assert link == services.alert_unsubscribe_path(alert)

    ask = client.get(link)
    assert ask.status_code == 200
    assert "Stop these email alerts?" in _text(ask)
    assert ReportAlert.objects.filter(pk=alert.pk).exists()  # opening it stops nothing
    stopped = client.post(link)
    assert "Your alerts have stopped" in _text(stopped)
    assert not ReportAlert.objects.filter(pk=alert.pk).exists()
    again = client.post(link)
    assert again.status_code == 200
    assert "These alerts were stopped already" in _text(again)


def test_a_made_up_unsubscribe_link_is_refused(resident, second_resident, riverton, client):
    mine = _ward_alert(resident)
    theirs = _ward_alert(second_resident)
    link = services.alert_unsubscribe_path(mine)
    token = link.rstrip("/").rsplit("/", 1)[1]
    signed_id, signature = token.split(":")
    # Another alert's id with this signature, and this id with a changed signature.
    for forged in (f"{theirs.public_id.hex}:{signature}", f"{signed_id}:{signature[:-2]}xx"):
        response = client.post(reverse("reports:alert_unsubscribe", args=[forged]))
        assert response.status_code == 400
        assert "This link is not valid." in _text(response)
    assert ReportAlert.objects.count() == 2


def test_your_alerts_lists_and_stops_a_resident_s_own_alerts_only(
    client, resident, second_resident, riverton
):
    mine = _ward_alert(resident)
    _area_alert(resident, 500, category="pothole")
    theirs = _ward_alert(second_resident, ward="harbour")
    client.force_login(resident)
    page = client.get(reverse("reports:alerts"))
    text = _text(page)
    assert "Problems reported in Riverside ward" in text
    assert "Problems reported within 500 metres of Towpath Road, RV2 2EB" in text
    assert "Harbour" not in text

    other = client.post(reverse("reports:alert_delete", args=[theirs.public_id]))
    assert other.status_code == 404
    assert ReportAlert.objects.filter(pk=theirs.pk).exists()
    assert client.get(reverse("reports:alert_delete", args=[mine.public_id])).status_code == 405
    done = client.post(reverse("reports:alert_delete", args=[mine.public_id]), follow=True)
    assert "You will not get alerts about new problems reported in Riverside ward" in _text(done)
    assert not ReportAlert.objects.filter(pk=mine.pk).exists()
    assert ReportAlert.objects.filter(user=resident).count() == 1


# --- personal data ------------------------------------------------------------------------------


def _stored_row(alert) -> str:
    quote_name = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT * FROM {quote_name(ReportAlert._meta.db_table)} WHERE id = %s",  # noqa: S608
            [alert.pk],
        )
        return " ".join(str(value) for value in cursor.fetchone())


def test_no_address_and_no_watched_place_are_stored_in_clear(client, riverton):
    client.post(
        reverse("reports:alert_new") + f"?place={RIVERSIDE[0]},{RIVERSIDE[1]}",
        {"email": "private.person@example.test", "radius": "250"},
    )
    alert = ReportAlert.objects.get()
    stored = _stored_row(alert)
    assert "private.person" not in stored
    assert "example.test" not in stored
    assert str(RIVERSIDE[0]) not in stored
    assert alert.place["lat"] == RIVERSIDE[0]  # readable through the model only
    token = _confirm_path(alert.user).rstrip("/").rsplit("/", 1)[1]
    assert token not in stored  # only its hash
    assert alert.confirm_token_hash in stored


# --- the small extras ---------------------------------------------------------------------------


def test_public_updates_are_read_oldest_first_and_your_reports_is_on_the_account_page(
    second_resident, riverton
):
    report = _report(second_resident)
    later = ReportUpdate.objects.create(
        report=report, state="investigating", is_open=True, text="Looking at it."
    )
    assert selectors.report_updates_public(report)[-1] == later
    items = {item.key: item for item in registry.navigation("account")}
    assert items["my_reports"].url_name == "reports:mine"
    assert items["my_alerts"].url_name == "reports:alerts"
