"""What the agent does to files on the server's behalf: the actions `/work` hands out (quarantine, restore), the
quarantines of an `auto` task, and the whitelist that keeps known-good files out of reports.

Every action is idempotent by its ids (see quarantine.py) and answered once it is done; if the answer is lost,
the action stays pending on the server, comes back with the next `/work`, and doing it again changes nothing.

"Confirmed", for an `auto` task, means: the engine matched a signature on a regular file it could read (the
finding has a real sha256). Every engine detection is a signature match (there are no heuristic guesses), so
any such finding is quarantined, whatever its severity; a hit inside an archive quarantines the whole archive.
"""

from __future__ import annotations

import hashlib
import logging
import os
from typing import Any

from . import paths
from .client import AgentClient, ProtocolError
from .findings import INT64_MAX
from .log import fields
from .quarantine import QuarantineError, QuarantineStore

log = logging.getLogger("fleetscan.agent")
NO_HASH = "0" * 64


def exact_path(item: dict[str, Any]) -> str:
    """The path a finding or an action names, as ``os`` takes it: its exact form, else its display form."""
    encoded = item.get("file_path_b64")
    return paths.from_exact(encoded) if encoded else str(item["file_path"])


def real_path(root: str | None, shown: str) -> str:
    """The file on disk behind a finding's path: the container of an archive member, under the scan root."""
    path = shown
    if not os.path.lexists(os.path.join(root, path.lstrip("/")) if root else path) and "!" in path:
        path = path.split("!", 1)[0]
    return os.path.join(root, path.lstrip("/")) if root else path


class Whitelist:
    def __init__(self, data: dict[str, Any] | None = None) -> None:
        data = data or {}
        self.hashes = frozenset(data.get("file_hashes") or ())
        self.paths = frozenset(data.get("file_paths") or ())

    def matches(self, finding: dict[str, Any]) -> bool:
        return finding["file_hash"] in self.hashes or finding["file_path"] in self.paths


class Actions:
    def __init__(self, store: QuarantineStore, client: AgentClient, root: str | None) -> None:
        self.store = store
        self.client = client
        self.root = root

    def run(self, todo: list[dict[str, Any]]) -> None:
        for action in todo:
            body = self.execute(action)
            try:
                self.client.action_result(action["action_id"], body)
            except ProtocolError as exc:  # the server no longer wants it: nothing to retry
                log.error("action answer refused", extra={"fields": {"action": action["action_id"], "error": str(exc)}})

    def execute(self, action: dict[str, Any]) -> dict[str, Any]:
        kind, qid = action["kind"], action["quarantine_id"]
        try:
            if kind == "quarantine":
                path = real_path(self.root, exact_path(action))
                expected = action.get("file_hash") if action.get("file_hash") not in (None, "", NO_HASH) else None
                record = self.store.quarantine(qid, path, expected)
            elif kind == "restore":
                record = self.store.restore(qid)
            else:
                return {"ok": False, "error": f"unknown action kind {kind!r}"}
        except QuarantineError as exc:
            log.warning("action failed", extra=fields(action=action["action_id"], kind=kind, error=str(exc)))
            return {"ok": False, "error": paths.display(str(exc))[:512]}
        except (OSError, ValueError) as exc:
            return {"ok": False, "error": paths.display(f"{kind} failed: {exc}"[:512])}
        log.info("action done", extra=fields(action=action["action_id"], kind=kind, path=record.original_path))
        return {"ok": True, "error": "", "quarantine": _facts(record.public())}

    def auto_quarantine(self, subtask_id: str, finding: dict[str, Any]) -> dict[str, Any] | None:
        """Quarantine a confirmed finding of an `auto` task; the facts to report with it, or None."""
        if finding["file_hash"] == NO_HASH:
            return None
        path = exact_path(finding)
        key = f"{subtask_id}\0{path}\0{finding['file_hash']}"
        qid = hashlib.sha256(os.fsencode(key)).hexdigest()[:32]  # the same finding again is the same quarantine
        try:
            record = self.store.quarantine(qid, real_path(self.root, path), finding["file_hash"])
        except (QuarantineError, OSError) as exc:
            log.warning("auto quarantine failed", extra={"fields": {"path": finding["file_path"], "error": str(exc)}})
            return None
        return _facts(record.public())


def _facts(public: dict[str, Any]) -> dict[str, Any]:
    """The facts the protocol carries, each within its bound (an mtime of 1e16 s is clamped as on findings)."""
    keys = ("quarantine_id", "sha256", "md5", "size", "uid", "gid", "mode", "mtime")
    facts = {k: public[k] for k in keys}
    for k in ("size", "mtime"):
        facts[k] = min(max(int(facts[k]), 0), INT64_MAX)
    return facts
