"""The settings module refuses bad values loudly, and production settings pass
``check --deploy`` with nothing to report. Each case runs in a fresh interpreter, as a
deployment would start."""

import base64
import os
import subprocess
import sys

import pytest

KEY = base64.b64encode(b"k" * 32).decode()
BASE = {
    "SECRET_KEY": "a-long-random-looking-secret-" + "x" * 40,
    "FIELD_ENCRYPTION_KEYS": f"k1:{KEY}",
    "BLIND_INDEX_KEY": KEY,
    "AUDIT_SIGNING_KEYS": f"a1:{base64.b64encode(b'a' * 32).decode()}",
    "DJANGO_SETTINGS_MODULE": "ecitizen.settings",
    # DEBUG is off: the sandbox and the demo signing certificate must be allowed
    # explicitly (test_deploy_checks.py tests that production refuses them otherwise).
    "PAYMENT_PROVIDER": "sandbox",
    "PAYMENTS_SANDBOX_IN_PRODUCTION": "true",
    "PAYMENTS_SANDBOX_WEBHOOK_SECRET": "test-only-webhook-secret-not-for-any-deployment",
    "DOCUMENT_SIGNING_DEMO_IN_PRODUCTION": "true",
    # Text messages kept in the outbox, which DEBUG off refuses unless allowed.
    "SMS_BACKEND": "ecitizen.notifications.sms.OutboxSmsBackend",
    "SMS_OUTBOX_IN_PRODUCTION": "true",
}
#: The explicit allowances above, which a real production configuration leaves out.
NOT_REAL_ALLOWED = (
    "PAYMENTS_SANDBOX_IN_PRODUCTION",
    "DOCUMENT_SIGNING_DEMO_IN_PRODUCTION",
    "SMS_OUTBOX_IN_PRODUCTION",
)


PRINT_SECRET_KEY = (
    "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)"
)


def _run(
    extra: dict[str, str],
    code: str = "import django; django.setup()",
    *,
    drop: tuple[str, ...] = (),
) -> subprocess.CompletedProcess:
    """Start Python with BASE plus ``extra`` (minus ``drop``) as the whole configuration."""
    inherited = {
        k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "VIRTUAL_ENV"}
    }
    env = {**inherited, **BASE, "ECITIZEN_ENV_FILE": os.devnull, **extra}
    for name in drop:
        env.pop(name, None)
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG must be true or false"),
        ("FIELD_ENCRYPTION_KEYS", "k1:notbase64!", "not valid base64"),
        ("FIELD_ENCRYPTION_KEYS", f"k1:{base64.b64encode(b'short').decode()}", "must be 32 bytes"),
        ("FIELD_ENCRYPTION_ACTIVE_KEY", "k9", "is not one of the key ids"),
        ("AUTHORITY_BRAND_COLOUR", "#ffdd00", "contrast"),
        ("SESSION_IDLE_TIMEOUT_STAFF", "soon", "must be a whole number"),
        ("TASKS_BACKEND", "celery", "TASKS_BACKEND must be one of"),
        ("SECRET_KEY", "", "SECRET_KEY is required"),
        ("DATABASE_URL", "mysql://root@localhost/db", "must be a PostgreSQL or SQLite URL"),
        ("DATABASE_URL", "", "does not name a supported backend"),
        ("TIME_ZONE", "Mars/Olympus", "is not a known time zone"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL must be"),
        ("ECITIZEN_ENV_FILE", "/nonexistent/ecitizen.env", "which does not exist"),
        ("SESSION_TIMEOUT_WARNING", "3600", "must be shorter than the idle timeouts"),
        # One pass needs 46 MiB (OWASP's minimum configurations, ADR 0025): 1 KiB less.
        ("PASSWORD_ARGON2_MEMORY_KIB", "47103", "must be at least 47104 with"),
    ],
)
def test_bad_values_stop_the_process(variable, value, message):
    result = _run({variable: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_an_old_sqlite_library_stops_the_process(tmp_path):
    # As a Python linked to SQLite 3.34 would report itself: UPDATE ... RETURNING, which
    # sending an application runs, came with 3.35.
    result = _run(
        {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"},
        "import sqlite3; sqlite3.sqlite_version_info = (3, 34, 1); "
        "sqlite3.sqlite_version = '3.34.1'; import django; django.setup()",
    )
    assert result.returncode != 0
    assert "SQLite 3.35 or later is needed; this Python's is 3.34.1" in result.stderr
    assert _run({"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}).returncode == 0


def test_secrets_can_come_from_files(tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-a-file-" + "y" * 50 + "\n")
    result = _run(
        {"SECRET_KEY_FILE": str(secret_file)},
        PRINT_SECRET_KEY,
        drop=("SECRET_KEY",),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "from-a-file-" + "y" * 50


def test_an_unreadable_secret_file_is_reported(tmp_path):
    result = _run({"SECRET_KEY_FILE": str(tmp_path / "missing")}, drop=("SECRET_KEY",))
    assert result.returncode != 0
    assert "SECRET_KEY_FILE: cannot read" in result.stderr


def test_check_deploy_reports_nothing_with_production_settings(tmp_path):
    from ecitizen.documents.tests.signing_fixtures import make_ca_issued_signing_pair

    signing_key, signing_cert = make_ca_issued_signing_pair(tmp_path)
    result = _run(
        {
            "DEBUG": "false",
            "SECRET_KEY": "p7Lx_2vQ9sK4mN8rT1wY6zB3cF5hJ0dG-aE7iU2oR9tW4yX1qZ8vS5nM3kL6jH0f",
            "ALLOWED_HOSTS": "services.riverton.example",
            "CSRF_TRUSTED_ORIGINS": "https://services.riverton.example",
            "DATABASE_URL": "sqlite:///" + os.devnull,
            # A real payment provider and a signing certificate a CA issued: production
            # refuses the sandbox and the self-signed demo certificate.
            "PAYMENT_PROVIDER": "stripe",
            "STRIPE_SECRET_KEY": "sk_live_production-only-" + "s" * 40,
            "STRIPE_WEBHOOK_SECRET": "whsec_production-only-" + "w" * 40,
            "DOCUMENT_SIGNING_KEY_FILE": str(signing_key),
            "DOCUMENT_SIGNING_CERT_FILE": str(signing_cert),
            # Text messages sent through GOV.UK Notify, not kept in the outbox.
            "SMS_BACKEND": "ecitizen.notifications.sms.NotifySmsBackend",
            "NOTIFY_API_KEY": "riverton_live-26785a09-ab16-4eb0-8407-a37497a57506-"
            "3d844edf-8d35-48ac-975b-e847b4f122b0",
            "NOTIFY_SMS_TEMPLATE_ID": "f33517ff-2a88-4f6e-b855-c550268ce08a",
        },
        "from django.core.management import execute_from_command_line; "
        "execute_from_command_line(['ecitizen', 'check', '--deploy', '--fail-level', 'WARNING'])",
        drop=NOT_REAL_ALLOWED,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues" in result.stdout


def test_values_are_taken_literally():
    result = _run({"SECRET_KEY": "$NOT_A_VARIABLE-" + "z" * 50}, PRINT_SECRET_KEY)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "$NOT_A_VARIABLE-" + "z" * 50


def test_keys_generate_needs_no_configuration():
    result = _run(
        {},
        "from ecitizen.cli import main; main(['keys', 'generate'])",
        drop=("SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "BLIND_INDEX_KEY", "AUDIT_SIGNING_KEYS"),
    )
    assert result.returncode == 0, result.stderr
    assert len(base64.b64decode(result.stdout.strip())) == 32


def test_the_default_shared_cache_does_not_cull_live_entries():
    result = _run(
        {},
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.CACHES['default']['BACKEND'], settings.CACHES['default']['OPTIONS'])",
    )
    assert result.returncode == 0, result.stderr
    assert "DatabaseCache" in result.stdout
    assert "'MAX_ENTRIES': 1000000" in result.stdout
