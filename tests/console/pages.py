"""What the console tests share: signing the page in, calling the API beside it, finding rows."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page

from tests.support.server import ServerProcess, Tenant

sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
SHOTS = "FLEETSCAN_CONSOLE_SHOTS"  # a folder (docs/console) to save each page's screenshot into


def sign_in(page: Page, server: ServerProcess, project_id: str, token: str) -> None:
    page.goto(f"{server.url}/console/#project={project_id}&token={token}")


def api(server: ServerProcess, tenant: Tenant, token: str, method: str, path: str, **kw: Any) -> Any:
    url = f"{server.url}/v5/{tenant.project_id}/antivirus/{path}"
    reply = httpx.request(method, url, headers={"X-Auth-Token": token}, timeout=30, **kw)
    assert reply.status_code == 200, reply.text
    return reply.json()


def task_row(page: Page, name: str) -> Any:
    return page.locator("tr.task", has=page.get_by_text(name, exact=True))


def screenshot(page: Page, name: str, tmp_path: Path) -> Path:
    """A 1280x800 picture of the page, into $FLEETSCAN_CONSOLE_SHOTS when set (docs/console.md shows them)."""
    folder = Path(os.environ.get(SHOTS) or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 800})
    shot = folder / f"{name}.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    return shot
