"""The voting app's records: verifiable elections run with the Belenios protocol
(docs/adr/0021-verifiable-elections.md).

An election's public record is its archive (``RecordMember`` rows, in order): the bytes
Belenios hashes, kept exactly, so that ``ecitizen voting archive`` and the download give an
archive ``belenios-tool election verify`` accepts. Everything else here is what the
platform needs to run the election around that record: texts in every language, who may
vote, the trustees' key ceremony, ballots by voter (for re-voting and rate limits).

**What the server holds.** Public credentials only: a private credential is sent to the
voter and forgotten (or made offline by the credential authority and never seen). The
server's own decryption key (one of the keys every decryption needs) is encrypted at rest.
Trustees' private keys never reach it: what it keeps of theirs is public or encrypted to
them. A ``CastBallot`` links a voter to an encrypted ballot, as Belenios' server does to
authenticate and count re-votes; public pages show trackers only.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ecitizen.core.fields import EncryptedTextField
from ecitizen.core.translatable import Translatable


class Election(Translatable):
    """A verifiable election or referendum.

    States: ``draft`` (the administrator writes it: texts, questions, dates, voters,
    trustees); ``setup`` (frozen: the credential authority issues credentials, the
    trustees make the key); ``open`` (the archive's Setup event is written; ballots are
    accepted between ``opens_at`` and ``closes_at``); ``closed`` (the ballot box is closed
    and its encrypted tally published; trustees decrypt); ``published`` (the result)."""

    class State(models.TextChoices):
        DRAFT = "draft", _("Being prepared")
        SETUP = "setup", _("Credentials and key being made")
        OPEN = "open", _("Voting")
        CLOSED = "closed", _("Counting")
        PUBLISHED = "published", _("Result published")

    class Voters(models.TextChoices):
        ELIGIBLE = "eligible", _("Residents who meet a process's voting rule")
        LIST = "list", _("An uploaded list of email addresses")

    class Credentials(models.TextChoices):
        PLATFORM = "platform", _("Made by the platform and sent to each voter")
        OFFLINE = "offline", _("Made offline by the credential authority with belenios-tool")

    slug = models.SlugField(unique=True, max_length=80)
    #: The Belenios election identifier (Base58, 14 characters), in the archive's name.
    uuid = models.CharField(max_length=40, unique=True)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    department = models.ForeignKey(
        "accounts.Department", on_delete=models.PROTECT, related_name="+"
    )
    #: The ward the election is about (none: the whole authority); officials limited to a
    #: ward see only its elections.
    ward = models.ForeignKey(
        "accounts.Jurisdiction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.DRAFT)
    opens_at = models.DateTimeField(_("voting opens"))
    closes_at = models.DateTimeField(_("voting closes"))
    voters_from = models.CharField(max_length=10, choices=Voters.choices, default=Voters.LIST)
    #: With ``voters_from = eligible``: the process whose "vote" rule says who may vote.
    process = models.ForeignKey(
        "participation.Process", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    credentials = models.CharField(
        max_length=10, choices=Credentials.choices, default=Credentials.PLATFORM
    )
    #: How many of the trustees must take part in decrypting the result.
    threshold = models.PositiveSmallIntegerField(_("trustees needed to decrypt"), default=3)
    #: Only voters whose identity the national eID verified (at ``minimum_acr`` or above
    #: when set) may cast a ballot (``ballot_cast`` checks; docs/identity.md).
    requires_verified_identity = models.BooleanField(
        _("voters must have a verified identity"), default=False
    )
    minimum_acr = models.CharField(_("lowest level of assurance"), max_length=200, blank=True)
    administrator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    credential_authority = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    #: The server's mandatory key (specification §4.7): a new one per election.
    server_private_key = EncryptedTextField(null=True, blank=True)
    server_public_key = models.TextField(blank=True)
    #: The trustees' threshold_parameters (specification §4.6.7), once their ceremony ends.
    threshold_parameters = models.TextField(blank=True)
    #: The Unix time written in the archive's header and every member's tar header.
    archive_timestamp = models.BigIntegerField(null=True, blank=True)
    #: The archive's last event (SHA-256 hex), its next event's height, and its members.
    record_head = models.CharField(max_length=64, blank=True)
    record_height = models.PositiveIntegerField(default=0)
    record_length = models.PositiveIntegerField(default=0)
    #: Per question, the count of each answer (the blank count first when blank is allowed).
    result = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opens_at", "slug"]

    def __str__(self) -> str:
        return self.tr("title")


class Question(Translatable):
    """A question of the election, homomorphic (only per-answer totals are ever
    decrypted): choose between ``min`` and ``max`` of ``answers``, or vote blank when
    ``blank`` is allowed. ``translations[lang]`` may hold ``text`` and ``answers``."""

    election = models.ForeignKey(Election, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField()
    text = models.CharField(_("question"), max_length=500)
    answers = models.JSONField(default=list)
    min = models.PositiveSmallIntegerField(default=1)
    max = models.PositiveSmallIntegerField(default=1)
    blank = models.BooleanField(_("voters may vote blank"), default=False)

    class Meta:
        ordering = ["election", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["election", "position"], name="voting_question_position"
            )
        ]

    def __str__(self) -> str:
        return self.tr("text")

    def answers_tr(self) -> list[str]:
        return self.translated_list("answers")


class Trustee(models.Model):
    """One of the people who hold the decryption key jointly (a council member, an
    observer, the auditor). ``owner`` in the archive is ``position + 1`` (the server's key
    is owner 1). The key ceremony's messages are kept as sent: the certificate and
    polynomial are public or encrypted to other trustees, ``encrypted_key`` is encrypted
    to this trustee (only their key file opens it)."""

    election = models.ForeignKey(Election, on_delete=models.CASCADE, related_name="trustees")
    position = models.PositiveSmallIntegerField()
    #: Published on the election's pages, yet a person's name: encrypted at rest like every
    #: name the platform keeps.
    name = EncryptedTextField(_("name"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    certificate = models.TextField(blank=True)
    polynomial = models.TextField(blank=True)
    vinput = models.TextField(blank=True)
    voutput = models.TextField(blank=True)
    encrypted_key = models.TextField(blank=True)
    public_key = models.TextField(blank=True)
    decrypted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["election", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["election", "position"], name="voting_trustee_position"
            ),
            models.UniqueConstraint(fields=["election", "user"], name="voting_trustee_once"),
        ]

    def __str__(self) -> str:
        return f"trustee {self.position} of {self.election_id}"

    @property
    def owner(self) -> int:
        return self.position + 1


class Voter(models.Model):
    """A person on the election's voter list. ``public_credential`` is set by the
    credential authority; the private one is never stored. ``login`` is the voter's
    number on the list the credential authority gets for offline credentials."""

    election = models.ForeignKey(Election, on_delete=models.CASCADE, related_name="voters")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    email = EncryptedTextField()
    email_index = models.CharField(max_length=64)
    login = models.CharField(max_length=20)
    public_credential = models.TextField(blank=True)
    credential_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["election", "email_index"], name="voting_voter_once"),
            models.UniqueConstraint(fields=["election", "login"], name="voting_voter_login"),
        ]

    def __str__(self) -> str:
        return f"voter {self.login} of {self.election_id}"


class CastBallot(models.Model):
    """An encrypted ballot as cast, with its smart ballot tracker. A later ballot of the
    same voter replaces it (``replaced``); the archive keeps both."""

    election = models.ForeignKey(Election, on_delete=models.CASCADE, related_name="ballots")
    voter = models.ForeignKey(Voter, on_delete=models.PROTECT, related_name="ballots")
    tracker = models.CharField(max_length=44, db_index=True)
    cast_at = models.DateTimeField(default=timezone.now)
    replaced = models.BooleanField(default=False)

    class Meta:
        ordering = ["election", "cast_at", "pk"]

    def __str__(self) -> str:
        return f"ballot {self.tracker}"


class RecordMember(models.Model):
    """One member of the election's public archive, byte for byte, in order (``position``
    from 1; the BELENIOS header is not stored: it follows from ``archive_timestamp``).
    Rows are only ever appended, under a lock of the election row."""

    election = models.ForeignKey(Election, on_delete=models.CASCADE, related_name="record")
    position = models.PositiveIntegerField()
    data = models.BinaryField()
    #: The event type for event members, empty for data members.
    event = models.CharField(max_length=20, blank=True)

    class Meta:
        ordering = ["election", "position"]
        constraints = [
            models.UniqueConstraint(fields=["election", "position"], name="voting_record_position")
        ]

    def __str__(self) -> str:
        return f"member {self.position} of {self.election_id}"
