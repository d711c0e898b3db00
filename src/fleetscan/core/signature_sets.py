"""Signature sets managed by the server: named per project, versioned, every version immutable.

The model is one version number per project. Each change (files added to a set, a set removed) writes a new
version holding every file of every set then active, so "which rules did this host scan with" is one integer: the
version a detection and a host record points at exactly one list of files, and the agent downloads exactly that.
A set is only a name grouping files, for people to add and remove them together.

A version's files are checked before they are stored with the engine that will load them on every agent
(`load_signatures`, damaged sources refused): a YARA rule that does not compile is refused with yara-x's message,
a damaged ClamAV database naming the file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from .errors import InvalidParameter, NotFound
from .validation import text_problem

__all__ = ["KINDS", "SignatureFile", "SignatureVersion", "kind_of", "new_file", "with_set", "without_set",
           "check_loadable", "version_digest", "describe"]

#: A file's kind from its suffix: YARA, the ClamAV databases and containers the engine reads, plain hash lists.
KINDS: dict[str, str] = {
    ".yar": "yara", ".yara": "yara", ".rule": "yara", ".rules": "yara",
    ".hdb": "hdb", ".hsb": "hsb", ".mdb": "mdb", ".ndb": "ndb", ".ldb": "ldb", ".cvd": "cvd", ".cld": "cld",
    ".sha256": "sha256", ".sha256sum": "sha256", ".hashes": "sha256",
}
MAX_NAME = 255
MAX_SET_NAME = 128


@dataclass(frozen=True)
class SignatureFile:
    set_name: str
    name: str
    kind: str
    sha256: str
    size: int
    content: bytes | None = None
    """The bytes; None where a listing did not load them."""


@dataclass
class SignatureVersion:
    """One immutable version of a project's signature sets."""

    account_id: int
    project_id: str
    version: int
    digest: str
    created_at: int
    files: tuple[SignatureFile, ...] = ()
    id: int = 0

    @property
    def etag(self) -> str:
        return f'"{self.digest}"'

    def sets(self) -> dict[str, list[SignatureFile]]:
        out: dict[str, list[SignatureFile]] = {}
        for f in sorted(self.files, key=lambda f: (f.set_name, f.name)):
            out.setdefault(f.set_name, []).append(f)
        return out


def describe(version: SignatureVersion | None) -> dict[str, Any]:
    """A version as `fleetscan signatures --json` and the console's route show it: number, ETag, time, sets."""
    if version is None:
        return {"version": None, "etag": None, "created_at": None, "sets": {}}
    return {
        "version": version.version,
        "etag": version.etag,
        "created_at": version.created_at,
        "sets": {
            name: [{"name": f.name, "kind": f.kind, "sha256": f.sha256, "size": f.size} for f in files]
            for name, files in version.sets().items()
        },
    }


def kind_of(name: str) -> str:
    kind = KINDS.get(os.path.splitext(name)[1].lower())
    if kind is None:
        known = " ".join(sorted(KINDS))
        raise InvalidParameter(name, f"not a signature file this server keeps (by suffix: {known})")
    return kind


def _check_name(what: str, value: str, width: int) -> None:
    problem = text_problem(value)
    if problem is None and not 0 < len(value) <= width:
        problem = f"must be 1 to {width} characters"
    if problem is None and ("/" in value or "\\" in value or value.startswith(".")):
        problem = "must be a plain file name (no folder, not hidden)"
    if problem is not None:
        raise InvalidParameter(what, problem)


def new_file(set_name: str, name: str, content: bytes) -> SignatureFile:
    """A file for a set, its name and kind checked (its content is checked with the whole version)."""
    _check_name("name", set_name, MAX_SET_NAME)
    _check_name("file name", name, MAX_NAME)
    return SignatureFile(set_name, name, kind_of(name), hashlib.sha256(content).hexdigest(), len(content), content)


def with_set(current: Sequence[SignatureFile], set_name: str, files: Sequence[SignatureFile]) -> list[SignatureFile]:
    """The files of a new version: the set's files replaced by same-named new ones, the others kept."""
    names = [f.name for f in files]
    if len(set(names)) != len(names):
        raise InvalidParameter("file name", "two files of one set have the same name")
    added = {f.name: replace(f, set_name=set_name) for f in files}
    kept = [f for f in current if not (f.set_name == set_name and f.name in added)]
    return kept + list(added.values())


def without_set(current: Sequence[SignatureFile], set_name: str) -> list[SignatureFile]:
    kept = [f for f in current if f.set_name != set_name]
    if len(kept) == len(current):
        raise NotFound("signature set", set_name)
    return kept


def version_digest(files: Sequence[SignatureFile]) -> str:
    """What a version holds, as its ETag: each file's set, name and content digest."""
    h = hashlib.sha256(b"fleetscan-signature-version-1\n")
    for f in sorted(files, key=lambda f: (f.set_name, f.name)):
        h.update(f"{f.set_name}\0{f.name}\0{f.sha256}\n".encode())
    return h.hexdigest()


def check_loadable(files: Sequence[SignatureFile]) -> None:
    """Load the files with the engine, as an agent will, refusing damaged ones (InvalidParameter naming them)."""
    from ..engine.signatures import SignatureSourceError, load_signatures

    if not files:
        return
    with tempfile.TemporaryDirectory(prefix="fleetscan-sigcheck-") as tmp:
        paths = []
        for n, f in enumerate(files):
            assert f.content is not None
            folder = os.path.join(tmp, str(n))
            os.mkdir(folder)
            path = os.path.join(folder, f.name)
            with open(path, "wb") as out:
                out.write(f.content)
            paths.append(path)
        try:
            load_signatures(paths, ignore_bad=False)
        except SignatureSourceError as exc:
            message = str(exc)
            for n, f in enumerate(files):
                message = message.replace(os.path.join(tmp, str(n), ""), f"{f.set_name}/")
            raise InvalidParameter("signatures", " ".join(message.split())) from None
