"""The console's signature-sets route under the HSS edge: same auth, HSS error shapes, its own body cap."""

from __future__ import annotations

import base64
import hashlib
import os

import httpx

from tests.support.server import ServerProcess, Tenant


def _file(name: str, content: bytes) -> dict[str, str]:
    return {"name": name, "content_b64": base64.b64encode(content).decode()}


def test_add_list_remove_over_http(server: ServerProcess, tenant: Tenant) -> None:
    url = f"{server.url}/v5/{tenant.project_id}/fleetscan/signature-sets"
    auth = {"X-Auth-Token": tenant.auth_token()}
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers=auth).json()["version"] is None

    rule = b'rule console_rule { strings: $a = "console-marker" condition: $a }\n'
    # Larger than the cloud APIs' 1 MiB cap: the route has its own.
    hashes = b"".join(f"{hashlib.sha256(os.urandom(8)).hexdigest()}  Bad.{i}\n".encode() for i in range(20_000))
    assert len(hashes) > 1 << 20
    added = httpx.post(url, headers=auth, json={"name": "console", "files": [_file("r.yar", rule),
                                                                            _file("big.sha256", hashes)]})
    assert added.status_code == 200, added.text
    assert added.json()["version"] == 1
    assert [f["kind"] for f in added.json()["sets"]["console"]] == ["sha256", "yara"]
    assert httpx.get(url, headers=auth).json()["etag"] == added.json()["etag"]
    assert httpx.get(url, headers=auth, params={"version": 1}).json()["version"] == 1
    assert httpx.get(url, headers=auth, params={"version": 7}).status_code == 404

    broken = httpx.post(url, headers=auth, json={"name": "x", "files": [_file("b.yar", b"rule b { condition: $z }")]})
    assert broken.status_code == 400
    assert {"error_code", "error_msg"} <= set(broken.json()) and "$z" in broken.json()["error_msg"]
    assert httpx.post(url, headers=auth, content=b"{nope").status_code == 400
    assert httpx.post(url, headers=auth, json={"name": "x", "files": [{"name": "a.yar"}]}).status_code == 400

    removed = httpx.delete(url, headers=auth, params={"name": "console"})
    assert removed.status_code == 200 and removed.json() == {**removed.json(), "version": 2, "sets": {}}
    gone = httpx.delete(url, headers=auth, params={"name": "console"})
    assert gone.status_code == 404 and "error_code" in gone.json()
    assert httpx.put(url, headers=auth).status_code == 405


def test_other_routes_keep_the_cloud_cap(server: ServerProcess, tenant: Tenant) -> None:
    url = f"{server.url}/v5/{tenant.project_id}/antivirus/task"
    big = httpx.post(url, headers={"X-Auth-Token": tenant.auth_token()}, content=b"x" * (2 << 20))
    assert big.status_code == 413
