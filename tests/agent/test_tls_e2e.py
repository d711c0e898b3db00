"""A real agent over real TLS: it pins the server's identity from its token, scans, and afterwards refuses a server
presenting another certificate (a second `tls-init`), saying why, without sending it anything of its own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkhss.v5 import HssClient, ListAntiVirusHostRequest

from fleetscan.tls import pins
from tests.agent.test_agent_e2e import detections, finished, start_scan
from tests.support.agent_process import AgentProcess, plant_corpus, wait_until
from tests.support.server import ServerProcess, Tenant, tls_init


def hss_over_tls(server: ServerProcess, tenant: Tenant, ca: Path) -> Any:
    """The Huawei SDK against HTTPS, trusting the private CA (`HttpConfig.ssl_ca_cert`)."""
    config = HttpConfig.get_default_config()
    config.ssl_ca_cert = str(ca)
    return (
        HssClient.new_builder()
        .with_http_config(config)
        .with_credentials(BasicCredentials(tenant.access_key_id, tenant.secret, tenant.project_id))
        .with_endpoints([server.url])
        .build()
    )


def agent_status(hss: Any, host_id: str) -> str:
    hosts = hss.list_anti_virus_host(ListAntiVirusHostRequest(offset=0, limit=200)).data_list
    return str(next(h.agent_status for h in hosts if h.host_id == host_id))


def test_the_agent_pins_scans_and_then_refuses_another_identity(database_url: str, tmp_path: Path) -> None:
    ours, other = tls_init(tmp_path / "ours"), tls_init(tmp_path / "other")
    server = ServerProcess(database_url, tls=tmp_path / "ours").start()
    state = tmp_path / "agents" / "tls-host"
    agent: AgentProcess | None = None
    impostor: ServerProcess | None = None
    try:
        tenant = Tenant(server)
        enrolled = tenant.server.admin(
            "enroll-token", "--account", tenant.account, "--project-id", tenant.project_id,
            "--tls-cert", ours["ca_cert"],
        )
        assert enrolled["tls_pin"] == ours["ca_sha256"] and enrolled["enroll_token"].endswith("@" + ours["ca_sha256"])
        hss = hss_over_tls(server, tenant, Path(ours["ca_cert"]))

        agent = AgentProcess(server.url, enrolled["enroll_token"], state, "tls-host").start()
        planted = plant_corpus(tmp_path / "corpus", clean=20, infected=2)
        name = start_scan(hss, [agent.host_id], tmp_path / "corpus")
        row = wait_until(lambda: finished(hss, name), what="scan end")
        host = row.host_info_list[0]
        assert (host.host_task_status, host.scan_file_num, host.virus_num) == ("success", 22, 2)
        assert {path for path, _ in detections(hss, name)} == planted
        assert any(e.get("msg") == "server identity pinned" and e.get("pin") == ours["ca_sha256"]
                   for e in agent.lines())
        assert (state / "server-cert.pem").read_bytes() == Path(ours["ca_cert"]).read_bytes()
        host_id = agent.host_id
        assert agent.stop() == 0  # its goodbye marks the host offline at once
        assert agent_status(hss, host_id) == "offline"
        server.stop()

        # Same address, same database (the agent's credential is valid there), another certificate.
        impostor = ServerProcess(database_url, tls=tmp_path / "other", port=server.port).start()
        agent = refusing = AgentProcess(impostor.url, "", state, "tls-host").start()  # no token: the folder has the pin

        def refusals() -> list[dict[str, object]]:
            return [e for e in refusing.lines() if e.get("msg") == "server identity refused"]

        wait_until(lambda: len(refusals()) >= 4, what="refusals")
        seen = refusals()[0]
        assert seen["expected"] == ours["ca_sha256"] and seen["presented"] == [other["server_sha256"]]
        assert seen["server"] == impostor.url and "certificate" in str(seen["why"])
        assert refusing.proc is not None and refusing.proc.poll() is None  # it keeps waiting for its own server
        # Its heartbeats never reached the impostor: one would have marked the host online again.
        assert agent_status(hss_over_tls(impostor, tenant, Path(other["ca_cert"])), host_id) == "offline"
    finally:
        if agent is not None:
            agent.stop()
        for proc in (server, impostor):
            if proc is not None:
                proc.stop()


def test_a_token_whose_pin_the_server_does_not_hold_enrolls_nothing(database_url: str, tmp_path: Path) -> None:
    ours, other = tls_init(tmp_path / "ours"), tls_init(tmp_path / "other")
    server = ServerProcess(database_url, tls=tmp_path / "ours").start()
    try:
        tenant = Tenant(server)
        token = tenant.enroll_token("--tls-cert", other["server_cert"])  # the other server's leaf
        state = tmp_path / "agent"
        done = run_agent("--server", server.url, "--token", token, "--state-dir", str(state))
        assert done.returncode == 1
        assert f"server identity refused: expected {other['server_sha256']}" in done.stderr.splitlines()[-1]
        assert ours["server_sha256"] in done.stderr and ours["ca_sha256"] in done.stderr  # what it was offered
        assert not (state / "credential.json").exists() and not (state / "server-cert.pem").exists()
        hss = hss_over_tls(server, tenant, Path(ours["ca_cert"]))
        assert hss.list_anti_virus_host(ListAntiVirusHostRequest(offset=0, limit=10)).data_list == []

        # The same folder, with a token pinning this server's own certificate (not its CA): it enrolls.
        agent = AgentProcess(server.url, tenant.enroll_token("--tls-cert", ours["server_cert"]), state, "leaf-host")
        try:
            assert agent.start().host_id
            assert pins.fingerprint(pins.certificates((state / "server-cert.pem").read_bytes())[0]) == (
                ours["server_sha256"]
            )
        finally:
            agent.stop()
    finally:
        server.stop()


def run_agent(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fleetscan", "agent", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_plain_http_beyond_loopback_needs_insecure_http(server: ServerProcess, tenant: Tenant, tmp_path: Path) -> None:
    # 0.0.0.0 is not a loopback address, yet a connection to it reaches this machine: the flag is all that differs.
    url = f"http://0.0.0.0:{server.port}"
    done = run_agent("--server", url, "--token", tenant.enroll_token(), "--state-dir", str(tmp_path / "refused"))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"Error: --server {url}: plain HTTP only to a loopback address; use https:// with a pinned enrollment token "
        "(fleetscan admin enroll-token --tls-cert), or --insecure-http"
    ]
    assert not (tmp_path / "refused" / "credential.json").exists()
    agent = AgentProcess(url, tenant.enroll_token(), tmp_path / "allowed", "plain-host", "--insecure-http").start()
    try:
        assert agent.host_id
    finally:
        agent.stop()
