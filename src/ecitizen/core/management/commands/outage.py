"""``ecitizen outage FILE``: write the page a load balancer shows while no web process
answers, as a complete HTTP response (HAProxy's ``errorfile 503``; nginx can serve the
same file, headers stripped with ``--body-only``).

The page is the site's 503 page made self-contained (``templates/errors/outage.html``):
the deployer's name, brand colour and contact details, in every language of the site.
Run it again after changing those settings (the deployment files do it at each start).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from ecitizen.core.authority import authority_name, service_name
from ecitizen.core.views import OUTAGE_RETRY_AFTER_SECONDS

#: HAProxy refuses an error file larger than its buffer (tune.bufsize, 16 KB by default).
MAX_BYTES = 16_384


def _section(code: str) -> dict[str, str]:
    with translation.override(code):
        # Isolated left to right (Unicode's LRI ... PDI), so that in a right-to-left
        # sentence a phone number keeps its digits' order and its full stop stays outside.
        email, phone = (
            f"\u2066{value}\u2069" if value else ""
            for value in (settings.AUTHORITY_CONTACT_EMAIL, settings.AUTHORITY_CONTACT_PHONE)
        )
        if email and phone:
            contact = _("If you need help, email %(email)s or call %(phone)s.") % {
                "email": email,
                "phone": phone,
            }
        elif email or phone:
            contact = _("If you need help, contact %(contact)s.") % {"contact": email or phone}
        else:
            contact = ""
        return {
            "code": code,
            "direction": "rtl" if translation.get_language_bidi() else "ltr",
            "service_name": service_name() or authority_name(),
            "code_label": _("Error 503"),
            "title": _("Sorry, the service is unavailable"),
            "unavailable": _(
                "The service cannot answer right now. It was not caused by anything you did."
            ),
            "try_again": _(
                "Try again in a few minutes. Anything you had already saved is still there; "
                "what you were sending was not saved, so send it again."
            ),
            "contact": contact,
        }


def outage_page() -> str:
    """The page's HTML: the default language first, then the others."""
    codes = [settings.LANGUAGE_CODE] + [
        code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE
    ]
    return render_to_string(
        "errors/outage.html",
        {"sections": [_section(code) for code in codes], "colour": settings.AUTHORITY_BRAND_COLOUR},
    )


def outage_response(body: str) -> bytes:
    """``body`` as the HTTP/1.0 response HAProxy sends as it is."""
    payload = body.encode()
    head = (
        "HTTP/1.0 503 Service Unavailable\r\n"
        "Cache-Control: no-store\r\n"
        "Connection: close\r\n"
        "Content-Type: text/html; charset=utf-8\r\n"
        f"Content-Length: {len(payload)}\r\n"
        f"Retry-After: {OUTAGE_RETRY_AFTER_SECONDS}\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; "
        "frame-ancestors 'none'\r\n"
        "\r\n"
    )
    return head.encode() + payload


class Command(BaseCommand):
    help = "Write the page a load balancer shows while no web process answers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="Where to write it (replaced atomically).")
        parser.add_argument(
            "--body-only",
            action="store_true",
            help="Write the HTML alone (for nginx), not an HTTP response (for HAProxy).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        target: Path = options["file"]
        body = outage_page()
        data = body.encode() if options["body_only"] else outage_response(body)
        if not options["body_only"] and len(data) > MAX_BYTES:
            raise CommandError(
                f"the page is {len(data)} bytes, more than HAProxy's {MAX_BYTES}-byte buffer: "
                "shorten AUTHORITY_SERVICE_NAME or the contact details"
            )
        if not target.parent.is_dir():
            raise CommandError(f"{target.parent} is not a directory")
        temporary = target.with_name(f".{target.name}.tmp")
        temporary.write_bytes(data)
        temporary.replace(target)
        self.stdout.write(f"Wrote {target} ({len(data)} bytes).")
