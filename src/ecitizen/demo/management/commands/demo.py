"""``ecitizen demo``: load the Riverton demo authority and print how to sign in."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ecitizen.demo import riverton
from ecitizen.demo.riverton import demo_totp_secret
from ecitizen.demo.services import demo_load


def totp_now(secret: str) -> str:
    from allauth.mfa.totp.internal.auth import (
        format_hotp_value,
        hotp_value,
        yield_hotp_counters_from_time,
    )

    counter = list(yield_hotp_counters_from_time())
    middle = counter[len(counter) // 2]
    return format_hotp_value(hotp_value(secret, middle))


def code_command() -> str:
    """How to run ``demo --code`` from the project folder, with this process's settings."""
    env_file = os.environ.get("ECITIZEN_ENV_FILE")
    prefix = f"ECITIZEN_ENV_FILE={env_file} " if env_file else ""
    return f"{prefix}.venv/bin/ecitizen demo --code"


class Command(BaseCommand):
    help = "Create the Riverton demo authority (idempotent) and print the demo accounts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument(
            "--code",
            metavar="EMAIL",
            help="Print the current six-digit sign-in code of a demo staff account.",
        )
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Load the demo with DEBUG off (it creates accounts with public passwords).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["code"]:
            email = options["code"].strip().lower()
            if not email.endswith("@" + riverton.EMAIL_DOMAIN):
                raise CommandError("Codes are only available for demo accounts.")
            self.stdout.write(totp_now(demo_totp_secret(email, options["seed"])))
            return
        if not settings.DEBUG and not options["allow_production"]:
            raise CommandError(
                "The demo creates a platform administrator whose password and sign-in codes "
                "are public. It only runs with DEBUG=true (or --allow-production)."
            )
        context = demo_load(seed=options["seed"])
        accounts = context.accounts
        self.stdout.write(self.style.SUCCESS("Riverton demo authority is ready.\n"))
        self.stdout.write(f"Every demo account's password: {riverton.DEMO_PASSWORD}\n")
        width = max(len(a.email) for a in accounts)
        for account in accounts:
            line = f"  {account.email:<{width}}  {account.role:<28} {account.name}"
            self.stdout.write(line)
        self.stdout.write(
            "\nStaff accounts use two-factor authentication. When asked for a code, run\n"
            f"  {code_command()} EMAIL\n"
            "in another terminal (same folder), or add the account's secret to an\n"
            "authenticator app:"
        )
        for account in accounts:
            if account.totp_secret:
                self.stdout.write(f"  {account.email:<{width}}  {account.totp_secret}")
        # What the loaders say about trying what they made (the parking fine to pay).
        for note in context.notes:
            self.stdout.write(f"\n{note}")
        self.stdout.write(
            "\nnew.officer@ has no second factor yet: signing in shows how staff are made "
            "to set one up.\nEmails (verification, password reset) are printed by the "
            "worker in this terminal."
        )
