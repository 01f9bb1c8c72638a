"""The participation app's records: participatory processes and their phases, who may take
part (eligibility rules, census lists), consultations and their responses, proposals and
their supports, comments, follows, participatory budgets with their projects, ballots and
delivery.

**One person, one voice.** Every response, support and ballot is keyed by a *person key*
(:func:`ecitizen.participation.services.common.person_key`): a keyed blind index of the
signed-in resident, of the census entry that was used, or of the national identity number
given on paper. The key is the same whichever way the same person takes part, so a unique
constraint on (object, person key) counts them once and the later entry replaces the
earlier. No row of a response or ballot names its author in the clear: officials see
aggregates only, except a paper entry to the official who entered it (``entered_by``).

Texts the organiser writes are in the authority's language, with other languages in
``translations`` (``{"fr": {"title": ...}, "ar": {...}}``); :meth:`Translatable.tr`
gives the reader's.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ecitizen.core.fields import EncryptedJSONField, EncryptedTextField
from ecitizen.core.translatable import Translatable


class Action(models.TextChoices):
    """What a person does in a process; each has its own eligibility rule."""

    RESPOND = "respond", _("Respond to consultations and surveys")
    PROPOSE = "propose", _("Submit proposals")
    SUPPORT = "support", _("Support proposals")
    COMMENT = "comment", _("Comment")
    VOTE = "vote", _("Vote")


class Channel(models.TextChoices):
    """How a response, support or ballot reached the platform."""

    ONLINE = "online", _("Online")
    CENSUS = "census", _("Online with a census code")
    ANONYMOUS = "anonymous", _("Online, anonymous (email confirmed)")
    PAPER = "paper", _("Paper or in person")


class Process(Translatable):
    """A participatory process ("Riverside regeneration plan", "Riverton budget 2027"):
    a department runs it over phases, for the whole authority or some wards."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        ARCHIVED = "archived", _("Archived")

    slug = models.SlugField(unique=True, max_length=80)
    title = models.CharField(_("title"), max_length=200)
    summary = models.CharField(_("summary"), max_length=500)
    description = models.TextField(_("description"), blank=True)
    department = models.ForeignKey(
        "accounts.Department", on_delete=models.PROTECT, related_name="+"
    )
    #: The wards the process is about; none: the whole authority.
    wards = models.ManyToManyField("accounts.Jurisdiction", blank=True, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    #: Supports at which a proposal is owed an official answer (none: no threshold).
    support_threshold = models.PositiveIntegerField(
        _("supports needed for an official answer"), null=True, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "slug"]

    def __str__(self) -> str:
        return self.tr("title")


class Phase(Translatable):
    """One step of a process, from ``starts_on`` to ``ends_on`` (both included, in the
    authority's time zone). A process is in the phases whose dates hold today."""

    class Kind(models.TextChoices):
        INFORMATION = "information", _("Information")
        PROPOSALS = "proposals", _("Proposals")
        DEBATE = "debate", _("Debate")
        REVIEW = "review", _("Review")
        VOTE = "vote", _("Vote")
        RESULTS = "results", _("Results")
        FOLLOW_UP = "follow_up", _("Follow-up")

    process = models.ForeignKey(Process, on_delete=models.CASCADE, related_name="phases")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    starts_on = models.DateField(_("start date"))
    ends_on = models.DateField(_("end date"))
    #: When the followers were told the phase began (once).
    announced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["process", "starts_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")),
                name="participation_phase_dates_ordered",
            )
        ]

    def __str__(self) -> str:
        return self.tr("title") or str(self.get_kind_display())


class ProcessDocument(Translatable):
    """A document of a process (the plan consulted on, a budget's rules), stored encrypted
    like every upload and served to anyone once the process is published."""

    process = models.ForeignKey(Process, on_delete=models.CASCADE, related_name="documents")
    title = models.CharField(_("title"), max_length=200)
    upload = models.ForeignKey("documents.Upload", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["process", "id"]

    def __str__(self) -> str:
        return self.tr("title")


class EligibilityRule(models.Model):
    """Who may do ``action`` in ``process``. Every condition set must hold; a process
    without a rule for an action lets any signed-in resident do it."""

    process = models.ForeignKey(Process, on_delete=models.CASCADE, related_name="rules")
    action = models.CharField(max_length=10, choices=Action.choices)
    email_verified = models.BooleanField(_("a verified email address"), default=True)
    #: The profile's ward is one of the process's wards (no wards: any ward of the authority).
    ward_resident = models.BooleanField(_("lives in the process's wards"), default=False)
    min_age = models.PositiveSmallIntegerField(
        _("minimum age"), null=True, blank=True, validators=[MaxValueValidator(120)]
    )
    #: Only the people on the process's census list, with their one-time code.
    census_only = models.BooleanField(_("only people on the census list"), default=False)
    #: Respond only: without an account, one response per confirmed email address.
    anonymous_allowed = models.BooleanField(_("anonymous responses allowed"), default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["process", "action"], name="participation_rule_one_per_action"
            )
        ]

    def __str__(self) -> str:
        return f"{self.process_id}: {self.action}"


class CensusEntry(models.Model):
    """A person on a process's census list (uploaded by the organiser): a unique
    identifier of the organiser's choosing (a voter number, a national identity number),
    kept encrypted with a blind index, and a one-time code sent to them on paper. Using
    the code once makes the entry ``claimed`` by whoever used it; the entry's person key
    then stands for them in the process."""

    process = models.ForeignKey(Process, on_delete=models.CASCADE, related_name="census")
    identifier = EncryptedTextField()
    identifier_index = models.CharField(max_length=64)
    code_hash = models.CharField(max_length=128)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    failed_attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["process", "identifier_index"], name="participation_census_unique"
            )
        ]

    def __str__(self) -> str:
        return f"census entry {self.pk} of process {self.process_id}"


class Consultation(Translatable):
    """A document put to residents with questions (a consultation), or questions alone (a
    survey). ``questions`` are question definitions of the same schema as a service's
    (``catalogue``'s ``question`` type, files excepted) and are asked with the same form
    machinery."""

    class Kind(models.TextChoices):
        CONSULTATION = "consultation", _("Consultation")
        SURVEY = "survey", _("Survey")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    process = models.ForeignKey(Process, on_delete=models.CASCADE, related_name="consultations")
    slug = models.SlugField(max_length=80)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.CONSULTATION)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("what is consulted on"), blank=True)
    questions = models.JSONField(default=list)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DRAFT)
    opens_at = models.DateTimeField(_("opens"))
    closes_at = models.DateTimeField(_("closes"))
    #: The published outcome ("what we heard, what we will do"), empty until published.
    outcome = models.TextField(_("outcome"), blank=True)
    outcome_published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["process", "-opens_at", "slug"]
        constraints = [
            models.UniqueConstraint(
                fields=["process", "slug"], name="participation_consultation_slug"
            ),
            models.CheckConstraint(
                condition=models.Q(closes_at__gt=models.F("opens_at")),
                name="participation_consultation_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.tr("title")


class Response(models.Model):
    """One person's answers to a consultation (the later entry replaces the earlier:
    ``replaced_channel`` says what it replaced, so the organiser sees online-and-paper
    doubles). Answers are encrypted: free text often carries personal details."""

    consultation = models.ForeignKey(
        Consultation, on_delete=models.CASCADE, related_name="responses"
    )
    person_key = models.CharField(max_length=64)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    answers = EncryptedJSONField()
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(default=timezone.now)
    replaced_channel = models.CharField(max_length=10, choices=Channel.choices, blank=True)
    replaced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["consultation", "person_key"], name="participation_response_one_per_person"
            )
        ]

    def __str__(self) -> str:
        return f"response {self.pk} to consultation {self.consultation_id}"


class PendingResponse(models.Model):
    """An anonymous response waiting for its email confirmation: the answers (encrypted)
    and the address's blind index; the link in the email carries ``token`` (stored
    hashed). Confirming turns it into a :class:`Response` keyed by the address."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="+")
    email_index = models.CharField(max_length=64)
    token_hash = models.CharField(max_length=128, unique=True)
    answers = EncryptedJSONField()
    # The blind index of the network address it came from (never the address): emails
    # asked for from one address are limited per hour, whatever addresses they go to.
    sender_index = models.CharField(max_length=64, blank=True, default="", db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"pending response {self.pk}"


class Proposal(Translatable):
    """A resident's proposal in a process's proposals phase. Supports are counted in
    ``support_count`` (kept by the service that adds a support, under a row lock); at the
    process's threshold the department owes it an official answer."""

    class Status(models.TextChoices):
        PUBLISHED = "published", _("Published")
        HIDDEN = "hidden", _("Hidden by moderation")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    class Answer(models.TextChoices):
        ACCEPTED = "accepted", _("Accepted")
        NOT_ACCEPTED = "not_accepted", _("Not accepted")
        ALREADY_PLANNED = "already_planned", _("Already planned")

    process = models.ForeignKey(Process, on_delete=models.CASCADE, related_name="proposals")
    reference = models.CharField(max_length=20, unique=True)
    title = models.CharField(_("title"), max_length=150)
    description = models.TextField(_("description"))
    ward = models.ForeignKey(
        "accounts.Jurisdiction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    photo = models.ForeignKey(
        "documents.Upload", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PUBLISHED)
    support_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    answer = models.CharField(max_length=16, choices=Answer.choices, blank=True)
    answer_text = models.TextField(_("answer"), blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    moderation_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-support_count", "-created_at"]

    def __str__(self) -> str:
        return self.tr("title")


class Support(models.Model):
    """One person's support of a proposal."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="supports")
    person_key = models.CharField(max_length=64)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["proposal", "person_key"], name="participation_support_one_per_person"
            )
        ]

    def __str__(self) -> str:
        return f"support {self.pk} of proposal {self.proposal_id}"


class Target(models.TextChoices):
    """What a comment or a follow is about."""

    PROCESS = "process", _("Process")
    CONSULTATION = "consultation", _("Consultation")
    PROPOSAL = "proposal", _("Proposal")
    PROJECT = "project", _("Project")


class Comment(models.Model):
    """A comment on a consultation, proposal or project, or a reply to one (one level:
    a reply's ``parent`` is a top-level comment). Moderation hides it with a reason that
    is shown in its place."""

    class Status(models.TextChoices):
        VISIBLE = "visible", _("Visible")
        HIDDEN = "hidden", _("Hidden by moderation")

    target_kind = models.CharField(max_length=12, choices=Target.choices)
    target_id = models.PositiveBigIntegerField()
    process = models.ForeignKey(Process, on_delete=models.CASCADE, related_name="comments")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.VISIBLE)
    hidden_reason = models.TextField(blank=True)
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    flag_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["target_kind", "target_id", "created_at"])]

    def __str__(self) -> str:
        return f"comment {self.pk} on {self.target_kind} {self.target_id}"


class CommentFlag(models.Model):
    """A resident's report that a comment breaks the code of conduct (one per person)."""

    class Reason(models.TextChoices):
        OFFENSIVE = "offensive", _("Offensive or abusive")
        PERSONAL = "personal", _("Shares someone's personal details")
        SPAM = "spam", _("Spam or advertising")
        OFF_TOPIC = "off_topic", _("Off topic")

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="flags")
    flagged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    reason = models.CharField(max_length=10, choices=Reason.choices)
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["comment", "flagged_by"], name="participation_flag_one_per_person"
            )
        ]

    def __str__(self) -> str:
        return f"flag {self.pk} of comment {self.comment_id}"


class Follow(models.Model):
    """A resident follows a process or a proposal: new phases, answers and results reach
    them through the notifications app."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    target_kind = models.CharField(max_length=12, choices=Target.choices)
    target_id = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "target_kind", "target_id"], name="participation_follow_once"
            )
        ]
        indexes = [models.Index(fields=["target_kind", "target_id"])]

    def __str__(self) -> str:
        return f"follow of {self.target_kind} {self.target_id}"


class NewsSubscription(models.Model):
    """A resident's opt-in to participation news (new processes and phases in their
    ward). Only they are ever invited by an organiser."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"news subscription {self.pk}"


class Invitation(models.Model):
    """An organiser's invitation to a process, sent once to the opted-in residents of its
    wards; ``recipients`` is how many it reached."""

    process = models.ForeignKey(Process, on_delete=models.CASCADE, related_name="invitations")
    sent_at = models.DateTimeField(default=timezone.now)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recipients = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"invitation {self.pk} to process {self.process_id}"


class Budget(models.Model):
    """A participatory budget: the process's money, split into headings (one per ward, or
    one for the whole authority), spent on the projects residents choose.

    Ballots are per heading; each heading is counted on its own, with the budget's
    counting method, and is one Pabulib instance."""

    class BallotKind(models.TextChoices):
        APPROVAL = "approval", _("Approval: choose up to a number of projects")
        KNAPSACK = "knapsack", _("Knapsack: choose projects within the budget")

    class Method(models.TextChoices):
        GREEDY = "greedy", _("Most votes that still fit (greedy)")
        EQUAL_SHARES = "equal_shares", _("Method of Equal Shares")

    process = models.OneToOneField(Process, on_delete=models.CASCADE, related_name="budget")
    total_amount = models.DecimalField(
        max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    ballot_kind = models.CharField(max_length=10, choices=BallotKind.choices)
    min_projects = models.PositiveSmallIntegerField(default=1)
    #: Approval: the most projects a ballot may choose; knapsack: an optional cap too.
    max_projects = models.PositiveSmallIntegerField(null=True, blank=True)
    #: Knapsack: the least share of the heading's amount a ballot must spend (0-100).
    min_share_percent = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(100)]
    )
    method = models.CharField(max_length=14, choices=Method.choices, default=Method.EQUAL_SHARES)
    #: Equal shares: complete the outcome (add1 budget increments, then greedy) so that
    #: money is not left unspent.
    completion = models.BooleanField(default=True)
    # When the organiser asked for the count a worker is doing (None: no count running).
    # Equal shares' completion takes many counts where there are few ballots: seconds
    # to minutes, more than a request should.
    counting_since = models.DateTimeField(null=True, blank=True)
    results_published_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"budget of process {self.process_id}"


class Heading(Translatable):
    """A part of a budget with its own amount: a ward's (``ward``) or the whole
    authority's (``ward`` empty)."""

    budget = models.ForeignKey(Budget, on_delete=models.CASCADE, related_name="headings")
    slug = models.SlugField(max_length=40)
    name = models.CharField(_("name"), max_length=120)
    ward = models.ForeignKey(
        "accounts.Jurisdiction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    amount = models.DecimalField(
        max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )

    class Meta:
        ordering = ["budget", "slug"]
        constraints = [
            models.UniqueConstraint(fields=["budget", "slug"], name="participation_heading_slug")
        ]

    def __str__(self) -> str:
        return self.tr("name")


class Project(Translatable):
    """A project residents can vote for in a heading: from an accepted proposal or put in
    by staff, with its cost after the department's feasibility review."""

    class Feasibility(models.TextChoices):
        PENDING = "pending", _("Waiting for review")
        FEASIBLE = "feasible", _("Feasible")
        NOT_FEASIBLE = "not_feasible", _("Not feasible")

    class Delivery(models.TextChoices):
        NOT_STARTED = "not_started", _("Not started")
        DESIGN = "design", _("Being designed")
        PROCUREMENT = "procurement", _("Being procured")
        WORKS = "works", _("Works under way")
        DONE = "done", _("Delivered")
        CANCELLED = "cancelled", _("Cancelled")

    heading = models.ForeignKey(Heading, on_delete=models.CASCADE, related_name="projects")
    #: The project's number in its budget (stable, in Pabulib files and tie-breaks).
    number = models.PositiveIntegerField()
    title = models.CharField(_("title"), max_length=150)
    description = models.TextField(_("description"))
    proposal = models.OneToOneField(
        Proposal, null=True, blank=True, on_delete=models.SET_NULL, related_name="project"
    )
    department = models.ForeignKey(
        "accounts.Department", on_delete=models.PROTECT, related_name="+"
    )
    cost = models.DecimalField(
        max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    feasibility = models.CharField(
        max_length=12, choices=Feasibility.choices, default=Feasibility.PENDING
    )
    feasibility_reason = models.TextField(blank=True)
    #: The cost first proposed, when the review revised it.
    original_cost = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    #: Set when the results are published: selected by the budget's method.
    selected = models.BooleanField(default=False)
    delivery = models.CharField(
        max_length=12, choices=Delivery.choices, default=Delivery.NOT_STARTED
    )

    class Meta:
        ordering = ["heading", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["heading", "number"], name="participation_project_number"
            )
        ]

    def __str__(self) -> str:
        return self.tr("title")


class Milestone(Translatable):
    """A step of a winning project's delivery, published by its department."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="milestones")
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    happened_on = models.DateField(_("date"))
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["project", "happened_on", "id"]

    def __str__(self) -> str:
        return self.tr("title")


class Ballot(models.Model):
    """One person's ballot in a heading: the projects chosen (``choices``, project ids).
    A new ballot of the same person replaces it until the vote closes."""

    heading = models.ForeignKey(Heading, on_delete=models.CASCADE, related_name="ballots")
    person_key = models.CharField(max_length=64)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    choices = models.JSONField(default=list)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cast_at = models.DateTimeField(default=timezone.now)
    #: How many times this person changed the ballot, and the channel it last replaced.
    changes = models.PositiveIntegerField(default=0)
    replaced_channel = models.CharField(max_length=10, choices=Channel.choices, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["heading", "person_key"], name="participation_ballot_one_per_person"
            )
        ]

    def __str__(self) -> str:
        return f"ballot {self.pk} in heading {self.heading_id}"


class Result(models.Model):
    """A heading's count by one method, kept when results are computed: the winners, each
    project's votes and the money used, with the explanation data the results page
    writes in words."""

    heading = models.ForeignKey(Heading, on_delete=models.CASCADE, related_name="results")
    method = models.CharField(max_length=20)
    computed_at = models.DateTimeField(default=timezone.now)
    ballots = models.PositiveIntegerField()
    winners = models.JSONField(default=list)
    details = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["heading", "method"], name="participation_result_once")
        ]

    def __str__(self) -> str:
        return f"{self.method} result of heading {self.heading_id}"
