"""The signature set the server manages, as this agent holds it: `state/central/`.

`/work` offers the project's newest version; the agent downloads it once (a version never changes, and a second
ask with its ETag is a 304), checks every file's sha256, writes it under `v<version>/<set>/<file>` and only then
points `current.json` at it, so a failed or half download leaves the last good set in use. The engine loads the
folder beside the agent's local `--signatures` (docs/engine.md, "Central and local signatures").
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .client import AgentClient
from .log import fields
from .state import read_json, write_atomic

log = logging.getLogger("fleetscan.agent")


@dataclass(frozen=True)
class HeldSet:
    version: int
    etag: str
    folder: Path


def _plain(name: object) -> str:
    """A set or file name from the server, refused unless it is one plain path component."""
    if not isinstance(name, str) or not name or name.startswith(".") or os.path.basename(name) != name:
        raise ValueError(f"not a plain name: {name!r}")
    return name


class CentralSignatures:
    def __init__(self, root: Path, client: AgentClient) -> None:
        self.root = root
        self.client = client

    def held(self) -> HeldSet | None:
        try:
            data = read_json(self.root / "current.json")
        except (OSError, ValueError):
            return None
        if not data:
            return None
        return HeldSet(int(data["version"]), str(data["etag"]), self.root / f"v{int(data['version'])}")

    def update(self, offer: dict[str, Any] | None) -> None:
        """Hold the offered version; on any failure keep the last good one, and say so in the log."""
        if not offer:
            return
        held = self.held()
        if held is not None and held.version == offer.get("version") and held.etag == offer.get("etag"):
            return
        try:
            body = self.client.signatures(str(offer["url"]), held.etag if held else None)
            if body is None:  # 304: what we hold is still it
                return
            self._store(body, held)
        except Exception as exc:  # the next /work offers it again
            log.warning("central signatures not updated",
                        extra=fields(version=offer.get("version"), error=repr(exc)[:300]))

    def _store(self, body: dict[str, Any], before: HeldSet | None) -> None:
        version, etag = int(body["version"]), str(body["etag"])
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=self.root, prefix=".download-"))
        try:
            for item in body["files"]:
                content = base64.b64decode(item["content_b64"], validate=True)
                if hashlib.sha256(content).hexdigest() != item["sha256"]:
                    raise ValueError(f"{item['name']}: content does not match its sha256")
                folder = staging / _plain(item["set"])
                folder.mkdir(exist_ok=True)
                (folder / _plain(item["name"])).write_bytes(content)
            final = self.root / f"v{version}"
            shutil.rmtree(final, ignore_errors=True)
            os.replace(staging, final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        write_atomic(self.root / "current.json", {"version": version, "etag": etag})
        log.info("central signatures downloaded", extra=fields(version=version, files=len(body["files"])))
        keep = {f"v{version}", before.folder.name if before else ""}  # the one before: a scan may be reading it
        for old in self.root.glob("v*"):
            if old.name not in keep and old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
