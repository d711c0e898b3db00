"""A private CA and a server certificate it signs, for a lab or a first deployment (`fleetscan admin tls-init`).

ECDSA P-256 keys: the cheapest handshakes, which matters when thousands of agents connect to one server. The
server's certificate file holds the chain (its own certificate, then the CA's), so the server hands the CA to
agents in the handshake and on `GET /agent/v1/tls-bundle`, and an agent can pin either of them.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .pins import as_pem, fingerprint

DEFAULT_HOSTNAMES = ("localhost",)
DEFAULT_IPS = ("127.0.0.1", "::1")
CA_DAYS = 10 * 365
SERVER_DAYS = 825  # the longest validity clients commonly accept for a server certificate


@dataclass(frozen=True)
class LabFiles:
    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    ca_fingerprint: str
    server_fingerprint: str

    @staticmethod
    def paths(folder: Path) -> tuple[Path, Path, Path, Path]:
        return folder / "ca.crt", folder / "ca.key", folder / "server.crt", folder / "server.key"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "fleetscan"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def make_ca(now: dt.datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name("fleetscan private CA")
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )  # keyCertSign, cRLSign
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def make_server(
    ca: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    hostnames: list[str],
    ips: list[ipaddress.IPv4Address | ipaddress.IPv6Address],
    now: dt.datetime,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(h) for h in hostnames]
    names += [x509.IPAddress(ip) for ip in ips]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(hostnames[0] if hostnames else str(ips[0])))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=SERVER_DAYS))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
        )  # digitalSignature: all an ECDHE handshake needs
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def subject_names(
    hostnames: tuple[str, ...], ips: tuple[str, ...], defaults: bool = True
) -> tuple[list[str], list[ipaddress.IPv4Address | ipaddress.IPv6Address]]:
    """The SANs: the given names and addresses, then localhost and the loopback addresses. Raises ValueError for
    an address that is not one."""
    names = list(dict.fromkeys([*hostnames, *(DEFAULT_HOSTNAMES if defaults else ())]))
    addresses = list(dict.fromkeys(ipaddress.ip_address(a) for a in [*ips, *(DEFAULT_IPS if defaults else ())]))
    if not names and not addresses:
        raise ValueError("a server certificate needs at least one hostname or address")
    return names, addresses


def _write(path: Path, data: bytes, mode: int) -> None:
    """Created with its mode from the first byte: a key is never readable by others, even for an instant."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def write_lab_pki(
    folder: Path,
    hostnames: list[str],
    ips: list[ipaddress.IPv4Address | ipaddress.IPv6Address],
    *,
    force: bool = False,
) -> LabFiles:
    """Write ca.crt, ca.key, server.crt (the server's certificate then the CA's) and server.key (keys 0600).

    Raises FileExistsError, naming the files, when any exists and `force` is not set: overwriting a CA would
    orphan every agent pinned to it.
    """
    paths = LabFiles.paths(folder)
    present = [str(p) for p in paths if p.exists()]
    if present and not force:
        raise FileExistsError(f"{', '.join(present)} already exist (--force replaces them)")
    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca, ca_key = make_ca(now)
    server, server_key = make_server(ca, ca_key, hostnames, ips, now)
    ca_cert_path, ca_key_path, server_cert_path, server_key_path = paths
    _write(ca_key_path, _key_pem(ca_key), 0o600)
    _write(server_key_path, _key_pem(server_key), 0o600)
    _write(ca_cert_path, as_pem([ca]), 0o644)
    _write(server_cert_path, as_pem([server, ca]), 0o644)
    return LabFiles(*paths, fingerprint(ca), fingerprint(server))
