"""fleetscan's signature sets under the HSS edge, for the console: `/v5/{project_id}/fleetscan/signature-sets`.

Not an HSS API (HSS has none for this): a fleetscan extension path, authenticated and answered exactly as the
HSS routes are (`X-Auth-Token` or a signed request; `{error_code, error_msg}` errors). Files travel as base64 in
JSON; the route's body cap is its own (`fleetscan server --max-signature-body-bytes`), larger than the 1 MiB of
the cloud APIs, since a ClamAV database is tens of megabytes.

- `GET` answers the newest version (`version`, `etag`, `created_at`, `sets: {name: [{name, kind, sha256, size}]}`),
  or `?version=N` that one.
- `POST {"name": set, "files": [{"name": "x.yar", "content_b64": "..."}]}` checks the files with the engine and
  answers the new version; a rule that does not compile is a 400 with the compiler's message.
- `DELETE ?name=set` answers the new version without that set; an unknown set is a 404.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from ...core.errors import InvalidParameter, NotFound
from ...core.models import Scope
from ...core.service import ControlPlane
from ...core.signature_sets import MAX_NAME, MAX_SET_NAME, describe
from .operations import Input

MAX_FILES = 1000


def list_sets(plane: ControlPlane, scope: Scope, given: Input) -> dict[str, Any]:
    version = given.query.integer("version", 1, 2**31 - 1)
    found = plane.signature_version(scope, version)
    if found is None and version is not None:
        raise NotFound("signature version", version)
    return describe(found)


def add_set(plane: ControlPlane, scope: Scope, given: Input) -> dict[str, Any]:
    body = given.json()
    name = body.text("name", 1, MAX_SET_NAME, required=True)
    assert name is not None
    files = []
    for item in body.objects("files", required=True, max_items=MAX_FILES):
        file_name = item.text("name", 1, MAX_NAME, required=True)
        raw = item.data.get("content_b64")
        if not isinstance(raw, str):
            raise InvalidParameter("files.content_b64", "is required: the file's bytes in base64")
        try:
            content = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidParameter("files.content_b64", "must be base64") from None
        assert file_name is not None
        files.append((file_name, content))
    return describe(plane.add_signatures(scope, name, files))


def remove_set(plane: ControlPlane, scope: Scope, given: Input) -> dict[str, Any]:
    name = given.query.text("name", 1, MAX_SET_NAME, required=True)
    assert name is not None
    return describe(plane.remove_signature_set(scope, name))
