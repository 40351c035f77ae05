"""Test certificate authority for the local Salesforce emulator.

The emulator speaks TLS because simple-salesforce forces ``https`` on every URL. One CA (cached in
the data dir, created once) signs one leaf certificate that covers the loopback address and the real
Salesforce host names, so the same certificate serves direct mode (``https://127.0.0.1:PORT``) and
proxy mode (a ``CONNECT login.salesforce.com:443`` tunnel terminated by the emulator).

Clients trust the emulator through ``REQUESTS_CA_BUNDLE=<trust-bundle.pem>``. The trust bundle is
the CA *plus* whatever the machine already trusts, because ``REQUESTS_CA_BUNDLE`` replaces (not
extends) the trust store and overrides a session's ``verify`` (gotcha G1).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import ipaddress
import os
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = REPO_ROOT / "var" / "emulator"

# Host names every leaf certificate covers, in addition to the orgs' concrete instance hosts.
BASE_SERVER_NAMES = (
    "localhost",
    "login.salesforce.com",
    "test.salesforce.com",
    "*.my.salesforce.com",
    "*.sandbox.my.salesforce.com",
)
CA_COMMON_NAME = "WalkMe Sync Salesforce Emulator Test CA"
_VALIDITY = dt.timedelta(days=3650)
_generation_lock = threading.Lock()


@dataclass(frozen=True)
class TlsFiles:
    """Paths of the PEM files one emulator data dir holds."""

    ca_cert: Path
    server_cert: Path
    server_key: Path
    trust_bundle: Path


def ensure_tls_files(data_dir: Path | None = None, extra_hosts: tuple[str, ...] = ()) -> TlsFiles:
    """Create (once) the CA and leaf certificate in ``data_dir`` and refresh the trust bundle."""
    directory = Path(data_dir) if data_dir else DEFAULT_DATA_DIR
    directory.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(
        ca_cert=directory / "ca.pem",
        server_cert=directory / "server.pem",
        server_key=directory / "server-key.pem",
        trust_bundle=directory / "trust-bundle.pem",
    )
    names = tuple(dict.fromkeys((*BASE_SERVER_NAMES, *extra_hosts)))
    with _generation_lock, _directory_lock(directory):
        ca_key = _load_or_create_ca(directory, files.ca_cert)
        if not _leaf_covers(files.server_cert, names):
            _write_leaf(files, ca_key, names)
        _write_trust_bundle(files)
    return files


@contextlib.contextmanager
def _directory_lock(directory: Path) -> Iterator[None]:
    """Serialise CA creation across processes sharing one data dir (xdist workers, the CLI)."""
    with open(directory / ".lock", "a+b") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def _load_or_create_ca(directory: Path, ca_cert_path: Path) -> ec.EllipticCurvePrivateKey:
    key_path = directory / "ca-key.pem"
    if key_path.exists() and ca_cert_path.exists():
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return key
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        _self_signed(key, CA_COMMON_NAME)
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    write_private(key_path, _private_pem(key))
    _atomic_write(ca_cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return key


def _leaf_covers(cert_path: Path, names: tuple[str, ...]) -> bool:
    """True when an existing leaf certificate lists every wanted name and is not near expiry."""
    if not cert_path.exists():
        return False
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    present = set(san.get_values_for_type(x509.DNSName))
    fresh = cert.not_valid_after_utc > dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    return fresh and set(names) <= present


def _write_leaf(
    files: TlsFiles, ca_key: ec.EllipticCurvePrivateKey, names: tuple[str, ...]
) -> None:
    ca_cert = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    alt_names: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    alt_names += [x509.DNSName(name) for name in names]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + _VALIDITY - dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    write_private(files.server_key, _private_pem(key))
    _atomic_write(files.server_cert, cert.public_bytes(serialization.Encoding.PEM))


def system_trust_bundle_path(exclude: Path | None = None) -> Path | None:
    """The bundle requests would use without the emulator: env var first, then certifi."""
    for variable in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        value = os.environ.get(variable)
        if value and Path(value).is_file() and not _same_file(Path(value), exclude):
            return Path(value)
    try:
        import certifi
    except ImportError:  # pragma: no cover - certifi ships with requests
        return None
    return Path(certifi.where())


def _write_trust_bundle(files: TlsFiles) -> None:
    ca_pem = files.ca_cert.read_text()
    base_path = system_trust_bundle_path(exclude=files.trust_bundle)
    base = base_path.read_text() if base_path else ""
    # A base bundle that already contains our CA (e.g. a parent process's trust bundle) is reused
    # as is, so bundles do not grow each time an emulator starts.
    content = base if ca_pem.strip() in base else ca_pem + "\n" + base
    if not files.trust_bundle.exists() or files.trust_bundle.read_text() != content:
        _atomic_write(files.trust_bundle, content.encode())


def _same_file(path: Path, other: Path | None) -> bool:
    if other is None or not other.exists():
        return False
    return path.resolve() == other.resolve()


def generate_rsa_key_pair(key_path: Path, cert_path: Path, common_name: str) -> None:
    """Create an RSA key and a self-signed certificate (the JWT 'connected app' certificate)."""
    if key_path.exists() and cert_path.exists():
        return
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = _self_signed(key, common_name).sign(key, hashes.SHA256())
    write_private(key_path, _private_pem(key))
    _atomic_write(cert_path, cert.public_bytes(serialization.Encoding.PEM))


def _self_signed(
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, common_name: str
) -> x509.CertificateBuilder:
    """A certificate builder for `key`, issued by itself, valid from yesterday for _VALIDITY."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + _VALIDITY)
    )


def _private_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def write_private(path: Path, content: bytes) -> None:
    """Write a private key readable by the owner only."""
    _atomic_write(path, content, mode=0o600)


def _atomic_write(path: Path, content: bytes, mode: int = 0o644) -> None:
    # Several processes (pytest-xdist workers, the CLI) may share a data dir: never expose a
    # half-written PEM file.
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
        os.chmod(temp_name, mode)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
