"""An election made through the voting services, as its people would make it: the
administrator prepares it, the trustees run the key ceremony (their browsers' part done
in Python with ``ecitizen_verify``), the credential authority issues credentials (kept
here as the voters' emails would hold them) and the administrator opens it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.utils import timezone

from ecitizen.voting.models import Election, Trustee, Voter
from ecitizen.voting.services import ballots, ceremony, counting, credentials, elections
from ecitizen.voting.services.common import GROUP, election_bytes_of
from ecitizen_verify import threshold as dkg
from ecitizen_verify.ballot import make_ballot
from ecitizen_verify.election import parse_election
from ecitizen_verify.tally import parse_tally, partial_decryption
from tests.factories import UserFactory

QUESTIONS = [
    elections.QuestionInput("Car-free Sundays?", ["Yes", "No"], 1, 1, True, {}),
    elections.QuestionInput(
        "Which streets?", ["High Street", "Mill Lane", "Quay"], 0, 2, False, {}
    ),
]


@dataclass
class World:
    election: Election
    voters: list[Any]
    trustees: list[Trustee]
    seeds: list[str] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)  # voter email -> private credential

    def refresh(self) -> Election:
        self.election.refresh_from_db()
        return self.election

    def voter(self, user: Any) -> Voter:
        return Voter.objects.get(election=self.election, user=user)

    def ballot(self, user: Any, choices: list[list[int]]) -> bytes:
        protocol = parse_election(election_bytes_of(self.election))
        return make_ballot(protocol, self.keys[user.email], choices).raw

    def cast(self, user: Any, choices: list[list[int]]) -> ballots.Cast:
        return ballots.ballot_cast(
            election=self.election, voter=self.voter(user), raw=self.ballot(user, choices)
        )

    def decrypt(self, position: int, *, seed_of: int | None = None) -> str:
        """Trustee ``position``'s partial decryption, made with the seed of ``seed_of``
        (another trustee's key file, to test refusals) or their own."""
        election = self.refresh()
        protocol = parse_election(election_bytes_of(election))
        tally = parse_tally(protocol, json.loads(counting.tally_of(election)))
        certificates = ceremony.certificates_of(election)
        owner = Trustee.objects.get(election=election, position=seed_of or position)
        key = dkg.decryption_key(
            GROUP, self.seeds[(seed_of or position) - 1], owner.encrypted_key, certificates
        )
        return partial_decryption(protocol, tally, int(key)).decode()


def make_world(
    administrator: Any,
    authority: Any,
    department: Any,
    *,
    voters: int = 4,
    trustees: int = 3,
    threshold: int = 2,
    slug: str = "referendum",
    open_now: bool = True,
) -> World:
    now = timezone.now()
    election = elections.election_create(
        actor=administrator,
        slug=slug,
        title="Car-free Sundays on the High Street",
        description="A referendum.",
        department_id=department.pk,
        ward_id=None,
        opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(days=1),
        threshold=threshold,
        voters_from=Election.Voters.LIST,
        process_id=None,
        credentials=Election.Credentials.PLATFORM,
        credential_authority=authority,
        translations={},
    )
    people = [UserFactory(email=f"voter{n}@example.test") for n in range(voters)]
    keepers = [UserFactory(email=f"trustee{n}@example.test") for n in range(trustees)]
    elections.questions_set(election=election, questions=QUESTIONS, actor=administrator)
    elections.voters_upload(
        election=election, emails=[p.email for p in people], actor=administrator
    )
    elections.trustees_set(
        election=election,
        trustees=[(f"Trustee {n}", user) for n, user in enumerate(keepers, 1)],
        actor=administrator,
    )
    world = World(election, people, [])
    if not open_now:
        return world
    elections.election_freeze(election=election, actor=administrator)
    world.trustees = list(election.trustees.order_by("position"))
    world.seeds = [dkg.new_seed() for _ in world.trustees]
    for trustee, seed in zip(world.trustees, world.seeds, strict=True):
        ceremony.trustee_certificate_submit(
            trustee=trustee, certificate=dkg.step1_certificate(GROUP, seed), actor=trustee.user
        )
    certificates = ceremony.certificates_of(election)
    for trustee, seed in zip(world.trustees, world.seeds, strict=True):
        ceremony.trustee_polynomial_submit(
            trustee=trustee,
            polynomial=dkg.step3_polynomial(GROUP, seed, certificates, threshold),
            actor=trustee.user,
        )
    for trustee, seed in zip(world.trustees, world.seeds, strict=True):
        trustee.refresh_from_db()
        ceremony.trustee_voutput_submit(
            trustee=trustee,
            voutput=dkg.step5_voutput(GROUP, seed, certificates, trustee.vinput),
            actor=trustee.user,
        )
    issued: list[str] = []

    def keep() -> str:
        issued.append(credentials.reproducible_credentials(f"test:{len(issued)}")())
        return issued[-1]

    credentials.credentials_issue(election=election, actor=authority, make=keep)
    for voter, credential in zip(
        Voter.objects.filter(election=election).order_by("pk"), issued, strict=True
    ):
        world.keys[voter.email] = credential
    elections.election_open(election=election, actor=administrator)
    world.refresh()
    world.trustees = list(election.trustees.order_by("position"))
    return world
