"""Alibaba DescribeSuspEventQuaraFiles and RollbackSuspEventQuaraFile against a real agent's quarantine."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alibabacloud_sas20181203 import models as sas
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkhss.v5 import HssClient

from tests.agent.test_handling_e2e import plant, results, scan
from tests.api.alibaba.helpers import sdk
from tests.support.agent_process import EICAR, AgentProcess, wait_until
from tests.support.server import ServerProcess, Tenant


@pytest.fixture
def agent(server: ServerProcess, tenant: Tenant, tmp_path: Path) -> Iterator[AgentProcess]:
    proc = AgentProcess(server.url, tenant.enroll_token(), tmp_path / "agent", "ali-host").start()
    yield proc
    proc.stop()


def quara_files(client: Any, **query: Any) -> Any:
    return client.describe_susp_event_quara_files(sas.DescribeSuspEventQuaraFilesRequest(**query)).body


def test_rollback_restores_the_identical_file_and_refuses_a_newer_one(
    server: ServerProcess, tenant: Tenant, agent: AgentProcess, tmp_path: Path
) -> None:
    hss = (
        HssClient.new_builder()
        .with_credentials(BasicCredentials(tenant.access_key_id, tenant.secret, tenant.project_id))
        .with_endpoints([server.url])
        .build()
    )
    ali = sdk(server, tenant.access_key_id, tenant.secret)
    corpus = tmp_path / "corpus"
    before = plant(corpus / "one.com", EICAR + b"1", 0o4711)
    plant(corpus / "two.com", EICAR + b"2")
    found = results(hss, scan(hss, agent.host_id, corpus, action="auto"))
    assert {d.isolate_tag for d in found.values()} == {"auto_isolate"}

    body = quara_files(ali, current_page="1", page_size="10")
    assert (body.total_count, body.count) == (2, 2)
    rows = {r.path: r for r in body.quara_files}
    assert {r.status for r in rows.values()} == {"quaraDone"} and {r.uuid for r in rows.values()} == {agent.host_id}
    one, two = rows[str(corpus / "one.com")], rows[str(corpus / "two.com")]
    assert isinstance(one.id, int) and one.tag == "auto_isolate"
    assert (one.md_5, two.md_5) == (hashlib.md5(EICAR + b"1").hexdigest(), hashlib.md5(EICAR + b"2").hexdigest())

    ali.rollback_susp_event_quara_file(sas.RollbackSuspEventQuaraFileRequest(quara_file_id=one.id))
    wait_until(lambda: quara_files(ali, status="rollbackDone").total_count == 1, what="rollback")
    after = os.stat(corpus / "one.com")
    assert (corpus / "one.com").read_bytes() == EICAR + b"1"
    assert (after.st_mode, after.st_uid, after.st_gid, after.st_mtime_ns) == (
        before.st_mode,
        before.st_uid,
        before.st_gid,
        before.st_mtime_ns,
    )

    (corpus / "two.com").write_text("newer")
    ali.rollback_susp_event_quara_file(sas.RollbackSuspEventQuaraFileRequest(quara_file_id=two.id))
    wait_until(lambda: quara_files(ali, status="rollbackFailed").total_count == 1, what="refusal")
    assert (corpus / "two.com").read_text() == "newer"

    with pytest.raises(Exception) as again:  # one.com is no longer quarantined
        ali.rollback_susp_event_quara_file(sas.RollbackSuspEventQuaraFileRequest(quara_file_id=one.id))
    assert getattr(again.value, "code", "") != ""


def test_bad_parameters_are_refused(server: ServerProcess, tenant: Tenant) -> None:
    ali = sdk(server, tenant.access_key_id, tenant.secret)
    for query in ({"page_size": "101"}, {"status": "nope"}, {"current_page": "0"}):
        with pytest.raises(Exception) as refused:
            quara_files(ali, **query)
        assert getattr(refused.value, "statusCode", 400) == 400
    with pytest.raises(Exception) as unknown:
        ali.rollback_susp_event_quara_file(sas.RollbackSuspEventQuaraFileRequest(quara_file_id=999_999_999))
    code, status = getattr(unknown.value, "code", ""), getattr(unknown.value, "statusCode", None)
    assert (code, status) == ("InvalidQuaraFileId.NotFound", 404), "a quarantined file's own code, not a task's"
    assert quara_files(ali, page_size="100").total_count == 0
