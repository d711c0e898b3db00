"""`fleetscan admin tls-init`: the server certificate verifies with the CA it made, for the names asked; keys are
0600; nothing is overwritten without --force. And the pinned token's format."""

from __future__ import annotations

import ipaddress
import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from fleetscan.cli import main
from fleetscan.tls import pins


def tls_init(folder: Path, *extra: str) -> tuple[int, str]:
    done = CliRunner().invoke(main, ["admin", "tls-init", "--dir", str(folder), "--json", *extra])
    return done.exit_code, done.output


def verify(ca: x509.Certificate, chain: list[x509.Certificate], name: x509.GeneralName) -> None:
    verifier = PolicyBuilder().store(Store([ca])).build_server_verifier(name)  # type: ignore[arg-type]
    verifier.verify(chain[0], chain[1:])


def test_the_server_certificate_verifies_with_the_ca(tmp_path: Path) -> None:
    code, out = tls_init(tmp_path / "pki", "--hostname", "scan.example", "--ip", "10.1.2.3")
    assert code == 0, out
    made = json.loads(out)
    ca = pins.certificates(Path(made["ca_cert"]).read_bytes())
    chain = pins.certificates(Path(made["server_cert"]).read_bytes())
    assert len(ca) == 1 and [c.subject for c in chain] == [chain[0].subject, ca[0].subject]  # the chain ends at the CA
    for name in ("scan.example", "localhost"):
        verify(ca[0], chain, x509.DNSName(name))
    for address in ("10.1.2.3", "127.0.0.1", "::1"):
        verify(ca[0], chain, x509.IPAddress(ipaddress.ip_address(address)))
    with pytest.raises(VerificationError):
        verify(ca[0], chain, x509.DNSName("elsewhere.example"))
    assert made["ca_sha256"] == pins.fingerprint(ca[0]) and made["server_sha256"] == pins.fingerprint(chain[0])
    for key in ("ca_key", "server_key"):
        assert stat.S_IMODE(Path(made[key]).stat().st_mode) == 0o600


def test_another_ca_does_not_verify_it(tmp_path: Path) -> None:
    assert tls_init(tmp_path / "a")[0] == 0 and tls_init(tmp_path / "b")[0] == 0
    ca_b = pins.certificates((tmp_path / "b" / "ca.crt").read_bytes())[0]
    server_a = pins.certificates((tmp_path / "a" / "server.crt").read_bytes())
    with pytest.raises(VerificationError):
        verify(ca_b, server_a[:1], x509.DNSName("localhost"))


def test_nothing_is_overwritten_without_force(tmp_path: Path) -> None:
    assert tls_init(tmp_path)[0] == 0
    first = (tmp_path / "ca.crt").read_bytes()
    code, out = tls_init(tmp_path)
    assert code == 1 and "already exist (--force replaces them)" in out
    assert (tmp_path / "ca.crt").read_bytes() == first
    assert tls_init(tmp_path, "--force")[0] == 0
    assert (tmp_path / "ca.crt").read_bytes() != first
    assert stat.S_IMODE((tmp_path / "ca.key").stat().st_mode) == 0o600


def test_a_bad_address_is_a_one_line_error(tmp_path: Path) -> None:
    code, out = tls_init(tmp_path, "--ip", "10.0.0.999")
    assert code == 2 and "10.0.0.999" in out and not (tmp_path / "ca.key").exists()


def test_pinned_tokens_round_trip() -> None:
    pin = "sha256:" + "ab" * 32
    assert pins.split_token(pins.pinned_token("tok_-en", pin)) == ("tok_-en", pin)
    assert pins.split_token("tok_-en") == ("tok_-en", None)
    for bad in ("tok@sha256:" + "AB" * 32, "tok@sha1:" + "ab" * 20, "tok@" + "ab" * 32, "tok@"):
        with pytest.raises(pins.BadPin):
            pins.split_token(bad)
