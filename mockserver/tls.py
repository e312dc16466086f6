"""HTTPS for the mock: a local certificate authority, a certificate for this machine, or the
user's own certificate.

``serve --tls`` uses a CA the mock creates once and keeps in the user's data directory
(``tls_dir``, default ``<user data dir>/mockserver/tls``), and issues a fresh leaf certificate
for ``localhost``, ``127.0.0.1`` and ``::1`` at every start. Clients trust the CA's certificate
once (``ca.pem``; docs/tls.md shows how per client stack). ``--tls-cert``/``--tls-key`` use the
user's own files instead.

:func:`resolve` turns settings into concrete file paths; the server layer only ever sees those
(``Settings.tls_cert`` and ``Settings.tls_key``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import os
import shutil
import ssl
import tempfile
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mockserver.config import Settings
from mockserver.errors import ConfigError

CA_CERT = "ca.pem"
CA_KEY = "ca-key.pem"
LEAF = "localhost.pem"  # the leaf's certificate and key in one file, replaced atomically
HOSTNAMES = ("localhost",)
ADDRESSES = ("127.0.0.1", "::1")
CA_DAYS = 3650
# Re-issued at every start; 397 days keeps under the 398-day cap some platforms (Apple's)
# enforce even for certificates of a CA the user trusts.
LEAF_DAYS = 397


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """What one HTTPS server uses: its certificate and key, and the CA bundle clients trust
    (None for the user's own certificate, whose issuer the mock does not know)."""

    cert: str
    key: str
    ca_bundle: str | None


def default_dir() -> Path:
    """Where the local CA lives when ``tls_dir`` is not set: the user's data directory."""
    from platformdirs import user_data_path

    return user_data_path("mockserver", appauthor=False) / "tls"


def resolve(settings: Settings) -> tuple[Settings, TlsFiles | None]:
    """Settings whose ``tls_cert``/``tls_key`` name the files to serve, and those files.

    Without ``tls`` (and without ``tls_cert``) nothing changes and the files are None. With the
    user's ``tls_cert`` and ``tls_key`` they are checked to load as a pair; otherwise the local CA
    is created if missing and a leaf certificate is issued.
    """
    if not settings.tls and not settings.tls_cert and not settings.tls_key:
        return settings, None
    if settings.tls_cert or settings.tls_key:
        if not (settings.tls_cert and settings.tls_key):
            raise ConfigError(
                "--tls-cert and --tls-key go together: pass both (a certificate chain in PEM and "
                "its private key), or neither to use the mock's local CA"
            )
        files = TlsFiles(settings.tls_cert, settings.tls_key, None)
        check_pair(files.cert, files.key)
    else:
        directory = Path(settings.tls_dir) if settings.tls_dir else default_dir()
        files = local_files(directory)
    return replace(settings, tls=True, tls_cert=files.cert, tls_key=files.key), files


def check_pair(cert: str, key: str) -> None:
    """Fail with a clear message unless ``cert`` and ``key`` load as one certificate and key."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key)
    except FileNotFoundError as exc:
        raise ConfigError(f"TLS file {exc.filename!r} does not exist") from None
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(
            f"cannot use --tls-cert {cert!r} with --tls-key {key!r}: {exc}; both must be PEM, "
            "and the key must be the certificate's (unencrypted)"
        ) from None


def server_context(files: TlsFiles) -> ssl.SSLContext:
    """A server-side context for the given certificate and key (TLS 1.2 or later)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(files.cert, files.key)
    return context


def local_files(directory: Path) -> TlsFiles:
    """The local CA in ``directory`` (created on first use) and a freshly issued leaf."""
    ca_dir = ensure_ca(directory)
    leaf = directory / LEAF
    _write_atomically(leaf, issue_leaf(ca_dir))
    return TlsFiles(str(leaf), str(leaf), str(ca_dir / CA_CERT))


def ensure_ca(directory: Path) -> Path:
    """The folder holding ``ca.pem`` and ``ca-key.pem``, created once.

    Two mocks starting at once (pytest-xdist workers) must end up with one CA: each builds it in
    a folder of its own and renames that into place; the rename of the loser fails and it uses
    the winner's.
    """
    ca_dir = directory / "ca"
    if (ca_dir / CA_CERT).is_file() and (ca_dir / CA_KEY).is_file():
        return ca_dir
    try:
        directory.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix=".ca-", dir=directory))
    except OSError as exc:
        raise ConfigError(
            f"cannot create the local CA in {str(directory)!r}: {exc.strerror or exc}; "
            "set MOCKSERVER_TLS_DIR (or tls_dir) to a writable folder"
        ) from None
    try:
        cert_pem, key_pem = _new_ca()
        _write_private(building / CA_KEY, key_pem)
        (building / CA_CERT).write_bytes(cert_pem)
        os.chmod(building / CA_CERT, 0o644)
        os.chmod(building, 0o755)  # mkdtemp made it 0700; clients read ca.pem, not the key
        try:
            os.rename(building, ca_dir)
        except OSError:
            if not (ca_dir / CA_CERT).is_file():
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return ca_dir


def _new_ca() -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mockserver"),
            # A random suffix: two machines' CAs are told apart in a trust store.
            x509.NameAttribute(NameOID.COMMON_NAME, f"mockserver local CA {uuid.uuid4().hex[:8]}"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return _pem_cert(cert), _pem_key(key)


def issue_leaf(ca_dir: Path) -> bytes:
    """A certificate for ``localhost``, ``127.0.0.1`` and ``::1`` signed by the CA in ``ca_dir``,
    followed by its private key (PEM)."""
    try:
        ca_cert = x509.load_pem_x509_certificate((ca_dir / CA_CERT).read_bytes())
        ca_key = serialization.load_pem_private_key((ca_dir / CA_KEY).read_bytes(), None)
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"the local CA in {str(ca_dir)!r} cannot be read ({exc}); delete that folder to "
            "have a new CA made (clients must then trust the new ca.pem)"
        ) from None
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ConfigError(f"the local CA key in {str(ca_dir)!r} is not the EC key the mock made")
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    names: list[x509.GeneralName] = [x509.DNSName(h) for h in HOSTNAMES]
    names += [x509.IPAddress(ipaddress.ip_address(a)) for a in ADDRESSES]
    cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mockserver"),
                    x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
                ]
            )
        )
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(min(now + dt.timedelta(days=LEAF_DAYS), ca_cert.not_valid_after_utc))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
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
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return _pem_cert(cert) + _pem_key(key)


def trust_hint(ca_bundle: str) -> str:
    """The lines the start-up log shows: where the CA is and how clients trust it."""
    return (
        f"TLS: certificate issued by the mock's local CA; trust {ca_bundle} in the client, e.g. "
        f"SSL_CERT_FILE={ca_bundle} (OpenSSL: Ruby, Go, curl, Python's ssl), "
        f"REQUESTS_CA_BUNDLE={ca_bundle} (Python requests), "
        f"NODE_EXTRA_CA_CERTS={ca_bundle} (Node); docs/tls.md covers the others"
    )


def _pem_cert(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write_private(path: Path, data: bytes) -> None:
    """Create ``path`` readable by its owner only (it holds a private key)."""
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(handle, "wb") as file:
        file.write(data)


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` (a private key among it) readable by the owner only, replacing ``path`` in
    one step: a server reading it meanwhile sees the old pair or the new one, never a mix."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
