"""Issued documents as PDF: a Django template rendered by WeasyPrint, with a QR code that
links to the document's verification page.

The templates are ``documents/pdf/<template>.html``. They get only data given here (never a
request), and WeasyPrint may load nothing but ``data:`` URIs: the logo and the QR code are
embedded, so a value printed on a document cannot make the renderer fetch anything.
"""

from __future__ import annotations

import base64
import datetime
import functools
import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import segno
from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from ecitizen.core.context_processors import brand

#: The document designs shipped with the platform (a catalogue definition names one).
DOCUMENT_TEMPLATES = (
    "licence_card",
    "permit",
    "certificate",
    "certified_copy",
    "record_release",
    "receipt",
)
TEMPLATE_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
#: Archival PDF (PDF/A-2) with a tagged structure (level "a"), so screen readers can read it.
PDF_VARIANT = "pdf/a-2a"
# WeasyPrint and fontTools report every rendering step at INFO; keep that out of the logs
# unless the deployment's LOGGING sets a level for them.
for _name in ("weasyprint.progress", "fontTools"):
    if logging.getLogger(_name).level == logging.NOTSET:
        logging.getLogger(_name).setLevel(logging.WARNING)
_MIME_BY_SUFFIX = {".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg"}


def verification_url(code: str) -> str:
    """The absolute address of a document's verification page (``PUBLIC_BASE_URL``)."""
    return str(settings.PUBLIC_BASE_URL).rstrip("/") + reverse(
        "documents:verify_document", kwargs={"code": code}
    )


def verification_form_url() -> str:
    """The absolute address of the page where a code is typed in."""
    return str(settings.PUBLIC_BASE_URL).rstrip("/") + reverse("documents:verify")


def qr_data_uri(url: str) -> str:
    """An SVG QR code (error correction M or better) of ``url``, as a data URI."""
    qr = segno.make(url, error="m", micro=False)
    return str(qr.svg_data_uri(scale=4, border=4, dark="#000000", light="#ffffff"))


@functools.lru_cache(maxsize=8)
def _static_data_uri(path: str) -> str:
    found = finders.find(path)
    if not found:
        return ""
    file = Path(str(found))
    mime = _MIME_BY_SUFFIX.get(file.suffix.lower())
    if mime is None:
        return ""
    return f"data:{mime};base64,{base64.b64encode(file.read_bytes()).decode('ascii')}"


#: The part of a rendered document's CSS that depends only on its design and the brand
#: colour (``_base.html`` says what goes in it).
_DESIGN_STYLE = re.compile(r'<style id="document-style">(.*?)</style>', re.DOTALL)
#: What a design's CSS may hold and still be parsed apart from its page: not rules that
#: WeasyPrint registers with the document being rendered (fonts, counter styles, colour
#: profiles, imports), not ``@page`` (the page's own would override it) and not
#: ``!important`` (it would override the page's rules, as a user's own style does).
_DOCUMENT_BOUND = re.compile(
    r"@(?:font-face|counter-style|color-profile|import|page)\b|!\s*important", re.IGNORECASE
)


def _data_only_fetcher() -> Any:
    """WeasyPrint's fetcher for anything a document or its CSS refers to: ``data:`` URIs
    only (see the module's docstring)."""
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols={"data"})


@functools.lru_cache(maxsize=32)
def _design_stylesheet(css: str) -> Any:
    """``css`` parsed by WeasyPrint, once per process and text (a sixth of a receipt's
    rendering was parsing it again). The parsed stylesheet is only read while a document
    is laid out, so documents rendered at once may share it; it may fetch nothing."""
    import weasyprint

    return weasyprint.CSS(string=css, url_fetcher=_data_only_fetcher())


def design_split(html: str) -> tuple[str, list[Any]]:
    """``html`` without its design's CSS, and that CSS parsed (:func:`_design_stylesheet`),
    to be given to WeasyPrint as a user stylesheet: below the page's own rules, above the
    user agent's defaults. When the page has no ``document-style`` element, or its CSS
    holds what only works in the page (a deployer's own design may), ``html`` unchanged
    and no stylesheet."""
    design = _DESIGN_STYLE.search(html)
    if design is None or _DOCUMENT_BOUND.search(design.group(1)):
        return html, []
    return html[: design.start()] + html[design.end() :], [_design_stylesheet(design.group(1))]


def logo_data_uri() -> str:
    """The authority's logo (``AUTHORITY_LOGO``) as a data URI; empty if there is none."""
    path = str(settings.AUTHORITY_LOGO or "")
    return _static_data_uri(path) if path else ""


def css_string(text: str) -> SafeString:
    """``text`` as the inside of a quoted CSS string (for ``content:`` in page margins):
    everything but letters, digits, spaces and hyphens becomes a CSS escape."""
    escaped = "".join(
        ch if (ch.isalnum() and ch.isascii()) or ch in " -" else f"\\{ord(ch):06x}" for ch in text
    )
    return mark_safe(escaped)  # noqa: S308 - only ASCII letters, digits and escapes remain


def template_exists(template: str) -> bool:
    from django.template import TemplateDoesNotExist
    from django.template.loader import get_template

    if not TEMPLATE_NAME.fullmatch(template):
        return False
    try:
        get_template(f"documents/pdf/{template}.html")
    except TemplateDoesNotExist:
        return False
    return True


def render_pdf(
    *,
    template: str,
    code: str,
    title: str,
    reference: str,
    holder_name: str,
    printed: Sequence[tuple[str, str]],
    issued_at: datetime.datetime,
    valid_until: datetime.date | None,
    language: str,
) -> bytes:
    """The unsigned PDF of a document, rendered in ``language``.

    Precondition: ``template`` names an existing template (:func:`template_exists`).
    """
    url = verification_url(code)
    with translation.override(language):
        html: str = render_to_string(
            f"documents/pdf/{template}.html",
            {
                "brand": brand(),
                "logo": logo_data_uri(),
                "title": title,
                "reference": reference,
                "holder_name": holder_name,
                "printed": list(printed),
                "issued_at": issued_at,
                "valid_until": valid_until,
                "code": code,
                "code_display": "-".join(code[i : i + 4] for i in range(0, len(code), 4)),
                "verify_url": url,
                "verify_form_url": verification_form_url(),
                "qr": qr_data_uri(url),
                "css_reference": css_string(reference),
                "css_page": css_string(_("Page")),
                "LANGUAGE_CODE": language,
                "LANGUAGE_BIDI": translation.get_language_bidi(),
            },
        )
    # Imported here: loading WeasyPrint takes a while, and most processes never render.
    import weasyprint

    html, stylesheets = design_split(html)
    document = weasyprint.HTML(
        string=html, base_url=str(settings.PUBLIC_BASE_URL), url_fetcher=_data_only_fetcher()
    )
    pdf: Any = document.write_pdf(stylesheets=stylesheets, pdf_variant=PDF_VARIANT, pdf_tags=True)
    return bytes(pdf)
