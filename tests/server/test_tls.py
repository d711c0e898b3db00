"""Both SDKs reach an HTTPS server with the CA bundle `tls-init` wrote, as the README shows, and refuse one they
were not given; the server hands agents its certificates, never a key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from alibabacloud_sas20181203 import models as sas
from alibabacloud_sas20181203.client import Client as SasClient
from alibabacloud_tea_openapi import models as open_api_models
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import SdkException
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkhss.v5 import (
    CreateAntiVirusTaskRequest,
    CreateAntiVirusTaskRequestInfo,
    HssClient,
    ListAntiVirusTaskRequest,
)

from fleetscan.tls import pins
from tests.support.server import ServerProcess, Tenant, cli, tls_init


def huawei(server: ServerProcess, tenant: Tenant, ca: str) -> Any:
    config = HttpConfig.get_default_config()
    config.ssl_ca_cert = ca
    credentials = BasicCredentials(tenant.access_key_id, tenant.secret, tenant.project_id)
    return HssClient.new_builder().with_http_config(config).with_credentials(credentials).with_endpoints(
        [server.url]
    ).build()


def alibaba(server: ServerProcess, tenant: Tenant, ca: str) -> SasClient:
    return SasClient(
        open_api_models.Config(
            access_key_id=tenant.access_key_id,
            access_key_secret=tenant.secret,
            endpoint=server.endpoint,
            protocol="https",
            ca=ca,
        )
    )


def test_both_sdks_list_tasks_over_https_with_the_ca_bundle(database_url: str, tmp_path: Path) -> None:
    ours, other = tls_init(tmp_path / "ours"), tls_init(tmp_path / "other")
    server = ServerProcess(database_url, tls=tmp_path / "ours").start()
    try:
        tenant = Tenant(server)
        enrolled = httpx.post(f"{server.url}/agent/v1/enroll", verify=server.verify,
                              json={"enroll_token": tenant.enroll_token(), "name": "tls-sdk-host"})
        host_id = enrolled.json()["host_id"]
        # First: the Alibaba SDK keeps one session per endpoint, whose open connection skips the handshake.
        with pytest.raises(SdkException, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
            huawei(server, tenant, other["ca_cert"]).list_anti_virus_task(
                ListAntiVirusTaskRequest(offset=0, limit=10, whether_paid_task=False)
            )
        with pytest.raises(Exception, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
            alibaba(server, tenant, other["ca_cert"]).list_virus_scan_task(sas.ListVirusScanTaskRequest())

        hss = huawei(server, tenant, ours["ca_cert"])
        body = CreateAntiVirusTaskRequestInfo(task_name="over-tls", scan_type="quick", action="manual",
                                              host_ids=[host_id])
        hss.create_anti_virus_task(CreateAntiVirusTaskRequest(body=body))
        rows = hss.list_anti_virus_task(ListAntiVirusTaskRequest(offset=0, limit=10, whether_paid_task=False))
        assert [r.task_name for r in rows.data_list] == ["over-tls"]
        listed = alibaba(server, tenant, ours["ca_cert"]).list_virus_scan_task(
            sas.ListVirusScanTaskRequest(root_task=True)
        )
        assert [t.task_id for t in listed.body.list] == [rows.data_list[0].task_id]
    finally:
        server.stop()


def test_the_bundle_is_the_certificates_never_the_key(database_url: str, tmp_path: Path) -> None:
    made = tls_init(tmp_path / "pki")
    # An operator's one-file habit: the key and the chain together, given as both --tls-cert and --tls-key.
    combined = Path(made["server_key"]).read_bytes() + Path(made["server_cert"]).read_bytes()
    (tmp_path / "pki" / "server.crt").write_bytes(combined)
    (tmp_path / "pki" / "server.key").write_bytes(combined)
    server = ServerProcess(database_url, tls=tmp_path / "pki").start()
    try:
        reply = httpx.get(f"{server.url}/agent/v1/tls-bundle", verify=server.verify)
        assert reply.status_code == 200 and reply.headers["content-type"] == "application/x-pem-file"
        assert b"PRIVATE KEY" not in reply.content
        assert [pins.fingerprint(c) for c in pins.certificates(reply.content)] == [
            made["server_sha256"], made["ca_sha256"]
        ]
    finally:
        server.stop()


def test_a_plain_server_has_no_bundle(server: ServerProcess) -> None:
    reply = httpx.get(f"{server.url}/agent/v1/tls-bundle")
    assert reply.status_code == 404 and reply.json()["error"] == "not_found"


def test_tls_cert_without_tls_key_is_a_usage_error(tmp_path: Path) -> None:
    made = tls_init(tmp_path / "pki")
    done = cli(f"sqlite:///{tmp_path / 'db.sqlite'}", "server", "--tls-cert", made["server_cert"])
    assert done.returncode == 2 and "--tls-cert and --tls-key go together" in done.stderr
