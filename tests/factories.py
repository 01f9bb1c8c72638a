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
