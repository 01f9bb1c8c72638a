"""The officials' election pages through the browser's requests: creating an election,
adding questions, the voter list and the trustees, setting it up, and the credential
authority issuing credentials; and every bad input answered on the page, nothing kept."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from ecitizen.voting.models import Election
from tests.factories import UserFactory
from tests.personas import sign_in_official

pytestmark = pytest.mark.django_db


def _new(department, **changes):
    opens = timezone.localdate() + timedelta(days=2)
    closes = opens + timedelta(days=7)
    data = {
        "title": "Car-free Sundays",
        "slug": "car-free",
        "description": "A referendum.",
        "department": str(department.pk),
        "ward": "",
        "opens_on_day": str(opens.day),
        "opens_on_month": str(opens.month),
        "opens_on_year": str(opens.year),
        "opens_time": "09:00",
        "closes_on_day": str(closes.day),
        "closes_on_month": str(closes.month),
        "closes_on_year": str(closes.year),
        "closes_time": "18:00",
        "voters_from": "list",
        "credentials": "platform",
        "credential_authority": "returning@example.test",
        "threshold": "2",
    }
    data.update(changes)
    return data


def test_an_election_is_prepared_and_set_up_from_the_staff_pages(
    client, election_administrator, credential_authority, department
):
    sign_in_official(client, election_administrator)
    response = client.post(reverse("staff:voting_new"), _new(department))
    assert response.status_code == 302
    election = Election.objects.get(slug="car-free")
    page = reverse("staff:voting_election", args=[election.slug])
    question = {
        "form": "question",
        "q-text": "Car-free Sundays on the High Street?",
        "q-answers": "Yes\nNo",
        "q-min": "1",
        "q-max": "1",
        "q-blank": "on",
        "q-text_fr": "Dimanches sans voitures ?",
        "q-answers_fr": "Oui\nNon",
    }
    assert client.post(page, question).status_code == 302
    voters = {"form": "voters", "v-addresses": "a@example.test, b@example.test\nc@example.test"}
    assert client.post(page, voters).status_code == 302
    keepers = [UserFactory(email=f"keeper{n}@example.test") for n in range(3)]
    trustees = {
        "form": "trustees",
        "t-trustees": "\n".join(f"Keeper {n}, {u.email}" for n, u in enumerate(keepers)),
    }
    assert client.post(page, trustees).status_code == 302
    assert client.post(page, {"form": "freeze"}).status_code == 302
    election.refresh_from_db()
    assert election.state == Election.State.SETUP
    assert election.voters.count() == 3
    assert election.questions.get().translations == {
        "fr": {"text": "Dimanches sans voitures ?", "answers": ["Oui", "Non"]}
    }

    # The administrator cannot issue credentials; the credential authority can.
    credentials_page = reverse("staff:voting_credentials", args=[election.slug])
    client.post(credentials_page, {"form": "issue"})
    assert not election.voters.exclude(public_credential="").exists()
    client.logout()
    sign_in_official(client, credential_authority)
    assert client.post(credentials_page, {"form": "issue"}).status_code == 302
    assert election.voters.filter(public_credential="").count() == 0
    assert len([m for m in mail.outbox if "credential" in m.subject]) == 3


def test_bad_inputs_are_answered_on_the_page(
    client, election_administrator, credential_authority, department
):
    sign_in_official(client, election_administrator)
    url = reverse("staff:voting_new")
    cases = [
        (
            _new(
                department,
                closes_time="07:00",
                closes_on_day="1",
                closes_on_month="1",
                closes_on_year="2020",
            ),
            "close after it opens",
        ),
        (
            _new(department, credential_authority="elections@example.test"),
            "must be another official",
        ),
        (
            _new(department, credential_authority="nobody@example.test"),
            "No account has this email address",
        ),
        (_new(department, opens_time="9h99"), "Enter a time like 09:00"),
        (_new(department, voters_from="eligible"), "Choose the process"),
        (_new(department, slug="Not a slug!"), "lower-case letters"),
    ]
    for data, message in cases:
        response = client.post(url, data)
        assert response.status_code == 200, message
        assert message in response.content.decode(), message
    assert not Election.objects.exists()

    assert client.post(url, _new(department)).status_code == 302
    election = Election.objects.get()
    page = reverse("staff:voting_election", args=[election.slug])
    bad = [
        (
            {"form": "question", "q-text": "One?", "q-answers": "Only", "q-min": "1", "q-max": "1"},
            "between 2 and 20 answers",
        ),
        (
            {"form": "voters", "v-addresses": "not-an-address, a@example.test"},
            "These are not email addresses",
        ),
        (
            {"form": "trustees", "t-trustees": "Ana, ana@example.test"},
            "No account has these addresses",
        ),
        (
            {"form": "trustees", "t-trustees": "no comma here"},
            "must be a name, a comma and an email address",
        ),
        ({"form": "freeze"}, "cannot be set up yet"),
        ({"form": "remove-question", "position": "abc"}, "An election has between 1 and"),
    ]
    for data, message in bad:
        response = client.post(page, data)
        assert response.status_code == 200, message
        assert message in response.content.decode(), message
    election.refresh_from_db()
    assert election.state == Election.State.DRAFT
    assert not election.questions.exists()
