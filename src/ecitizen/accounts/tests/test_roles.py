import pytest
from django.urls import reverse

from ecitizen.accounts import services
from ecitizen.accounts.models import Role, RoleAssignment
from ecitizen.core.errors import DomainError, PermissionDenied
from ecitizen.core.models import AuditEvent
from tests.personas import sign_in_official


def test_a_department_admin_manages_roles_in_their_department_only(
    department_admin, department, other_department, resident
):
    assignment = services.role_assign(
        user=resident, role=Role.CASE_OFFICER, department=department, actor=department_admin
    )
    event = AuditEvent.objects.get(action="role.assigned", object_id=str(assignment.pk))
    assert event.actor_id == department_admin.pk
    assert event.subject_user_id == resident.pk
    assert event.changes["role"]["after"] == "Revenue — Case officer"

    with pytest.raises(PermissionDenied):
        services.role_assign(
            user=resident,
            role=Role.CASE_OFFICER,
            department=other_department,
            actor=department_admin,
        )
    with pytest.raises(PermissionDenied):
        services.role_assign(
            user=resident, role=Role.PLATFORM_ADMIN, department=None, actor=department_admin
        )
    with pytest.raises(DomainError, match="already has that role"):
        services.role_assign(
            user=resident, role=Role.CASE_OFFICER, department=department, actor=department_admin
        )


def test_revoking_is_audited(platform_admin, department, resident):
    assignment = services.role_assign(
        user=resident, role=Role.SUPERVISOR, department=department, actor=platform_admin
    )
    services.role_revoke(assignment=assignment, actor=platform_admin)
    assert not RoleAssignment.objects.filter(pk=assignment.pk).exists()
    assert AuditEvent.objects.filter(action="role.revoked", subject_user_id=resident.pk).exists()


def test_people_page_gives_a_role_and_reports_bad_input(
    client, department_admin, department, resident
):
    sign_in_official(client, department_admin)
    url = reverse("staff:people")
    response = client.post(url, {"email": "nobody@example.test", "role": Role.CASE_OFFICER})
    assert response.status_code == 200
    assert "There is no account with this email address" in response.content.decode()

    response = client.post(
        url, {"email": resident.email, "role": Role.CASE_OFFICER, "department": department.pk}
    )
    assert response.status_code == 302
    assert RoleAssignment.objects.filter(user=resident, role=Role.CASE_OFFICER).exists()

    # Asking twice is refused with a message, not a 500 or a duplicate.
    response = client.post(
        url, {"email": resident.email, "role": Role.CASE_OFFICER, "department": department.pk}
    )
    assert response.status_code == 200
    assert "already has that role" in response.content.decode()
    assert RoleAssignment.objects.filter(user=resident, role=Role.CASE_OFFICER).count() == 1


def test_the_database_holds_one_authority_wide_role_per_person(resident):
    from django.db import IntegrityError, transaction

    RoleAssignment.objects.create(user=resident, role=Role.AUDITOR)
    with pytest.raises(IntegrityError), transaction.atomic():
        RoleAssignment.objects.create(user=resident, role=Role.AUDITOR)


def test_audit_labels_are_written_in_the_default_language(platform_admin, department, resident):
    from django.utils import translation

    with translation.override("fr"):
        services.role_assign(
            user=resident, role=Role.SUPERVISOR, department=department, actor=platform_admin
        )
    event = AuditEvent.objects.filter(action="role.assigned", subject_user_id=resident.pk).last()
    assert event.changes["role"]["after"] == "Revenue — Supervisor"


def test_roles_are_never_given_by_nobody(resident, department):
    with pytest.raises(PermissionDenied):
        services.role_assign(
            user=resident, role=Role.CASE_OFFICER, department=department, actor=None
        )


def test_createsuperuser_makes_a_complete_platform_administrator(db, monkeypatch):
    from django.core.management import call_command

    from ecitizen.accounts.models import User
    from ecitizen.accounts.selectors import user_has_role

    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "lantern harbour quilt")
    call_command(
        "createsuperuser",
        interactive=False,
        email="First.Admin@Example.test",
        full_name="First Admin",
        verbosity=0,
    )
    admin = User.objects.get(email="first.admin@example.test")
    assert admin.profile.legal_name == "First Admin"
    assert user_has_role(admin, {Role.PLATFORM_ADMIN})
    assert admin.check_password("lantern harbour quilt")
    assert AuditEvent.objects.filter(action="role.assigned", subject_user_id=admin.pk).exists()


def test_removing_a_role_twice_is_one_removal(platform_admin, department, resident):
    assignment = services.role_assign(
        user=resident, role=Role.SUPERVISOR, department=department, actor=platform_admin
    )
    services.role_revoke(assignment=assignment, actor=platform_admin)
    with pytest.raises(DomainError, match="already been removed"):
        services.role_revoke(assignment=assignment, actor=platform_admin)
    assert (
        AuditEvent.objects.filter(action="role.revoked", subject_user_id=resident.pk).count() == 1
    )


def test_a_department_admin_cannot_remove_roles_elsewhere(
    client, department_admin, other_department, resident
):
    from django.urls import reverse

    from tests.personas import sign_in_official

    assignment = services.role_assign(
        user=resident,
        role=Role.CASE_OFFICER,
        department=other_department,
        actor=None,
        system=True,
    )
    sign_in_official(client, department_admin)
    # Outside their departments the assignment is unknown to them, like a missing one.
    response = client.post(reverse("staff:role_revoke", args=[assignment.pk]))
    assert response.status_code == 404
    assert RoleAssignment.objects.filter(pk=assignment.pk).exists()
