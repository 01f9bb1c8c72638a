"""Paying by reference and postcode without an account (/pay/): wrong answers are
throttled per reference and per client address like sign-in, audited, and an unknown
reference cannot be told from a known one with the wrong postcode."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from ecitizen.core.models import AuditEvent
from ecitizen.payments import services
from ecitizen.payments.models import Bill, PayByReferenceThrottle

URL = "/pay/"
NOT_FOUND = "We could not find a bill with this reference and postcode. Check them and try again."
THROTTLED = "There have been too many attempts with a reference and postcode that do not match."


@pytest.fixture
def fine(make_bill):
    return make_bill(amount_minor=7_000, payer=None, postcode="RV1 4AB")


def _try(client, reference, postcode, ip="203.0.113.7"):
    return client.post(URL, {"reference": reference, "postcode": postcode}, REMOTE_ADDR=ip)


def _page(response) -> str:
    """The page without what differs on every response (CSRF token, CSP nonce)."""
    html = response.content.decode()
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
    return re.sub(r'nonce="[^"]+"', "", html)


def test_an_unknown_reference_and_a_wrong_postcode_get_the_same_answer(client, fine):
    unknown = _try(client, "TST-999999", "RV9 9ZZ", ip="198.51.100.1")
    wrong = _try(client, fine.reference, "RV9 9ZZ", ip="198.51.100.2")
    assert unknown.status_code == wrong.status_code == 200
    assert NOT_FOUND in unknown.content.decode()
    # Byte for byte the same page, the typed reference apart.
    assert _page(unknown).replace("TST-999999", fine.reference) == _page(wrong)


def test_the_right_answer_unlocks_the_bill(client, fine):
    response = _try(client, fine.reference.lower(), "rv1 4ab")
    assert response.status_code == 302
    assert response["Location"] == f"/pay/{fine.reference}/"


def test_wrong_postcodes_for_one_reference_are_throttled(client, fine, settings):
    """300 wrong postcodes for one reference, from as many addresses: only the free
    attempts are tried, then every answer is a wait, even the right postcode."""
    free = settings.PAY_THROTTLE_FREE_ATTEMPTS_REFERENCE
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        statuses = [
            _try(
                client,
                fine.reference,
                f"RV{n % 9 + 1} {n % 7 + 1}ZZ",
                ip=f"10.0.{n // 250}.{n % 250}",
            ).status_code
            for n in range(300)
        ]
        assert statuses[:free] == [200] * free
        assert set(statuses[free:]) == {429}
        refused = _try(client, fine.reference, "RV1 4AB", ip="192.0.2.99")
        assert refused.status_code == 429
        assert THROTTLED in refused.content.decode()
        assert (
            "Wait 1 minute before trying again (you can try again at " in refused.content.decode()
        )
        assert int(refused["Retry-After"]) == settings.PAY_THROTTLE_BASE_DELAY
    # The wait doubles with each failure after it (up to PAY_THROTTLE_MAX_DELAY).
    with time_machine.travel(start + timedelta(seconds=31), tick=False):
        assert _try(client, fine.reference, "RV9 9ZZ").status_code == 200
        refused = _try(client, fine.reference, "RV1 4AB")
        assert refused.status_code == 429
        assert int(refused["Retry-After"]) == 2 * settings.PAY_THROTTLE_BASE_DELAY
    # Once the wait is over, the payer with the right postcode pays, and the
    # reference's count starts afresh.
    with time_machine.travel(start + timedelta(minutes=2), tick=False):
        assert _try(client, fine.reference, "RV1 4AB").status_code == 302
    assert not PayByReferenceThrottle.objects.filter(scope="reference").exists()


def test_an_unknown_reference_is_throttled_exactly_like_a_known_one(client, fine, settings):
    free = settings.PAY_THROTTLE_FREE_ATTEMPTS_REFERENCE
    for reference in (fine.reference, "TST-424242"):
        answers = [
            _try(client, reference, "RV9 9ZZ", ip=f"10.1.0.{n}").status_code
            for n in range(free + 1)
        ]
        assert answers == [200] * free + [429]


def test_one_address_trying_many_references_is_throttled(client, fine, settings):
    free = settings.PAY_THROTTLE_FREE_ATTEMPTS_IP
    answers = [_try(client, f"TST-{n:06d}", "RV1 4AB").status_code for n in range(100, 100 + free)]
    assert answers == [200] * free
    # The address must wait now, whatever it tries: the right answer included.
    refused = _try(client, fine.reference, "RV1 4AB")
    assert refused.status_code == 429
    assert THROTTLED in refused.content.decode()
    # Another address is not held up.
    assert _try(client, fine.reference, "RV1 4AB", ip="192.0.2.1").status_code == 302


def test_wrong_answers_are_audited_with_the_address(client, fine):
    _try(client, fine.reference, "RV9 9ZZ", ip="198.51.100.20")
    _try(client, "TST-777777", "RV9 9ZZ", ip="198.51.100.21")
    events = list(
        AuditEvent.objects.filter(action="payments.pay_by_reference_failed").order_by("pk")
    )
    assert [(e.object_id, str(e.ip_address)) for e in events] == [
        (fine.reference, "198.51.100.20"),
        ("", "198.51.100.21"),
    ]
    # The throttle keeps no typed reference.
    assert not PayByReferenceThrottle.objects.filter(key__icontains="777777").exists()
    assert not PayByReferenceThrottle.objects.filter(key=fine.reference).exists()


def test_stale_counts_are_forgotten(client, fine):
    _try(client, fine.reference, "RV9 9ZZ")
    assert services.pay_throttle_prune() == 0
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        assert services.pay_throttle_prune() == 2  # the reference and the address


def test_the_demo_fine_references_do_not_follow_each_other(client, db, settings):
    from ecitizen.accounts.models import Department
    from ecitizen.demo.cases import (
        DEMO_FINE_POSTCODE,
        DEMO_FINE_REFERENCE,
        demo_fine_reference,
        demo_fines_load,
    )

    Department.objects.create(slug="transport-licensing", name="Transport & Licensing")
    assert demo_fines_load(seed=2026) == 40
    assert demo_fines_load(seed=2026) == 0
    references = set(Bill.objects.values_list("reference", flat=True))
    assert DEMO_FINE_REFERENCE in references
    assert re.fullmatch(r"PCN-2026-000001-[2-9A-Y]{4}", DEMO_FINE_REFERENCE)
    assert len({reference[-4:] for reference in references}) == 40
    assert demo_fine_reference(2) == demo_fine_reference(2)
    # The serial number alone (as the notice before or after) opens nothing.
    assert _try(client, "PCN-2026-000001", DEMO_FINE_POSTCODE).status_code == 200
    response = _try(client, DEMO_FINE_REFERENCE, DEMO_FINE_POSTCODE, ip="192.0.2.50")
    assert response.status_code == 302
