""" "Verified identity" as a capability services can require: a service definition's
``requires_verified_identity`` / ``minimum_acr`` and an election's option, enforced in
the services."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from django.urls import reverse
from django.utils import timezone

from ecitizen.accounts.models import IdentityVerification
from ecitizen.accounts.selectors import IdentityVerificationRequired, identity_verified
from ecitizen.catalogue.definitions import InvalidDefinition, parse_definition
from ecitizen.catalogue.selectors import service_identity_check
from ecitizen.catalogue.spec import ServiceSpec
from ecitizen.voting.models import CastBallot
from ecitizen.voting.services import VotingError
from ecitizen.voting.tests.world import make_world

pytestmark = pytest.mark.django_db

BIRTH_CERTIFICATE = (
    Path(__file__).resolve().parents[2] / "demo" / "definitions" / "birth-certificate-copy.yaml"
)


@pytest.fixture
def eid_levels(settings):
    """A national eID configured with the levels low < substantial < high (no provider
    needs to answer: these tests look at recorded verifications)."""
    from ecitizen.accounts.oidc_settings import provider_app

    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            **settings.SOCIALACCOUNT_PROVIDERS["openid_connect"],
            "APPS": [
                provider_app(
                    provider_id="eid",
                    purpose="resident",
                    issuer="https://eid.example.gov",
                    client_id="ecitizen",
                    secret="not-used-here",
                    name="Test eID",
                    acr_levels=["low", "substantial", "high"],
                )
            ],
        }
    }


def verify(user, acr):
    now = timezone.now()
    return IdentityVerification.objects.create(
        user=user, provider="eid", acr=acr, verified_at=now, first_verified_at=now
    )


def definition(**extra):
    data = yaml.safe_load(BIRTH_CERTIFICATE.read_text())
    data.update(extra)
    return data


def service_with(data):
    return SimpleNamespace(current_version=SimpleNamespace(definition=data))


def test_a_definition_may_require_a_verified_identity():
    text = yaml.safe_dump(definition(requires_verified_identity=True, minimum_acr="substantial"))
    parsed = parse_definition("birth-certificate-copy.yaml", text)
    spec = ServiceSpec(parsed)
    assert spec.requires_verified_identity
    assert spec.minimum_acr == "substantial"
    assert not ServiceSpec(definition()).requires_verified_identity
    with pytest.raises(InvalidDefinition):
        parse_definition("bad.yaml", yaml.safe_dump(definition(requires_verified_identity="yes")))


def test_a_service_refuses_an_unverified_resident(resident, eid_levels):
    service = service_with(definition(requires_verified_identity=True))
    with pytest.raises(IdentityVerificationRequired) as refused:
        service_identity_check(service=service, user=resident)
    assert "Link your eID" in str(refused.value.message)
    verify(resident, "low")
    service_identity_check(service=service, user=resident)
    # Services that do not ask for it never refuse.
    service_identity_check(service=service_with(definition()), user=resident)
    # A draft's own version decides, not the service's current one.
    IdentityVerification.objects.filter(user=resident).delete()
    with pytest.raises(IdentityVerificationRequired):
        service_identity_check(
            service=service_with(definition()),
            user=resident,
            definition=definition(requires_verified_identity=True),
        )


def test_a_minimum_level_of_assurance(resident, eid_levels):
    service = service_with(definition(minimum_acr="substantial"))
    verify(resident, "low")
    with pytest.raises(IdentityVerificationRequired) as refused:
        service_identity_check(service=service, user=resident)
    assert "higher level of assurance" in str(refused.value.message)
    assert refused.value.minimum_acr == "substantial"
    IdentityVerification.objects.filter(user=resident).update(acr="high")
    service_identity_check(service=service, user=resident)
    # A level the settings do not list meets no minimum.
    IdentityVerification.objects.filter(user=resident).update(acr="urn:unknown")
    assert not identity_verified(resident, minimum_acr="low")


@pytest.fixture
def world(election_administrator, credential_authority, department):
    world = make_world(election_administrator, credential_authority, department)
    world.election.requires_verified_identity = True
    world.election.minimum_acr = "substantial"
    world.election.save(update_fields=["requires_verified_identity", "minimum_acr"])
    return world


def test_an_election_refuses_ballots_of_unverified_voters(world, eid_levels):
    voter = world.voters[0]
    with pytest.raises(VotingError) as refused:
        world.cast(voter, [[1, 0, 0], [1, 0, 0]])
    assert refused.value.code == "identity_not_verified"
    assert not CastBallot.objects.exists()
    verify(voter, "low")
    with pytest.raises(VotingError):
        world.cast(voter, [[1, 0, 0], [1, 0, 0]])
    IdentityVerification.objects.filter(user=voter).update(acr="substantial")
    assert world.cast(voter, [[1, 0, 0], [1, 0, 0]]).tracker
    assert CastBallot.objects.count() == 1


def test_the_booth_offers_to_link_the_eid(client, world, eid_levels):
    client.force_login(world.voters[1])
    page = client.get(reverse("voting:vote", args=[world.election.slug])).content.decode()
    assert "confirm your identity with the national eID" in page
    assert reverse("socialaccount_connections") in page
    assert "booth.js" not in page


def test_the_identity_required_page_offers_to_link_the_eid(rf, resident, eid_levels):
    from django.template.loader import render_to_string

    with pytest.raises(IdentityVerificationRequired) as refused:
        service_identity_check(
            service=service_with(definition(requires_verified_identity=True)), user=resident
        )
    request = rf.get("/services/birth-certificate-copy/start/")
    request.user = resident
    page = render_to_string(
        "accounts/identity_required.html",
        {"error": refused.value, "what": "Birth certificate", "back_url": "/services/"},
        request=request,
    )
    assert "Confirm your identity first" in page
    assert str(refused.value.message) in page
    assert reverse("oidc_login", args=["eid"]) in page
    assert 'name="process" value="connect"' in page
    assert "Link Test eID" in page


@pytest.mark.parametrize(
    ("options", "names"),
    [
        ({"minimum_acr": "substantial"}, "EID_OIDC_MINIMUM_ACR"),
        ({"issuer": "http://eid.example.gov"}, "EID_OIDC_ISSUER must be an https"),
        ({"issuer": "not a url"}, "EID_OIDC_ISSUER"),
        ({"secret": ""}, "EID_OIDC_CLIENT_SECRET"),
        ({"group_roles": "{not json"}, "GROUP_ROLES must be JSON"),
        ({"group_roles": '{"g": [{"department": "revenue"}]}'}, '"role" code'),
        ({"group_roles": '{"g": {"role": "auditor", "colour": "red"}}'}, "unknown keys"),
    ],
)
def test_provider_settings_are_checked(options, names):
    from ecitizen.accounts.oidc_settings import OIDCSettingsError, provider_app

    arguments = {
        "provider_id": "eid",
        "purpose": "resident",
        "issuer": "https://eid.example.gov",
        "client_id": "ecitizen",
        "secret": "s3cret",
        "name": "Test eID",
        "env_prefix": "EID_OIDC_",
        **options,
    }
    with pytest.raises(OIDCSettingsError, match=names):
        provider_app(**arguments)


def test_a_group_maps_to_one_role_or_several():
    from ecitizen.accounts.oidc_settings import group_roles_parse

    assert group_roles_parse("X", '{"a": {"role": "auditor"}}') == {"a": [{"role": "auditor"}]}
    assert group_roles_parse(
        "X", '{"b": [{"role": "case_officer", "department": "revenue", "ward": "north"}]}'
    ) == {"b": [{"role": "case_officer", "department": "revenue", "ward": "north"}]}


def test_an_official_creates_an_election_that_requires_a_verified_identity(
    client, election_administrator, credential_authority, department
):
    from ecitizen.voting.models import Election
    from ecitizen.voting.tests.test_staff_pages import _new
    from tests.personas import sign_in_official

    sign_in_official(client, election_administrator)
    form = client.get(reverse("staff:voting_new")).content.decode()
    assert "confirmed their identity with the national eID" in form
    response = client.post(
        reverse("staff:voting_new"), _new(department, requires_verified_identity="on")
    )
    assert response.status_code == 302
    election = Election.objects.get(slug="car-free")
    assert election.requires_verified_identity
    page = client.get(reverse("staff:voting_election", args=[election.slug])).content.decode()
    assert "Must have confirmed their identity with the national eID" in page
    client.post(reverse("staff:voting_new"), _new(department, slug="no-eid-needed"))
    assert not Election.objects.get(slug="no-eid-needed").requires_verified_identity
