"""System checks for ``ecitizen check --deploy``: settings that are safe for trying the
platform but wrong for a service that takes real money or issues real documents.

The same rules stop the process at start-up when ``DEBUG`` is off (``ecitizen.settings``
calls the helpers below), unless a deployer allowed them explicitly for a demonstration
or training server (``PAYMENTS_SANDBOX_IN_PRODUCTION``,
``DOCUMENT_SIGNING_DEMO_IN_PRODUCTION``). The checks report them even then: such a server
is not a production service, and ``check --deploy`` is the question "is it one?".

The helpers are pure (no database, no Django settings), so that the settings module can
use them before Django is set up. Registered from :class:`ecitizen.core.apps.CoreConfig`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error

#: The shortest webhook signing secret accepted in production: 32 characters, as a
#: token of 256 bits written in base64 or hex would be at least.
MIN_WEBHOOK_SECRET_LENGTH = 32
#: Stripe's test-mode secret and restricted keys: payments made with them are not real.
STRIPE_TEST_KEY_PREFIXES = ("sk_test_", "rk_test_")


def webhook_secret_problem(secret: str) -> str | None:
    """Why ``secret`` may not sign webhooks in production, or ``None`` if it may."""
    if not secret:
        return "is empty"
    if len(secret) < MIN_WEBHOOK_SECRET_LENGTH:
        return f"is shorter than {MIN_WEBHOOK_SECRET_LENGTH} characters"
    return None


def stripe_key_is_test(key: str) -> bool:
    return key.startswith(STRIPE_TEST_KEY_PREFIXES)


def signing_certificate_problem(cert_file: str) -> str | None:
    """Why the document-signing certificate in ``cert_file`` (PEM, signer first) may not
    sign real documents, or ``None`` if it may: no file (the self-signed demo certificate
    would be made), an unreadable file, or a self-signed certificate, which nobody
    outside the authority can trust."""
    if not cert_file:
        return (
            "no signing certificate is configured, so documents would be signed with the "
            "self-signed demo certificate"
        )
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature

    try:
        certificates = x509.load_pem_x509_certificates(Path(cert_file).read_bytes())
    except (OSError, ValueError) as exc:
        return f"the certificate {cert_file} cannot be read: {exc}"
    signer = certificates[0]
    if signer.issuer != signer.subject:
        return None
    try:
        signer.verify_directly_issued_by(signer)
    except (ValueError, TypeError, InvalidSignature):
        return None  # same name as its issuer, but signed by another key: not self-signed
    return f"the certificate {cert_file} is self-signed ({signer.subject.rfc4514_string()})"


# --- the checks (tagged "deploy": they run with `check --deploy`) -------------------------


def payments_check(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """Payments that are not real, and webhooks anyone could sign."""
    messages: list[CheckMessage] = []
    providers = settings.PAYMENT_PROVIDERS
    if settings.PAYMENT_PROVIDER == "sandbox":
        messages.append(
            Error(
                "Payers pay through the sandbox provider (PAYMENT_PROVIDER=sandbox): no "
                "payment is real, yet bills are marked paid and receipts issued.",
                hint="Set PAYMENT_PROVIDER to a real provider (stripe) and leave "
                "PAYMENTS_SANDBOX_IN_PRODUCTION unset.",
                id="ecitizen.E001",
            )
        )
    elif "sandbox" in providers:
        messages.append(
            Error(
                "The sandbox payment provider is enabled: its card page and its webhook "
                "endpoint settle payments that are not real.",
                hint="Leave PAYMENTS_SANDBOX_IN_PRODUCTION unset (and DEBUG off).",
                id="ecitizen.E002",
            )
        )
    if "sandbox" in providers:
        problem = webhook_secret_problem(str(settings.PAYMENTS_SANDBOX_WEBHOOK_SECRET or ""))
        if problem:
            messages.append(
                Error(
                    f"PAYMENTS_SANDBOX_WEBHOOK_SECRET {problem}: anyone could sign the "
                    "sandbox's webhooks.",
                    hint="Generate a secret of at least "
                    f"{MIN_WEBHOOK_SECRET_LENGTH} random characters.",
                    id="ecitizen.E003",
                )
            )
    if "stripe" in providers and stripe_key_is_test(str(settings.STRIPE_SECRET_KEY or "")):
        messages.append(
            Error(
                "STRIPE_SECRET_KEY is a test-mode key: Stripe takes no real payments with it.",
                hint="Use the live secret key (sk_live_...) of the authority's Stripe account.",
                id="ecitizen.E004",
            )
        )
    return messages


def documents_check(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """Issued documents signed with a certificate nobody can trust."""
    problem = signing_certificate_problem(str(settings.DOCUMENT_SIGNING_CERT_FILE or ""))
    if problem is None:
        return []
    return [
        Error(
            f"Issued documents cannot be trusted: {problem}.",
            hint="Set DOCUMENT_SIGNING_KEY_FILE and DOCUMENT_SIGNING_CERT_FILE to a key and "
            "a certificate issued by a certification authority that PDF readers trust, and "
            "leave DOCUMENT_SIGNING_DEMO_IN_PRODUCTION unset.",
            id="ecitizen.E005",
        )
    ]


# --- Text messages (the SMS backend of the notifications) --------------------------------


def sms_check(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """Text messages that reach nobody: the outbox, a wrong or unusable backend."""
    from django.utils.module_loading import import_string

    from ecitizen.core.sms_rules import NOTIFY_SMS_BACKEND, SMS_OUTBOX_BACKEND, sms_backend_problem

    backend = str(settings.SMS_BACKEND or "")
    if backend == SMS_OUTBOX_BACKEND:
        return [
            Error(
                "Text messages are kept in the SMS outbox for staff to read: none reaches "
                "a resident who asked to be told by text.",
                hint=f"Set SMS_BACKEND to a real provider ({NOTIFY_SMS_BACKEND} with "
                "NOTIFY_API_KEY and NOTIFY_SMS_TEMPLATE_ID, for one) and leave "
                "SMS_OUTBOX_IN_PRODUCTION unset.",
                id="ecitizen.E020",
            )
        ]
    problem = sms_backend_problem(
        backend=backend,
        debug=False,
        outbox_allowed=False,
        notify_api_key=str(settings.NOTIFY_API_KEY or ""),
        notify_template_id=str(settings.NOTIFY_SMS_TEMPLATE_ID or ""),
        notify_sender_id=str(settings.NOTIFY_SMS_SENDER_ID or ""),
        notify_base_url=str(settings.NOTIFY_BASE_URL or ""),
    )
    if problem:
        return [Error(f"Text messages cannot be sent: {problem}.", id="ecitizen.E021")]
    try:
        backend_class = import_string(backend)
    except ImportError as exc:
        return [
            Error(
                f"SMS_BACKEND names {backend!r}, which cannot be imported: {exc}.",
                hint="Name a subclass of ecitizen.notifications.sms.SmsBackend.",
                id="ecitizen.E022",
            )
        ]
    names = {f"{c.__module__}.{c.__qualname__}" for c in getattr(backend_class, "__mro__", ())}
    if "ecitizen.notifications.sms.SmsBackend" not in names:
        return [
            Error(
                f"SMS_BACKEND names {backend!r}, which is not a text-message backend.",
                hint="Name a subclass of ecitizen.notifications.sms.SmsBackend.",
                id="ecitizen.E022",
            )
        ]
    if SMS_OUTBOX_BACKEND in names:
        return [
            Error(
                f"SMS_BACKEND names {backend!r}, a kind of SMS outbox: it sends no text "
                "message to anyone.",
                hint="Use a backend that sends through a real provider.",
                id="ecitizen.E020",
            )
        ]
    return []
