"""The voting part of the Riverton demo.

- *Car-free Sundays on the High Street* (``car-free-sundays``): a referendum of about 500
  voters, closed and counted. Its five trustees (the auditor, two department heads, a
  works supervisor and a resident observer) made its key together, 3 of 5 needed; the
  returning officer issued the credentials; voters voted, some twice (their last ballot
  counts); the ballot box was closed, three trustees decrypted (one could not be
  reached), and the result was published. Its archive passes ``belenios-tool election
  verify``.
- *Library evening opening* (``library-evenings``): open for 30 days. Every demo
  resident is on its list; ``resident@`` can vote with the credential the demo prints.

The trustees' part happens here in Python, as their browsers would do it, with key files
that are made and thrown away: they are kept only in memory, so the open election's
result can never be decrypted in the demo. Every other write goes through the app's
services by the person who would make it.

**A past election is replayed.** Ballots are accepted only before the closing time. The
referendum is therefore created closing in an hour; once its ballots are cast, the
closing time is moved to the moment its box closes, which the public record does not hold
(it records events, not the times set for them).

Idempotent (each election is made once, by its slug). Deterministic from the demo's seed,
except the cryptographic randomness, which is never seeded.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.utils import timezone

from ecitizen.accounts.selectors import department_by_slug, user_by_email
from ecitizen.core.registry import DemoContext
from ecitizen.voting.models import Election, Voter
from ecitizen.voting.services import ballots, ceremony, counting, credentials, elections
from ecitizen.voting.services.common import GROUP, election_bytes_of
from ecitizen_verify import threshold as dkg
from ecitizen_verify.ballot import make_ballot
from ecitizen_verify.election import parse_election
from ecitizen_verify.tally import parse_tally, partial_decryption

REFERENDUM = "car-free-sundays"
OPEN_ELECTION = "library-evenings"
VOTERS = 500
DEPARTMENT = "communications"
ADMINISTRATOR = "elections"
AUTHORITY = "returning.officer"
# (name, email local part): the referendum's trustees.
TRUSTEES = [
    ("Tomasz Wierzbicki (auditor)", "auditor"),
    ("Rosa Delgado (Communications)", "comms.admin"),
    ("Ibrahim Haddad (Planning & Building)", "planning.admin"),
    ("Eilidh MacLeod (Public Works)", "works.supervisor"),
    ("Yasmin Farouk (residents' observer)", "resident2"),
]


@dataclass
class Trustees:
    """The trustees' seeds, as their key files would hold them (in memory only)."""

    seeds: list[str]


def _ceremony(election: Election) -> Trustees:
    """Run the three rounds of the key ceremony as each trustee's browser would."""
    trustees = list(election.trustees.select_related("user").order_by("position"))
    seeds = [dkg.new_seed() for _ in trustees]
    for trustee, seed in zip(trustees, seeds, strict=True):
        ceremony.trustee_certificate_submit(
            trustee=trustee, certificate=dkg.step1_certificate(GROUP, seed), actor=trustee.user
        )
    certificates = ceremony.certificates_of(election)
    for trustee, seed in zip(trustees, seeds, strict=True):
        polynomial = dkg.step3_polynomial(GROUP, seed, certificates, election.threshold)
        ceremony.trustee_polynomial_submit(
            trustee=trustee, polynomial=polynomial, actor=trustee.user
        )
    for trustee, seed in zip(trustees, seeds, strict=True):
        trustee.refresh_from_db()
        voutput = dkg.step5_voutput(GROUP, seed, certificates, trustee.vinput)
        ceremony.trustee_voutput_submit(trustee=trustee, voutput=voutput, actor=trustee.user)
    return Trustees(seeds)


def _people(context: DemoContext, count: int) -> list[str]:
    """The residents' addresses, then made-up ones up to ``count``."""
    emails = [resident.email for resident in context.residents][:count]
    emails += [context.city.email(f"voter{n:04d}") for n in range(len(emails) + 1, count + 1)]
    return emails


def _make(context: DemoContext, slug: str, **fields: Any) -> Election:
    administrator = user_by_email(email=context.city.email(ADMINISTRATOR))
    authority = user_by_email(email=context.city.email(AUTHORITY))
    department = department_by_slug(slug=DEPARTMENT)
    assert administrator is not None
    assert authority is not None
    assert department is not None
    return elections.election_create(
        actor=administrator,
        slug=slug,
        department_id=department.pk,
        ward_id=None,
        voters_from=Election.Voters.LIST,
        process_id=None,
        credentials=Election.Credentials.PLATFORM,
        credential_authority=authority,
        **fields,
    )


def _prepare(
    context: DemoContext,
    election: Election,
    questions: list[elections.QuestionInput],
    emails: list[str],
) -> tuple[Trustees, dict[str, str]]:
    """Questions, voters, trustees; set up; the ceremony; the credentials (kept here by
    voter address, as the voters' emails would hold them); opened."""
    administrator = election.administrator
    elections.questions_set(election=election, questions=questions, actor=administrator)
    elections.voters_upload(election=election, emails=emails, actor=administrator)
    people = []
    for name, local in TRUSTEES:
        user = user_by_email(email=context.city.email(local))
        assert user is not None
        people.append((name, user))
    elections.trustees_set(election=election, trustees=people, actor=administrator)
    elections.election_freeze(election=election, actor=administrator)
    trustees = _ceremony(election)
    issued: list[str] = []
    maker = credentials.reproducible_credentials(f"{context.seed}:{election.slug}")

    def remembered() -> str:
        issued.append(maker())
        return issued[-1]

    assert election.credential_authority is not None
    credentials.credentials_issue(
        election=election, actor=election.credential_authority, make=remembered
    )
    # credentials_issue makes them in the voters' order (by primary key): match them up.
    voters = Voter.objects.filter(election=election).order_by("pk")
    by_voter = {voter.email: credential for voter, credential in zip(voters, issued, strict=True)}
    elections.election_open(election=election, actor=administrator)
    election.refresh_from_db()
    return trustees, by_voter


def _vote(
    election: Election, emails: list[str], votes: dict[str, list[list[int]]], keys: dict[str, str]
) -> None:
    protocol = parse_election(election_bytes_of(election))
    voters = {voter.email: voter for voter in Voter.objects.filter(election=election)}
    for email in emails:
        if email in votes:
            raw = make_ballot(protocol, keys[email], votes[email]).raw
            ballots.ballot_cast(election=election, voter=voters[email], raw=raw)


def _referendum(context: DemoContext) -> None:
    now = timezone.now()
    election = _make(
        context,
        REFERENDUM,
        title="Car-free Sundays on the High Street",
        description=(
            "Should the High Street be closed to motor traffic every Sunday from 10:00 to "
            "18:00, from April to October? The council committed to follow the result."
        ),
        opens_at=now - timedelta(days=14),
        closes_at=now + timedelta(hours=1),
        threshold=3,
        translations={
            "fr": {"title": "Dimanches sans voitures sur la High Street"},
            "ar": {"title": "أيام أحد بلا سيارات في الشارع الرئيسي"},
        },
    )
    question = elections.QuestionInput(
        "Should the High Street be car-free on Sundays?",
        ["Yes", "No"],
        1,
        1,
        True,
        {
            "fr": {
                "text": "La High Street doit-elle être sans voitures le dimanche ?",
                "answers": ["Oui", "Non"],
            },
            "ar": {
                "text": "هل يجب أن يكون الشارع الرئيسي بلا سيارات أيام الأحد؟",
                "answers": ["نعم", "لا"],
            },
        },
    )
    emails = _people(context, VOTERS)
    trustees, keys = _prepare(context, election, [question], emails)
    generator = random.Random(context.seed + 15)  # noqa: S311 - the demo's reproducible choices
    votes = {}
    for email in emails:
        if generator.random() < 0.74:  # turnout
            roll = generator.random()
            votes[email] = (
                [[1, 0, 0]] if roll < 0.04 else ([[0, 1, 0]] if roll < 0.6 else [[0, 0, 1]])
            )
    _vote(election, emails, votes, keys)
    # Some voters change their mind before the close: their last ballot counts.
    changed = [email for email in emails if email in votes][::17]
    _vote(
        election,
        changed,
        {email: [[0, 0, 1]] if votes[email] == [[0, 1, 0]] else [[0, 1, 0]] for email in changed},
        keys,
    )
    Election.objects.filter(pk=election.pk).update(closes_at=timezone.now())
    election.refresh_from_db()
    counting.election_close(election=election, actor=election.administrator)
    protocol = parse_election(election_bytes_of(election))
    tally = parse_tally(protocol, json.loads(counting.tally_of(election)))
    certificates = ceremony.certificates_of(election)
    # Trustees 1, 2 and 5 decrypt; 3 is away and 4 lost their key file: 3 of 5 suffice.
    for trustee in election.trustees.select_related("user").filter(position__in=(1, 2, 5)):
        key = dkg.decryption_key(
            GROUP, trustees.seeds[trustee.position - 1], trustee.encrypted_key, certificates
        )
        partial = partial_decryption(protocol, tally, int(key)).decode()
        counting.trustee_decryption_submit(trustee=trustee, partial=partial, actor=trustee.user)
    counting.result_publish(election=election, actor=election.administrator)


def _open_election(context: DemoContext) -> str:
    now = timezone.now()
    election = _make(
        context,
        OPEN_ELECTION,
        title="Library evening opening",
        description="The libraries will stay open until 21:00 on the evenings most voters choose.",
        opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(days=30),
        threshold=3,
        translations={
            "fr": {"title": "Ouverture des bibliothèques en soirée"},
            "ar": {"title": "فتح المكتبات مساءً"},
        },
    )
    question = elections.QuestionInput(
        "Which evenings should the libraries stay open until 21:00?",
        ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"],
        1,
        2,
        True,
        {
            "fr": {
                "text": "Quels soirs les bibliothèques doivent-elles ouvrir jusqu'à 21 h ?",
                "answers": ["Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi"],
            },
            "ar": {
                "text": "في أي أمسيات يجب أن تبقى المكتبات مفتوحة حتى الساعة 21:00؟",
                "answers": ["الإثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة"],
            },
        },
    )
    emails = [resident.email for resident in context.residents]
    _trustees, keys = _prepare(context, election, [question], emails)
    generator = random.Random(context.seed + 16)  # noqa: S311 - the demo's reproducible choices
    named = {resident.email for resident in context.residents[:2]}
    votes = {}
    for email in emails:
        if email not in named and generator.random() < 0.3:
            days = generator.sample(range(5), generator.choice((1, 2)))
            votes[email] = [[0] + [1 if day in days else 0 for day in range(5)]]
    _vote(election, emails, votes, keys)
    return keys[context.residents[0].email]


def demo_voting_load(context: DemoContext) -> None:
    """Make both elections once, and say how to try them."""
    if Election.objects.filter(slug=REFERENDUM).exists():
        return
    _referendum(context)
    credential = _open_election(context)
    resident = context.residents[0].email
    context.notes.append(
        "Voting: /voting/ has the car-free Sundays referendum (counted: its result, ballot "
        f"box and archive at /voting/{REFERENDUM}/, and `ecitizen voting archive {REFERENDUM} "
        "DIR` writes the archive for belenios-tool) and the library evenings vote, open now: "
        f"{resident} votes at /voting/{OPEN_ELECTION}/vote/ with the credential {credential}. "
        f"{context.city.email(ADMINISTRATOR)} runs elections at /staff/voting/."
    )
