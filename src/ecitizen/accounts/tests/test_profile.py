import pytest
from django.urls import reverse

from ecitizen.accounts.models import ResidentProfile
from ecitizen.core.models import AuditEvent
from tests.personas import sign_in_official


@pytest.fixture
def signed_in(client, resident):
    client.force_login(resident)
    return client


VALID = {
    "legal_name": "Alex Morgan",
    "preferred_name": "Alex",
    "date_of_birth_day": "27",
    "date_of_birth_month": "3",
    "date_of_birth_year": "1985",
    "national_id": "rv 1234 5678",
    "address_line_1": "12 Mill Lane",
    "town": "Riverton",
    "postcode": "RV1 2AB",
    "phone": "07700 900123",
    "contact_preference": "email",
}


def test_a_resident_saves_their_details(signed_in, resident):
    response = signed_in.post(reverse("accounts:profile_edit"), VALID)
    assert response.status_code == 302
    profile = ResidentProfile.objects.get(user=resident)
    assert profile.national_id == "RV12345678"
    assert str(profile.date_of_birth) == "1985-03-27"
    event = AuditEvent.objects.get(action="profile.updated", subject_user_id=resident.pk)
    assert event.changes["national_id"]["after"] == "[redacted]"
    # The address is personal too: the trail says it changed, not what it is.
    assert event.changes["town"] == {"before": "", "after": "[redacted]"}


def test_bad_input_is_explained_and_nothing_is_lost(signed_in, resident):
    data = {
        **VALID,
        "date_of_birth_day": "31",
        "date_of_birth_month": "2",
        "national_id": "12345",
        "phone": "call me",
    }
    response = signed_in.post(reverse("accounts:profile_edit"), data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "There is a problem" in page
    assert "Enter a real date" in page
    assert "like RV12345678" in page
    assert 'href="#id_date_of_birth_day"' in page
    assert 'href="#id_national_id"' in page
    # What was typed is still there.
    assert 'value="12 Mill Lane"' in page
    assert 'value="12345"' in page
    assert ResidentProfile.objects.get(user=resident).address_line_1 == ""


def test_staff_views_are_recorded_and_shown_in_the_residents_data_tracker(
    client, resident, case_officer, department
):
    from tests.factories import business_with

    business_with(resident, department)
    sign_in_official(client, case_officer)
    response = client.get(reverse("staff:resident_detail", args=[resident.profile.pk]))
    assert response.status_code == 200
    client.logout()

    client.force_login(resident)
    page = client.get(reverse("accounts:data_tracker")).content.decode()
    assert "Revenue — Case officer" in page
    assert case_officer.full_name not in page  # the office, not the official


def test_officials_find_a_resident_by_national_id(client, resident, case_officer, department):
    from ecitizen.accounts import services
    from tests.factories import business_with

    business_with(resident, department)
    services.profile_update(user=resident, data={"national_id": "RV87654321"}, actor=resident)
    sign_in_official(client, case_officer)
    response = client.post(reverse("staff:residents"), {"national_id": "rv87654321"})
    assert response.status_code == 200
    assert reverse("staff:resident_detail", args=[resident.profile.pk]) in response.content.decode()
    # The lookup is recorded against the resident (never the number itself) ...
    event = AuditEvent.objects.get(action="personal_data.looked_up")
    assert event.subject_user_id == resident.pk
    assert "RV87654321" not in str(event.changes)
    # ... and the resident sees it.
    client.force_login(resident)
    page = client.get(reverse("accounts:data_tracker")).content.decode()
    assert "Found you by your national identity number" in page


def test_name_search_is_bounded_and_audited(client, case_officer, department, settings):
    from tests.factories import UserFactory, business_with

    for number in range(30):
        smith = UserFactory(email=f"smith{number}@example.test", full_name=f"Jo Smith {number}")
        business_with(smith, department)
    sign_in_official(client, case_officer)
    short = client.post(reverse("staff:residents"), {"query": "s"})
    assert "Enter at least 3 characters" in short.content.decode()
    response = client.post(reverse("staff:residents"), {"query": "smith"})
    import re

    assert len(re.findall(r"/staff/residents/\d+/", response.content.decode())) == 25
    assert "Only the first 25 are shown" in response.content.decode()
    event = AuditEvent.objects.get(action="personal_data.searched")
    assert event.changes["results"]["after"] == 25


def test_a_ward_limited_officer_sees_only_residents_of_their_wards(
    client, department, resident, second_resident
):
    from ecitizen.accounts import services
    from ecitizen.accounts.models import Role
    from tests.factories import JurisdictionFactory, UserFactory, business_with

    northgate, harbour = JurisdictionFactory(code="northgate"), JurisdictionFactory(code="harbour")
    services.profile_update(user=resident, data={"ward": northgate}, actor=resident)
    services.profile_update(user=second_resident, data={"ward": harbour}, actor=second_resident)
    for someone in (resident, second_resident):
        business_with(someone, department)
    officer = UserFactory(email="ward.officer@example.test")
    services.role_assign(
        user=officer,
        role=Role.CASE_OFFICER,
        department=department,
        jurisdiction=northgate,
        actor=None,
        system=True,
    )
    services.mfa_totp_activate(user=officer, secret="JBSWY3DPEHPK3PXP", actor=None)
    sign_in_official(client, officer)
    assert (
        client.get(reverse("staff:resident_detail", args=[resident.profile.pk])).status_code == 200
    )
    assert (
        client.get(reverse("staff:resident_detail", args=[second_resident.profile.pk])).status_code
        == 404
    )


def test_department_administrators_do_not_read_residents_details(
    client, department_admin, resident
):
    sign_in_official(client, department_admin)
    assert (
        client.get(reverse("staff:resident_detail", args=[resident.profile.pk])).status_code == 403
    )


@pytest.mark.parametrize("day", ["99999999999999999999", "-1", "3.5"])
def test_absurd_dates_are_refused_not_crashed(signed_in, day):
    response = signed_in.post(reverse("accounts:profile_edit"), {**VALID, "date_of_birth_day": day})
    assert response.status_code == 200
    assert "Enter a real date" in response.content.decode()


def test_officials_see_only_residents_with_business_in_their_department(
    client, resident, second_resident, case_officer, department, other_department
):
    """Need to know: a department's official finds and opens only residents who have
    business with that department (an application or a bill); an authority-wide role
    (platform administrator) sees every resident."""
    from ecitizen.accounts import services
    from tests.factories import business_with

    services.profile_update(user=resident, data={"national_id": "RV11111111"}, actor=resident)
    business_with(second_resident, other_department)
    sign_in_official(client, case_officer)
    for someone in (resident, second_resident):
        url = reverse("staff:resident_detail", args=[someone.profile.pk])
        assert client.get(url).status_code == 404
    found = client.post(reverse("staff:residents"), {"national_id": "RV11111111"})
    assert reverse("staff:resident_detail", args=[resident.profile.pk]) not in (
        found.content.decode()
    )
    business_with(resident, department)
    url = reverse("staff:resident_detail", args=[resident.profile.pk])
    assert client.get(url).status_code == 200
