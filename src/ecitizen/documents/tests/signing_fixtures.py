"""A throwaway signing key and certificate for tests (never the demo pair under VAR_DIR).

Used by this app's tests and by any test that issues documents: add
``"ecitizen.documents.tests.signing_fixtures"`` to ``pytest_plugins`` or import the fixture.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def make_signing_pair(directory: Path, *, common_name: str = "Test signing authority"):
    """Write ``key.pem`` and ``cert.pem`` (self-signed, ECDSA P-256) into ``directory``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=400))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = directory / "key.pem", directory / "cert.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def make_ca_issued_signing_pair(directory: Path, *, common_name: str = "Test signing authority"):
    """Write ``key.pem`` and ``cert.pem`` into ``directory``: a signing key and its
    certificate issued by a throwaway certification authority (so, unlike
    :func:`make_signing_pair`, not self-signed), the chain in the certificate file."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test certification authority")])
    now = datetime.datetime.now(datetime.UTC)
    ca_certificate = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key_path, cert_path = directory / "key.pem", directory / "cert.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(
        certificate.public_bytes(serialization.Encoding.PEM)
        + ca_certificate.public_bytes(serialization.Encoding.PEM)
    )
    return key_path, cert_path


def in_fresh_thread(function):
    """Call ``function`` in a new thread and return its result.

    pyHanko's synchronous API (``validate_pdf_signature``) starts its own event loop,
    which fails in a thread that already runs one, as the main thread does once the
    browser tests' Playwright session has started.
    """
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function).result()


@pytest.fixture
def signing_certificate(tmp_path, settings):
    """Configure a fresh signing key and certificate; returns the certificate's path."""
    folder = tmp_path / "signing-test"
    folder.mkdir()
    key_path, cert_path = make_signing_pair(folder)
    settings.DOCUMENT_SIGNING_KEY_FILE = str(key_path)
    settings.DOCUMENT_SIGNING_CERT_FILE = str(cert_path)
    return cert_path


@pytest.fixture
def media_storage(tmp_path, settings):
    """Uploads go to a temporary folder, not VAR_DIR/media."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def signature_status(pdf: bytes, cert_path):
    """pyHanko's validation of the one signature in ``pdf``, trusting only the certificate
    at ``cert_path`` (its ``bottom_line`` says whether it holds)."""
    import io

    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    (signature,) = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    context = ValidationContext(trust_roots=[load_cert_from_pemder(str(cert_path))])
    return in_fresh_thread(lambda: validate_pdf_signature(signature, context))
