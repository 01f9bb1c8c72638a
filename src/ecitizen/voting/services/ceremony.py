"""The trustees' key generation (threshold, specification §4.6), round by round.

Each trustee's browser derives everything from a secret seed the trustee keeps in a file;
the server only receives what the protocol makes public or encrypts for other trustees,
checks it, and routes it:

- round 1: each trustee sends a certificate of their keys;
- round 2: each sends a polynomial (its values encrypted for each trustee, its
  coefficients' commitments signed); when all are in, the server prepares each trustee's
  input for round 3 (step 4);
- round 3: each checks the others' values and sends their verification key, with their
  decryption key encrypted to themselves; when all are in, the server checks every key
  against every commitment (step 6) and the key is made.

A trustee who sends something that does not verify is told at once, and nothing is kept.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from ecitizen.core.services import audit_record
from ecitizen.notifications.services import notification_send
from ecitizen.voting.models import Election, Trustee
from ecitizen.voting.services.common import GROUP, VotingError
from ecitizen_verify import threshold as dkg
from ecitizen_verify.errors import Invalid
from ecitizen_verify.serial import dumps, loads, members
from ecitizen_verify.trustees import certificate_keys, parse_trustee_key, verify_signed

POLYNOMIAL = ("polynomial", "secrets", "coefexps")


def ceremony_round(election: Election) -> int:
    """1, 2 or 3 for the round the trustees are in, 4 once the key is made (0 before the
    election is set up). Reads the trustees."""
    if election.state == Election.State.DRAFT:
        return 0
    if election.threshold_parameters:
        return 4
    trustees = list(election.trustees.all())
    if any(not t.certificate for t in trustees):
        return 1
    if any(not t.polynomial for t in trustees):
        return 2
    return 3


def trustee_task(trustee: Trustee) -> int:
    """The round this trustee has to do now (0 when waiting for the others or done)."""
    step = ceremony_round(trustee.election)
    done = {1: trustee.certificate, 2: trustee.polynomial, 3: trustee.voutput}.get(step)
    return step if step in (1, 2, 3) and not done else 0


def certificates_of(election: Election) -> list[str]:
    return [t.certificate for t in election.trustees.order_by("position")]


def _locked(trustee: Trustee, expected_round: int) -> tuple[Election, Trustee]:
    election = Election.objects.select_for_update().get(pk=trustee.election_id)
    trustee = Trustee.objects.get(pk=trustee.pk)
    if election.state != Election.State.SETUP or ceremony_round(election) != expected_round:
        raise VotingError(
            _("This step of the key ceremony is not open now: reload the page."), code="round"
        )
    return election, trustee


def _tell_trustees(election: Election, actor: Any) -> None:
    for trustee in election.trustees.select_related("user"):
        notification_send(
            recipient=trustee.user,
            event="voting_trustee_step",
            context={"election": election.title, "url": f"/voting/{election.slug}/trustee/"},
            actor=actor,
        )


def _refuse(error: Exception) -> VotingError:
    return VotingError(
        _(
            "What your browser sent does not check out (%(reason)s). Nothing was kept: "
            "make sure you chose your own key file for this election, and try again."
        )
        % {"reason": error},
        code="invalid",
    )


@transaction.atomic
def trustee_certificate_submit(*, trustee: Trustee, certificate: str, actor: Any) -> None:
    """Round 1: keep the trustee's certificate (self-signed keys). Raises VotingError for
    one that does not verify or is another trustee's. When it is the last, the trustees
    are told that round 2 is open. Audited."""
    election, trustee = _locked(trustee, 1)
    if trustee.certificate:
        raise VotingError(_("You have already done this step."), code="done")
    try:
        keys = certificate_keys(GROUP, json.loads(certificate), "your certificate")
    except (Invalid, ValueError) as error:
        raise _refuse(error) from error
    for other in election.trustees.exclude(pk=trustee.pk).exclude(certificate=""):
        if certificate_keys(GROUP, json.loads(other.certificate), "a certificate") == keys:
            raise VotingError(_("This key file belongs to another trustee."), code="duplicate")
    trustee.certificate = certificate
    trustee.save(update_fields=["certificate"])
    audit_record(
        action="voting.trustee_round1",
        actor=actor,
        obj=election,
        changes={"trustee": trustee.position},
    )
    if ceremony_round(election) == 2:
        _tell_trustees(election, actor)


@transaction.atomic
def trustee_polynomial_submit(*, trustee: Trustee, polynomial: str, actor: Any) -> None:
    """Round 2: keep the trustee's polynomial once its commitments are signed by their
    certificate's key and it has a value for every trustee. The last one makes every
    trustee's input for round 3 (step 4) and tells them. Audited."""
    election, trustee = _locked(trustee, 2)
    if trustee.polynomial:
        raise VotingError(_("You have already done this step."), code="done")
    try:
        value = members(
            loads(polynomial.encode(), "your polynomial"), POLYNOMIAL, "your polynomial"
        )
        if not isinstance(value["polynomial"], str) or not all(
            isinstance(secret, str) for secret in value["secrets"]
        ):
            raise Invalid("the polynomial's encrypted parts must be text")
        verification, _encryption = certificate_keys(
            GROUP, json.loads(trustee.certificate), "certificate"
        )
        message = json.loads(
            verify_signed(GROUP, verification, value["coefexps"], "your coefficients")
        )
        if len(message["coefexps"]) != election.threshold:
            raise Invalid(f"the polynomial must have {election.threshold} coefficients")
        if len(value["secrets"]) != election.trustees.count():
            raise Invalid("the polynomial must have a value for every trustee")
    except (Invalid, ValueError, KeyError, TypeError) as error:
        raise _refuse(error) from error
    trustee.polynomial = polynomial
    trustee.save(update_fields=["polynomial"])
    audit_record(
        action="voting.trustee_round2",
        actor=actor,
        obj=election,
        changes={"trustee": trustee.position},
    )
    if ceremony_round(election) == 3:
        trustees = list(election.trustees.order_by("position"))
        vinputs = dkg.step4_vinputs(
            GROUP, [t.certificate for t in trustees], [t.polynomial for t in trustees]
        )
        for other, vinput in zip(trustees, vinputs, strict=True):
            other.vinput = vinput
            other.save(update_fields=["vinput"])
        _tell_trustees(election, actor)


@transaction.atomic
def trustee_voutput_submit(*, trustee: Trustee, voutput: str, actor: Any) -> None:
    """Round 3: keep the trustee's verification key and encrypted decryption key. The last
    one completes the key (step 6: every key checked against every commitment); a check
    that fails there names no one and starts the ceremony again from round 1. Audited."""
    election, trustee = _locked(trustee, 3)
    if trustee.voutput:
        raise VotingError(_("You have already done this step."), code="done")
    try:
        value = json.loads(voutput)
        key = parse_trustee_key(GROUP, value["public_key"], "your verification key")
        if not isinstance(value["private_key"], str):
            raise Invalid("the encrypted key is missing")
    except (Invalid, ValueError, KeyError, TypeError) as error:
        raise _refuse(error) from error
    trustee.voutput = voutput
    trustee.public_key = dumps(key.to_json()).decode()
    trustee.encrypted_key = value["private_key"]
    trustee.save(update_fields=["voutput", "public_key", "encrypted_key"])
    audit_record(
        action="voting.trustee_round3",
        actor=actor,
        obj=election,
        changes={"trustee": trustee.position},
    )
    trustees = list(election.trustees.order_by("position"))
    if any(not t.voutput for t in trustees):
        return
    try:
        parameters, _keys = dkg.step6_parameters(
            GROUP,
            [t.certificate for t in trustees],
            [t.polynomial for t in trustees],
            [t.voutput for t in trustees],
            election.threshold,
        )
    except (Invalid, ValueError, KeyError, TypeError):
        # Someone's values did not add up; the keys cannot be trusted. Start again.
        election.trustees.update(
            certificate="", polynomial="", vinput="", voutput="", public_key="", encrypted_key=""
        )
        audit_record(action="voting.ceremony_restarted", actor=actor, obj=election)
        _tell_trustees(election, actor)
        return
    election.threshold_parameters = dumps(parameters).decode()
    election.save(update_fields=["threshold_parameters"])
    audit_record(action="voting.key_made", actor=actor, obj=election)
    notification_send(
        recipient=election.administrator,
        event="voting_key_made",
        context={"election": election.title, "url": f"/staff/voting/{election.slug}/"},
        actor=actor,
    )
