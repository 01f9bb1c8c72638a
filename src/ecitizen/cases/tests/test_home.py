"""The home page: search, the popular services (from the services' use), paying by
reference, what a signed-in person has to do, and help for people who cannot use online
services — in a bounded number of queries."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ecitizen.cases import home, services
from ecitizen.cases.models import ServiceUsage
from ecitizen.payments.models import Bill
from ecitizen.payments.services import BillSpec, LineSpec, bill_create, payment_record_offline

from .support import submit_shed


def _bill(payer, department, number, *, due_in_days=30, amount_minor=4_500, instalments=()):
    return bill_create(
        spec=BillSpec(
            reference=f"HOME-{number:04d}",
            kind=Bill.Kind.FEE,
            description=f"Test fee {number}",
            department_id=department.pk,
            due_date=timezone.localdate() + timedelta(days=due_in_days),
            lines=[LineSpec(f"Test fee {number}", amount_minor, "fee")],
            payer_id=payer.pk,
            instalments=instalments,
            source_key=f"home-test:{number}",
        ),
        actor=None,
    )


def _waiting_case(shed, resident, works_officer):
    case = submit_shed(shed, resident)
    case = services.case_transition(case=case, action_id="start_review", actor=works_officer)
    return services.case_transition(
        case=case,
        action_id="request_info",
        actor=works_officer,
        given=services.ActionInput(text="Send a site plan, please."),
    )


def _popular(page: str) -> list[str]:
    """The service start pages the "Popular services" list links to, in order."""
    section = page.split('id="popular-services"', 1)[1].split("</ul>", 1)[0]
    return re.findall(r'href="/services/([a-z0-9-]+)/"', section)


def test_visitors_get_search_popular_services_pay_and_help(client, published):
    page = client.get(reverse("core:home")).content.decode()
    # Search: the catalogue's search, a plain GET form (works without JavaScript).
    assert f'action="{reverse("catalogue:search")}"' in page
    assert 'name="q"' in page
    assert set(_popular(page)) == {"shed-permit", "garden-waste-collection"}
    assert f'href="{reverse("payments:pay_by_reference")}"' in page
    assert f'href="{reverse("account_login")}?next=/"' in page
    # Help for people who cannot use online services, with the authority's phone number.
    assert "If you cannot use online services" in page
    assert "0300 123 4567" in page
    assert "public library" in page
    # A visitor is told what signing in brings, and sees nobody's applications.
    assert "Sign in to finish an application" in page
    assert "govuk-task-list" not in page


def test_popular_services_are_the_most_started_in_the_last_90_days(
    client, garden, shed, resident, second_resident, outsider
):
    # Started twice more than 90 days ago: does not count.
    for person in (resident, second_resident):
        services.draft_start(service=shed, applicant=person, actor=person)
    assert (
        ServiceUsage.objects.filter(service=shed).update(at=timezone.now() - timedelta(days=91))
        == 2
    )
    # Within 90 days: the garden waste collection started twice, the shed permit once.
    for person in (resident, second_resident):
        services.draft_start(service=garden, applicant=person, actor=person)
    services.draft_start(service=shed, applicant=outsider, actor=outsider)
    page = client.get(reverse("core:home")).content.decode()
    assert _popular(page) == ["garden-waste-collection", "shed-permit"]


def test_the_ranking_is_kept_for_an_hour(garden, shed, resident, second_resident):
    services.draft_start(service=shed, applicant=resident, actor=resident)
    assert [s.slug for s in home.top_task_services()] == ["shed-permit", "garden-waste-collection"]
    for person in (resident, second_resident):
        services.draft_start(service=garden, applicant=person, actor=person)
    # The busiest page does not aggregate the usage at every request.
    assert next(s.slug for s in home.top_task_services()) == "shed-permit"
    cache.delete(home.TOP_TASKS_CACHE_KEY)
    assert next(s.slug for s in home.top_task_services()) == "garden-waste-collection"


def test_without_enough_use_the_configured_list_fills_the_places(
    settings, garden, shed, resident, monkeypatch
):
    # No use at all and nothing configured: the catalogue in its order.
    assert [s.slug for s in home.top_task_services()] == [
        "garden-waste-collection",
        "shed-permit",
    ]
    # Configured: those services, in that order; unknown slugs are ignored; nothing else.
    settings.HOME_TOP_TASKS = ["no-such-service", "shed-permit"]
    assert [s.slug for s in home.top_task_services()] == ["shed-permit"]
    # Services in use come first, then the configured ones, up to the number shown.
    services.draft_start(service=garden, applicant=resident, actor=resident)
    cache.delete(home.TOP_TASKS_CACHE_KEY)
    assert [s.slug for s in home.top_task_services()] == ["garden-waste-collection", "shed-permit"]
    monkeypatch.setattr(home, "TOP_TASKS_SHOWN", 1)
    cache.delete(home.TOP_TASKS_CACHE_KEY)
    assert [s.slug for s in home.top_task_services()] == ["garden-waste-collection"]


def test_signed_in_residents_see_what_needs_their_action(
    client, garden, shed, resident, second_resident, works, works_officer
):
    draft = services.draft_start(service=garden, applicant=resident, actor=resident)
    case = _waiting_case(shed, resident, works_officer)
    due = _bill(resident, works, 1, due_in_days=20, amount_minor=4_500)
    overdue = _bill(resident, works, 2, due_in_days=-3, amount_minor=1_000)
    paid = _bill(resident, works, 3)
    payment_record_offline(bill=paid, amount_minor=paid.balance_minor)
    # Another resident's draft, case and bill stay theirs.
    services.draft_start(service=shed, applicant=second_resident, actor=second_resident)
    theirs = _bill(second_resident, works, 4)

    client.force_login(resident)
    page = client.get(reverse("core:home")).content.decode()
    assert "You have 4 things to do." in page
    assert f'href="{reverse("cases:draft_resume", args=[draft.pk])}"' in page
    assert "Finish your application: Sign up for garden waste collection" in page
    assert f"We will delete it on {timezone.localtime(draft.expires_at):%-d %B %Y}" in page
    assert f'href="{reverse("cases:case_detail", args=[case.reference])}"' in page
    assert "Send the information we asked for" in page
    assert f'href="{reverse("payments:pay", args=[due.reference])}"' in page
    due_date = timezone.localdate() + timedelta(days=20)
    assert f"£45.00 to pay by {due_date:%-d %B %Y}." in page
    assert f'href="{reverse("payments:pay", args=[overdue.reference])}"' in page
    assert "£10.00 was due on" in page
    assert paid.reference not in page
    assert theirs.reference not in page
    assert page.count('<li class="govuk-task-list__item') == 4


def test_an_instalment_bill_shows_the_next_instalment(client, resident, works):
    today = timezone.localdate()
    first, second = today + timedelta(days=10), today + timedelta(days=100)
    bill = _bill(
        resident,
        works,
        5,
        due_in_days=100,
        amount_minor=30_000,
        instalments=[(first, 10_000), (second, 20_000)],
    )
    payment_record_offline(bill=bill, amount_minor=10_000)
    client.force_login(resident)
    page = client.get(reverse("core:home")).content.decode()
    assert f"£200.00 to pay by {second:%-d %B %Y}." in page


def test_nothing_to_do_is_said(client, published, resident):
    client.force_login(resident)
    page = client.get(reverse("core:home")).content.decode()
    assert "You have nothing to do at the moment" in page
    assert f'href="{reverse("cases:applications")}"' in page
    assert f'href="{reverse("payments:bills")}"' in page


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("core:home"))
    assert response.status_code == 200
    return len(captured)


def test_the_home_page_makes_a_bounded_number_of_queries(
    client, garden, shed, resident, works, works_officer
):
    services.draft_start(service=garden, applicant=resident, actor=resident)
    _waiting_case(shed, resident, works_officer)
    _bill(resident, works, 1)
    _queries(client)  # the ranking is computed once, then read from the cache
    anonymous = _queries(client)
    client.force_login(resident)
    _queries(client)
    few = _queries(client)

    services.draft_start(service=shed, applicant=resident, actor=resident)
    for _ in range(home.ITEMS_SHOWN + 1):
        _waiting_case(shed, resident, works_officer)
    for number in range(2, home.ITEMS_SHOWN + 4):
        _bill(resident, works, number)
    many = _queries(client)
    page = client.get(reverse("core:home")).content.decode()
    assert "See all your applications, including the ones not listed here" in page
    assert "See all your bills, including the ones not listed here" in page

    assert many == few, "each list must be one query, whatever its length"
    # A visitor: the cached ranking, the services, the rest of the catalogue (3 today).
    assert anonymous <= 5
    # Signed in: also the session, the person, their roles, the inbox count, the session's
    # activity time, and the drafts, the waiting cases and the bills (13 today).
    assert few <= 16


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_the_home_page_renders_in_every_language(client, published, resident, language):
    client.force_login(resident)
    client.cookies["django_language"] = language
    response = client.get(reverse("core:home"), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    assert f'lang="{language}"' in response.content.decode()


def test_the_due_date_of_a_bill_without_instalments_is_its_own(resident, works):
    bill = _bill(resident, works, 6, due_in_days=7)
    assert home._next_payment(bill) == (timezone.localdate() + timedelta(days=7), 4_500)
    assert isinstance(home._next_payment(bill)[0], date)
