"""factory-boy factories for people and the organisation. They go through the services,
as the rest of the platform must, so every persona has a profile and an audit trail."""

from __future__ import annotations

import factory
from allauth.account.models import EmailAddress

from ecitizen.accounts import services
from ecitizen.accounts.models import Department, Jurisdiction, User

PASSWORD = "correct horse battery staple"


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"department-{n}")
    name = factory.Sequence(lambda n: f"Department {n}")


class JurisdictionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Jurisdiction
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"ward-{n}")
    name = factory.Sequence(lambda n: f"Ward {n}")


class UserFactory(factory.Factory):
    """A verified user with a resident profile, created through ``user_create``."""

    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    full_name = factory.Faker("name")
    password = PASSWORD

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        user = services.user_create(
            email=kwargs["email"], full_name=kwargs["full_name"], password=kwargs["password"]
        )
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
        return user


def business_with(user, department, *, number: int | None = None):
    """Give a resident business with a department (a bill of it), which is what lets
    that department's officials see the resident (need to know; see
    ``accounts.selectors._profiles_for_staff``)."""
    from datetime import timedelta

    from django.utils import timezone

    from ecitizen.payments.models import Bill
    from ecitizen.payments.services import BillSpec, LineSpec, bill_create

    key = f"{department.slug}:{user.pk}" if number is None else f"{department.slug}:{number}"
    return bill_create(
        spec=BillSpec(
            reference=f"BIZ-{abs(hash(key)) % 10**9:09d}",
            kind=Bill.Kind.FEE,
            description="Test fee",
            department_id=department.pk,
            due_date=timezone.localdate() + timedelta(days=30),
            lines=[LineSpec("Test fee", 1_000, "fee")],
            payer_id=user.pk,
            source_key=f"business:{key}",
        ),
        actor=None,
    )
