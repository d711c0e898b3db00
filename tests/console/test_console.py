"""The web console, driven in a real headless Chromium against a real server.

The console is a pure client of the HSS dialect, so what these tests check is the page: it signs in from
the URL fragment, shows what the API returns (escaped), starts and cancels scans through the API, follows a
scan while the agent reports, and shows the API's errors to the person.

Only the SQLite server runs these: the page is the same whatever database is behind the API (which the HSS
tests cover on both backends), and a browser makes each test slower than an SDK call.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.console.pages import api, sign_in, sqlite_only, task_row
from tests.support.agent_protocol import ProtocolAgent, finding
from tests.support.postgres import free_port
from tests.support.server import ServerProcess, Tenant


@sqlite_only
def test_scan_followed_from_start_to_detection(
    page: Page, server: ServerProcess, tenant: Tenant, tmp_path: Path
) -> None:
    enroll = tenant.enroll_token()
    web = ProtocolAgent(server.url, enroll, "web-01", private_ip="10.0.0.11", public_ip="203.0.113.11")
    ProtocolAgent(server.url, enroll, "db-01", private_ip="10.0.0.12")
    token = tenant.auth_token()

    sign_in(page, server, tenant.project_id, token)
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#who-project")).to_have_text(tenant.project_id)
    assert "token" not in page.url  # the fragment leaves the address bar...
    assert page.evaluate("sessionStorage.getItem('fleetscan.token')") == token  # ...for the tab's storage
    expect(page.locator("#stat-tasks")).to_have_text("0")

    page.get_by_role("tab", name="Hosts").click()
    hosts = page.locator("#hosts-table tbody tr.host")
    expect(hosts).to_have_count(2)
    web_row = hosts.filter(has_text="web-01")
    expect(web_row).to_contain_text("10.0.0.11")
    expect(web_row).to_contain_text("203.0.113.11")
    expect(web_row.locator(".badge")).to_have_text("Online")
    expect(page.locator(".pager[data-for=hosts]")).to_contain_text("1–2 of 2")

    # a name that would be markup if the page used innerHTML
    name = "nightly <img src=x onerror=alert(1)>"
    page.get_by_role("button", name="New scan").click()
    page.locator("#scan-name").fill(name)
    page.locator("#scan-type").select_option("quick")
    page.locator("#scan-hosts label", has_text="web-01").locator("input").check()
    page.get_by_role("button", name="Start scan").click()

    row = task_row(page, name)
    expect(row).to_have_count(1)
    expect(row.locator(".badge")).to_have_text("Scanning")
    expect(row).to_contain_text("Quick")
    expect(page.locator("#tasks-table img")).to_have_count(0)
    subtask = page.locator("tr.subtask")  # the new task opens on its hosts
    expect(subtask).to_have_count(1)
    expect(subtask).to_contain_text("web-01")
    expect(page.locator("#tasks-auto")).to_be_visible()

    (work,) = web.work()
    report = web.progress(
        work["subtask_id"], files_scanned=1234, progress=40, detections=[finding("/srv/www/shell.php")]
    )
    assert report.status_code == 200, report.text
    # no click: the page refreshes on its own while a scan runs
    expect(subtask.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "40")
    expect(subtask).to_contain_text("1234")
    expect(subtask.locator("td.num").nth(1)).to_have_text("1")
    expect(page.locator("#stat-malware")).to_have_text("1")

    skipped = [{"reason": "permission_denied", "count": 2, "examples": ["/srv/private/a", "/srv/private/b"]}]
    assert web.complete(work["subtask_id"], "success", not_scanned=skipped).status_code == 200
    expect(row.locator(".badge")).to_have_text("Finished")
    expect(subtask.locator(".badge").first).to_have_text("Done")
    expect(subtask.locator(".not-scanned")).to_have_text("2 not scanned (2 permission denied)")
    expect(subtask.locator(".not-scanned")).to_have_attribute(
        "title", "permission_denied: /srv/private/a\npermission_denied: /srv/private/b"
    )
    expect(subtask.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    expect(row.get_by_role("button", name="Cancel")).to_have_count(0)
    expect(page.locator("#tasks-auto")).to_be_hidden()

    page.get_by_role("tab", name="Detections").click()
    found = page.locator("#detections-table tbody tr.detection")
    expect(found).to_have_count(1)
    for shown in ("Eicar-Test-Signature", "High", "/srv/www/shell.php", "web-01", name, "Unhandled"):
        expect(found).to_contain_text(shown)
    page.locator("#det-severity").select_option("Low")
    expect(page.locator("#detections-table tbody tr.detection")).to_have_count(0)
    expect(page.locator("#detections-table tbody")).to_contain_text("Nothing found")
    page.locator("#det-severity").select_option("High")
    expect(found).to_have_count(1)

    page.get_by_role("tab", name="Tasks").click()
    expect(task_row(page, name)).to_have_count(1)
    shot = tmp_path / "console.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


@sqlite_only
def test_cancel_a_scan_and_custom_folders(page: Page, server: ServerProcess, tenant: Tenant) -> None:
    enroll = tenant.enroll_token()
    agents = [ProtocolAgent(server.url, enroll, f"app-{i}", private_ip=f"10.1.0.{i}") for i in (1, 2)]
    token = tenant.auth_token()
    sign_in(page, server, tenant.project_id, token)

    page.get_by_role("button", name="New scan").click()
    page.locator("#scan-name").fill("weekly full")
    page.locator("#scan-type").select_option("full")
    page.get_by_role("button", name="select all").click()
    page.get_by_role("button", name="Start scan").click()
    row = task_row(page, "weekly full")
    expect(row.locator(".badge")).to_have_text("Scanning")
    expect(page.locator("tr.subtask")).to_have_count(2)
    agents[0].work()

    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Cancel").click()
    expect(row.locator(".badge")).to_have_text("Cancelled")
    expect(page.locator("tr.subtask .badge", has_text="Cancelled")).to_have_count(2)
    listed = api(server, tenant, token, "GET", "task", params={"offset": 0, "limit": 10, "whether_paid_task": "false"})
    assert [t["task_status"] for t in listed["data_list"]] == ["cancel"]

    # a dismissed confirmation cancels nothing
    page.get_by_role("button", name="New scan").click()
    page.locator("#scan-name").fill("kept")
    page.get_by_role("button", name="select all").click()
    page.get_by_role("button", name="Start scan").click()
    kept = task_row(page, "kept")
    expect(kept.locator(".badge")).to_have_text("Scanning")
    page.once("dialog", lambda dialog: dialog.dismiss())
    kept.get_by_role("button", name="Cancel").click()
    expect(kept.get_by_role("button", name="Cancel")).to_be_visible()
    page.get_by_role("button", name="Refresh").first.click()
    expect(kept.locator(".badge")).to_have_text("Scanning")

    # status filter
    page.locator("#task-status").select_option("cancel")
    expect(page.locator("tr.task")).to_have_count(1)
    expect(task_row(page, "weekly full")).to_have_count(1)

    # a custom scan is a pay-per-scan task with folders; the list switches to that kind
    page.get_by_role("button", name="New scan").click()
    page.locator("#scan-name").fill("uploads only")
    page.locator("#scan-type").select_option("custom")
    page.locator("#scan-dir").fill("/srv/uploads;/tmp")
    page.locator("#scan-hosts label", has_text="app-1").locator("input").check()
    page.get_by_role("button", name="Start scan").click()
    expect(page.locator("#task-paid")).to_have_value("true")
    custom = task_row(page, "uploads only")
    expect(custom).to_contain_text("Custom")
    expect(page.locator("tr.task")).to_have_count(1)
    assert ["/srv/uploads", "/tmp"] in [w["scan_paths"] for w in agents[0].work()]


@sqlite_only
def test_paging_through_tasks(page: Page, server: ServerProcess, tenant: Tenant) -> None:
    agent = ProtocolAgent(server.url, tenant.enroll_token(), "pager-host")
    token = tenant.auth_token()
    for i in range(11):
        body = {"task_name": f"t{i:02d}", "scan_type": "quick", "action": "manual", "host_ids": [agent.host_id]}
        api(server, tenant, token, "POST", "task", json=body)
    sign_in(page, server, tenant.project_id, token)
    pager = page.locator(".pager[data-for=tasks]")
    expect(pager).to_contain_text("1–10 of 11")
    expect(page.locator("tr.task")).to_have_count(10)
    expect(pager.get_by_role("button", name="‹ Previous")).to_be_disabled()
    pager.get_by_role("button", name="Next ›").click()
    expect(pager).to_contain_text("11–11 of 11")
    expect(page.locator("tr.task")).to_have_count(1)
    expect(pager.get_by_role("button", name="Next ›")).to_be_disabled()
    page.locator("#task-days").select_option("1")
    expect(pager).to_contain_text("1–10 of 11")


@sqlite_only
def test_api_errors_reach_the_person(page: Page, server: ServerProcess, tenant: Tenant) -> None:
    ProtocolAgent(server.url, tenant.enroll_token(), "lonely")
    sign_in(page, server, tenant.project_id, "not-a-token")
    expect(page.locator("#login")).to_be_visible()
    expect(page.locator("#app")).to_be_hidden()
    expect(page.locator("#login-error")).to_contain_text("APIGW.0301")
    expect(page.locator("#login-error")).to_contain_text("Incorrect IAM authentication information")

    # a token of another project: the API's 403, shown as it says
    other = Tenant(server).auth_token()
    page.locator("#login-token").fill(other)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#login-error")).to_contain_text("HSS.0004")

    page.locator("#login-token").fill(tenant.auth_token())
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#login-error")).to_be_hidden()

    # no host chosen: the API refuses, and the page says why
    page.get_by_role("button", name="New scan").click()
    page.locator("#scan-name").fill("nobody")
    page.get_by_role("button", name="Start scan").click()
    expect(page.locator("#error")).to_be_visible()
    expect(page.locator("#error-code")).to_have_text("HSS.0001")
    expect(page.locator("#error-msg")).to_contain_text("host_ids")
    expect(page.locator("#tasks-table tbody")).to_contain_text("No scan tasks")

    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#login")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('fleetscan.token')") is None


def test_run_prints_a_console_url_that_signs_in(tmp_path: Path) -> None:
    port = free_port()
    cmd = [sys.executable, "-m", "fleetscan", "run", "--no-agent", "--data-dir", str(tmp_path), "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        banner = ""
        while "project id:" not in banner:
            line = proc.stdout.readline()
            assert line, "fleetscan run exited before its banner: " + banner
            banner += line
        console = re.search(r"console:\s+(\S+)", banner)
        assert console is not None, banner
        url = console.group(1)
        fragment = dict(part.split("=", 1) for part in url.split("#", 1)[1].split("&"))
        assert url.startswith(f"http://127.0.0.1:{port}/console/#")
        assert fragment["project"] == "fleetscan-demo"
        deadline = time.monotonic() + 30
        while True:
            try:
                served = httpx.get(url.split("#")[0])
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the server did not come up"
                time.sleep(0.1)
        assert served.status_code == 200 and "fleetscan console" in served.text
        assert "script-src 'self'" in served.headers["content-security-policy"]
        stats = httpx.get(
            f"http://127.0.0.1:{port}/v5/{fragment['project']}/antivirus/statistic",
            headers={"X-Auth-Token": fragment["token"]},
        )
        assert stats.status_code == 200 and stats.json()["total_task_num"] == 0
    finally:
        proc.terminate()
        proc.wait(timeout=30)
