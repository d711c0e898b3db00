"""Acting from the console: handling alerts, the quarantine, the history, policies, hosts, signature sets.

Each flow runs in a real headless Chromium against a real server, with agents speaking the agent protocol,
and checks the API agrees with what the page showed. With FLEETSCAN_CONSOLE_SHOTS=docs/console the tests
also save the screenshots docs/console.md shows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.console.pages import api, screenshot, sign_in, sqlite_only, task_row
from tests.support.agent_protocol import ProtocolAgent, finding
from tests.support.server import ServerProcess, Tenant


def scanned(
    server: ServerProcess, tenant: Tenant, token: str, agent: ProtocolAgent, name: str, paths: list[str]
) -> None:
    """A finished scan of `agent` that found `paths`."""
    body = {"task_name": name, "scan_type": "quick", "action": "manual", "host_ids": [agent.host_id]}
    api(server, tenant, token, "POST", "task", json=body)
    (work,) = agent.work()
    found = [finding(p) for p in paths]
    assert agent.progress(work["subtask_id"], files_scanned=100, progress=50, detections=found).status_code == 200
    assert agent.complete(work["subtask_id"], "success").status_code == 200


def detection(page: Page, path: str) -> Any:
    return page.locator("#detections-table tr.detection", has_text=path)


def answer_actions(agent: ProtocolAgent, kind: str) -> int:
    """The agent does what it was asked (quarantine or restore) and says so; answers how many it did."""
    actions = [a for a in agent.http.get("/agent/v1/work").json()["actions"] if a["kind"] == kind]
    for action in actions:
        facts = {"quarantine_id": action["quarantine_id"], "sha256": action["file_hash"], "size": 10}
        facts |= {"uid": 0, "gid": 0, "mode": 0o644, "mtime": 1_700_000_000_000}
        done = {"ok": True, "quarantine": facts}
        reply = agent.http.post(f"/agent/v1/actions/{action['action_id']}/result", json=done)
        assert reply.status_code == 200, reply.text
    return len(actions)


@sqlite_only
def test_handle_one_and_many_with_a_memo_then_read_the_history(
    page: Page, server: ServerProcess, tenant: Tenant, tmp_path: Path
) -> None:
    web = ProtocolAgent(server.url, tenant.enroll_token(), "web-01", private_ip="10.0.0.11")
    token = tenant.auth_token()
    scanned(server, tenant, token, web, "nightly", ["/srv/a.php", "/srv/b.php", "/srv/c.php"])
    sign_in(page, server, tenant.project_id, token)
    page.get_by_role("tab", name="Detections").click()
    expect(page.locator("#detections-table tr.detection")).to_have_count(3)
    expect(page.locator("#handle-bar")).to_be_hidden()

    # one: the bar offers what the result's operate_accept_list allows, in words
    detection(page, "/srv/a.php").locator("input.pick").check()
    bar = page.locator("#handle-bar")
    expect(bar).to_contain_text("1 selected")
    for offered in ("Isolate", "Ignore", "Whitelist", "Mark handled"):
        expect(bar.get_by_role("button", name=offered, exact=True)).to_be_visible()
    expect(bar.get_by_role("button", name="Restore")).to_have_count(0)
    page.locator("#handle-memo").fill("test fixture <b>kept</b>")
    bar.get_by_role("button", name="Ignore", exact=True).click()
    a = detection(page, "/srv/a.php")
    expect(a.locator(".badge").last).to_have_text("Handled")
    expect(a).to_contain_text("ignored")
    expect(a.locator(".memo")).to_have_text("test fixture <b>kept</b>")
    expect(bar).to_be_hidden()

    # a handled and an unhandled result share no operation
    a.locator("input.pick").check()
    detection(page, "/srv/b.php").locator("input.pick").check()
    expect(bar).to_contain_text("no operation fits every selected alert")
    a.locator("input.pick").uncheck()

    # many: two at once, one memo
    detection(page, "/srv/c.php").locator("input.pick").check()
    expect(bar).to_contain_text("2 selected")
    page.locator("#handle-memo").fill("vendor tool, known good")
    bar.get_by_role("button", name="Whitelist", exact=True).click()
    for path in ("/srv/b.php", "/srv/c.php"):
        expect(detection(page, path).locator(".badge").last).to_have_text("Handled")
        expect(detection(page, path).locator(".memo")).to_have_text("vendor tool, known good")
    expect(page.locator("#stat-malware")).to_have_text("3")  # handled alerts stay open until a scan resolves them
    expect(detection(page, "/srv/b.php")).to_contain_text("whitelisted")
    detection(page, "/srv/b.php").locator("input.pick").check()  # the picture shows the bar and its offers
    expect(bar).to_contain_text("1 selected")  # its offers are what operate_accept_list says
    screenshot(page, "detections", tmp_path)

    listed = api(server, tenant, token, "GET", "result", params={"offset": 0, "limit": 10})["data_list"]
    assert sorted((r["file_info"]["file_path"], r["handle_method"]) for r in listed) == [
        ("/srv/a.php", "ignore"),
        ("/srv/b.php", "add_to_alarm_whitelist"),
        ("/srv/c.php", "add_to_alarm_whitelist"),
    ]

    page.get_by_role("tab", name="History").click()
    history = page.locator("#history-table tr.history")
    expect(history).to_have_count(3)
    ignored = history.filter(has_text="/srv/a.php")
    for shown in ("Ignore", "web-01", "token", "test fixture <b>kept</b>"):
        expect(ignored).to_contain_text(shown)
    expect(history.filter(has_text="vendor tool, known good")).to_have_count(2)
    expect(page.locator("#history-table b")).to_have_count(0)
    screenshot(page, "history", tmp_path)


@sqlite_only
def test_isolate_then_restore_from_the_quarantine(
    page: Page, server: ServerProcess, tenant: Tenant, tmp_path: Path
) -> None:
    db = ProtocolAgent(server.url, tenant.enroll_token(), "db-01", private_ip="10.0.0.12")
    token = tenant.auth_token()
    scanned(server, tenant, token, db, "weekly", ["/var/lib/dropper.elf"])
    sign_in(page, server, tenant.project_id, token)
    page.get_by_role("tab", name="Quarantine").click()
    expect(page.locator("#quarantine-table tbody")).to_contain_text("No isolated files")

    page.get_by_role("tab", name="Detections").click()
    detection(page, "/var/lib/dropper.elf").locator("input.pick").check()
    page.locator("#handle-memo").fill("isolate first, ask later")
    page.locator("#handle-bar").get_by_role("button", name="Isolate", exact=True).click()
    expect(page.locator("#handle-bar")).to_be_hidden()

    page.get_by_role("tab", name="Quarantine").click()
    held = page.locator("#quarantine-table tr.isolated", has_text="/var/lib/dropper.elf")
    expect(held.locator(".badge")).to_have_text("Isolating")
    expect(held.get_by_role("button", name="Restore")).to_have_count(0)  # not until the agent has it
    assert answer_actions(db, "quarantine") == 1
    page.get_by_role("button", name="Refresh").click()
    expect(held.locator(".badge")).to_have_text("Isolated")
    expect(held).to_contain_text("db-01")
    expect(held).to_contain_text(finding("/var/lib/dropper.elf")["file_hash"])
    screenshot(page, "quarantine", tmp_path)

    page.once("dialog", lambda dialog: dialog.accept())
    held.get_by_role("button", name="Restore").click()
    expect(held.locator(".badge")).to_have_text("Restoring")
    assert answer_actions(db, "restore") == 1
    expect(held.locator(".badge")).to_have_text("Restored")  # no click: the page follows a file being moved

    page.get_by_role("tab", name="Detections").click()
    expect(detection(page, "/var/lib/dropper.elf").locator(".badge").last).to_have_text("Unhandled")
    page.get_by_role("tab", name="History").click()
    expect(page.locator("#history-table tr.history")).to_have_count(4)  # isolate, done, restore, done
    expect(page.locator("#history-table")).to_contain_text("isolate first, ask later")


@sqlite_only
def test_create_edit_and_delete_a_policy(page: Page, server: ServerProcess, tenant: Tenant, tmp_path: Path) -> None:
    enroll = tenant.enroll_token()
    for name in ("app-1", "app-2"):
        ProtocolAgent(server.url, enroll, name)
    token = tenant.auth_token()
    sign_in(page, server, tenant.project_id, token)
    page.get_by_role("tab", name="Policies").click()
    expect(page.locator("#policies-table tbody")).to_contain_text("No policies yet")

    page.get_by_role("button", name="New policy").click()
    page.locator("#policy-name").fill("weekly <i>sweep</i>")
    page.locator("#policy-period").select_option("week")
    page.locator("#policy-date").fill("2")
    page.locator("#policy-time").fill("03:30")
    page.locator("#policy-hosts label", has_text="app-1").locator("input").check()
    page.get_by_role("button", name="Save policy").click()
    row = page.locator("#policies-table tr.policy")
    expect(row).to_have_count(1)
    for shown in ("weekly <i>sweep</i>", "Quick or full", "every Monday at 03:30", "app-1", "Report only"):
        expect(row).to_contain_text(shown)
    expect(page.locator("#policy-form-card")).to_be_hidden()

    row.get_by_role("button", name="Edit").click()
    expect(page.locator("#policy-name")).to_have_value("weekly <i>sweep</i>")
    expect(page.locator("#policy-hosts label", has_text="app-1").locator("input")).to_be_checked()
    expect(page.locator("#policy-type")).to_have_value("")  # kept as it is unless changed
    page.locator("#policy-name").fill("nightly full")
    page.locator("#policy-period").select_option("day")
    page.locator("#policy-type").select_option("custom")
    page.locator("#policy-dir").fill("/srv;/home")
    page.locator("#policy-action").select_option("auto")
    page.locator("#policy-hosts label", has_text="app-2").locator("input").check()
    screenshot(page, "policies", tmp_path)  # the list, and the form editing its policy
    page.get_by_role("button", name="Save policy").click()
    for shown in ("nightly full", "Custom", "/srv;/home", "every day at 03:30", "app-1, app-2", "Isolate at once"):
        expect(row).to_contain_text(shown)

    (policy,) = api(server, tenant, token, "GET", "policy", params={"offset": 0, "limit": 10})["data_list"]
    assert (policy["policy_name"], policy["scan_period"], policy["scan_dir"], policy["action"]) == (
        "nightly full",
        "day",
        "/srv;/home",
        "auto",
    )
    assert (policy["scan_hour"], policy["scan_minute"], policy["host_num"]) == (3, 30, 2)

    # once, at a time to come: a `later` policy
    row.get_by_role("button", name="Edit").click()
    expect(page.locator("#policy-type")).to_have_value("custom")
    page.locator("#policy-period").select_option("once")
    expect(page.locator("#policy-time")).to_be_hidden()
    page.locator("#policy-once").fill("2099-01-02T03:04")
    page.get_by_role("button", name="Save policy").click()
    expect(row.locator("td.when")).to_contain_text("once, ")
    (policy,) = api(server, tenant, token, "GET", "policy", params={"offset": 0, "limit": 10})["data_list"]
    assert (policy["start_type"], policy["scan_dir"]) == ("later", "/srv;/home")
    assert policy["scan_time"] == page.evaluate("new Date('2099-01-02T03:04').getTime()")

    page.once("dialog", lambda dialog: dialog.dismiss())
    row.get_by_role("button", name="Delete").click()
    expect(row).to_have_count(1)
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Delete").click()
    expect(page.locator("#policies-table tbody")).to_contain_text("No policies yet")
    assert api(server, tenant, token, "GET", "policy", params={"offset": 0, "limit": 10})["total_num"] == 0


@sqlite_only
def test_a_running_task_shows_its_progress_and_hosts_their_state(
    page: Page, server: ServerProcess, tenant: Tenant, tmp_path: Path
) -> None:
    enroll = tenant.enroll_token()
    web = ProtocolAgent(server.url, enroll, "web-01", private_ip="10.0.0.11", agent_version="1.4.2")
    ProtocolAgent(server.url, enroll, "idle-01", private_ip="10.0.0.13")
    token = tenant.auth_token()
    scanned(server, tenant, token, web, "yesterday", ["/srv/old.php"])
    body = {"task_name": "running now", "scan_type": "full", "action": "manual", "host_ids": [web.host_id]}
    api(server, tenant, token, "POST", "task", json=body)
    (work,) = web.work()
    assert web.progress(work["subtask_id"], files_scanned=4000, progress=40).status_code == 200

    sign_in(page, server, tenant.project_id, token)
    row = task_row(page, "running now")
    bar = row.get_by_role("progressbar")  # in the row itself: nothing expanded
    expect(bar).to_have_attribute("aria-valuenow", "40")
    expect(row.locator(".pct")).to_have_text("40%")
    expect(row).to_contain_text("0 of 1 done")
    expect(page.locator("tr.subtask")).to_have_count(0)
    expect(task_row(page, "yesterday").get_by_role("progressbar")).to_have_count(0)  # finished: no bar
    expect(page.locator("#task-paid option")).to_have_text(
        ["Standard scans (quick, full, and folder scans started from the Alibaba API)",
         "Folder scans started here or from the HSS API"]
    )
    screenshot(page, "tasks", tmp_path)

    page.get_by_role("tab", name="Hosts").click()
    hosts = page.locator("#hosts-table tr.host")
    expect(hosts).to_have_count(2)
    busy = hosts.filter(has_text="web-01")
    expect(busy.locator(".agent-version")).to_have_text("agent 1.4.2")
    expect(busy.locator(".last-scan")).to_contain_text("running now · Scanning")
    expect(busy.locator(".open-alerts")).to_have_text("1")
    expect(busy.locator(".sig-version")).to_have_text("local only")
    idle = hosts.filter(has_text="idle-01")
    expect(idle.locator(".last-scan")).to_have_text("never")
    expect(idle.locator(".open-alerts")).to_have_text("0")
    listed = api(server, tenant, token, "GET", "host-management/hosts", params={"offset": 0, "limit": 10})
    assert {h["host_name"]: h["open_alert_num"] for h in listed["data_list"]} == {"web-01": 1, "idle-01": 0}
    screenshot(page, "hosts", tmp_path)


@sqlite_only
def test_upload_and_remove_a_signature_set(page: Page, server: ServerProcess, tenant: Tenant, tmp_path: Path) -> None:
    token = tenant.auth_token()
    rule = tmp_path / "team.yar"
    rule.write_bytes(b'rule team_marker { strings: $a = "team-marker" condition: $a }\n')
    broken = tmp_path / "broken.yar"
    broken.write_bytes(b"rule broken { condition: $nothing }\n")
    sign_in(page, server, tenant.project_id, token)
    page.get_by_role("tab", name="Signatures").click()
    expect(page.locator("#sig-version")).to_contain_text("No signature sets yet")

    page.locator("#sig-name").fill("team")
    page.locator("#sig-files").set_input_files(str(rule))
    page.get_by_role("button", name="Upload").click()
    listed = page.locator("#signatures-table tr.sig-file")
    expect(listed).to_have_count(1)
    for shown in ("team", "team.yar", "yara"):
        expect(listed).to_contain_text(shown)
    expect(page.locator("#sig-version")).to_contain_text("Version 1")

    page.locator("#sig-files").set_input_files(str(broken))
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#error")).to_be_visible()
    expect(page.locator("#error-msg")).to_contain_text("broken.yar")
    expect(listed).to_have_count(1)
    page.locator("#error-close").click()
    screenshot(page, "signatures", tmp_path)

    url = f"{server.url}/v5/{tenant.project_id}/fleetscan/signature-sets"
    assert httpx.get(url, headers={"X-Auth-Token": token}).json()["sets"]["team"][0]["name"] == "team.yar"

    page.once("dialog", lambda dialog: dialog.accept())
    listed.get_by_role("button", name="Remove set").click()
    expect(page.locator("#signatures-table tbody")).to_contain_text("No signature sets")
    assert httpx.get(url, headers={"X-Auth-Token": token}).json()["sets"] == {}


@sqlite_only
def test_favicon(server: ServerProcess) -> None:
    reply = httpx.get(f"{server.url}/favicon.ico")
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "image/x-icon"
    assert reply.content[:4] == b"\x00\x00\x01\x00"  # an ICO header
