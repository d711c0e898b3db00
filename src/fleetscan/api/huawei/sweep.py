"""A fleet sweep for a hash under the HSS edge, for the console: `/v5/{project_id}/fleetscan/sweep`.

Not an HSS API: a fleetscan extension path, authenticated and answered exactly as the HSS routes are
(`X-Auth-Token` or a signed request; `{error_code, error_msg}` errors).

- `GET ?sha256=H[&sha256=H2 | ,H2]` answers at once where the fleet reported such a file:
  `{known: [{sha256, host_id, host_name, file_path, last_seen}]}`; with `&task_id=T` (a sweep's task) also
  `{task_id, status, found: [...]}`: what that sweep found so far, to poll.
- `POST {"sha256": [H, ...], "host_ids"?: [...]}` starts the hash-only task (every host of the project unless
  `host_ids`) and answers `{task_id, name, hosts, missing_host_ids, known}`. The task is an ordinary full scan
  in both dialects, named `sweep sha256:<first 12 hex>…`; its findings are named `Sweep.SHA256.<first 12 hex>`.
"""

from __future__ import annotations

from typing import Any

from ...core.errors import InvalidParameter
from ...core.models import Scope
from ...core.service import ControlPlane
from ...core.sweep import MAX_HASHES, parse_hashes
from .operations import Input


def known(plane: ControlPlane, scope: Scope, given: Input) -> dict[str, Any]:
    hashes = given.query.many("sha256")
    if hashes is None:
        raise InvalidParameter("sha256", "is required")
    wanted = parse_hashes(hashes)
    answer: dict[str, Any] = {"known": [hit.as_dict() for hit in plane.sweep_known(scope, wanted)]}
    task_id = given.query.text("task_id", 1, 64)
    if task_id is not None:
        root = plane.get_root(scope, task_id=task_id)
        answer.update(
            task_id=root.task_id,
            status=root.status.value,
            found=[hit.as_dict() for hit in plane.sweep_found(scope, root.task_id, wanted)],
        )
    return answer


def start(plane: ControlPlane, scope: Scope, given: Input) -> dict[str, Any]:
    body = given.json()
    hashes = body.strings("sha256", 1, 64, required=True, max_items=MAX_HASHES)
    host_ids = body.strings("host_ids", 1, 64, max_items=10_000)
    plan, hits = plane.start_sweep(scope, hashes, host_ids)
    return {
        "task_id": plan.root.task_id,
        "name": plan.root.name,
        "hosts": len(plan.subtasks),
        "missing_host_ids": plan.missing_host_ids,
        "known": [hit.as_dict() for hit in hits],
    }
