"""The one settings module of ecitizen, driven entirely by environment variables.

Every variable is documented in ``docs/configuration.md`` and listed in ``.env.example``.
Secrets can also be given as a file: ``SECRET_KEY_FILE=/run/secrets/key`` is read when
``SECRET_KEY`` is unset. Bad values stop the process with ``ImproperlyConfigured`` so that a
misconfigured deployment never starts half-working.

An env file is read first when present: the path in ``ECITIZEN_ENV_FILE``, else ``.env`` in
the working directory. Real environment variables always win over the file.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import re
import sqlite3
import zoneinfo
from pathlib import Path
from typing import Any

import babel.numbers as _babel_numbers
import csp.constants as csp
import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

# The production rules shared with `check --deploy`: pure functions that need no settings.
from ecitizen.core.checks import (
    MIN_WEBHOOK_SECRET_LENGTH,
    signing_certificate_problem,
    stripe_key_is_test,
    webhook_secret_problem,
)
from ecitizen.core.sms_rules import (
    NOTIFY_DEFAULT_BASE_URL,
    SMS_OUTBOX_BACKEND,
    sms_backend_problem,
)

PACKAGE_DIR = Path(__file__).resolve().parent

env = environ.Env()
if os.environ.get("ECITIZEN_ENV_FILE"):
    if not Path(os.environ["ECITIZEN_ENV_FILE"]).exists():
        raise ImproperlyConfigured(
            f"ECITIZEN_ENV_FILE names {os.environ['ECITIZEN_ENV_FILE']}, which does not exist"
        )
    env.read_env(os.environ["ECITIZEN_ENV_FILE"], overwrite=False)
elif (Path.cwd() / ".env").is_file():
    env.read_env(str(Path.cwd() / ".env"), overwrite=False)

_REQUIRED = object()


def _value(name: str, default: Any = _REQUIRED) -> Any:
    """Read ``name`` from the environment, or from the file named by ``NAME_FILE``.

    Values are taken literally (no ``$VAR`` expansion), so a secret may contain ``$``.
    """
    file_var = f"{name}_FILE"
    if name not in os.environ and os.environ.get(file_var):
        path = Path(os.environ[file_var])
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{file_var}: cannot read {path}: {exc}") from exc
    if name in os.environ:
        return os.environ[name]
    if default is _REQUIRED:
        raise ImproperlyConfigured(f"{name} is required (see docs/configuration.md)")
    return default


def _bool(name: str, default: bool) -> bool:
    raw = _value(name, default=None)
    if raw is None or raw == "":
        return default
    lowered = str(raw).strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def _int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = _value(name, default=None)
    if raw is None or raw == "":
        return default
    try:
        number = int(str(raw).strip())
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from exc
    if number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {number}")
    return number


def _list(name: str, default: list[str]) -> list[str]:
    raw = _value(name, default=None)
    if raw is None:
        return default
    return [item.strip() for item in str(raw).split(",") if item.strip()]


def _key_bytes(name: str, text: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImproperlyConfigured(f"{name}: key is not valid base64") from exc
    if len(key) != 32:
        raise ImproperlyConfigured(
            f"{name}: each key must be 32 bytes (256 bits) once base64-decoded, not {len(key)}"
        )
    return key


def _keyring(name: str) -> dict[str, bytes]:
    """Parse ``kid:base64key,kid2:base64key`` into an ordered mapping of key id to key."""
    raw = _value(name, default="")
    if not raw:
        raise ImproperlyConfigured(
            f"{name} is required: generate one with `ecitizen keys generate` "
            "(see docs/configuration.md)"
        )
    ring: dict[str, bytes] = {}
    for entry in str(raw).split(","):
        kid, sep, material = entry.strip().partition(":")
        if not sep or not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", kid):
            raise ImproperlyConfigured(
                f"{name}: entries must look like 'keyid:base64key' "
                "(key id of letters, digits, - or _)"
            )
        if kid in ring:
            raise ImproperlyConfigured(f"{name}: key id {kid!r} appears twice")
        ring[kid] = _key_bytes(name, material)
    return ring


def _hex_colour(name: str, default: str) -> str:
    value = str(_value(name, default=default)).strip()
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", value):
        raise ImproperlyConfigured(f"{name} must be a colour like #1d5c8f, not {value!r}")
    # White text sits on the brand colour in the header and on buttons: refuse a colour
    # that would fail WCAG 2.2 AA contrast (4.5:1) rather than ship an inaccessible brand.
    channels = [int(value[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    contrast = 1.05 / (luminance + 0.05)
    if contrast < 4.5:
        raise ImproperlyConfigured(
            f"{name} {value} has a contrast of {contrast:.2f}:1 against white text; "
            "WCAG 2.2 AA needs at least 4.5:1. Choose a darker colour."
        )
    return value.lower()


# --- Core -------------------------------------------------------------------------------

DEBUG = _bool("DEBUG", False)
SECRET_KEY = _value("SECRET_KEY", default="")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY is required (or SECRET_KEY_FILE). The run script creates one for "
        "development in var/dev.env."
    )
ALLOWED_HOSTS = _list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = _list("CSRF_TRUSTED_ORIGINS", [])
VAR_DIR = Path(_value("VAR_DIR", default=str(Path.cwd() / "var"))).resolve()

ROOT_URLCONF = "ecitizen.urls"
WSGI_APPLICATION = "ecitizen.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

INSTALLED_APPS = [
    # Our apps first so that their templates override those of third-party apps.
    "ecitizen.core",
    "ecitizen.accounts",
    "ecitizen.catalogue",
    "ecitizen.cases",
    "ecitizen.documents",
    "ecitizen.notifications",
    "ecitizen.payments",
    "ecitizen.taxes",
    "ecitizen.reports",
    "ecitizen.feedback",
    "ecitizen.insights",
    "ecitizen.participation",
    "ecitizen.voting",
    "ecitizen.opendata",
    "ecitizen.privacy",
    "ecitizen.api",
    "ecitizen.demo",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # The form renderer (TemplatesSetting) finds Django's widget templates through this app.
    "django.forms",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "oauth2_provider",
    "django_tasks",
    "django_tasks_db",
]

MIDDLEWARE = [
    # First: the request id every later layer logs under, and the request's log line and
    # metrics, timed around all the rest (ecitizen.core.observability).
    "ecitizen.core.observability.ObservabilityMiddleware",
    # Untrusted X-Forwarded-Proto dropped before anything asks is_secure();
    # Permissions-Policy and Cache-Control on every response, static files included.
    "ecitizen.core.middleware.EdgeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # django-csp's, with the site's policy written once per process (core.content_policy).
    "ecitizen.core.content_policy.KeptPolicyCSPMiddleware",
    # TRACE/TRACK 405 and over-long bodies 413, before the body or a static file is read.
    "ecitizen.core.middleware.RequestGuardMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's, with request.user read at once rather than through a lazy proxy.
    "ecitizen.core.middleware.ResolvedUserAuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "ecitizen.core.middleware.SessionTimeoutMiddleware",
    "ecitizen.core.middleware.PreferencesMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]


def _override_dir(name: str) -> list[Path]:
    """A deployer's folder that takes precedence over the package's own files."""
    raw = _value(name, default="")
    if not raw:
        return []
    path = Path(raw).resolve()
    if not path.is_dir():
        raise ImproperlyConfigured(f"{name} {path} is not a folder")
    return [path]


TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # A deployer replaces any page (privacy notice, accessibility statement...) by
        # putting a file at the same path in TEMPLATE_OVERRIDES_DIR.
        "DIRS": [*_override_dir("TEMPLATE_OVERRIDES_DIR"), PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "ecitizen.core.context_processors.platform",
                "ecitizen.notifications.context_processors.inbox",
            ],
            # kept_builtins: Django's date filter and url tag, the same text for less; after
            # Django's own, they take their place in every template.
            "builtins": [
                "ecitizen.core.templatetags.govuk",
                "ecitizen.core.templatetags.kept_builtins",
            ],
        },
    }
]
FORM_RENDERER = "ecitizen.core.forms.GovukFormRenderer"

# --- Data -------------------------------------------------------------------------------


def _url_config(name: str, default: str, parse: Any) -> dict[str, Any]:
    url = str(_value(name, default=default)).strip()
    try:
        config: dict[str, Any] = parse(url)
    except Exception as exc:
        raise ImproperlyConfigured(f"{name} is not a valid URL: {exc}") from exc
    if not config.get("ENGINE") and not config.get("BACKEND"):
        raise ImproperlyConfigured(f"{name} {url!r} does not name a supported backend")
    return config


DATABASES = {
    "default": _url_config(
        "DATABASE_URL", f"sqlite:///{VAR_DIR / 'ecitizen.sqlite3'}", env.db_url_config
    )
}
if DATABASES["default"]["ENGINE"] not in {
    "django.db.backends.sqlite3",
    "django.db.backends.postgresql",
}:
    # The audit trail's append-only triggers exist for these two databases only.
    raise ImproperlyConfigured("DATABASE_URL must be a PostgreSQL or SQLite URL")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    if sqlite3.sqlite_version_info < (3, 35):
        # Sending an application counts its case number up with UPDATE ... RETURNING
        # (cases.services.drafts), which older SQLite libraries cannot run.
        raise ImproperlyConfigured(
            f"SQLite 3.35 or later is needed; this Python's is {sqlite3.sqlite_version}"
        )
    # WAL lets the web process read while the worker writes; IMMEDIATE transactions take
    # the write lock up front so that two writers queue instead of failing mid-way.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
            ),
        }
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = _int("DATABASE_CONN_MAX_AGE", 60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# The compiled statements every request runs (core.compiled) are prepared on each
# PostgreSQL connection, so that PostgreSQL plans them once per connection. Off (false)
# behind a transaction-mode pooler that cannot keep prepared statements (PgBouncer before
# 1.22, or its max_prepared_statements at 0): docs/deploy.md.
DATABASE_PREPARED_STATEMENTS = DATABASES["default"][
    "ENGINE"
] == "django.db.backends.postgresql" and _bool("DATABASE_PREPARED_STATEMENTS", True)
DATABASES["default"]["TEST"] = {"NAME": _value("TEST_DATABASE_NAME", default=None)}

# A PostgreSQL read replica for the public read-heavy pages and APIs. Its rules (reads in
# an opt-in scope only, never in a transaction, after a write or for someone who wrote in
# the last DATABASE_REPLICA_PIN_SECONDS) are in ecitizen.core.dbrouter.
DATABASE_REPLICA_PIN_SECONDS = _int("DATABASE_REPLICA_PIN_SECONDS", 10, minimum=1)
if _value("DATABASE_REPLICA_URL", default=""):
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_REPLICA_URL needs DATABASE_URL to be PostgreSQL")
    DATABASES["replica"] = _url_config("DATABASE_REPLICA_URL", "", env.db_url_config)
    if DATABASES["replica"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_REPLICA_URL must be a PostgreSQL URL")
    DATABASES["replica"].update(
        CONN_MAX_AGE=DATABASES["default"]["CONN_MAX_AGE"],
        CONN_HEALTH_CHECKS=True,
        # Tests read the test database through it: no second database to create.
        TEST={"MIRROR": "default"},
    )
    # Nothing is meant to write there; should the replica accept writes (a logical
    # replica, or a URL naming the primary by mistake), a write fails instead.
    _replica_options = DATABASES["replica"].setdefault("OPTIONS", {})
    _replica_options["options"] = (
        f"{_replica_options.get('options', '')} -c default_transaction_read_only=on".strip()
    )
    DATABASE_ROUTERS = ["ecitizen.core.dbrouter.ReplicaRouter"]
    # Before the session and everything else that may write during a request.
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.contrib.sessions.middleware.SessionMiddleware"),
        "ecitizen.core.dbrouter.ReplicaPinMiddleware",
    )

# Shared by every process (see core/migrations/0003_cache_table.py): the database by
# default, Redis (redis://...) for larger deployments. A per-process cache would let a
# second-factor code be replayed on another process and multiply every rate limit.
CACHES = {"default": _url_config("CACHE_URL", "dbcache://ecitizen_cache", env.cache_url_config)}
if CACHES["default"]["BACKEND"].endswith("DatabaseCache"):
    # Django culls a database cache past 300 entries, live ones included: that would
    # forget used-code markers and attempt counts. Keep far more unless told otherwise.
    CACHES["default"].setdefault("OPTIONS", {}).setdefault("MAX_ENTRIES", 1_000_000)

TASKS_BACKEND = str(_value("TASKS_BACKEND", default="database"))
_TASK_BACKENDS = {
    # django-tasks-db's, keeping the enqueueing request's id with each task.
    "database": "ecitizen.core.observability.DatabaseBackend",
    "immediate": "django_tasks.backends.immediate.ImmediateBackend",
}
if TASKS_BACKEND not in _TASK_BACKENDS:
    raise ImproperlyConfigured(
        f"TASKS_BACKEND must be one of {sorted(_TASK_BACKENDS)}, not {TASKS_BACKEND!r}"
    )
TASKS = {"default": {"BACKEND": _TASK_BACKENDS[TASKS_BACKEND], "QUEUES": ["default"]}}
WORKER_HEARTBEAT_SECONDS = _int("WORKER_HEARTBEAT_SECONDS", 10, minimum=1)
WORKER_HEALTHY_WITHIN_SECONDS = _int(
    "WORKER_HEALTHY_WITHIN_SECONDS", 60, minimum=WORKER_HEARTBEAT_SECONDS + 1
)
# A running task whose worker has not beaten for this long is requeued by a live worker
# (ecitizen.core.leases). At least two heartbeats, so that one missed beat loses nothing.
TASK_LEASE_SECONDS = _int(
    "TASK_LEASE_SECONDS",
    max(120, 2 * WORKER_HEARTBEAT_SECONDS),
    minimum=2 * WORKER_HEARTBEAT_SECONDS,
)
# A notification still queued this many minutes after its delivery was due is shown to
# staff as stuck, and they may send it again. Longer than a task lease, so that a task
# a live worker is about to requeue is not resent by hand as well.
NOTIFICATION_STUCK_MINUTES = _int("NOTIFICATION_STUCK_MINUTES", 15, minimum=1)
if NOTIFICATION_STUCK_MINUTES * 60 <= TASK_LEASE_SECONDS:
    raise ImproperlyConfigured(
        f"NOTIFICATION_STUCK_MINUTES ({NOTIFICATION_STUCK_MINUTES}) must be longer than "
        f"TASK_LEASE_SECONDS ({TASK_LEASE_SECONDS} seconds)"
    )

# --- Field encryption -------------------------------------------------------------------

FIELD_ENCRYPTION_KEYS = _keyring("FIELD_ENCRYPTION_KEYS")
FIELD_ENCRYPTION_ACTIVE_KEY = str(
    _value("FIELD_ENCRYPTION_ACTIVE_KEY", default=list(FIELD_ENCRYPTION_KEYS)[-1])
)
if FIELD_ENCRYPTION_ACTIVE_KEY not in FIELD_ENCRYPTION_KEYS:
    raise ImproperlyConfigured(
        f"FIELD_ENCRYPTION_ACTIVE_KEY {FIELD_ENCRYPTION_ACTIVE_KEY!r} is not one of the key "
        f"ids in FIELD_ENCRYPTION_KEYS ({', '.join(FIELD_ENCRYPTION_KEYS)})"
    )
_blind_index_raw = _value("BLIND_INDEX_KEY", default="")
if not _blind_index_raw:
    raise ImproperlyConfigured("BLIND_INDEX_KEY is required (see docs/configuration.md)")
BLIND_INDEX_KEY = _key_bytes("BLIND_INDEX_KEY", str(_blind_index_raw))

# --- Audit trail signing ----------------------------------------------------------------

# Ed25519 private keys (`kid:base64` of 32 bytes, like the KEK ring) that sign checkpoints
# of the audit chain head (ADR 0013). They live outside the database, so that someone who
# can write the database cannot re-sign a rewritten chain. Required with DEBUG off; in
# development without one, no checkpoints are written and `audit verify` says so.
_audit_signing_raw = _value("AUDIT_SIGNING_KEYS", default="")
if not _audit_signing_raw and not DEBUG:
    raise ImproperlyConfigured(
        "AUDIT_SIGNING_KEYS is required when DEBUG is off: generate a key with "
        "`ecitizen keys generate --audit-signing` (see docs/configuration.md)"
    )
AUDIT_SIGNING_KEYS = _keyring("AUDIT_SIGNING_KEYS") if _audit_signing_raw else {}
AUDIT_SIGNING_ACTIVE_KEY = str(
    _value("AUDIT_SIGNING_ACTIVE_KEY", default=next(reversed(AUDIT_SIGNING_KEYS), ""))
)
# An empty value is refused too: it would silently stop the signing.
if (AUDIT_SIGNING_KEYS or AUDIT_SIGNING_ACTIVE_KEY) and (
    AUDIT_SIGNING_ACTIVE_KEY not in AUDIT_SIGNING_KEYS
):
    raise ImproperlyConfigured(
        f"AUDIT_SIGNING_ACTIVE_KEY {AUDIT_SIGNING_ACTIVE_KEY!r} is not one of the key ids in "
        f"AUDIT_SIGNING_KEYS ({', '.join(AUDIT_SIGNING_KEYS) or 'empty'})"
    )
# One secret, one purpose: a signing key that is also a KEK or the blind-index key would
# tie the audit trail's trust to the data keys' (and the other way round).
if set(AUDIT_SIGNING_KEYS.values()) & {*FIELD_ENCRYPTION_KEYS.values(), BLIND_INDEX_KEY}:
    raise ImproperlyConfigured(
        "AUDIT_SIGNING_KEYS must not reuse a key of FIELD_ENCRYPTION_KEYS or BLIND_INDEX_KEY"
    )
# Public keys (`kid:base64` of 32 bytes) of retired signing keys: checkpoints signed with
# them still verify, without keeping their private keys.
AUDIT_VERIFY_KEYS = _keyring("AUDIT_VERIFY_KEYS") if _value("AUDIT_VERIFY_KEYS", "") else {}
if _both := sorted(set(AUDIT_VERIFY_KEYS) & set(AUDIT_SIGNING_KEYS)):
    raise ImproperlyConfigured(
        f"AUDIT_VERIFY_KEYS and AUDIT_SIGNING_KEYS both have key id {_both[0]!r}"
    )
# Sign the chain head every this many events (1: at every append, see ADR 0013 for the
# measured cost). The events after the last checkpoint are not yet covered by a signature.
AUDIT_CHECKPOINT_INTERVAL = _int("AUDIT_CHECKPOINT_INTERVAL", 1, minimum=1)

# --- Identity ---------------------------------------------------------------------------

# allauth's backend alone: Django's ModelBackend would check every failed password a
# second time (twice the hashing an attacker can make us do).
AUTHENTICATION_BACKENDS = ["ecitizen.accounts.auth_backends.AuthenticationBackend"]
AUTH_PASSWORD_VALIDATORS = [
    # NIST SP 800-63B: length, a block list, nothing about composition.
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "ecitizen.accounts.validators.MaximumLengthValidator"},
    {"NAME": "ecitizen.accounts.validators.NotBlankValidator"},
    # Django's common passwords plus a list of passwords exposed in breaches.
    {"NAME": "ecitizen.accounts.validators.CommonPasswordValidator"},
    {"NAME": "ecitizen.accounts.validators.PersonalInformationValidator"},
]
# Argon2id's cost (ADR 0025): by default OWASP's first minimum configuration, 46 MiB and
# one pass on one lane (some 60 ms of one core a sign-in), not Django's 100 MiB x 2 passes
# on 8 lanes (250 ms of CPU, about four times the work for each guess): OWASP's minimum
# strength at a quarter of the sign-in's cost. Below OWASP's minimum memory for the
# number of passes (46 MiB for 1, 19 MiB for 2, 12 MiB for 3, 9 MiB for 4, 7 MiB for 5
# or more) the process stops.
PASSWORD_ARGON2_MEMORY_KIB = _int("PASSWORD_ARGON2_MEMORY_KIB", 47104, minimum=7168)
PASSWORD_ARGON2_ITERATIONS = _int("PASSWORD_ARGON2_ITERATIONS", 1, minimum=1)
PASSWORD_ARGON2_LANES = _int("PASSWORD_ARGON2_LANES", 1, minimum=1)
_ARGON2_MIN_MEMORY_KIB = {1: 47104, 2: 19456, 3: 12288, 4: 9216}.get(
    PASSWORD_ARGON2_ITERATIONS, 7168
)
if PASSWORD_ARGON2_MEMORY_KIB < _ARGON2_MIN_MEMORY_KIB:
    raise ImproperlyConfigured(
        f"PASSWORD_ARGON2_MEMORY_KIB must be at least {_ARGON2_MIN_MEMORY_KIB} with "
        f"PASSWORD_ARGON2_ITERATIONS={PASSWORD_ARGON2_ITERATIONS} (OWASP's minimum "
        f"configurations of Argon2id), not {PASSWORD_ARGON2_MEMORY_KIB}"
    )
PASSWORD_HASHERS = [
    "ecitizen.accounts.hashers.Argon2idHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

ACCOUNT_ADAPTER = "ecitizen.accounts.adapters.AccountAdapter"
ACCOUNT_FORMS = {"signup": "ecitizen.accounts.forms.SignupForm"}
ACCOUNT_LOGIN_METHODS = {"email"}
# One password field with "show": GOV.UK's pattern, not a confirmation field.
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_REAUTHENTICATION_REQUIRED = True
ACCOUNT_REAUTHENTICATION_TIMEOUT = 300
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
# allauth also counts every sign-in, right or wrong, per client address (the address of
# core.http.client_ip, through our adapter). Its default, 30 a minute, turned people away
# with 429 behind a shared address (an office, a library, a mobile carrier) at a deadline.
# Guessing is not what this stops (the throttle below does, per account and per address):
# it only caps the sign-ins, each a password hash, that one address can ask for.
SIGN_IN_RATE_LIMIT_PER_ADDRESS = str(
    _value("SIGN_IN_RATE_LIMIT_PER_ADDRESS", default="300/m")
).strip()
if not re.fullmatch(r"[1-9][0-9]*/([1-9][0-9]*)?[smhd](/ip)?", SIGN_IN_RATE_LIMIT_PER_ADDRESS):
    raise ImproperlyConfigured(
        "SIGN_IN_RATE_LIMIT_PER_ADDRESS must be a number of sign-ins per period, like 300/m "
        f"or 1000/10m (s, m, h or d), not {SIGN_IN_RATE_LIMIT_PER_ADDRESS!r}"
    )
SIGN_IN_RATE_LIMIT_PER_ADDRESS = SIGN_IN_RATE_LIMIT_PER_ADDRESS.removesuffix("/ip") + "/ip"
ACCOUNT_RATE_LIMITS = {
    # Failed passwords are throttled by ecitizen.accounts.services (growing delays per
    # account and per address; our adapter replaces allauth's check). allauth applies this
    # limit to the second-factor step only: 5 wrong codes per account in 5 minutes.
    "login_failed": "5/5m/key",
    "login": SIGN_IN_RATE_LIMIT_PER_ADDRESS,
    # allauth's 20 a minute per address would turn away a library's class signing up
    # together. Each inbox keeps its own limits: one verification email per address in
    # 3 minutes (allauth's confirm_email, which also covers a sign-up with an address that
    # has an account) and 5 reset emails a minute (the per-key part below).
    "signup": "60/m/ip",
    "reset_password": "60/m/ip,5/m/key",
    "reset_password_from_key": "60/m/ip",
}
LOGIN_REDIRECT_URL = "accounts:home"
LOGIN_URL = "account_login"

MFA_ADAPTER = "ecitizen.accounts.adapters.MFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
MFA_PASSKEY_LOGIN_ENABLED = False
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG
MFA_RECOVERY_CODE_COUNT = 10
# Accept the code of the 30-second period before or after this one: phones' clocks drift,
# and a code typed as its period ends must still work. A used code cannot be replayed.
MFA_TOTP_TOLERANCE = 1

# Django's database sessions, their per-request read compiled once (core/sessions.py).
SESSION_ENGINE = "ecitizen.core.sessions"
SESSION_COOKIE_AGE = _int("SESSION_ABSOLUTE_TIMEOUT_STAFF", 12 * 3600, minimum=60)
SESSION_IDLE_TIMEOUT_STAFF = _int("SESSION_IDLE_TIMEOUT_STAFF", 30 * 60, minimum=10)
SESSION_IDLE_TIMEOUT_RESIDENT = _int("SESSION_IDLE_TIMEOUT_RESIDENT", 60 * 60, minimum=10)
SESSION_ABSOLUTE_TIMEOUT_STAFF = SESSION_COOKIE_AGE
SESSION_TIMEOUT_WARNING = _int("SESSION_TIMEOUT_WARNING", 120, minimum=5)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

SIGNIN_THROTTLE_FREE_ATTEMPTS_ACCOUNT = _int("SIGNIN_THROTTLE_FREE_ATTEMPTS_ACCOUNT", 5, minimum=1)
SIGNIN_THROTTLE_FREE_ATTEMPTS_IP = _int("SIGNIN_THROTTLE_FREE_ATTEMPTS_IP", 20, minimum=1)
SIGNIN_THROTTLE_BASE_DELAY = _int("SIGNIN_THROTTLE_BASE_DELAY", 30, minimum=1)
SIGNIN_THROTTLE_MAX_DELAY = _int(
    "SIGNIN_THROTTLE_MAX_DELAY", 15 * 60, minimum=SIGNIN_THROTTLE_BASE_DELAY
)
# A browser that completed a sign-in keeps a device cookie this long: its attempts are
# throttled per device, not with the account's (accounts.devices, ADR 0006).
SIGNIN_DEVICE_COOKIE_DAYS = _int("SIGNIN_DEVICE_COOKIE_DAYS", 180, minimum=1)
if min(SESSION_IDLE_TIMEOUT_STAFF, SESSION_IDLE_TIMEOUT_RESIDENT) <= SESSION_TIMEOUT_WARNING:
    raise ImproperlyConfigured("SESSION_TIMEOUT_WARNING must be shorter than the idle timeouts")

# --- Sign-in with OpenID Connect: a national eID for residents, the staff IdP -------------
# (docs/identity.md, ADR 0022). Each provider is off until its ISSUER is set; then its
# CLIENT_ID and CLIENT_SECRET are required. allauth's OpenID Connect provider, with our
# subclass (ecitizen.accounts.oidc) checking what allauth does not: the ID token's
# signature always, nonce, iat, the level of assurance; PKCE always on.
from ecitizen.accounts.oidc_settings import (  # noqa: E402 - pure functions, no Django
    DEFAULT_MFA_AMR as _DEFAULT_MFA_AMR,
)
from ecitizen.accounts.oidc_settings import OIDCSettingsError as _OIDCSettingsError  # noqa: E402
from ecitizen.accounts.oidc_settings import provider_app as _oidc_provider_app  # noqa: E402

_OIDC_APPS: list[dict[str, Any]] = []
try:
    if _value("EID_OIDC_ISSUER", default=""):
        _OIDC_APPS.append(
            _oidc_provider_app(
                provider_id="eid",
                purpose="resident",
                env_prefix="EID_OIDC_",
                issuer=str(_value("EID_OIDC_ISSUER")),
                client_id=str(_value("EID_OIDC_CLIENT_ID", default="")).strip(),
                secret=str(_value("EID_OIDC_CLIENT_SECRET", default="")).strip(),
                # Shown on the button: "Sign in with <name>".
                name=str(_value("EID_OIDC_NAME", default="national eID")).strip(),
                scope=_list("EID_OIDC_SCOPE", ["openid", "profile", "email"]),
                # Asked for (acr_values), and the lowest accepted, out of the provider's
                # levels listed lowest to highest (e.g. low,substantial,high).
                acr_values=_list("EID_OIDC_ACR_VALUES", []),
                acr_levels=_list("EID_OIDC_ACR_LEVELS", []),
                minimum_acr=str(_value("EID_OIDC_MINIMUM_ACR", default="")).strip(),
                # Which claims carry the verified name, date of birth and national number.
                claims={
                    "name": str(_value("EID_OIDC_CLAIM_NAME", default="name")).strip(),
                    "birthdate": str(
                        _value("EID_OIDC_CLAIM_BIRTHDATE", default="birthdate")
                    ).strip(),
                    "national_id": str(
                        _value("EID_OIDC_CLAIM_NATIONAL_ID", default="national_id")
                    ).strip(),
                },
                allow_http=DEBUG,
            )
        )
    if _value("STAFF_OIDC_ISSUER", default=""):
        _OIDC_APPS.append(
            _oidc_provider_app(
                provider_id="staff",
                purpose="staff",
                env_prefix="STAFF_OIDC_",
                issuer=str(_value("STAFF_OIDC_ISSUER")),
                client_id=str(_value("STAFF_OIDC_CLIENT_ID", default="")).strip(),
                secret=str(_value("STAFF_OIDC_CLIENT_SECRET", default="")).strip(),
                name=str(_value("STAFF_OIDC_NAME", default="your staff account")).strip(),
                scope=_list("STAFF_OIDC_SCOPE", ["openid", "profile", "email"]),
                groups_claim=str(_value("STAFF_OIDC_GROUPS_CLAIM", default="groups")).strip(),
                # JSON: {"group": [{"role": "case_officer", "department": "revenue",
                # "ward": "north"}]}; roles follow the groups at every sign-in.
                group_roles=str(_value("STAFF_OIDC_GROUP_ROLES", default="{}")),
                # The provider's sign-in counts as two-factor when amr has one of these,
                # or acr is at or above STAFF_OIDC_MFA_ACR (out of STAFF_OIDC_ACR_LEVELS).
                mfa_amr=_list("STAFF_OIDC_MFA_AMR", list(_DEFAULT_MFA_AMR)),
                acr_levels=_list("STAFF_OIDC_ACR_LEVELS", []),
                mfa_acr=str(_value("STAFF_OIDC_MFA_ACR", default="")).strip(),
                acr_values=_list("STAFF_OIDC_ACR_VALUES", []),
                allow_http=DEBUG,
            )
        )
except _OIDCSettingsError as _exc:
    raise ImproperlyConfigured(str(_exc)) from _exc
SOCIALACCOUNT_ADAPTER = "ecitizen.accounts.adapters.SocialAccountAdapter"
SOCIALACCOUNT_PROVIDERS: dict[str, Any] = {
    "openid_connect": {
        "provider_class": "ecitizen.accounts.oidc.EcitizenOpenIDConnectProvider",
        "OAUTH_PKCE_ENABLED": True,
        "APPS": _OIDC_APPS,
    }
}
# An unknown person signing in with the eID gets an account at once (email from the
# provider); an email already used by an account is refused with a message, never
# merged (the person signs in and links their eID from their account page).
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_EMAIL_VERIFICATION = ACCOUNT_EMAIL_VERIFICATION
# Access and refresh tokens are used once, during sign-in; they are not kept.
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_REQUESTS_TIMEOUT = _int("OIDC_REQUESTS_TIMEOUT", 10, minimum=1)
# The sign-in buttons post to our own address, which redirects to the provider: the
# Content Security Policy's form-action must allow the providers' origins (below).
OIDC_FORM_ACTION_ORIGINS = sorted(
    {re.sub(r"^(https?://[^/]+).*$", r"\1", _app["settings"]["server_url"]) for _app in _OIDC_APPS}
)

# --- Security ---------------------------------------------------------------------------

SECURE_SSL_REDIRECT = _bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = _bool("CSRF_COOKIE_SECURE", not DEBUG)
# Links in account emails (verification, password reset): https wherever cookies are
# https-only (nobody could sign in over plain http there); plain http only where the site
# itself is served that way (development, the demo on 127.0.0.1).
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if SESSION_COOKIE_SECURE else "http"
SECURE_HSTS_SECONDS = _int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = _bool("SECURE_HSTS_PRELOAD", True)
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content Security Policy: our own origin only; the two inline bits of the layout (the
# js-enabled switch and the brand colour) carry the per-response nonce.
# The image sources, named: the map tiles' origin is added below (MAP_TILE_URL).
_CSP_IMAGES: list[str] = [csp.SELF, "data:"]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.SELF],
        "script-src": [csp.SELF, csp.NONCE],
        "style-src": [csp.SELF, csp.NONCE],
        "img-src": _CSP_IMAGES,
        "font-src": [csp.SELF],
        "connect-src": [csp.SELF],
        "form-action": [csp.SELF, *OIDC_FORM_ACTION_ORIGINS],
        "frame-ancestors": [csp.NONE],
        "base-uri": [csp.SELF],
        "object-src": [csp.NONE],
    }
}
# Load balancers and Prometheus probe these over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^livez$", r"^readyz$", r"^metrics$"]
if _bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The networks of the reverse proxies in front of the web process (CIDR, comma-separated).
# X-Forwarded-For and X-Forwarded-Proto are believed only from a peer in one of them; the
# client address is the first address in X-Forwarded-For, from the right, that is not.
TRUSTED_PROXIES = _list("TRUSTED_PROXIES", [])
for _proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(
            f"TRUSTED_PROXIES must list networks like 10.0.0.0/8 or 192.0.2.10, not {_proxy!r}"
        ) from _exc
# The older way: how many reverse proxies sit in front of the web process; the client
# address is read that many hops from the right of X-Forwarded-For, from any peer.
TRUSTED_PROXY_COUNT = _int("TRUSTED_PROXY_COUNT", 0)
if TRUSTED_PROXIES and TRUSTED_PROXY_COUNT:
    raise ImproperlyConfigured(
        "Set TRUSTED_PROXIES or TRUSTED_PROXY_COUNT, not both (TRUSTED_PROXIES is safer: "
        "it checks the proxies' addresses)"
    )
# Browser features no page uses are switched off for the site and anything it embeds;
# geolocation stays available to our own pages (a street report's "use my location").
PERMISSIONS_POLICY: dict[str, list[str]] = {
    "accelerometer": [],
    "autoplay": [],
    "camera": [],
    "display-capture": [],
    "encrypted-media": [],
    "fullscreen": ["self"],
    "geolocation": ["self"],
    "gyroscope": [],
    "hid": [],
    "idle-detection": [],
    "magnetometer": [],
    "microphone": [],
    "midi": [],
    "payment": [],
    "picture-in-picture": [],
    "publickey-credentials-get": ["self"],
    "screen-wake-lock": [],
    "serial": [],
    "usb": [],
    "xr-spatial-tracking": [],
}

# --- Internationalisation ---------------------------------------------------------------

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français"), ("ar", "العربية")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
# Dates are written one way in every language: "7 November 2026" (ecitizen/formats).
FORMAT_MODULE_PATH = ["ecitizen.formats"]
USE_I18N = True
TIME_ZONE = str(_value("TIME_ZONE", default="Europe/London"))
try:
    zoneinfo.ZoneInfo(TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError) as _exc:
    raise ImproperlyConfigured(f"TIME_ZONE {TIME_ZONE!r} is not a known time zone") from _exc
USE_TZ = True

# --- Static files and front end ---------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
# The brand assets and the front-end build (frontend/ → static/ecitizen/build/).
# STATIC_OVERRIDES_DIR holds the authority's own logo or favicon under the same paths.
STATICFILES_DIRS = [*_override_dir("STATIC_OVERRIDES_DIR"), PACKAGE_DIR / "static"]
# Uploads, issued documents and data exports (all encrypted before they are stored): a
# folder (MEDIA_ROOT, which several machines may share over NFS) or an S3-compatible bucket
# (docs/configuration.md#media-storage; the rules are in ecitizen.core.storage_settings).
from ecitizen.core.storage_settings import media_storage  # noqa: E402 - used here only

MEDIA_STORAGE = str(_value("MEDIA_STORAGE", default="filesystem")).strip().lower()
STORAGES = {
    "default": media_storage(
        kind=MEDIA_STORAGE,
        media_root=str(_value("MEDIA_ROOT", default="")).strip(),
        bucket=str(_value("S3_BUCKET", default="")).strip(),
        endpoint_url=str(_value("S3_ENDPOINT_URL", default="")).strip(),
        region=str(_value("S3_REGION", default="")).strip(),
        access_key_id=str(_value("S3_ACCESS_KEY_ID", default="")).strip(),
        secret_access_key=str(_value("S3_SECRET_ACCESS_KEY", default="")).strip(),
        prefix=str(_value("S3_PREFIX", default="")).strip(),
        addressing_style=str(_value("S3_ADDRESSING_STYLE", default="")).strip().lower(),
        server_side_encryption=str(_value("S3_SERVER_SIDE_ENCRYPTION", default="")).strip(),
        kms_key_id=str(_value("S3_KMS_KEY_ID", default="")).strip(),
    ),
    "staticfiles": {
        "BACKEND": (
            "ecitizen.core.static_storage.KeptManifestStaticFilesStorage"
            if _bool("STATIC_MANIFEST", not DEBUG)
            else "ecitizen.core.static_storage.KeptStaticFilesStorage"
        )
    },
}
MEDIA_ROOT = Path(str(_value("MEDIA_ROOT", default="")).strip() or VAR_DIR / "media").resolve()
# A file of the platform's own folders of the media storage that no row names (its process
# was killed between writing it and committing the row) is deleted by `ecitizen
# housekeeping` once this old (ecitizen.core.stored_files): far longer than any
# transaction, so that a file whose row is about to commit is never taken.
STORAGE_ORPHAN_GRACE_HOURS = _int("STORAGE_ORPHAN_GRACE_HOURS", 24, minimum=1)

# --- Email ------------------------------------------------------------------------------

# Mail is handed to the task worker, which delivers it with EMAIL_DELIVERY_BACKEND; a
# rolled-back transaction therefore sends nothing.
EMAIL_BACKEND = str(_value("EMAIL_BACKEND", default="ecitizen.core.mail.QueuedEmailBackend"))
EMAIL_DELIVERY_BACKEND = str(
    _value(
        "EMAIL_DELIVERY_BACKEND",
        default="django.core.mail.backends.console.EmailBackend"
        if DEBUG
        else "django.core.mail.backends.smtp.EmailBackend",
    )
)
EMAIL_HOST = str(_value("EMAIL_HOST", default="localhost"))
EMAIL_PORT = _int("EMAIL_PORT", 25)
EMAIL_HOST_USER = str(_value("EMAIL_HOST_USER", default=""))
EMAIL_HOST_PASSWORD = str(_value("EMAIL_HOST_PASSWORD", default=""))
EMAIL_USE_TLS = _bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = str(_value("DEFAULT_FROM_EMAIL", default="no-reply@riverton.example"))
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Text messages ----------------------------------------------------------------------

# The provider class notifications send text messages through (a dotted path). The outbox
# (the default with DEBUG on) keeps them in a table shown to staff at /staff/sms-outbox/
# instead of sending them: with DEBUG off it is refused unless SMS_OUTBOX_IN_PRODUCTION
# allows it (a demonstration, training or test server), and `check --deploy` reports it.
SMS_BACKEND = str(_value("SMS_BACKEND", default=SMS_OUTBOX_BACKEND if DEBUG else "")).strip()
SMS_OUTBOX_IN_PRODUCTION = _bool("SMS_OUTBOX_IN_PRODUCTION", False)
# GOV.UK Notify (SMS_BACKEND=ecitizen.notifications.sms.NotifySmsBackend): the API key, and
# a text message template whose whole content is ((body)).
NOTIFY_API_KEY = str(_value("NOTIFY_API_KEY", default="")).strip()
NOTIFY_SMS_TEMPLATE_ID = str(_value("NOTIFY_SMS_TEMPLATE_ID", default="")).strip()
NOTIFY_SMS_SENDER_ID = str(_value("NOTIFY_SMS_SENDER_ID", default="")).strip()
NOTIFY_BASE_URL = str(_value("NOTIFY_BASE_URL", default=NOTIFY_DEFAULT_BASE_URL)).strip()
_sms_problem = sms_backend_problem(
    backend=SMS_BACKEND,
    debug=DEBUG,
    outbox_allowed=SMS_OUTBOX_IN_PRODUCTION,
    notify_api_key=NOTIFY_API_KEY,
    notify_template_id=NOTIFY_SMS_TEMPLATE_ID,
    notify_sender_id=NOTIFY_SMS_SENDER_ID,
    notify_base_url=NOTIFY_BASE_URL,
)
if _sms_problem:
    raise ImproperlyConfigured(_sms_problem)

# --- The deploying authority ------------------------------------------------------------

AUTHORITY_NAME = str(_value("AUTHORITY_NAME", default="City of Riverton"))
AUTHORITY_SERVICE_NAME = str(_value("AUTHORITY_SERVICE_NAME", default="Riverton online services"))


def _in_each_language(name: str, value: str, riverton: dict[str, str]) -> dict[str, str]:
    """``{language: text}`` of an authority-configured name, for every language of
    LANGUAGES: ``<NAME>_<LANGUAGE>`` (``AUTHORITY_NAME_FR``, ``AUTHORITY_NAME_AR``), else
    the name itself. The demo's own names (``riverton``) are the defaults only while the
    name itself is the demo's, so that a deployment that renames itself is never called
    Riverton in another language."""
    named = name in os.environ or bool(os.environ.get(f"{name}_FILE"))
    names = {LANGUAGE_CODE: value}
    for code, _label in LANGUAGES:
        if code != LANGUAGE_CODE:
            default = value if named else riverton.get(code, value)
            suffix = code.upper().replace("-", "_")
            names[code] = str(_value(f"{name}_{suffix}", default=default)).strip() or value
    return names


# The names in each language: AUTHORITY_NAME_FR, AUTHORITY_SERVICE_NAME_AR... (pages use
# the reader's, ecitizen.core.authority).
AUTHORITY_NAMES = _in_each_language(
    "AUTHORITY_NAME", AUTHORITY_NAME, {"fr": "Ville de Riverton", "ar": "مدينة ريفرتون"}
)
AUTHORITY_SERVICE_NAMES = _in_each_language(
    "AUTHORITY_SERVICE_NAME",
    AUTHORITY_SERVICE_NAME,
    {"fr": "Services en ligne de Riverton", "ar": "خدمات ريفرتون الإلكترونية"},
)
AUTHORITY_LOGO = str(_value("AUTHORITY_LOGO", default="ecitizen/brand/riverton-logo.svg"))
AUTHORITY_BRAND_COLOUR = _hex_colour("AUTHORITY_BRAND_COLOUR", "#0b4f6c")
AUTHORITY_CONTACT_EMAIL = str(_value("AUTHORITY_CONTACT_EMAIL", default="help@riverton.example"))
AUTHORITY_CONTACT_PHONE = str(_value("AUTHORITY_CONTACT_PHONE", default="0300 123 4567"))
# Where users can get the source of the running version: the AGPL (section 13) asks a
# network service to offer it. Shown in the footer when set.
SOURCE_CODE_URL = str(_value("SOURCE_CODE_URL", default="")).strip()
if SOURCE_CODE_URL and not re.fullmatch(r"https?://\S+", SOURCE_CODE_URL):
    raise ImproperlyConfigured(
        f"SOURCE_CODE_URL must be an http(s) address, not {SOURCE_CODE_URL!r}"
    )
PHASE_BANNER = str(_value("PHASE_BANNER", default="beta"))
if PHASE_BANNER not in {"", "alpha", "beta"}:
    raise ImproperlyConfigured(f"PHASE_BANNER must be alpha, beta or empty, not {PHASE_BANNER!r}")
MFA_TOTP_ISSUER = AUTHORITY_NAME
PHASE_LABELS = {"alpha": _("Alpha"), "beta": _("Beta")}
# A banner on every page saying that the site is a demonstration and nothing done on it is
# real (scripts/run's demo sets it; so may a training server).
DEMO_BANNER = _bool("DEMO_BANNER", False)

# --- Services and cases -----------------------------------------------------------------

# Case references read PREFIX-CODE-YEAR-NUMBER, e.g. RIV-BP-2026-000123.
CASE_REFERENCE_PREFIX = str(_value("CASE_REFERENCE_PREFIX", default="RIV"))
if not re.fullmatch(r"[A-Z]{2,5}", CASE_REFERENCE_PREFIX):
    raise ImproperlyConfigured("CASE_REFERENCE_PREFIX must be 2 to 5 capital letters")
CURRENCY = str(_value("CURRENCY", default="GBP"))
if not re.fullmatch(r"[A-Z]{3}", CURRENCY) or not _babel_numbers.is_currency(CURRENCY):
    raise ImproperlyConfigured("CURRENCY must be an ISO 4217 code such as GBP or EUR")
# The symbol written before or after amounts, in every language; empty: the one the
# authority's own language (LANGUAGE_CODE) writes for CURRENCY ("£" for GBP in English).
# Amounts have the currency's own decimals (none for JPY, three for KWD).
CURRENCY_SYMBOL = str(_value("CURRENCY_SYMBOL", default="")).strip()
# An unfinished application is kept this many days after its last change, and the
# resident is reminded this many days before it is deleted.
DRAFT_EXPIRY_DAYS = _int("DRAFT_EXPIRY_DAYS", 30, minimum=1)
DRAFT_REMINDER_DAYS = _int("DRAFT_REMINDER_DAYS", 7, minimum=0)
if DRAFT_REMINDER_DAYS >= DRAFT_EXPIRY_DAYS:
    raise ImproperlyConfigured("DRAFT_REMINDER_DAYS must be less than DRAFT_EXPIRY_DAYS")
# The home page's "popular services": the services most started in the last 90 days, then
# these (comma-separated service slugs, in order) when there is not enough use to rank; when
# unset, the rest of the catalogue in its order.
HOME_TOP_TASKS = _list("HOME_TOP_TASKS", [])
# Business days for SLA clocks: Monday to Friday, minus the public holidays of
# HOLIDAY_COUNTRY (and HOLIDAY_SUBDIVISION) from the `holidays` package, minus the
# authority's own closures in EXTRA_HOLIDAYS (comma-separated ISO dates).
HOLIDAY_COUNTRY = str(_value("HOLIDAY_COUNTRY", default="GB"))
HOLIDAY_SUBDIVISION = str(_value("HOLIDAY_SUBDIVISION", default="ENG")) or None
EXTRA_HOLIDAYS = _list("EXTRA_HOLIDAYS", [])
for _holiday in EXTRA_HOLIDAYS:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", _holiday):
        raise ImproperlyConfigured(
            f"EXTRA_HOLIDAYS must list dates as YYYY-MM-DD, not {_holiday!r}"
        )
# Files residents may upload, whatever a service allows (megabytes).
UPLOAD_MAX_MB = _int("UPLOAD_MAX_MB", 20, minimum=1)
# The largest request body (all files of one form together, in megabytes). A request that
# announces more is answered 413 before it is read; one that sends more is cut off.
REQUEST_MAX_MB = _int("REQUEST_MAX_MB", max(100, UPLOAD_MAX_MB + 1), minimum=UPLOAD_MAX_MB + 1)
# Uploaded images larger than this many megapixels are refused (read from the file's
# header, never decoded): a small PNG can claim 60000 x 60000 pixels and exhaust memory.
UPLOAD_IMAGE_MAX_MEGAPIXELS = _int("UPLOAD_IMAGE_MAX_MEGAPIXELS", 50, minimum=1)
# While an uploaded PDF is checked, its compressed streams are inflated up to this many
# megabytes in all; a PDF that expands further (a "zip bomb") is refused.
UPLOAD_PDF_MAX_INFLATED_MB = _int("UPLOAD_PDF_MAX_INFLATED_MB", 256, minimum=1)
# Files are counted while they arrive (ecitizen.core.uploads) before Django keeps them.
FILE_UPLOAD_HANDLERS = [
    "ecitizen.core.uploads.LimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# --- Issued documents -----------------------------------------------------------------

# The public address of the platform, printed on issued documents as the QR code's link to
# /verify/<code>/ (documents outlive requests, so it cannot come from one).
PUBLIC_BASE_URL = str(_value("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")).strip()
if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", PUBLIC_BASE_URL):
    raise ImproperlyConfigured(
        f"PUBLIC_BASE_URL must be an http(s) address without query or fragment, "
        f"not {PUBLIC_BASE_URL!r}"
    )
PUBLIC_BASE_URL = PUBLIC_BASE_URL.rstrip("/")
# The authority's signing key and certificate (PEM) for issued documents. Unset: a
# self-signed demo certificate is made under VAR_DIR/signing on first use.
DOCUMENT_SIGNING_KEY_FILE = str(_value("DOCUMENT_SIGNING_KEY_FILE", default="")).strip()
DOCUMENT_SIGNING_CERT_FILE = str(_value("DOCUMENT_SIGNING_CERT_FILE", default="")).strip()
if bool(DOCUMENT_SIGNING_KEY_FILE) != bool(DOCUMENT_SIGNING_CERT_FILE):
    raise ImproperlyConfigured(
        "DOCUMENT_SIGNING_KEY_FILE and DOCUMENT_SIGNING_CERT_FILE must be set together"
    )
for _signing_name, _signing_file in (
    ("DOCUMENT_SIGNING_KEY_FILE", DOCUMENT_SIGNING_KEY_FILE),
    ("DOCUMENT_SIGNING_CERT_FILE", DOCUMENT_SIGNING_CERT_FILE),
):
    if _signing_file and not Path(_signing_file).is_file():
        raise ImproperlyConfigured(f"{_signing_name} {_signing_file} is not a file")
# Documents signed with the demo certificate, or any self-signed one, look signed but
# nobody outside can trust them. With DEBUG off that is refused unless this allows it (a
# demonstration or training server); `check --deploy` reports it even then.
DOCUMENT_SIGNING_DEMO_IN_PRODUCTION = _bool("DOCUMENT_SIGNING_DEMO_IN_PRODUCTION", False)
if not DEBUG and not DOCUMENT_SIGNING_DEMO_IN_PRODUCTION:
    _signing_problem = signing_certificate_problem(DOCUMENT_SIGNING_CERT_FILE)
    if _signing_problem:
        raise ImproperlyConfigured(
            f"Issued documents cannot be trusted: {_signing_problem}. Set "
            "DOCUMENT_SIGNING_KEY_FILE and DOCUMENT_SIGNING_CERT_FILE to the authority's key "
            "and a certificate from a trusted certification authority (or, on a server whose "
            "documents are not real, DOCUMENT_SIGNING_DEMO_IN_PRODUCTION=true)."
        )

# --- Payments -----------------------------------------------------------------------------

# Payments that are not real (the built-in sandbox, Stripe in test mode) with DEBUG off:
# refused unless this allows them (a demonstration or training server), because a site
# taking them would mark bills paid and issue receipts and licences for money it never
# received. When payers pay that way, every page says so (PAYMENTS_NOT_REAL below), and
# `check --deploy` reports it.
PAYMENTS_SANDBOX_IN_PRODUCTION = _bool("PAYMENTS_SANDBOX_IN_PRODUCTION", False)
_PAYMENTS_NOT_REAL_ALLOWED = DEBUG or PAYMENTS_SANDBOX_IN_PRODUCTION
# Providers by name (a dotted path to a class implementing
# ecitizen.payments.providers.base.PaymentProvider) and the one payers use. The sandbox is
# left out when it is not allowed, so that its card page and webhook endpoint answer 404.
PAYMENT_PROVIDERS = {
    "sandbox": "ecitizen.payments.providers.sandbox.SandboxProvider",
    "stripe": "ecitizen.payments.providers.stripe.StripeProvider",
}
if not _PAYMENTS_NOT_REAL_ALLOWED:
    del PAYMENT_PROVIDERS["sandbox"]
# No default with DEBUG off: a production site must say who takes its money.
PAYMENT_PROVIDER = str(_value("PAYMENT_PROVIDER", default="sandbox" if DEBUG else "")).strip()
if not PAYMENT_PROVIDER:
    raise ImproperlyConfigured(
        "PAYMENT_PROVIDER is required when DEBUG is off: stripe, or sandbox together with "
        "PAYMENTS_SANDBOX_IN_PRODUCTION=true on a server whose payments are not real"
    )
if PAYMENT_PROVIDER == "sandbox" and not _PAYMENTS_NOT_REAL_ALLOWED:
    raise ImproperlyConfigured(
        "PAYMENT_PROVIDER=sandbox takes no real payments: with DEBUG off it needs "
        "PAYMENTS_SANDBOX_IN_PRODUCTION=true (a server whose payments are not real)"
    )
if PAYMENT_PROVIDER not in PAYMENT_PROVIDERS:
    raise ImproperlyConfigured(
        f"PAYMENT_PROVIDER must be one of {', '.join(PAYMENT_PROVIDERS)}, not {PAYMENT_PROVIDER!r}"
    )
# The secret the sandbox signs its webhooks with (HMAC-SHA256). Development default only;
# with DEBUG off it must be set, at least 32 characters, whenever the sandbox is enabled.
PAYMENTS_SANDBOX_WEBHOOK_SECRET = str(
    _value(
        "PAYMENTS_SANDBOX_WEBHOOK_SECRET",
        default="sandbox-webhook-secret-for-development-only" if DEBUG else "",
    )
)
if "sandbox" in PAYMENT_PROVIDERS and not DEBUG:
    _secret_problem = webhook_secret_problem(PAYMENTS_SANDBOX_WEBHOOK_SECRET)
    if _secret_problem:
        raise ImproperlyConfigured(
            f"PAYMENTS_SANDBOX_WEBHOOK_SECRET {_secret_problem}: with DEBUG off and the "
            f"sandbox enabled it must be at least {MIN_WEBHOOK_SECRET_LENGTH} random "
            "characters, or anyone could sign its webhooks"
        )
# Where the sandbox delivers webhooks; default: this platform's own endpoint.
PAYMENTS_SANDBOX_WEBHOOK_URL = str(_value("PAYMENTS_SANDBOX_WEBHOOK_URL", default=""))
STRIPE_SECRET_KEY = str(_value("STRIPE_SECRET_KEY", default=""))
STRIPE_WEBHOOK_SECRET = str(_value("STRIPE_WEBHOOK_SECRET", default=""))
if PAYMENT_PROVIDER == "stripe" and not (STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET):
    raise ImproperlyConfigured(
        "PAYMENT_PROVIDER=stripe needs STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET"
    )
_STRIPE_TEST_MODE = PAYMENT_PROVIDER == "stripe" and stripe_key_is_test(STRIPE_SECRET_KEY)
if _STRIPE_TEST_MODE and not _PAYMENTS_NOT_REAL_ALLOWED:
    raise ImproperlyConfigured(
        "STRIPE_SECRET_KEY is a test-mode key, which takes no real payments: with DEBUG "
        "off use the live key, or set PAYMENTS_SANDBOX_IN_PRODUCTION=true on a server "
        "whose payments are not real"
    )
# True when payers pay through a provider that takes no real money: the layout then shows
# a warning banner on every page. Derived, not an environment variable.
PAYMENTS_NOT_REAL = PAYMENT_PROVIDER == "sandbox" or _STRIPE_TEST_MODE
# Test switch for the sandbox's webhooks: normal, duplicate, delay, reorder or drop.
PAYMENTS_SANDBOX_WEBHOOK_MODE = str(_value("PAYMENTS_SANDBOX_WEBHOOK_MODE", default="normal"))
if PAYMENTS_SANDBOX_WEBHOOK_MODE not in {"normal", "duplicate", "delay", "reorder", "drop"}:
    raise ImproperlyConfigured(
        "PAYMENTS_SANDBOX_WEBHOOK_MODE must be normal, duplicate, delay, reorder or drop"
    )
# Unfinished payments older than this are asked about by `ecitizen payments reconcile`.
PAYMENTS_RECONCILE_AFTER_MINUTES = _int("PAYMENTS_RECONCILE_AFTER_MINUTES", 5, minimum=1)
# Paying by reference and postcode without an account (/pay/): wrong answers are throttled
# per reference typed and per client address, as sign-in is (growing waits, no lockout).
PAY_THROTTLE_FREE_ATTEMPTS_REFERENCE = _int("PAY_THROTTLE_FREE_ATTEMPTS_REFERENCE", 5, minimum=1)
PAY_THROTTLE_FREE_ATTEMPTS_IP = _int("PAY_THROTTLE_FREE_ATTEMPTS_IP", 20, minimum=1)
PAY_THROTTLE_BASE_DELAY = _int("PAY_THROTTLE_BASE_DELAY", 30, minimum=1)
PAY_THROTTLE_MAX_DELAY = _int("PAY_THROTTLE_MAX_DELAY", 15 * 60, minimum=PAY_THROTTLE_BASE_DELAY)
# `ecitizen tax remind` reminds owners this many days before a property-tax instalment
# is due (an overdue notice follows the day after it, while it is unpaid).
TAX_REMINDER_DAYS = _int("TAX_REMINDER_DAYS", 14, minimum=1)

# --- Street reports -----------------------------------------------------------------------

# Where problems can be reported (ecitizen.reports.geo): the authority's wards as GeoJSON,
# and its own street and postcode list as CSV. Default: Riverton's, shipped in the package.
# The files' content is checked when first read; a path that is not a file stops here.
_RIVERTON_GEO_DIR = PACKAGE_DIR / "reports" / "riverton"
REPORTS_AREA_FILE = str(
    _value("REPORTS_AREA_FILE", default=str(_RIVERTON_GEO_DIR / "wards.geojson"))
).strip()
REPORTS_GAZETTEER_FILE = str(
    _value("REPORTS_GAZETTEER_FILE", default=str(_RIVERTON_GEO_DIR / "gazetteer.csv"))
).strip()
for _geo_name, _geo_file in (
    ("REPORTS_AREA_FILE", REPORTS_AREA_FILE),
    ("REPORTS_GAZETTEER_FILE", REPORTS_GAZETTEER_FILE),
):
    if not Path(_geo_file).is_file():
        raise ImproperlyConfigured(f"{_geo_name} {_geo_file} is not a file")
# The area's name in messages ("This place is outside Riverton"), in each language of the
# site: REPORTS_AREA_NAME_FR, REPORTS_AREA_NAME_AR... (as AUTHORITY_NAME's).
REPORTS_AREA_NAME = str(_value("REPORTS_AREA_NAME", default="Riverton")).strip()
if not REPORTS_AREA_NAME:
    raise ImproperlyConfigured("REPORTS_AREA_NAME must not be empty")
REPORTS_AREA_NAMES = _in_each_language("REPORTS_AREA_NAME", REPORTS_AREA_NAME, {"ar": "ريفرتون"})
# The largest photo a report accepts (megabytes; read as REPORTS_PHOTO_MAX_BYTES). Files
# past UPLOAD_MAX_MB are cut off while they arrive, so it cannot be larger.
REPORTS_PHOTO_MAX_MB = _int("REPORTS_PHOTO_MAX_MB", min(10, UPLOAD_MAX_MB), minimum=1)
if REPORTS_PHOTO_MAX_MB > UPLOAD_MAX_MB:
    raise ImproperlyConfigured(
        f"REPORTS_PHOTO_MAX_MB ({REPORTS_PHOTO_MAX_MB}) cannot be more than UPLOAD_MAX_MB "
        f"({UPLOAD_MAX_MB})"
    )
REPORTS_PHOTO_MAX_BYTES = REPORTS_PHOTO_MAX_MB * 1024 * 1024
# Map tiles behind the report map (Leaflet's URL template) and the attribution their
# licence asks for (HTML, shown on the map). The tiles' origin is added to the Content
# Security Policy's img-src; an empty MAP_TILE_URL means no map (street search only).
MAP_TILE_URL = str(
    _value("MAP_TILE_URL", default="https://tile.openstreetmap.org/{z}/{x}/{y}.png")
).strip()
MAP_TILE_ATTRIBUTION = str(
    _value(
        "MAP_TILE_ATTRIBUTION",
        default='© <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> '
        "contributors",
    )
).strip()
if MAP_TILE_URL:
    _tiles = re.fullmatch(r"(https?)://([^/?#\s]+)/\S*", MAP_TILE_URL)
    if not _tiles or not all(part in MAP_TILE_URL for part in ("{z}", "{x}", "{y}")):
        raise ImproperlyConfigured(
            "MAP_TILE_URL must be an http(s) address with {z}, {x} and {y}, like "
            f"https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png (or empty), not {MAP_TILE_URL!r}"
        )
    # Leaflet's {s} (a subdomain, a.tile..., b.tile...) is allowed as the first label only,
    # where the CSP's own wildcard can stand for it.
    _tile_host = re.sub(r"^\{s\}\.", "*.", _tiles.group(2))
    if "{" in _tile_host or "}" in _tile_host:
        raise ImproperlyConfigured(
            "MAP_TILE_URL may have a placeholder in its host name only as {s}. at its start, "
            f"not {_tiles.group(2)!r}"
        )
    if not MAP_TILE_ATTRIBUTION:
        raise ImproperlyConfigured(
            "MAP_TILE_ATTRIBUTION is required with MAP_TILE_URL: tile services' licences "
            "ask maps to credit them"
        )
    _CSP_IMAGES.append(f"{_tiles.group(1)}://{_tile_host}")

# --- Backups ----------------------------------------------------------------------------

# `ecitizen backup` encrypts every part of a backup to these age public keys (X25519,
# "age1...", comma-separated; docs/backup.md). Public keys only: the secret keys that
# decrypt are kept offline, never on the servers that make backups.
from pyrage import RecipientError as _AgeRecipientError  # noqa: E402 - used here only
from pyrage import x25519 as _age_x25519  # noqa: E402

BACKUP_AGE_RECIPIENTS = _list("BACKUP_AGE_RECIPIENTS", [])
for _recipient in BACKUP_AGE_RECIPIENTS:
    if _recipient.upper().startswith("AGE-SECRET-KEY-"):
        # Never repeat a secret in an error message: logs and terminals keep them.
        raise ImproperlyConfigured(
            "BACKUP_AGE_RECIPIENTS holds an age secret key: give its public key (age1..., "
            "printed by `age-keygen -y FILE`) and keep the secret key off this server"
        )
    try:
        _age_x25519.Recipient.from_str(_recipient)
    except _AgeRecipientError as _exc:
        raise ImproperlyConfigured(
            f"BACKUP_AGE_RECIPIENTS: {_recipient!r} is not an age public key (age1...): {_exc}"
        ) from _exc

# --- Logging ----------------------------------------------------------------------------

LOG_LEVEL = str(_value("LOG_LEVEL", default="INFO")).upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured("LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
# "json": one JSON object per line (for a log collector: Loki, Elasticsearch, journald's
# JSON export); "plain": one readable line. Every record carries the request id.
LOG_FORMAT = str(_value("LOG_FORMAT", default="plain" if DEBUG else "json")).lower()
if LOG_FORMAT not in {"json", "plain"}:
    raise ImproperlyConfigured("LOG_FORMAT must be json or plain")
# One line per request (method, URL pattern, status, milliseconds, request id); the WSGI
# server's own access log can then be switched off.
LOG_REQUESTS = _bool("LOG_REQUESTS", True)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "ecitizen.core.observability.RequestIdLogFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            # ISO 8601 in UTC, under "time".
            "timestamp": "time",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Django's own line per 4xx/5xx repeats ecitizen.request's.
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
    },
}

# --- Metrics ----------------------------------------------------------------------------

# /metrics (Prometheus; docs/operations.md) answers a scraper presenting this bearer token
# (Prometheus' `authorization` setting), or, when no token is set, a scraper connecting
# from one of METRICS_ALLOWED_NETWORKS (the TCP peer's address: a reverse proxy's
# network must not be listed, or every client behind it could read the metrics).
METRICS_TOKEN = str(_value("METRICS_TOKEN", default=""))
if METRICS_TOKEN and len(METRICS_TOKEN) < 32:
    raise ImproperlyConfigured("METRICS_TOKEN must be at least 32 characters")
METRICS_ALLOWED_NETWORKS = _list("METRICS_ALLOWED_NETWORKS", ["127.0.0.1/32", "::1/128"])
for _network in METRICS_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(
            f"METRICS_ALLOWED_NETWORKS must list networks like 10.0.0.0/8, not {_network!r}"
        ) from _exc

# --- Open data --------------------------------------------------------------------------

# The largest file a publisher may upload (megabytes; below REQUEST_MAX_MB, which cuts off
# any larger request). Larger tables are loaded through datastore_create / upsert.
OPENDATA_UPLOAD_MAX_MB = _int("OPENDATA_UPLOAD_MAX_MB", REQUEST_MAX_MB - 1, minimum=1)
if OPENDATA_UPLOAD_MAX_MB >= REQUEST_MAX_MB:
    raise ImproperlyConfigured(
        f"OPENDATA_UPLOAD_MAX_MB ({OPENDATA_UPLOAD_MAX_MB}) must be less than REQUEST_MAX_MB "
        f"({REQUEST_MAX_MB})"
    )
# Where the DataStore keeps its tables (DuckDB files and their Parquet copies, ADR 0016).
# Every web and worker process must see the same folder (a shared volume when several
# machines serve the site).
DATASTORE_DIR = Path(_value("DATASTORE_DIR", default=str(VAR_DIR / "datastore"))).resolve()
# CKAN's datastore_search_sql: off unless enabled; then read-only, over DataStore tables
# only, stopped after DATASTORE_SQL_TIMEOUT_MS.
DATASTORE_SQL_ENABLED = _bool("DATASTORE_SQL_ENABLED", False)
DATASTORE_SQL_TIMEOUT_MS = _int("DATASTORE_SQL_TIMEOUT_MS", 5000, minimum=100)
# The platform's own statistics hide any count below this (shown as "<N"), and totals
# that would give one away.
OPENDATA_SMALL_COUNT_THRESHOLD = _int("OPENDATA_SMALL_COUNT_THRESHOLD", 10, minimum=1)

# --- Insights ---------------------------------------------------------------------------

# Where the analytical store lives (a DuckDB file, ADR 0018): a cache of the events the
# performance figures and forecasts are computed from, rebuilt from the database when
# missing. Only the process running the refresh opens it; pages read computed figures from
# the database, so it need not be shared between machines.
INSIGHTS_DIR = Path(_value("INSIGHTS_DIR", default=str(VAR_DIR / "insights"))).resolve()
# Figures built from personal data hide any count below this where it could single out
# a person: per ward, per case officer, and everywhere on the public performance page.
INSIGHTS_SMALL_COUNT_THRESHOLD = _int("INSIGHTS_SMALL_COUNT_THRESHOLD", 5, minimum=1)

# --- Data rights: downloads of a resident's data (privacy app) ----------------------------

# How many days a prepared download of a resident's data can be downloaded; then its
# (encrypted) file is deleted and the resident asks for a new one.
PRIVACY_EXPORT_DAYS = _int("PRIVACY_EXPORT_DAYS", 7, minimum=1)
# A download still being prepared after this many minutes is taken as failed (a worker
# died): the resident may ask again.
PRIVACY_EXPORT_STALE_MINUTES = _int("PRIVACY_EXPORT_STALE_MINUTES", 60, minimum=5)

# --- OAuth2 for integrators and webhooks (api app) -----------------------------------------
# django-oauth-toolkit: authorization code with PKCE (S256 only) for apps acting for a
# resident, client credentials for back-office systems. Tokens are stored only as their
# SHA-256 (COMPLIANT_BCP_RFC9700_TOKEN_STORAGE), client secrets as password hashes. Which
# client may ask for which scope is the api app's rule (ecitizen.api.oauth.ClientScopes).
from django.utils.translation import gettext_lazy as _oauth_scope  # noqa: E402

# Named so that the api app's foreign keys to it resolve (the toolkit's model, not swapped).
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"

OAUTH2_PROVIDER = {
    "SCOPES": {
        "profile": _oauth_scope(
            "See your name, your email address and whether your identity is verified"
        ),
        "applications:read": _oauth_scope("See your applications and where they have got to"),
        "applications:write": _oauth_scope(
            "Start and send applications for you, and answer our questions about them"
        ),
        "documents:read": _oauth_scope("See the documents we have issued to you"),
        "bills:read": _oauth_scope("See your bills and payments"),
        "notifications:read": _oauth_scope("Read the messages we have sent you"),
        "cases:read": _oauth_scope("See the cases of its department"),
        "cases:write": _oauth_scope("Work on the cases of its department"),
        "webhooks": _oauth_scope("Be told when something changes"),
    },
    "DEFAULT_SCOPES": [],
    "SCOPES_BACKEND_CLASS": "ecitizen.api.oauth.ClientScopes",
    "OAUTH2_VALIDATOR_CLASS": "ecitizen.api.oauth.EcitizenOAuth2Validator",
    "PKCE_REQUIRED": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"] if not DEBUG else ["https", "http"],
    "ALLOW_LOCALHOST_LOOPBACK": DEBUG,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ACCESS_TOKEN_EXPIRE_SECONDS": _int("OAUTH_ACCESS_TOKEN_SECONDS", 3600, minimum=60),
    "REFRESH_TOKEN_EXPIRE_SECONDS": _int("OAUTH_REFRESH_TOKEN_DAYS", 90, minimum=1) * 86400,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "REQUEST_APPROVAL_PROMPT": "force",
    "CLIENT_SECRET_GENERATOR_LENGTH": 48,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
    "OAUTH2_GRANT_TYPES_SUPPORTED": ["authorization_code", "client_credentials", "refresh_token"],
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
}
# Webhook deliveries: seconds before an endpoint that does not answer is given up on (per
# attempt), and how many attempts before a delivery is marked failed (retried with
# exponential backoff by the `webhooks retry` job).
WEBHOOK_TIMEOUT_SECONDS = _int("WEBHOOK_TIMEOUT_SECONDS", 5, minimum=1)
WEBHOOK_MAX_ATTEMPTS = _int("WEBHOOK_MAX_ATTEMPTS", 8, minimum=1)
# Webhooks may be delivered to loopback and private addresses and over plain http: only
# for tests and a developer's machine. Off, an endpoint that resolves to such an address
# is refused (a client could otherwise make the server reach the internal network).
WEBHOOK_ALLOW_PRIVATE_TARGETS = _bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", False)
if WEBHOOK_ALLOW_PRIVATE_TARGETS and not DEBUG:
    raise ImproperlyConfigured(
        "WEBHOOK_ALLOW_PRIVATE_TARGETS=true lets integrators reach the internal network: "
        "only with DEBUG on (tests switch it on themselves)"
    )

# --- Erasure and retention (privacy app; docs/data-protection.md#retention) -------------
# How long each kind of record is kept, in days, before the daily `retention apply` job
# removes or anonymises it. One variable per period, RETENTION_<KEY>_DAYS (e.g.
# RETENTION_CLOSED_CASES_DAYS=3650). The defaults, and from when they count:
#   expired_drafts        30  applications never sent: after they expired or were deleted
#   notifications        730  notifications (inbox, email, text records): after they were written
#   sms_outbox            30  the development SMS outbox
#   closed_cases        2190  answers, messages and files of decided cases: after the decision
#   unconfirmed_feedback  30  feedback never confirmed: after its link expired
#   erasure_requests    1095  closed erasure requests: after the decision or withdrawal
_RETENTION_DEFAULTS = {
    "expired_drafts": 30,
    "notifications": 730,
    "sms_outbox": 30,
    "closed_cases": 2190,
    "unconfirmed_feedback": 30,
    "erasure_requests": 1095,
}
RETENTION_PERIODS = {
    key: _int(f"RETENTION_{key.upper()}_DAYS", days, minimum=1)
    for key, days in _RETENTION_DEFAULTS.items()
}
# Months the data-protection officer has to decide an erasure request (GDPR art. 12(3): one
# month; the deadline shown is the same day of the next month).
ERASURE_DEADLINE_MONTHS = _int("ERASURE_DEADLINE_MONTHS", 1, minimum=1)

# --- Public REST API (/api/v1/; ecitizen.api, docs/api.md) ------------------------------
# Requests per API_RATE_LIMIT_WINDOW seconds: per OAuth2 client (all its tokens together),
# and per address for calls without a token. Counted in the shared cache (CACHE_URL).
API_RATE_LIMIT = _int("API_RATE_LIMIT", 600, minimum=1)
API_RATE_LIMIT_ANONYMOUS = _int("API_RATE_LIMIT_ANONYMOUS", 120, minimum=1)
API_RATE_LIMIT_WINDOW = _int("API_RATE_LIMIT_WINDOW", 60, minimum=1)
# The largest page a list gives (clients ask with ?limit=, 1 to 100).
API_PAGE_MAX = _int("API_PAGE_MAX", 100, minimum=1)
# Hours an Idempotency-Key and its stored response are kept.
IDEMPOTENCY_KEY_HOURS = _int("IDEMPOTENCY_KEY_HOURS", 24, minimum=1)
