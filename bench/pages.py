"""How much slower are ecitizen's hot pages than a bare Django view on the same stack?

Runs in-process through the full middleware stack (sessions, auth, timeouts, preferences,
allauth) on a throwaway SQLite database with the demo, and prints for each page its median
server time in milliseconds and as a ratio of the floor: a view that returns "ok" behind
the same middleware, measured in the same run. Ratios, not milliseconds, are comparable
between machines (the goal: 10x or less for every hot page; docs/performance.md); nothing
here asserts.

    python bench/pages.py [--rounds 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCH_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "bench-only-secret-key-0123456789-0123456789-0123456789",
    "ALLOWED_HOSTS": "testserver",
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
    "TASKS_BACKEND": "immediate",
    "STATIC_MANIFEST": "false",
    "ECITIZEN_ENV_FILE": os.devnull,
    "DJANGO_SETTINGS_MODULE": "bench.urls_settings",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    options = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="ecitizen-bench-")
    os.environ.update(BENCH_ENV)
    os.environ["DATABASE_URL"] = f"sqlite:///{Path(workdir) / 'bench.sqlite3'}"
    os.environ["VAR_DIR"] = workdir
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse

    call_command("migrate", verbosity=0)
    call_command("demo", "--allow-production", stdout=open(os.devnull, "w"))  # noqa: SIM115
    from ecitizen.accounts.models import User
    from ecitizen.accounts.selectors import MFA_VERIFIED_SESSION_KEY
    from ecitizen.cases.models import Case
    from ecitizen.catalogue.models import Service

    resident = User.objects.get(email="resident@riverton.example")
    revenue = User.objects.get(email="revenue.officer@riverton.example")
    officer = User.objects.get(email="licensing.officer@riverton.example")
    profile_id = User.objects.get(email="resident2@riverton.example").profile.pk
    case = Case.objects.filter(applicant=resident).order_by("-submitted_at").first()
    service = Service.objects.filter(slug="freedom-of-information").first() or (
        Service.objects.order_by("slug").first()
    )

    def official(user: User) -> Client:
        client = Client()
        client.force_login(user)
        session = client.session
        session[MFA_VERIFIED_SESSION_KEY] = True  # as after the official's second factor
        session.save()
        return client

    anonymous, signed_in = Client(), Client()
    signed_in.force_login(resident)
    staff, case_worker = official(revenue), official(officer)

    def timed(client: Client, url: str, form: dict[str, str] | None = None) -> float:
        samples = []
        for _ in range(options.rounds):
            start = time.perf_counter()
            response = client.get(url, form) if form else client.get(url)
            samples.append(time.perf_counter() - start)
            assert response.status_code == 200, (url, response.status_code)
        return statistics.median(samples)

    floor = timed(anonymous, "/bench/bare/")
    cases = [
        ("home (anonymous)", anonymous, reverse("core:home")),
        ("service catalogue", anonymous, reverse("catalogue:list")),
        ("service search", anonymous, reverse("catalogue:search"), {"q": "permit"}),
        ("service start page", anonymous, reverse("catalogue:start", args=[service.slug])),
        ("sign-in page", anonymous, reverse("account_login")),
        ("pay by reference", anonymous, reverse("payments:pay_by_reference")),
        ("your account", signed_in, reverse("accounts:home")),
        ("your applications", signed_in, reverse("cases:applications")),
        ("your bills", signed_in, reverse("payments:bills")),
        ("data tracker", signed_in, reverse("accounts:data_tracker")),
        *(
            [("an application", signed_in, reverse("cases:case_detail", args=[case.reference]))]
            if case
            else []
        ),
        ("officer's queue", case_worker, reverse("staff:case_queue")),
        (
            "resident search by national id",
            staff,
            reverse("staff:residents"),
            {"national_id": "RV00000000"},
        ),
        (
            "resident profile (audited view)",
            staff,
            reverse("staff:resident_detail", args=[profile_id]),
        ),
        ("street reports", anonymous, reverse("reports:list")),
        ("Open311 requests.json", anonymous, "/open311/v2/requests.json"),
        ("open data search", anonymous, reverse("opendata:search")),
        ("service performance", anonymous, reverse("insights:performance")),
        ("health", anonymous, reverse("core:healthz")),
    ]
    print(  # noqa: T201
        f"floor: bare view behind the same middleware, median of {options.rounds} requests: "
        f"{floor * 1000:.2f} ms"
    )
    for label, client, url, *form in cases:
        median = timed(client, url, *form)
        print(f"{label:<34} {median * 1000:8.2f} ms {median / floor:6.1f} x floor")  # noqa: T201


if __name__ == "__main__":
    main()
