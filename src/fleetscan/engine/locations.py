"""What quick, full and custom scans cover, per operating system, optionally inside a mounted ``root``.

Quick scans look where malware lands: temporary folders, homes, web roots, scheduled-task and start-up
locations, and the folders binaries run from. Full scans cover every local filesystem and never enter
``/proc``, ``/sys``, ``/dev`` or network and pseudo filesystems; those are reported as excluded, not hidden.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .walk import WalkRoot

__all__ = ["QUICK_LOCATIONS", "PSEUDO_FS", "NETWORK_FS", "ScanScope", "resolve_scope", "read_mounts", "own_folders",
           "PACKAGE_FOLDER"]

QUICK_LOCATIONS: dict[str, tuple[str, ...]] = {
    "linux": (
        "/tmp", "/var/tmp", "/dev/shm", "/run/shm",
        "/root", "/home",
        "/var/www", "/srv", "/usr/share/nginx/html", "/var/lib/tomcat9/webapps",
        "/etc/crontab", "/etc/cron.d", "/etc/cron.hourly", "/etc/cron.daily", "/etc/cron.weekly",
        "/etc/cron.monthly", "/var/spool/cron", "/etc/anacrontab",
        "/etc/init.d", "/etc/rc.local", "/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system",
        "/etc/profile.d", "/etc/ld.so.preload", "/etc/xdg/autostart",
        "/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin", "/opt",
    ),
    "darwin": (
        "/tmp", "/private/tmp", "/private/var/tmp", "/Users", "/var/root",
        "/Library/LaunchAgents", "/Library/LaunchDaemons", "/Library/StartupItems", "/Library/WebServer",
        "/usr/lib/cron/tabs", "/etc/periodic",
        "/usr/local/bin", "/opt/homebrew/bin", "/Applications",
    ),
    "win32": (
        "C:/Windows/Temp", "C:/Users", "C:/ProgramData/Microsoft/Windows/Start Menu/Programs/StartUp",
        "C:/Windows/System32/Tasks", "C:/Windows/Tasks", "C:/inetpub/wwwroot", "C:/ProgramData",
    ),
}

PSEUDO_FS = frozenset({
    "proc", "sysfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "securityfs", "debugfs", "tracefs", "pstore",
    "bpf", "configfs", "fusectl", "mqueue", "hugetlbfs", "autofs", "binfmt_misc", "rpc_pipefs", "nsfs",
    "efivarfs", "selinuxfs", "nfsd",
})
NETWORK_FS = frozenset({
    "nfs", "nfs4", "cifs", "smb3", "smbfs", "sshfs", "fuse.sshfs", "ceph", "glusterfs", "fuse.glusterfs", "9p",
    "afs", "davfs", "fuse.s3fs", "fuse.rclone", "lustre", "gpfs", "ncpfs", "virtiofs",
})
#: Never entered by a full scan, whatever is mounted there.
FULL_SCAN_PRUNED = ("/proc", "/sys", "/dev")
#: The installed ``fleetscan`` package: excluded from every scan, like fleetscan's other own folders.
PACKAGE_FOLDER = str(Path(__file__).resolve().parents[1])


@dataclass(frozen=True)
class ScanScope:
    targets: list[WalkRoot]
    pruned: dict[str, str] = field(default_factory=dict)
    one_filesystem: bool = True


def read_mounts(path: str = "/proc/self/mounts") -> list[tuple[str, str]]:
    """(mount point, filesystem type) pairs; empty where the kernel does not provide the table."""
    out = []
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                fields = line.split()
                if len(fields) >= 3:
                    mnt = fields[1].replace("\\040", " ").replace("\\011", "\t").replace("\\134", "\\")
                    out.append((mnt, fields[2]))
    except OSError:
        pass
    return out


def own_folders(extra: Iterable[str | os.PathLike[str] | None] = ()) -> frozenset[tuple[int, int]]:
    """(device, inode) of fleetscan's own folders: the installed package and ``extra`` (an agent's state folder, a
    signature cache), those that exist. By identity rather than by path, so that no other path reaches them."""
    out = set()
    for folder in (PACKAGE_FOLDER, *extra):
        if folder is None:
            continue
        try:
            st = os.stat(os.path.expanduser(folder))
        except OSError:
            continue
        out.add((st.st_dev, st.st_ino))
    return frozenset(out)


def _os_key() -> str:
    return "linux" if sys.platform.startswith("linux") else sys.platform


def _real(root: str | None, display: str) -> str:
    return display if root is None else os.path.join(root, display.lstrip("/"))


def _resolve_in_root(root: str | None, display: str) -> str | None:
    """Follow symlinks of a quick-scan location (``/bin`` -> ``usr/bin``) without leaving ``root``."""
    for _ in range(16):
        real = _real(root, display)
        try:
            if not os.path.islink(real):
                return display if os.path.exists(real) else None
            link = os.readlink(real)
        except OSError:
            return None
        display = os.path.normpath(link if link.startswith("/") else os.path.join(os.path.dirname(display), link))
    return None


def resolve_scope(scan_type: str, paths: Sequence[str] = (), root: str | None = None) -> ScanScope:
    """Targets for a quick, full or custom scan; custom uses ``paths`` (as seen inside ``root`` when given)."""
    if root is not None:
        root = os.path.abspath(root)
    if scan_type == "custom":
        if not paths:
            raise ValueError("a custom scan needs at least one path")
        targets = []
        for p in paths:
            display = os.path.normpath(p if root is not None else os.path.abspath(p))
            if root is not None and not display.startswith("/"):
                display = "/" + display
            targets.append(WalkRoot(_real(root, display), display))
        return ScanScope(targets)
    if scan_type == "quick":
        seen: set[str] = set()
        targets = []
        for loc in QUICK_LOCATIONS.get(_os_key(), ()):
            found = _resolve_in_root(root, loc)
            if found is None or found in seen:
                continue
            # A location inside one already listed (e.g. /usr/bin after /usr) is covered by it.
            if any(found.startswith(s.rstrip("/") + "/") for s in seen):
                continue
            seen.add(found)
            targets.append(WalkRoot(_real(root, found), found))
        return ScanScope(targets)
    if scan_type == "full":
        pruned = {p: "pseudo filesystem (never scanned)" for p in FULL_SCAN_PRUNED}
        if root is None:
            for mnt, fstype in read_mounts():
                if fstype in PSEUDO_FS:
                    pruned.setdefault(mnt, f"pseudo filesystem {fstype}")
                elif fstype in NETWORK_FS:
                    pruned.setdefault(mnt, f"network filesystem {fstype}")
        return ScanScope([WalkRoot(_real(root, "/"), "/")], pruned=pruned, one_filesystem=False)
    raise ValueError(f"unknown scan type {scan_type!r} (quick, full or custom)")
