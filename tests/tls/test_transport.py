"""The agent's transport rule (agent/tls.py), as pure logic: plain HTTP only to loopback or when told."""

from __future__ import annotations

import pytest

from fleetscan.agent.tls import TransportRefused, check_transport


@pytest.mark.parametrize(
    "url", ["https://scan.example:8443", "http://127.0.0.1:8080", "http://127.0.0.9", "http://[::1]:80",
            "http://localhost:8080", "http://agent.localhost"]
)
def test_allowed(url: str) -> None:
    check_transport(url, pinned=url.startswith("https"), insecure_http=False)


@pytest.mark.parametrize("url", ["http://10.0.0.5:8080", "http://0.0.0.0:80", "http://scan.example", "http://[fd00::2]"])
def test_plain_http_beyond_loopback_needs_the_flag(url: str) -> None:
    with pytest.raises(TransportRefused, match="plain HTTP only to a loopback address"):
        check_transport(url, pinned=False, insecure_http=False)
    check_transport(url, pinned=False, insecure_http=True)


def test_a_pinned_token_never_goes_over_plain_http() -> None:
    with pytest.raises(TransportRefused, match="pins a TLS identity, use https://"):
        check_transport("http://127.0.0.1:8080", pinned=True, insecure_http=True)


@pytest.mark.parametrize("url", ["ftp://10.0.0.5", "scan.example:8443", "http://"])
def test_not_a_url_of_ours(url: str) -> None:
    with pytest.raises(TransportRefused, match="not an http:// or https:// URL"):
        check_transport(url, pinned=False, insecure_http=True)
