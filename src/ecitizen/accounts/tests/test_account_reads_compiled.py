"""The account page's and a question page's reads, compiled once per process
(``accounts.selectors``: ``identity_verification_for``, ``profile_of``,
``user_with_profile``), give what the ORM gives."""

from __future__ import annotations

import pytest
from django.utils import timezone

from ecitizen.accounts.models import IdentityVerification, ResidentProfile, User
from ecitizen.accounts.selectors import identity_verification_for, profile_of, user_with_profile

# The compiled SQL is compared on both databases.
pytestmark = pytest.mark.db_specific


def test_the_compiled_account_reads_are_the_orms(resident, second_resident):
    now = timezone.now()
    verified = IdentityVerification.objects.create(
        user=resident, provider="eid", acr="high", verified_at=now, first_verified_at=now
    )
    found = identity_verification_for(resident)
    assert found == verified
    assert (found.provider, found.acr, found.verified_at) == ("eid", "high", now)
    assert identity_verification_for(second_resident) is None

    expected = ResidentProfile.objects.get(user=resident)
    profile = profile_of(resident)
    assert profile == expected
    assert profile.legal_name == expected.legal_name  # decrypted alike
    assert profile.display_name == expected.display_name

    orm = User.objects.select_related("profile").get(pk=resident.pk)
    read = user_with_profile(user_id=resident.pk)
    assert read == orm
    assert read.email == orm.email
    assert read.profile == orm.profile
    assert read.profile.legal_name == orm.profile.legal_name
    assert user_with_profile(user_id=-1) is None


def test_an_account_without_a_profile(db):
    bare = User.objects.create(email="bare@example.test")
    ResidentProfile.objects.filter(user=bare).delete()
    assert profile_of(bare) is None
    read = user_with_profile(user_id=bare.pk)
    orm = User.objects.select_related("profile").get(pk=bare.pk)
    assert read == orm
    # As the ORM: no profile, read in the same query, raises when asked for.
    for user in (read, orm):
        with pytest.raises(ResidentProfile.DoesNotExist):
            user.profile  # noqa: B018 - the access is what is tested
