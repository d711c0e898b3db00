from __future__ import annotations

from pathlib import Path

import pytest

from fleetscan.engine import QUICK_LOCATIONS, resolve_scope
from fleetscan.engine.locations import read_mounts


def test_full_scan_never_enters_pseudo_or_network_filesystems(tmp_path: Path) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text(
        "overlay / overlay rw 0 0\nproc /proc proc rw 0 0\ntmpfs /dev/shm tmpfs rw 0 0\n"
        "server:/export /mnt/nfs nfs4 rw 0 0\n//host/share /mnt/my\\040share cifs rw 0 0\n"
    )
    assert read_mounts(str(mounts))[-1] == ("/mnt/my share", "cifs")
    scope = resolve_scope("full")
    assert [t.display for t in scope.targets] == ["/"]
    assert {"/proc", "/sys", "/dev"} <= set(scope.pruned)
    for mnt, fstype in read_mounts():
        if fstype in ("proc", "sysfs", "nfs", "nfs4", "cifs"):
            assert mnt in scope.pruned


def test_quick_locations_are_documented_per_os() -> None:
    assert {"linux", "darwin", "win32"} <= set(QUICK_LOCATIONS)
    for must in ("/tmp", "/home", "/var/www", "/etc/cron.d", "/etc/systemd/system", "/usr/bin"):
        assert must in QUICK_LOCATIONS["linux"]


def test_quick_scope_here_lists_only_existing_places() -> None:
    scope = resolve_scope("quick")
    assert scope.targets
    assert all(Path(t.real).exists() for t in scope.targets)
    assert len({t.display for t in scope.targets}) == len(scope.targets)


def test_custom_needs_paths() -> None:
    with pytest.raises(ValueError):
        resolve_scope("custom", [])
