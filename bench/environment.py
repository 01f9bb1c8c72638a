"""The settings every bench script runs ecitizen with: production's (``DEBUG`` off) plus
throwaway keys and what a run on this machine needs (plain http, the sandbox payments,
the demo signing certificate, the text-message outbox). One place, so that a setting
production starts to require is added once for all of them."""

from __future__ import annotations

import os

#: What every run sets, in-process or as served processes (``bench/load_stack.py``).
BASE_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "bench-only-secret-key-0123456789-0123456789-0123456789",
    "FIELD_ENCRYPTION_KEYS": "b1:YmVuY2gtb25seS1rZXktZW5jcnlwdGlvbi1rZXktMDA=",
    "BLIND_INDEX_KEY": "YmVuY2gtb25seS1ibGluZC1pbmRleC1rZXktMDAwMDA=",
    "AUDIT_SIGNING_KEYS": "ba1:YmVuY2gtb25seS1hdWRpdC1zaWduaW5nLWtleS0wMDA=",
    # DEBUG is off: the sandbox and the demo signing certificate must be allowed.
    "PAYMENT_PROVIDER": "sandbox",
    "PAYMENTS_SANDBOX_IN_PRODUCTION": "true",
    "PAYMENTS_SANDBOX_WEBHOOK_SECRET": "bench-only-webhook-secret-not-for-any-deployment",
    "DOCUMENT_SIGNING_DEMO_IN_PRODUCTION": "true",
    "SMS_BACKEND": "ecitizen.notifications.sms.OutboxSmsBackend",
    "SMS_OUTBOX_IN_PRODUCTION": "true",
    "SECURE_SSL_REDIRECT": "false",
    "SESSION_COOKIE_SECURE": "false",
    "CSRF_COOKIE_SECURE": "false",
    "ECITIZEN_ENV_FILE": os.devnull,
    # ecitizen's settings plus the bare "ok" view the benches measure as their floor.
    "DJANGO_SETTINGS_MODULE": "bench.urls_settings",
}

#: In-process runs through Django's test client: tasks run at once, no collected static
#: files.
BENCH_ENV = {
    **BASE_ENV,
    "ALLOWED_HOSTS": "testserver",
    "TASKS_BACKEND": "immediate",
    "STATIC_MANIFEST": "false",
}

#: The same, quiet (no request log) and without the bench's URLs: the scripts that time
#: requests against their own SQL.
QUIET_ENV = {**BENCH_ENV, "LOG_LEVEL": "WARNING", "DJANGO_SETTINGS_MODULE": "ecitizen.settings"}
