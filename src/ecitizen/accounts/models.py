"""People and the organisation: users, residents' profiles, departments and staff roles."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from ecitizen.core.authority import localised_name
from ecitizen.core.fields import EncryptedDateField, EncryptedTextField
from ecitizen.core.preferences import Contrast, TextSize


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        """Create a user through ``accounts.services.user_create`` (profile and audit
        included), so that Django's own tools cannot make a half-formed account."""
        from ecitizen.accounts.services import user_create

        if not email:
            raise ValueError("email is required")
        return user_create(email=email, full_name=extra.get("full_name", ""), password=password)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        """``ecitizen createsuperuser``: the first platform administrator of a deployment,
        with a verified email. They set up two-factor authentication at first sign-in."""
        from django.db import transaction

        from ecitizen.accounts.services import email_mark_verified, role_assign

        with transaction.atomic():
            user = self.create_user(email, password, **extra)
            email_mark_verified(user=user, actor=None)
            role_assign(
                user=user, role=Role.PLATFORM_ADMIN, department=None, actor=None, system=True
            )
        return user


class User(AbstractBaseUser):
    """Anyone who signs in: residents, officials, intermediaries. Email is the sign-in name.

    What a user may do on staff pages comes from their :class:`RoleAssignment` rows, not
    from flags on this model.
    """

    email = models.EmailField(_("email address"), unique=True)
    # Encrypted: lists of people are sorted by it in Python, never in SQL.
    full_name = EncryptedTextField(_("full name"), max_length=200)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    language = models.CharField(_("preferred language"), max_length=10, blank=True)
    text_size = models.CharField(max_length=10, choices=TextSize.choices, default=TextSize.STANDARD)
    contrast = models.CharField(max_length=10, choices=Contrast.choices, default=Contrast.STANDARD)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class LocalisedNameMixin:
    """``names``: the name in other languages than the authority's own (``{"fr": ...,
    "ar": ...}``), configured with the department or ward; ``localised_name`` is the name
    in the active language, else ``name``. ``str()`` gives it, so forms, lists and
    captions show the reader's."""

    name: str
    names: Any

    @property
    def localised_name(self) -> str:
        return localised_name(self.name, self.names)

    def __str__(self) -> str:
        return self.localised_name


def localised_names_valid(value: Any) -> None:
    """A ``names`` value: languages of ``LANGUAGES`` to non-empty text."""
    languages = {code for code, _label in settings.LANGUAGES}
    if not isinstance(value, dict) or not all(
        key in languages and isinstance(text, str) and text.strip() for key, text in value.items()
    ):
        raise ValidationError(
            _("Give each name as text in one of the site's languages."), code="invalid_names"
        )


class Department(LocalisedNameMixin, models.Model):
    """A part of the authority that owns services and employs staff."""

    slug = models.SlugField(unique=True)
    name = models.CharField(_("name"), max_length=120)
    names = models.JSONField(
        _("name in other languages"),
        default=dict,
        blank=True,
        validators=[localised_names_valid],
    )
    email = models.EmailField(blank=True)

    class Meta:
        ordering = ["name"]


class Jurisdiction(LocalisedNameMixin, models.Model):
    """A ward or district: an area some staff roles are limited to."""

    class Kind(models.TextChoices):
        WARD = "ward", _("Ward")
        DISTRICT = "district", _("District")

    code = models.SlugField(unique=True)
    name = models.CharField(_("name"), max_length=120)
    names = models.JSONField(
        _("name in other languages"),
        default=dict,
        blank=True,
        validators=[localised_names_valid],
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.WARD)

    class Meta:
        ordering = ["name"]


class Role(models.TextChoices):
    CASE_OFFICER = "case_officer", _("Case officer")
    SUPERVISOR = "supervisor", _("Supervisor")
    DEPARTMENT_ADMIN = "department_admin", _("Department administrator")
    FINANCE_OFFICER = "finance_officer", _("Finance officer")
    AUDITOR = "auditor", _("Auditor")
    PLATFORM_ADMIN = "platform_admin", _("Platform administrator")
    INTERMEDIARY = "intermediary", _("Assisted-digital helper")


#: The roles of ``accounts`` itself, registered (with whether they are officials and
#: authority-wide) in ``AccountsConfig.ready``. Other apps may register more roles: a role
#: is any code in ``core.registry.registry.roles``.


class RoleAssignment(models.Model):
    """A user holds ``role`` in ``department`` (optionally only for ``jurisdiction``).

    Written only by ``ecitizen.accounts.services.role_assign`` / ``role_revoke``, which
    audit every change.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_assignments")
    # A registered role's code (``core.registry``): checked by ``role_assign``.
    role = models.CharField(max_length=30)
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="roles"
    )
    jurisdiction = models.ForeignKey(
        Jurisdiction, null=True, blank=True, on_delete=models.PROTECT, related_name="roles"
    )
    granted_at = models.DateTimeField(default=timezone.now)
    granted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            # NULL department or ward counts as a value here (one authority-wide role per
            # person); Coalesce does that on SQLite and on every PostgreSQL version,
            # where nulls_distinct=False is not available everywhere.
            models.UniqueConstraint(
                models.F("user"),
                models.F("role"),
                Coalesce("department", models.Value(0)),
                Coalesce("jurisdiction", models.Value(0)),
                name="role_assignment_unique",
            )
        ]

    def __str__(self) -> str:
        return self.label()

    def audit_label(self) -> str:
        """:meth:`label` in the platform's default language: audit rows are written once
        and read by people of every language, so they do not take the writer's."""
        with translation.override(settings.LANGUAGE_CODE):
            return self.label()

    def label(self) -> str:
        """What the role holder is acting as, e.g. "Revenue — Case officer"."""
        parts = [str(self.department)] if self.department_id else []
        from ecitizen.core.registry import registry

        parts.append(str(registry.role(self.role).label))
        if self.jurisdiction_id:
            parts.append(str(self.jurisdiction))
        return " — ".join(parts)


class ContactPreference(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("Text message")
    POST = "post", _("Post")


class ResidentProfile(models.Model):
    """What the authority knows about a resident, reused so nobody is asked twice.

    Every personal value is encrypted at rest: names, date of birth, national identity
    number, address and phone. ``national_id_index`` is the national identity number's
    blind index, for exact lookups; :class:`ResidentNameIndex` rows let staff find a
    resident by the start of a word of their legal name.
    """

    #: Encrypted fields that hold ``None`` when empty.
    PERSONAL_FIELDS = frozenset({"national_id", "date_of_birth", "phone"})
    #: Fields whose values the audit trail never records (it records that they changed).
    AUDIT_MASKED_FIELDS = PERSONAL_FIELDS | {
        "legal_name",
        "preferred_name",
        "address_line_1",
        "address_line_2",
        "town",
        "postcode",
    }
    #: Context of the blind indexes of the legal name's word prefixes.
    NAME_INDEX_CONTEXT = "accounts.residentprofile.legal_name.words"

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="profile")
    legal_name = EncryptedTextField(_("full legal name"), max_length=200)
    preferred_name = EncryptedTextField(_("preferred name"), max_length=100, blank=True)
    date_of_birth = EncryptedDateField(_("date of birth"), null=True, blank=True)
    national_id = EncryptedTextField(_("national identity number"), null=True, blank=True)
    national_id_index = models.CharField(max_length=64, null=True, blank=True, unique=True)
    address_line_1 = EncryptedTextField(_("address line 1"), max_length=200, blank=True)
    address_line_2 = EncryptedTextField(_("address line 2"), max_length=200, blank=True)
    town = EncryptedTextField(_("town or city"), max_length=100, blank=True)
    postcode = EncryptedTextField(_("postcode"), max_length=12, blank=True)
    phone = EncryptedTextField(_("phone number"), null=True, blank=True)
    contact_preference = models.CharField(
        _("how we contact you"),
        max_length=10,
        choices=ContactPreference.choices,
        default=ContactPreference.EMAIL,
    )
    ward = models.ForeignKey(
        Jurisdiction, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.legal_name

    @property
    def display_name(self) -> str:
        return self.preferred_name or self.legal_name


class ResidentNameIndex(models.Model):
    """The blind index of one prefix of one word of a resident's legal name
    (:func:`ecitizen.core.crypto.prefix_indexes`): how staff find "Maria Lopez" by
    typing "mar" although the name is encrypted. Kept in step with the name by
    :func:`ecitizen.accounts.services.profile_update`; holds no plaintext.
    """

    profile = models.ForeignKey(ResidentProfile, on_delete=models.CASCADE, related_name="+")
    index = models.CharField(max_length=64)

    class Meta:
        constraints = [
            # Also the index that a search by prefix uses.
            models.UniqueConstraint(fields=["index", "profile"], name="resident_name_index_once")
        ]

    def __str__(self) -> str:
        return f"{self.profile_id}:{self.index[:8]}"


class SignInThrottle(models.Model):
    """Failed sign-ins for one account (the email typed) or one client address."""

    class Scope(models.TextChoices):
        ACCOUNT = "account"
        IP = "ip"

    scope = models.CharField(max_length=10, choices=Scope.choices)
    key = models.CharField(max_length=254)
    failures = models.PositiveIntegerField(default=0)
    last_failure_at = models.DateTimeField()
    blocked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="sign_in_throttle_unique")
        ]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"


class IdentityVerification(models.Model):
    """A resident's identity as verified by the national eID provider (OpenID Connect).

    One per account: written by ``accounts.services.identity_verification_record`` each
    time the resident signs in or links their account with the eID, removed (audited)
    when they unlink it. The verified values themselves live, encrypted, on the
    :class:`ResidentProfile` (``verified_fields`` names which ones the provider vouched
    for); this row says by whom, how strongly (``acr``) and when. Services that require a
    verified identity ask ``accounts.selectors.identity_verified``.
    """

    user = models.OneToOneField(
        User, on_delete=models.CASCADE, related_name="identity_verification"
    )
    #: The configured provider's id (``EID_OIDC_*`` settings: ``eid``).
    provider = models.CharField(max_length=40)
    #: The level of assurance the provider asserted for the last authentication (``acr``).
    acr = models.CharField(_("level of assurance"), max_length=200, blank=True)
    #: How the person authenticated at the provider (``amr``), e.g. ``["pwd", "otp"]``.
    amr = models.JSONField(default=list, blank=True)
    #: Profile fields filled from verified claims (``legal_name``, ``date_of_birth``,
    #: ``national_id``).
    verified_fields = models.JSONField(default=list, blank=True)
    verified_at = models.DateTimeField(_("verified on"))
    first_verified_at = models.DateTimeField()

    class Meta:
        verbose_name = _("verified identity")
        verbose_name_plural = _("verified identities")

    def __str__(self) -> str:
        return f"{self.user_id}:{self.provider}:{self.acr}"
