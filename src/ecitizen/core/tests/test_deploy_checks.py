"""Production defaults are safe: with DEBUG off the sandbox payment provider, Stripe's
test mode, a short sandbox webhook secret and the self-signed demo signing certificate
stop the process at start-up unless a deployer allows them explicitly, and
``check --deploy`` reports each as an error. Start-up cases run in a fresh interpreter,
as a deployment would start."""

from __future__ import annotations

import pytest
from django.core.checks import run_checks

from ecitizen.core import checks
from ecitizen.core.tests.test_settings import _run
from ecitizen.documents.tests.signing_fixtures import (
    make_ca_issued_signing_pair,
    make_signing_pair,
)

LIVE_STRIPE = {
    "PAYMENT_PROVIDER": "stripe",
    "STRIPE_SECRET_KEY": "sk_live_production-only-" + "s" * 40,
    "STRIPE_WEBHOOK_SECRET": "whsec_production-only-" + "w" * 40,
}
SANDBOX_ALLOWED = {
    "PAYMENT_PROVIDER": "sandbox",
    "PAYMENTS_SANDBOX_IN_PRODUCTION": "true",
    "PAYMENTS_SANDBOX_WEBHOOK_SECRET": "a-sandbox-secret-of-32-characters",
}
LONG_ENOUGH = "y" * checks.MIN_WEBHOOK_SECRET_LENGTH
PRINT_PAYMENTS = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(sorted(s.PAYMENT_PROVIDERS), s.PAYMENT_PROVIDER, s.PAYMENTS_NOT_REAL)"
)
CHECK_DEPLOY = (
    "from django.core.management import execute_from_command_line; "
    "execute_from_command_line(['ecitizen', 'check', '--deploy'])"
)
#: What the settings tests' base configuration allows or sets for payments and signing;
#: here each case says for itself.
OWN_KEYS = (
    "PAYMENT_PROVIDER",
    "PAYMENTS_SANDBOX_IN_PRODUCTION",
    "PAYMENTS_SANDBOX_WEBHOOK_SECRET",
    "DOCUMENT_SIGNING_DEMO_IN_PRODUCTION",
)


def _start(config, code="import django; django.setup()", *, drop=()):
    """A fresh interpreter with ``config`` as the payments and signing configuration."""
    return _run(config, code, drop=tuple(k for k in OWN_KEYS if k not in config) + drop)


@pytest.fixture
def production(tmp_path):
    """DEBUG off, a live Stripe account and a signing certificate a CA issued."""
    key, cert = make_ca_issued_signing_pair(tmp_path)
    return {
        "DEBUG": "false",
        **LIVE_STRIPE,
        "DOCUMENT_SIGNING_KEY_FILE": str(key),
        "DOCUMENT_SIGNING_CERT_FILE": str(cert),
    }


def test_a_safe_production_configuration_starts_without_the_sandbox(production):
    result = _start(production, PRINT_PAYMENTS)
    assert result.returncode == 0, result.stderr
    # The sandbox is not even registered: its card page and webhook endpoint answer 404.
    assert result.stdout.split() == ["['stripe']", "stripe", "False"]


@pytest.mark.parametrize(
    ("change", "drop", "message"),
    [
        ({}, ("PAYMENT_PROVIDER",), "PAYMENT_PROVIDER is required when DEBUG is off"),
        (
            {"PAYMENT_PROVIDER": "sandbox"},
            (),
            "PAYMENT_PROVIDER=sandbox takes no real payments",
        ),
        (
            {**SANDBOX_ALLOWED, "PAYMENTS_SANDBOX_WEBHOOK_SECRET": ""},
            (),
            "PAYMENTS_SANDBOX_WEBHOOK_SECRET is empty",
        ),
        (
            {**SANDBOX_ALLOWED, "PAYMENTS_SANDBOX_WEBHOOK_SECRET": "z" * 31},
            (),
            "PAYMENTS_SANDBOX_WEBHOOK_SECRET is shorter than 32 characters",
        ),
        # Stripe pays, but the sandbox is allowed beside it: its webhooks need a secret.
        (
            {"PAYMENTS_SANDBOX_IN_PRODUCTION": "true"},
            (),
            "PAYMENTS_SANDBOX_WEBHOOK_SECRET is empty",
        ),
        (
            {"STRIPE_SECRET_KEY": "sk_test_" + "t" * 40},
            (),
            "STRIPE_SECRET_KEY is a test-mode key",
        ),
        (
            {},
            ("DOCUMENT_SIGNING_KEY_FILE", "DOCUMENT_SIGNING_CERT_FILE"),
            "no signing certificate is configured, so documents would be signed with the "
            "self-signed demo certificate",
        ),
    ],
)
def test_production_refuses_unsafe_defaults_at_start_up(production, change, drop, message):
    result = _start({**production, **change}, drop=drop)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_production_refuses_a_self_signed_signing_certificate(production, tmp_path):
    (tmp_path / "self").mkdir()
    key, cert = make_signing_pair(tmp_path / "self")
    result = _start(
        {
            **production,
            "DOCUMENT_SIGNING_KEY_FILE": str(key),
            "DOCUMENT_SIGNING_CERT_FILE": str(cert),
        }
    )
    assert result.returncode != 0
    assert "is self-signed (CN=Test signing authority)" in result.stderr


def test_explicitly_allowed_sandbox_and_demo_certificate_start(production):
    result = _start(
        {**production, **SANDBOX_ALLOWED, "DOCUMENT_SIGNING_DEMO_IN_PRODUCTION": "true"},
        PRINT_PAYMENTS,
        drop=("DOCUMENT_SIGNING_KEY_FILE", "DOCUMENT_SIGNING_CERT_FILE"),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["['sandbox',", "'stripe']", "sandbox", "True"]


def test_check_deploy_reports_an_allowed_sandbox_and_demo_certificate_as_errors(production):
    result = _start(
        {**production, **SANDBOX_ALLOWED, "DOCUMENT_SIGNING_DEMO_IN_PRODUCTION": "true"},
        CHECK_DEPLOY,
        drop=("DOCUMENT_SIGNING_KEY_FILE", "DOCUMENT_SIGNING_CERT_FILE"),
    )
    assert result.returncode != 0
    assert "ecitizen.E001" in result.stderr
    assert "ecitizen.E005" in result.stderr


def test_check_deploy_reports_a_debug_server_taking_unsigned_webhooks(production):
    """DEBUG on skips the start-up refusals (development); `check --deploy` still says
    what is wrong with deploying it."""
    result = _start(
        {**production, "DEBUG": "true", "PAYMENTS_SANDBOX_WEBHOOK_SECRET": ""},
        CHECK_DEPLOY,
        drop=("PAYMENT_PROVIDER",),
    )
    assert result.returncode != 0
    for check_id in ("ecitizen.E001", "ecitizen.E003"):
        assert check_id in result.stderr


# --- the checks themselves, in this process -------------------------------------------------


#: The checks of payments and issued documents (other ids are other parts' checks).
IDS = {f"ecitizen.E00{n}" for n in range(1, 6)}


def _ids(**kwargs):
    return sorted(
        message.id
        for message in run_checks(include_deployment_checks=True, **kwargs)
        if message.id in IDS
    )


@pytest.fixture
def safe(settings, tmp_path):
    key, cert = make_ca_issued_signing_pair(tmp_path)
    settings.PAYMENT_PROVIDERS = {"stripe": "ecitizen.payments.providers.stripe.StripeProvider"}
    settings.PAYMENT_PROVIDER = "stripe"
    settings.STRIPE_SECRET_KEY = LIVE_STRIPE["STRIPE_SECRET_KEY"]
    settings.DOCUMENT_SIGNING_KEY_FILE = str(key)
    settings.DOCUMENT_SIGNING_CERT_FILE = str(cert)
    return settings


def test_safe_settings_pass_the_deploy_checks(safe):
    assert _ids() == []


def test_each_unsafe_setting_is_a_deploy_error(safe, tmp_path):
    sandbox = "ecitizen.payments.providers.sandbox.SandboxProvider"
    safe.PAYMENT_PROVIDERS = {**safe.PAYMENT_PROVIDERS, "sandbox": sandbox}
    safe.PAYMENTS_SANDBOX_WEBHOOK_SECRET = LONG_ENOUGH
    assert _ids() == ["ecitizen.E002"]
    safe.PAYMENT_PROVIDER = "sandbox"
    assert _ids() == ["ecitizen.E001"]
    safe.PAYMENTS_SANDBOX_WEBHOOK_SECRET = "short"
    assert _ids() == ["ecitizen.E001", "ecitizen.E003"]
    safe.PAYMENTS_SANDBOX_WEBHOOK_SECRET = ""
    assert _ids() == ["ecitizen.E001", "ecitizen.E003"]
    safe.PAYMENT_PROVIDERS = {"stripe": safe.PAYMENT_PROVIDERS["stripe"]}
    safe.PAYMENT_PROVIDER = "stripe"
    safe.STRIPE_SECRET_KEY = "rk_test_" + "t" * 40
    assert _ids() == ["ecitizen.E004"]
    safe.STRIPE_SECRET_KEY = LIVE_STRIPE["STRIPE_SECRET_KEY"]
    safe.DOCUMENT_SIGNING_CERT_FILE = ""
    assert _ids() == ["ecitizen.E005"]
    (tmp_path / "self").mkdir()
    _key, self_signed = make_signing_pair(tmp_path / "self")
    safe.DOCUMENT_SIGNING_CERT_FILE = str(self_signed)
    assert _ids() == ["ecitizen.E005"]
    safe.DOCUMENT_SIGNING_CERT_FILE = str(tmp_path / "missing.pem")
    assert _ids() == ["ecitizen.E005"]


def test_the_deploy_checks_run_only_with_deploy(safe):
    safe.PAYMENT_PROVIDER = "sandbox"
    safe.DOCUMENT_SIGNING_CERT_FILE = ""
    assert [m for m in run_checks() if m.id in IDS] == []
