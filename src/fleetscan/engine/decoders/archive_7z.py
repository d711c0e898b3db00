"""What libarchive cannot read and 7-Zip can: ARJ archives and zip members compressed with PKWARE implode.

No maintained library reads these in process (libarchive has no ARJ reader and no implode; Python has neither),
and both are rare on servers, so they go through p7zip's `7z` when it is installed (Debian `p7zip-full`): the
layer is written to a private temporary folder, listed, checked against the limits by the sizes its headers
declare, extracted there with a dummy password (an encrypted archive fails instead of prompting) under a time
limit, and the regular files extracted are read back as layers, never following a link. Without `7z` the layer
is reported `unsupported`, never clean.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator

from ..limits import Budget
from ..results import SkipReason
from . import Layer, Undecodable, Unopened

__all__ = ["seven_zip", "extract_7z"]

TIMEOUT = 60
_DUMMY_PASSWORD = "-pfleetscan-no-password"


def seven_zip() -> str | None:
    return shutil.which("7z") or shutil.which("7za")


def _listing(tool: str, src: str) -> list[dict[str, str]]:
    out = subprocess.run([tool, "l", "-slt", _DUMMY_PASSWORD, "--", src], capture_output=True, text=True,
                         errors="replace", timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    blocks = out.stdout.split("----------\n", 1)[-1].split("\n\n")
    entries = []
    for block in blocks:
        fields = dict(line.split(" = ", 1) for line in block.splitlines() if " = " in line)
        if "Path" in fields:
            entries.append(fields)
    if out.returncode != 0 and not entries:
        raise Undecodable(_reason(out.stdout + out.stderr), _first_error(out.stdout + out.stderr))
    return entries


def _reason(text: str) -> SkipReason:
    low = text.lower()
    if "wrong password" in low or "encrypted" in low:
        return SkipReason.ENCRYPTED
    if "unsupported" in low:
        return SkipReason.UNSUPPORTED
    return SkipReason.CORRUPT


def _first_error(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if "error" in line.lower() or "cannot" in line.lower()]
    return "7z: " + ("; ".join(lines[:2]) or "cannot open the archive")


def extract_7z(data: bytes, budget: Budget, only: str | None = None) -> Iterator[Layer | Unopened]:
    """The members of ``data`` (or the one named ``only``) as 7-Zip extracts them."""
    tool = seven_zip()
    if tool is None:
        raise Undecodable(SkipReason.UNSUPPORTED, "needs 7-Zip (Debian p7zip-full), which is not installed")
    lim = budget.limits
    with tempfile.TemporaryDirectory(prefix="fleetscan-7z-") as tmp:
        src = os.path.join(tmp, "layer")
        fd = os.open(src, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        wanted: list[str] = []
        room = lim.max_expanded - budget.expanded
        for entry in _listing(tool, src):
            path = entry["Path"]
            if entry.get("Folder") == "+" or path == src or (only is not None and path != only):
                continue
            size = int(entry.get("Size") or 0)
            if size > lim.max_member_size:
                yield Unopened(path, SkipReason.ARCHIVE_LIMIT,
                               f"member of {size} bytes over the {lim.max_member_size} bytes member limit")
            elif size > room:
                budget.stop(f"expanded size over {lim.max_expanded} bytes at {path}")
            else:
                room -= size
                wanted.append(path)
        if not wanted:
            return
        out_dir = os.path.join(tmp, "out")
        run = subprocess.run([tool, "x", "-y", "-bd", _DUMMY_PASSWORD, f"-o{out_dir}", "--", src, *wanted],
                             capture_output=True, text=True, errors="replace", timeout=TIMEOUT,
                             stdin=subprocess.DEVNULL)
        for path in wanted:
            full = os.path.normpath(os.path.join(out_dir, path))
            if not full.startswith(out_dir + os.sep):
                continue  # a name leading out of the folder: 7-Zip does not write there either
            try:
                fd = os.open(full, os.O_RDONLY | os.O_NOFOLLOW)
            except OSError:
                yield Unopened(path, _reason(run.stdout + run.stderr), _first_error(run.stdout + run.stderr))
                continue
            with os.fdopen(fd, "rb") as fh:
                if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                    continue
                content = fh.read(lim.max_member_size + 1)
            if len(content) > lim.max_member_size:
                content = content[: lim.max_member_size]
            budget.charge(len(content), path)
            yield Layer(path, content)
