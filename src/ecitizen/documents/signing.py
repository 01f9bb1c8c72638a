"""The authority's signing key and certificate, and PAdES signatures on issued PDFs.

The key and certificate come from ``DOCUMENT_SIGNING_KEY_FILE`` and
``DOCUMENT_SIGNING_CERT_FILE`` (PEM; the certificate file may hold the chain, signer's
certificate first). When they are unset, a self-signed *demo* certificate is made on first
use under ``VAR_DIR/signing`` (see ADR 0009): fine for trying the platform, not for real
documents, since nobody outside trusts it. With ``DEBUG`` off it is refused (at start-up by
the settings, here again at signing, and by ``check --deploy``) unless
``DOCUMENT_SIGNING_DEMO_IN_PRODUCTION`` allows it.

The loaded signer is cached per process and per file version (path and modification
time), so signing costs one signature, not a key load, and a renewed certificate on disk is
picked up without a restart. The room the signature takes in the file is worked out once
per signer too (pyHanko would otherwise make a dummy signature before each real one).
"""

from __future__ import annotations

import asyncio
import datetime
import fcntl
import functools
import io
import os
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from pyhanko.keys import load_certs_from_pemder, load_private_key_from_pemder
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

DEMO_KEY_NAME = "demo-signing-key.pem"
DEMO_CERT_NAME = "demo-signing-cert.pem"
DEMO_VALIDITY = datetime.timedelta(days=5 * 365)
SIGNATURE_FIELD = "AuthoritySignature"


@dataclass(frozen=True)
class SigningIdentity:
    """Where the signing key and certificate are, and whether they are the demo pair."""

    key_path: Path
    cert_path: Path
    demo: bool


def demo_directory() -> Path:
    return Path(settings.VAR_DIR) / "signing"


def demo_subject_name() -> str:
    return f"{settings.AUTHORITY_NAME} (demo signing certificate)"


def _write_private(path: Path, data: bytes, mode: int) -> None:
    """Write ``data`` to ``path`` atomically (a temporary file renamed over it)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, mode)  # os.open's mode is filtered by the umask
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _make_demo_pair(key_path: Path, cert_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, demo_subject_name()),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, str(settings.AUTHORITY_NAME)),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    public_key = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + DEMO_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,  # nonRepudiation
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(
        key_path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        0o600,
    )
    # The certificate last: its presence means the pair is complete.
    _write_private(cert_path, certificate.public_bytes(serialization.Encoding.PEM), 0o644)


def _demo_pair_usable(key_path: Path, cert_path: Path) -> bool:
    if not (key_path.is_file() and cert_path.is_file()):
        return False
    certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    return certificate.not_valid_after_utc > datetime.datetime.now(datetime.UTC)


def demo_identity_ensure() -> SigningIdentity:
    """The demo key and certificate, made first if missing or expired.

    Side effects: creates ``VAR_DIR/signing`` (mode 0700), the key (mode 0600) and the
    certificate. An expired pair is replaced. A lock file serialises processes that start
    at the same moment, so they all end up with the same pair.
    """
    directory = demo_directory()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    key_path, cert_path = directory / DEMO_KEY_NAME, directory / DEMO_CERT_NAME
    if not _demo_pair_usable(key_path, cert_path):
        with (directory / ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                if not _demo_pair_usable(key_path, cert_path):
                    _make_demo_pair(key_path, cert_path)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
    return SigningIdentity(key_path=key_path, cert_path=cert_path, demo=True)


def signing_identity() -> SigningIdentity:
    """The configured key and certificate, or the demo pair (made if needed).

    Raises ``ImproperlyConfigured`` instead of using the demo pair when ``DEBUG`` is off
    and ``DOCUMENT_SIGNING_DEMO_IN_PRODUCTION`` does not allow it. The settings refuse to
    start that way already; this keeps a production process that was configured some
    other way (another settings module, settings changed at run time) from issuing
    documents nobody can trust.
    """
    key_file = str(settings.DOCUMENT_SIGNING_KEY_FILE or "")
    cert_file = str(settings.DOCUMENT_SIGNING_CERT_FILE or "")
    if key_file and cert_file:
        return SigningIdentity(key_path=Path(key_file), cert_path=Path(cert_file), demo=False)
    if not settings.DEBUG and not getattr(settings, "DOCUMENT_SIGNING_DEMO_IN_PRODUCTION", False):
        raise ImproperlyConfigured(
            "No document signing certificate is configured, and the self-signed demo "
            "certificate is refused when DEBUG is off: set DOCUMENT_SIGNING_KEY_FILE and "
            "DOCUMENT_SIGNING_CERT_FILE"
        )
    return demo_identity_ensure()


@functools.lru_cache(maxsize=4)
def _load_signer(
    key_path: str, cert_path: str, key_mtime: int, cert_mtime: int
) -> signers.SimpleSigner:
    try:
        key = load_private_key_from_pemder(key_path, passphrase=None)
        certificates = list(load_certs_from_pemder([cert_path]))
    except (OSError, ValueError) as exc:
        raise ImproperlyConfigured(
            f"Cannot load the document signing key or certificate: {exc}"
        ) from exc
    if not certificates:
        raise ImproperlyConfigured(f"{cert_path} holds no certificate")
    signing_cert = certificates[0]
    expected = serialization.load_der_public_key(signing_cert.public_key.dump())
    actual = serialization.load_der_private_key(key.dump(), password=None).public_key()
    public_format = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if expected.public_bytes(*public_format) != actual.public_bytes(*public_format):
        raise ImproperlyConfigured(
            f"The document signing key {key_path} does not match the certificate {cert_path}"
        )
    return signers.SimpleSigner(
        signing_cert=signing_cert,
        signing_key=key,
        cert_registry=SimpleCertificateStore.from_certs(certificates),
    )


def signer_for(identity: SigningIdentity) -> signers.SimpleSigner:
    """The (cached) pyhanko signer for a key and certificate."""
    return _load_signer(
        str(identity.key_path),
        str(identity.cert_path),
        identity.key_path.stat().st_mtime_ns,
        identity.cert_path.stat().st_mtime_ns,
    )


#: Per signer, and per digest and kind of signature, the bytes pyHanko reserves in the
#: file for a signature.
_container_sizes: weakref.WeakKeyDictionary[signers.Signer, dict[tuple[str, str], int]] = (
    weakref.WeakKeyDictionary()
)


def _container_size(pdf_signer: signers.PdfSigner, pdf: bytes) -> int | None:
    """The room (hexadecimal digits) to leave for ``pdf_signer``'s signature in ``pdf``:
    pyHanko's own estimate (a dry-run signature, plus its margin), made once per signer,
    digest and kind of signature. Only those, the key and its certificates shape it (the
    reason, place and name are outside the signature; PAdES leaves the time out of it);
    a timestamp or revocation data would not, so for a signature with either, ``None``:
    pyHanko estimates each time. Must run outside an event loop, as pyHanko's synchronous
    signing does.
    """
    meta = pdf_signer.signature_meta
    if (
        pdf_signer.default_timestamper is not None
        or meta.embed_validation_info
        or meta.validation_context is not None
    ):
        return None
    signer = pdf_signer.signer
    kind = (str(meta.md_algorithm), str(meta.subfilter))
    sizes = _container_sizes.setdefault(signer, {})
    size = sizes.get(kind)
    if size is None:
        # A writer of its own: a signing session adds the signature field to its writer.
        session = pdf_signer.init_signing_session(
            IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        )

        async def estimate() -> int:
            validation = await session.perform_presign_validation()
            return int(await session.estimate_signature_container_size(validation))

        size = asyncio.run(estimate())
        sizes[kind] = size
    return size


def sign_pdf(pdf: bytes, *, reason: str, location: str | None = None) -> bytes:
    """``pdf`` with a PAdES baseline (B-B) certification signature of the authority.

    The signature is a new invisible field added as an incremental update; it certifies
    the document (DocMDP: no changes allowed), so any later edit shows as tampering.
    """
    meta = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=reason,
        location=location,
        name=str(settings.AUTHORITY_NAME),
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
    )
    pdf_signer = signers.PdfSigner(meta, signer=signer_for(signing_identity()))

    def sign() -> bytes:
        reserved = _container_size(pdf_signer, pdf)
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        return bytes(pdf_signer.sign_pdf(writer, bytes_reserved=reserved).getvalue())

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return sign()
    # pyHanko's synchronous API starts an event loop of its own, which cannot happen in a
    # thread that already runs one (an ASGI server, a browser-test driver): sign beside it.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(sign).result()


@dataclass(frozen=True)
class CertificateSummary:
    subject: str
    issuer: str
    sha256_fingerprint: str
    not_before: datetime.datetime
    not_after: datetime.datetime
    demo: bool
    cert_path: Path
    pem: str


def certificate_summary(identity: SigningIdentity) -> CertificateSummary:
    """What a person checking the set-up needs to know about the signing certificate."""
    pem = identity.cert_path.read_bytes()
    certificate = x509.load_pem_x509_certificate(pem)
    fingerprint = certificate.fingerprint(hashes.SHA256()).hex(":").upper()
    return CertificateSummary(
        subject=certificate.subject.rfc4514_string(),
        issuer=certificate.issuer.rfc4514_string(),
        sha256_fingerprint=fingerprint,
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        demo=identity.demo,
        cert_path=identity.cert_path,
        pem=certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
    )
