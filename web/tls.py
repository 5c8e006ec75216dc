"""HTTPS for the web server: a self-signed certificate made at first start (``tls: auto``),
kept under ``<storage>/web/``, or the admin's own files (``tls: {cert, key}``), loaded again
when they change so a renewed certificate needs no restart."""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import logging
import os
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from nvr.errors import NvrError

log = logging.getLogger(__name__)

AUTO_DAYS = 3650


@dataclass(frozen=True, slots=True)
class Certificate:
    cert: Path
    key: Path
    fingerprint: str  # SHA-256 of the DER certificate, as browsers show it (AB:CD:...)
    self_signed: bool


def auto_certificate(folder: Path, hosts: list[str]) -> Certificate:
    """The self-signed certificate under ``folder``, made on first use (ECDSA P-256, valid
    for ``AUTO_DAYS``, for this machine's names and ``hosts``)."""
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    if not (cert_path.exists() and key_path.exists()):
        folder.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        names: list[x509.GeneralName] = []
        for host in dict.fromkeys(["localhost", socket.gethostname(), *hosts]):
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        for ip in ("127.0.0.1", "::1"):
            if x509.IPAddress(ipaddress.ip_address(ip)) not in names:
                names.append(x509.IPAddress(ipaddress.ip_address(ip)))
        subject = x509.Name(
            [x509.NameAttribute(NameOID.COMMON_NAME, f"nvr {socket.gethostname()}")]
        )
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=AUTO_DAYS))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        key_bytes = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key_bytes)
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        log.info("web: made a self-signed certificate %s", cert_path)
    return Certificate(cert_path, key_path, fingerprint(cert_path), True)


def given_certificate(cert: Path, key: Path) -> Certificate:
    for path, what in ((cert, "certificate"), (key, "key")):
        if not path.is_file():
            raise NvrError(f"web.tls {what} file {path} does not exist; fix web.tls in the config")
    return Certificate(cert, key, fingerprint(cert), False)


def fingerprint(cert_path: Path) -> str:
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except (OSError, ValueError) as err:
        raise NvrError(f"cannot read the certificate {cert_path} ({err}); give a PEM file") from err
    digest = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


class Reloader:
    """Loads the certificate into a live ``SSLContext`` again when its files change."""

    def __init__(self, context: ssl.SSLContext, cert: Certificate) -> None:
        self.context = context
        self.cert = cert
        self._stamp = self._mtimes()

    def check(self) -> bool:
        """Reload if the files changed; True if it did. A broken new pair keeps the old one."""
        stamp = self._mtimes()
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        try:
            self.context.load_cert_chain(self.cert.cert, self.cert.key)
        except (OSError, ssl.SSLError) as err:
            log.error(
                "web: the new certificate %s does not load (%s); keeping the old one",
                self.cert.cert,
                err,
            )
            return False
        log.info(
            "web: certificate %s reloaded (SHA-256 %s)", self.cert.cert, fingerprint(self.cert.cert)
        )
        return True

    def _mtimes(self) -> tuple[float, float]:
        try:
            return (self.cert.cert.stat().st_mtime, self.cert.key.stat().st_mtime)
        except OSError:
            return (0.0, 0.0)
