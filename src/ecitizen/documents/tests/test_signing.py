"""The signing key and certificate: the demo pair, configured files, the command."""

from __future__ import annotations

import datetime
import stat
import subprocess
from io import StringIO

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtensionOID, NameOID
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from ecitizen.documents import signing
from ecitizen.documents.tests.signing_fixtures import (
    in_fresh_thread,
    make_signing_pair,
    signature_status,
)


@pytest.fixture
def demo_settings(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    settings.DOCUMENT_SIGNING_KEY_FILE = ""
    settings.DOCUMENT_SIGNING_CERT_FILE = ""
    return settings


def test_demo_certificate_is_made_on_first_use(demo_settings):
    identity = signing.signing_identity()
    assert identity.demo
    assert identity.key_path.parent == demo_settings.VAR_DIR / "signing"
    assert stat.S_IMODE(identity.key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(identity.key_path.parent.stat().st_mode) == 0o700
    certificate = x509.load_pem_x509_certificate(identity.cert_path.read_bytes())
    common_name = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert common_name == "City of Riverton (demo signing certificate)"
    assert certificate.issuer == certificate.subject  # self-signed
    usage = certificate.extensions.get_extension_for_oid(ExtensionOID.KEY_USAGE).value
    assert usage.digital_signature
    assert usage.content_commitment  # nonRepudiation
    assert not usage.key_cert_sign
    lifetime = certificate.not_valid_after_utc - certificate.not_valid_before_utc
    assert datetime.timedelta(days=5 * 365) <= lifetime <= datetime.timedelta(days=5 * 366)
    # The second use finds the same pair.
    again = signing.signing_identity()
    assert again.cert_path.read_bytes() == identity.cert_path.read_bytes()
    assert again.key_path.read_bytes() == identity.key_path.read_bytes()


def test_an_expired_demo_certificate_is_replaced(demo_settings):
    import time_machine

    with time_machine.travel(datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)):
        old = signing.demo_identity_ensure().cert_path.read_bytes()
    new = signing.demo_identity_ensure().cert_path.read_bytes()
    assert new != old
    certificate = x509.load_pem_x509_certificate(new)
    assert certificate.not_valid_after_utc > datetime.datetime.now(datetime.UTC)


def test_demo_certificate_signs(demo_settings):
    import weasyprint

    signed = signing.sign_pdf(weasyprint.HTML(string="<p>Hello</p>").write_pdf(), reason="Test")
    assert signature_status(signed, signing.signing_identity().cert_path).bottom_line


def test_the_signatures_room_is_estimated_once_per_signer(signing_certificate, monkeypatch):
    """pyHanko sizes a signature's field by a dry-run signature: sign_pdf has it do so once
    per signer, and every signature made in the room so found validates, whatever the
    document (an ECDSA signature's length varies by a few bytes from one to the next)."""
    import weasyprint
    from pyhanko.sign.signers.pdf_signer import PdfSigningSession

    estimate = PdfSigningSession.estimate_signature_container_size
    estimates: list[int] = []

    async def counted(self, *args, **kwargs):
        size = await estimate(self, *args, **kwargs)
        estimates.append(size)
        return size

    monkeypatch.setattr(PdfSigningSession, "estimate_signature_container_size", counted)
    documents = [f"<p>{text}</p>" for text in ("Hello", "A longer document. " * 400, "é")]
    for number, html in enumerate(documents * 2):
        signed = signing.sign_pdf(weasyprint.HTML(string=html).write_pdf(), reason=f"{number}")
        assert signature_status(signed, signing_certificate).bottom_line, number
    assert len(estimates) == 1


def test_a_signature_with_revocation_data_is_sized_each_time(signing_certificate):
    """Revocation data (or a timestamp) makes a signature's size vary with what the
    validation finds: such a signature does not reuse a figure."""
    from pyhanko.sign import signers as pyhanko_signers
    from pyhanko_certvalidator import ValidationContext

    signer = signing.signer_for(signing.signing_identity())
    meta = pyhanko_signers.PdfSignatureMetadata(
        field_name=signing.SIGNATURE_FIELD,
        validation_context=ValidationContext(trust_roots=[]),
        embed_validation_info=True,
    )
    pdf_signer = pyhanko_signers.PdfSigner(meta, signer=signer)
    assert signing._container_size(pdf_signer, b"") is None


def test_configured_files_are_used_and_the_signer_is_cached(settings, tmp_path):
    key_path, cert_path = make_signing_pair(tmp_path)
    settings.DOCUMENT_SIGNING_KEY_FILE = str(key_path)
    settings.DOCUMENT_SIGNING_CERT_FILE = str(cert_path)
    identity = signing.signing_identity()
    assert not identity.demo
    assert identity.cert_path == cert_path
    assert signing.signer_for(identity) is signing.signer_for(identity)


def test_a_key_that_does_not_match_the_certificate_is_refused(settings, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    key_a, _cert_a = make_signing_pair(tmp_path / "a")
    _key_b, cert_b = make_signing_pair(tmp_path / "b")
    settings.DOCUMENT_SIGNING_KEY_FILE = str(key_a)
    settings.DOCUMENT_SIGNING_CERT_FILE = str(cert_b)
    with pytest.raises(ImproperlyConfigured, match="does not match"):
        signing.signer_for(signing.signing_identity())


def test_command_makes_and_describes_the_demo_certificate(demo_settings):
    out = StringIO()
    call_command("documents", "signing-cert", stdout=out)
    text = out.getvalue()
    assert "CN=City of Riverton (demo signing certificate)" in text
    assert "demo certificate" in text
    assert "SHA-256:" in text
    assert "Expires:" in text
    assert "BEGIN CERTIFICATE" not in text
    assert (demo_settings.VAR_DIR / "signing" / signing.DEMO_CERT_NAME).is_file()
    shown = StringIO()
    call_command("documents", "signing-cert", "--show", stdout=shown)
    assert "-----BEGIN CERTIFICATE-----" in shown.getvalue()
    # The same certificate both times.
    assert text.split("SHA-256:")[1].split()[0] in shown.getvalue()


def test_command_describes_a_configured_certificate(signing_certificate):
    out = StringIO()
    call_command("documents", "signing-cert", stdout=out)
    assert "CN=Test signing authority" in out.getvalue()
    assert "configured by DOCUMENT_SIGNING_CERT_FILE" in out.getvalue()


# --- Settings -----------------------------------------------------------------------------


def _start(extra: dict[str, str]) -> subprocess.CompletedProcess:
    """A fresh interpreter with the settings tests' base configuration plus ``extra``,
    printing PUBLIC_BASE_URL."""
    from ecitizen.core.tests.test_settings import _run

    return _run(
        extra,
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.PUBLIC_BASE_URL)",
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"PUBLIC_BASE_URL": "riverton.example"}, "PUBLIC_BASE_URL must be an http(s) address"),
        ({"PUBLIC_BASE_URL": "https://x.example/?a=1"}, "without query or fragment"),
        ({"DOCUMENT_SIGNING_KEY_FILE": "/etc/hostname"}, "must be set together"),
        (
            {"DOCUMENT_SIGNING_KEY_FILE": "/no/key.pem", "DOCUMENT_SIGNING_CERT_FILE": "/no/c.pem"},
            "DOCUMENT_SIGNING_KEY_FILE /no/key.pem is not a file",
        ),
    ],
)
def test_bad_settings_stop_the_process(extra, message):
    result = _start(extra)
    assert result.returncode != 0
    assert message in result.stderr


def test_public_base_url_default_and_trailing_slash():
    assert _start({}).stdout.strip() == "http://127.0.0.1:8000"
    assert _start({"PUBLIC_BASE_URL": "https://services.riverton.example/"}).stdout.strip() == (
        "https://services.riverton.example"
    )


def test_signing_works_inside_a_running_event_loop(signing_certificate):
    import asyncio

    import weasyprint

    pdf = weasyprint.HTML(string="<p>Hello</p>").write_pdf()

    async def from_async_code():
        return signing.sign_pdf(pdf, reason="Test")

    # In a thread of its own: the test's own thread may already run a loop (Playwright).
    assert b"/ByteRange" in in_fresh_thread(lambda: asyncio.run(from_async_code()))
