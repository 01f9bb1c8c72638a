"""The erasure request's life through its pages and services: asking (after confirming
it is you), the deadline, withdrawing, the officer's queue and decision, the messages,
who may do what, and bad input that changes nothing."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from ecitizen.accounts.models import Role, User
from ecitizen.core.models import AuditEvent
from ecitizen.notifications.models import Notification
from ecitizen.privacy import erasure
from ecitizen.privacy.models import ErasureRequest
from tests.factories import PASSWORD
from tests.personas import _official, sign_in_official


@pytest.fixture
def dpo(db):
    return _official(erasure.DPO_ROLE, None, email="dpo@example.test")


@pytest.fixture
def second_dpo(db):
    return _official(erasure.DPO_ROLE, None, email="dpo2@example.test")


@pytest.mark.django_db
def test_a_resident_asks_sees_the_deadline_and_is_told(client, resident):
    with time_machine.travel(datetime.datetime(2027, 1, 31, 10, tzinfo=datetime.UTC), tick=False):
        client.post(reverse("account_login"), {"login": resident.email, "password": PASSWORD})
        page = client.get(reverse("privacy:erasure_status"))
        assert page.status_code == 200
        response = client.post(
            reverse("privacy:erasure_status"), {"reason": "Moving abroad", "confirm": "on"}
        )
    assert response.status_code == 302
    request = ErasureRequest.objects.get(requester=resident)
    assert request.status == ErasureRequest.Status.SUBMITTED
    # One month, the last day of a shorter month when the day does not exist.
    assert request.due_at.date() == datetime.date(2027, 2, 28)
    assert request.reason == "Moving abroad"
    page = client.get(reverse("privacy:erasure_status")).content.decode()
    assert request.reference in page
    assert "28 February 2027" in page
    events = set(Notification.objects.filter(recipient=resident).values_list("event", flat=True))
    assert events == {erasure.EVENT_RECEIVED}
    assert AuditEvent.objects.filter(action="privacy.erasure_requested").count() == 1
    # Asking again while one is open makes nothing new.
    client.post(reverse("privacy:erasure_status"), {"confirm": "on"})
    assert ErasureRequest.objects.filter(requester=resident).count() == 1


@pytest.mark.django_db
def test_asking_needs_the_password_again_after_a_while(client, resident, settings):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.post(reverse("account_login"), {"login": resident.email, "password": PASSWORD})
    later = start.timestamp() + settings.ACCOUNT_REAUTHENTICATION_TIMEOUT + 60
    with time_machine.travel(later, tick=False):
        response = client.post(reverse("privacy:erasure_status"), {"confirm": "on"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert not ErasureRequest.objects.exists()


@pytest.mark.django_db
def test_bad_input_gets_a_clear_error_and_changes_nothing(client, resident):
    client.post(reverse("account_login"), {"login": resident.email, "password": PASSWORD})
    response = client.post(reverse("privacy:erasure_status"), {"reason": "x"})
    assert response.status_code == 200
    assert "Confirm that you understand your account will be closed" in response.content.decode()
    response = client.post(
        reverse("privacy:erasure_status"), {"reason": "x" * 5000, "confirm": "on"}
    )
    assert response.status_code == 200
    assert "2000 characters or fewer" in response.content.decode()
    assert not ErasureRequest.objects.exists()


@pytest.mark.django_db
def test_the_resident_withdraws_before_a_decision(client, resident, dpo):
    request = erasure.erasure_request_submit(user=resident, actor=resident)
    client.force_login(resident)
    assert client.post(reverse("privacy:erasure_withdraw")).status_code == 302
    request.refresh_from_db()
    assert request.status == ErasureRequest.Status.WITHDRAWN
    with pytest.raises(erasure.ErasureError) as refused:
        erasure.erasure_request_approve(request=request, actor=dpo)
    assert refused.value.code == "not_open"
    assert User.objects.get(pk=resident.pk).is_active


@pytest.mark.django_db
def test_officials_and_strangers_cannot_ask_or_decide(resident, second_resident, case_officer, dpo):
    with pytest.raises(erasure.ErasureError) as refused:
        erasure.erasure_request_submit(user=case_officer, actor=case_officer)
    assert refused.value.code == "official_account"
    with pytest.raises(erasure.ErasureError) as refused:
        erasure.erasure_request_submit(user=resident, actor=second_resident)
    assert refused.value.code == "not_holder"
    request = erasure.erasure_request_submit(user=resident, actor=resident)
    for who in (case_officer, second_resident):
        with pytest.raises(erasure.ErasureError) as refused:
            erasure.erasure_request_approve(request=request, actor=who)
        assert refused.value.code == "not_officer"
        with pytest.raises(erasure.ErasureError):
            erasure.erasure_request_withdraw(request=request, actor=who)
    assert ErasureRequest.objects.get(pk=request.pk).is_open


@pytest.mark.django_db
def test_an_officer_cannot_decide_their_own_request(dpo, second_dpo):
    # An officer asked while without the role, and was given it back since.
    from ecitizen.accounts.models import RoleAssignment
    from ecitizen.accounts.services import role_assign

    RoleAssignment.objects.filter(user=dpo).delete()
    request = erasure.erasure_request_submit(user=dpo, actor=dpo)
    role_assign(user=dpo, role=erasure.DPO_ROLE, department=None, actor=None, system=True)
    officer = User.objects.get(pk=dpo.pk)
    with pytest.raises(erasure.ErasureError) as refused:
        erasure.erasure_request_approve(request=request, actor=officer)
    assert refused.value.code == "own_request"
    with pytest.raises(erasure.ErasureError) as refused:
        erasure.erasure_request_refuse(request=request, reason="Not me", actor=officer)
    assert refused.value.code == "own_request"
    # Another officer cannot close the account of someone who holds a staff role now…
    with pytest.raises(erasure.ErasureError) as refused:
        erasure.erasure_request_approve(request=request, actor=second_dpo)
    assert refused.value.code == "official_account"
    assert ErasureRequest.objects.get(pk=request.pk).is_open
    assert User.objects.get(pk=dpo.pk).is_active
    # …but may refuse the request.
    erasure.erasure_request_refuse(request=request, reason="Still in post", actor=second_dpo)


@pytest.mark.django_db
def test_the_officer_sees_the_queue_and_the_plan_and_refuses_with_a_reason(client, resident, dpo):
    request = erasure.erasure_request_submit(user=resident, reason="Moving", actor=resident)
    sign_in_official(client, dpo)
    queue = client.get(reverse("staff:privacy_erasure_queue"))
    assert queue.status_code == 200
    assert request.reference in queue.content.decode()
    url = reverse("staff:privacy_erasure_detail", args=[request.reference])
    page = client.get(url).content.decode()
    assert "Approving would erase" in page
    assert "Your bills, payments and refunds" not in page  # the resident has none
    assert "Your closed account, with no name or email address" in page
    assert AuditEvent.objects.filter(
        action="personal_data.viewed", subject_user_id=resident.pk, actor_id=dpo.pk
    ).exists()
    # Refusing needs a reason.
    response = client.post(url, {"decision": "refuse", "reason": ""})
    assert response.status_code == 200
    assert "Enter the reason for refusing" in response.content.decode()
    assert ErasureRequest.objects.get(pk=request.pk).is_open
    response = client.post(url, {"decision": "refuse", "reason": "You owe an unpaid fine"})
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == ErasureRequest.Status.REFUSED
    assert request.decision_reason == "You owe an unpaid fine"
    assert Notification.objects.filter(recipient=resident, event=erasure.EVENT_REFUSED).exists()
    # The resident reads the reason on their page.
    client.force_login(resident)
    assert (
        "You owe an unpaid fine" in client.get(reverse("privacy:erasure_status")).content.decode()
    )


@pytest.mark.django_db
def test_the_officer_approves_through_the_page(
    client, resident, dpo, django_capture_on_commit_callbacks
):
    request = erasure.erasure_request_submit(user=resident, actor=resident)
    sign_in_official(client, dpo)
    url = reverse("staff:privacy_erasure_detail", args=[request.reference])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"decision": "approve"})
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == ErasureRequest.Status.DONE
    assert not User.objects.get(pk=resident.pk).is_active
    page = client.get(url).content.decode()
    assert "What was kept, and why" in page
    assert "resident@example.test" not in page


@pytest.mark.django_db
def test_only_the_officer_reaches_the_staff_pages(client, resident, case_officer):
    request = erasure.erasure_request_submit(user=resident, actor=resident)
    url = reverse("staff:privacy_erasure_detail", args=[request.reference])
    sign_in_official(client, case_officer)
    assert client.get(url).status_code == 403
    assert client.get(reverse("staff:privacy_erasure_queue")).status_code == 403
    client.force_login(resident)
    assert client.get(url).status_code == 403


@pytest.mark.django_db
def test_the_role_is_authority_wide_and_holds_the_records_too():
    from ecitizen.core.registry import registry

    role = registry.role(erasure.DPO_ROLE)
    assert role.authority_wide
    assert role.staff
    assert erasure.DPO_ROLE in registry.roles_with(erasure.ERASURE_DECIDE)
    assert erasure.DPO_ROLE in registry.roles_with("privacy.records")
    assert Role.PLATFORM_ADMIN not in registry.roles_with(erasure.ERASURE_DECIDE)


@pytest.mark.django_db
def test_the_audit_page_shows_sealed_addresses_until_the_key_is_destroyed(
    client, resident, dpo, auditor, django_capture_on_commit_callbacks
):
    from ecitizen.core.auditseal import is_sealed

    request = erasure.erasure_request_submit(user=resident, actor=resident)
    event = AuditEvent.objects.get(action="privacy.erasure_requested")
    assert is_sealed(event.actor_label)
    assert resident.email not in event.actor_label
    sign_in_official(client, auditor)
    page = client.get(reverse("staff:audit")).content.decode()
    assert resident.email in page
    with django_capture_on_commit_callbacks(execute=True):
        erasure.erasure_request_approve(request=request, actor=dpo)
    page = client.get(reverse("staff:audit")).content.decode()
    assert resident.email not in page
    assert "[erased]" in page
    # The event itself did not change: its hash still matches.
    assert AuditEvent.objects.get(pk=event.pk).actor_label == event.actor_label
