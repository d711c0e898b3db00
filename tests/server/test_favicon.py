"""Browsers ask every site for `/favicon.ico`; the server answers with the console's icon, not a 404."""

from __future__ import annotations

import httpx

from tests.support.server import ServerProcess


def test_favicon_is_served(server: ServerProcess) -> None:
    icon = httpx.get(f"{server.url}/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.content.startswith(b"<svg")
    assert httpx.get(f"{server.url}/console/favicon.svg").content == icon.content
