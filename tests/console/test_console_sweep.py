"""Sweeping the fleet for a hash from the console, in a real headless Chromium.

A real server and two real agents, each scanning its own folder: a file planted on one host is found there, by
path, and the other host (holding a file of the same size and name but another hash) is not listed. With
FLEETSCAN_CONSOLE_SHOTS=docs/console the test also saves docs/console/sweep.png.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.console.pages import api, screenshot, sign_in, sqlite_only
from tests.support.agent_process import AgentProcess
from tests.support.server import ServerProcess, Tenant

SWEEP_MS = 90_000  # a hash-only scan of a small folder takes seconds; a loaded machine may take longer


@pytest.fixture
def fleet(server: ServerProcess, tenant: Tenant, tmp_path: Path) -> Iterator[tuple[str, AgentProcess, AgentProcess]]:
    """web-01 holds the wanted file at /srv/payload.bin; db-01 a file of that size and name, with another hash."""
    content = os.urandom(4096)
    roots = [tmp_path / "web", tmp_path / "db"]
    for root, data in zip(roots, (content, os.urandom(4096)), strict=True):
        (root / "srv").mkdir(parents=True)
        (root / "srv" / "payload.bin").write_bytes(data)
        for i in range(5):
            (root / f"notes{i}.txt").write_text(f"nothing to see {i}\n" * (i + 1))
    agents = [
        AgentProcess(server.url, tenant.enroll_token(), tmp_path / "agents" / name, name, "--root", str(root)).start()
        for name, root in (("web-01", roots[0]), ("db-01", roots[1]))
    ]
    try:
        for agent in agents:
            assert agent.host_id
        yield hashlib.sha256(content).hexdigest(), agents[0], agents[1]
    finally:
        for agent in agents:
            agent.stop()


def _tasks(server: ServerProcess, tenant: Tenant, token: str) -> int:
    query = {"whether_paid_task": "false", "offset": 0, "limit": 10}
    return int(api(server, tenant, token, "GET", "task", params=query)["total_num"])


def _sweep(page: Page, hashes: str, *, hosts: tuple[str, ...] = ()) -> None:
    page.locator("#sweep-hashes").fill(hashes)
    for box in page.locator("#sweep-hosts input[name=host]").all():
        box.set_checked(box.get_attribute("value") in hosts)
    page.get_by_role("button", name="Sweep", exact=True).click()


@sqlite_only
def test_sweep_lists_the_host_and_path_holding_the_file_and_not_the_other(
    page: Page, server: ServerProcess, tenant: Tenant, fleet: tuple[str, AgentProcess, AgentProcess], tmp_path: Path
) -> None:
    wanted, web, db = fleet
    token = tenant.auth_token()
    sign_in(page, server, tenant.project_id, token)
    page.get_by_role("tab", name="Sweep").click()
    expect(page.locator("#sweep-hosts input[name=host]")).to_have_count(2)
    status, known, found = page.locator("#sweep-status"), page.locator("#sweep-known"), page.locator("#sweep-found")

    # Checked in the page: no request, no task, the problem named.
    _sweep(page, f"{wanted}\nabc123")
    expect(page.locator("#sweep-invalid")).to_have_text("“abc123” is not a SHA-256 (64 hexadecimal digits).")
    _sweep(page, "  \n ")
    expect(page.locator("#sweep-invalid")).to_have_text("Type at least one SHA-256.")
    # What only the server knows (at most 100 hashes in one sweep) comes back as its own error, shown as is.
    _sweep(page, "\n".join(hashlib.sha256(str(i).encode()).hexdigest() for i in range(101)))
    expect(page.locator("#sweep-invalid")).to_be_hidden()
    expect(page.locator("#error")).to_be_visible()
    expect(page.locator("#error-msg")).to_contain_text("sha256")
    expect(page.locator("#error-msg")).to_contain_text("at most 100")
    expect(page.locator("#sweep-found tr.empty")).to_have_text("The sweep did not start.")
    assert _tasks(server, tenant, token) == 0
    page.locator("#error-close").click()

    # Every host: none reported it before; the sweep finds it on web-01 at its path, and nowhere on db-01.
    _sweep(page, wanted.upper())
    expect(known.locator("tr.empty")).to_have_text("No host reported such a file before.")
    expect(status).to_contain_text("The sweep ended", timeout=SWEEP_MS)
    expect(status).to_contain_text("1 file(s) on 1 of 2 host(s)")
    hit = found.locator("tr.sweep-hit")
    expect(hit).to_have_count(1)
    expect(hit).to_have_attribute("data-host-id", web.host_id)
    expect(hit).to_contain_text("web-01")
    expect(hit.locator(".path")).to_have_text("/srv/payload.bin")
    expect(found).not_to_contain_text("db-01")
    expect(page.locator("#sweep-found-title")).to_have_text(f"Found by sweep sha256:{wanted[:12]}…")
    assert _tasks(server, tenant, token) == 1
    expect(page.locator("#stat-malware")).to_have_text("1")  # the find is an alert, and the tiles say so
    expect(page.locator("#stat-tasks")).to_have_text("1")

    # Again: web-01 is known at once, from what it reported, before the new sweep has found anything.
    _sweep(page, wanted)
    expect(known.locator("tr.sweep-hit")).to_have_count(1)
    expect(known.locator("tr.sweep-hit .path")).to_have_text("/srv/payload.bin")
    expect(status).to_contain_text("The sweep ended", timeout=SWEEP_MS)
    expect(found.locator("tr.sweep-hit")).to_have_count(1)
    page.locator("#sweep-hashes").blur()
    screenshot(page, "sweep", tmp_path)

    # A chosen host only: db-01 is swept alone and holds nothing; web-01 stays known from before.
    _sweep(page, wanted, hosts=(db.host_id,))
    expect(status).to_contain_text("The sweep ended", timeout=SWEEP_MS)
    expect(status).to_contain_text("0 file(s) on 0 of 1 host(s)")
    expect(found.locator("tr.empty")).to_have_text("Nothing found yet.")
    expect(known.locator("tr.sweep-hit")).to_have_attribute("data-host-id", web.host_id)
    listed = api(server, tenant, token, "GET", "task", params={"whether_paid_task": "false", "offset": 0, "limit": 10})
    assert [len(t["host_info_list"]) for t in listed["data_list"]] == [1, 2, 2]  # the newest first
