"""The voting pages: public pages in every state, the archive download, the booth (cast
by posting a ballot made as the browser makes it; refusals shown on the page with nothing
cast), a trustee's page, and the officials' pages confined to the remit."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from ecitizen.voting.models import CastBallot
from ecitizen.voting.services import counting
from ecitizen.voting.services.record import archive_chunks
from ecitizen_verify import threshold as dkg
from ecitizen_verify.verify import verify_archive
from tests.personas import sign_in_official

from .world import make_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(election_administrator, credential_authority, department):
    return make_world(election_administrator, credential_authority, department)


def test_public_pages_show_the_election_and_never_a_voter(client, world):
    alice = world.voters[0]
    cast = world.cast(alice, [[0, 1, 0], [1, 0, 0]])
    slug = world.election.slug
    for name in ("voting:elections",):
        assert client.get(reverse(name)).status_code == 200
    for name in ("voting:election", "voting:ballots", "voting:result", "voting:verify"):
        response = client.get(reverse(name, args=[slug]))
        assert response.status_code == 200, name
        assert alice.email.encode() not in response.content
    found = client.get(reverse("voting:ballots", args=[slug]), {"tracker": cast.tracker})
    assert "Your ballot is in the box" in found.content.decode()
    missing = client.get(reverse("voting:ballots", args=[slug]), {"tracker": "nope"})
    assert "No ballot has this tracker" in missing.content.decode()


def test_the_archive_download_is_the_record_and_verifies(client, world):
    world.cast(world.voters[0], [[0, 1, 0], [1, 0, 0]])
    election = world.election
    url = reverse("voting:archive", args=[election.slug, f"{election.uuid}.bel"])
    response = client.get(url)
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert body == b"".join(archive_chunks(election))
    assert verify_archive(body, workers=1).ballots_cast == 1
    assert (
        client.get(reverse("voting:archive", args=[election.slug, "other.bel"])).status_code == 404
    )


def test_a_draft_election_is_not_public(
    client, election_administrator, credential_authority, department
):
    world = make_world(election_administrator, credential_authority, department, open_now=False)
    assert client.get(reverse("voting:election", args=[world.election.slug])).status_code == 404


def test_the_booth_casts_the_ballot_the_browser_made(client, world):
    alice = world.voters[0]
    client.force_login(alice)
    page = client.get(reverse("voting:vote", args=[world.election.slug]))
    assert page.status_code == 200
    assert page.context["booth"]["publicCredential"] == world.voter(alice).public_credential
    assert "encrypts your ballot on your own device" in page.content.decode()
    raw = world.ballot(alice, [[0, 1, 0], [1, 0, 0]])
    response = client.post(
        reverse("voting:vote", args=[world.election.slug]), {"ballot": raw.decode()}
    )
    assert response.status_code == 302
    done = client.get(response["Location"])
    assert "Your vote has been cast" in done.content.decode()
    tracker = CastBallot.objects.get().tracker
    assert tracker in done.content.decode()


def test_the_booth_shows_a_refusal_and_casts_nothing(client, world):
    alice, bob = world.voters[:2]
    client.force_login(alice)
    url = reverse("voting:vote", args=[world.election.slug])
    for posted in (
        {"ballot": "{}"},
        {"ballot": world.ballot(bob, [[0, 1, 0], [0, 0, 0]]).decode()},
        {},
    ):
        response = client.post(url, posted)
        assert response.status_code == 200
        assert "There is a problem" in response.content.decode()
    assert not CastBallot.objects.exists()


def test_someone_not_on_the_list_cannot_vote(client, world, outsider):
    client.force_login(outsider)
    response = client.get(reverse("voting:vote", args=[world.election.slug]))
    assert "You are not on the voter list" in response.content.decode()
    assert "booth" not in response.context


def test_a_trustee_decrypts_on_their_page_and_others_get_404(client, world, outsider):
    world.cast(world.voters[0], [[0, 1, 0], [1, 0, 0]])
    with time_machine.travel(world.election.closes_at + timedelta(minutes=1)):
        counting.election_close(election=world.election, actor=world.election.administrator)
    url = reverse("voting:trustee", args=[world.election.slug])
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    trustee = world.trustees[0]
    client.force_login(trustee.user)
    page = client.get(url)
    assert page.context["decrypting"]
    assert page.context["booth"]["encryptedKey"] == trustee.encrypted_key
    wrong = client.post(url, {"message": world.decrypt(1, seed_of=2)})
    assert "does not check out" in wrong.content.decode()
    right = client.post(url, {"message": world.decrypt(1)})
    assert right.status_code == 302
    trustee.refresh_from_db()
    assert trustee.decrypted_at is not None


def test_the_ceremony_pages_take_each_round(
    client, election_administrator, credential_authority, department
):
    from ecitizen.voting.services import elections

    world = make_world(election_administrator, credential_authority, department, open_now=False)
    elections.election_freeze(election=world.election, actor=election_administrator)
    trustees = list(world.election.trustees.order_by("position"))
    seeds = [dkg.new_seed() for _ in trustees]
    url = reverse("voting:trustee", args=[world.election.slug])
    from ecitizen_verify.group import BELENIOS_2048 as G

    for trustee, seed in zip(trustees, seeds, strict=True):
        client.force_login(trustee.user)
        assert client.get(url).context["task"] == 1
        assert client.post(url, {"message": dkg.step1_certificate(G, seed)}).status_code == 302
        assert client.get(url).context["task"] in (0, 2)
    certificates = [t.certificate for t in world.election.trustees.order_by("position")]
    for trustee, seed in zip(trustees, seeds, strict=True):
        client.force_login(trustee.user)
        page = client.get(url)
        assert page.context["booth"]["certificates"] == certificates
        client.post(
            url, {"message": dkg.step3_polynomial(G, seed, certificates, world.election.threshold)}
        )
    for trustee, seed in zip(trustees, seeds, strict=True):
        client.force_login(trustee.user)
        vinput = client.get(url).context["booth"]["vinput"]
        client.post(url, {"message": dkg.step5_voutput(G, seed, certificates, vinput)})
    world.refresh()
    assert world.election.threshold_parameters


def test_officials_see_only_elections_in_their_remit(
    client, world, other_election_administrator, election_administrator
):
    slug = world.election.slug
    sign_in_official(client, other_election_administrator)
    assert client.get(reverse("staff:voting_election", args=[slug])).status_code == 404
    assert slug not in client.get(reverse("staff:voting")).content.decode()
    sign_in_official(client, election_administrator)
    assert client.get(reverse("staff:voting_election", args=[slug])).status_code == 200


def test_the_credential_authority_uploads_offline_credentials(
    client, election_administrator, credential_authority, department
):
    import json

    from ecitizen.voting.models import Election
    from ecitizen.voting.services import elections
    from ecitizen_verify.credentials import new_credential, public_credential
    from ecitizen_verify.group import BELENIOS_2048 as G

    world = make_world(election_administrator, credential_authority, department, open_now=False)
    Election.objects.filter(pk=world.election.pk).update(credentials=Election.Credentials.OFFLINE)
    elections.election_freeze(election=world.election, actor=election_administrator)
    sign_in_official(client, credential_authority)
    listing = client.get(reverse("staff:voting_voter_list", args=[world.election.slug]))
    lines = listing.content.decode().splitlines()
    assert len(lines) == 4
    logins = [line.split(",")[1] for line in lines]
    pubcreds = [
        f"{public_credential(G, world.election.uuid, new_credential())},,{login}"
        for login in logins
    ]
    url = reverse("staff:voting_credentials", args=[world.election.slug])
    short = io.BytesIO(json.dumps(pubcreds[:3]).encode())
    short.name = "x.pubcreds"
    refused = client.post(url, {"form": "upload", "u-pubcreds": short})
    assert "no credential in the file" in refused.content.decode()
    whole = io.BytesIO(json.dumps(pubcreds).encode())
    whole.name = "x.pubcreds"
    assert client.post(url, {"form": "upload", "u-pubcreds": whole}).status_code == 302
    assert not world.election.voters.filter(public_credential="").exists()
