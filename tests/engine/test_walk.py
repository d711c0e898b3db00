from __future__ import annotations

import os
from pathlib import Path

from fleetscan.engine import SkipReason
from fleetscan.engine.results import Skip
from fleetscan.engine.walk import FileEntry, WalkOptions, WalkRoot, path_key, walk

from .conftest import as_nobody, write


def _tree(root: Path) -> None:
    for rel in ("a/x", "a/y", "a-b/z", "b", "a/sub/deep/w", "c.log"):
        write(root / rel, rel)


def _items(root: Path, **kw: object) -> list[FileEntry | Skip]:
    return list(walk([WalkRoot(str(root), str(root))], WalkOptions(**kw)))  # type: ignore[arg-type]


def _paths(items: list[FileEntry | Skip]) -> list[str]:
    return [i.display if isinstance(i, FileEntry) else i.path for i in items]


def test_order_is_sorted_depth_first(tmp_path: Path) -> None:
    _tree(tmp_path)
    got = [p[len(str(tmp_path)) + 1 :] for p in _paths(_items(tmp_path))]
    assert got == ["a/sub/deep/w", "a/x", "a/y", "a-b/z", "b", "c.log"]
    keys = [path_key(p) for p in _paths(_items(tmp_path))]
    assert keys == sorted(keys)


def test_display_paths_do_not_depend_on_how_the_target_is_spelled(tmp_path: Path) -> None:
    _tree(tmp_path)
    plain = _items(tmp_path)
    for spelled in (f"{tmp_path}/", f"{tmp_path}//"):
        items = list(walk([WalkRoot(spelled, str(tmp_path))]))
        assert _paths(items) == _paths(plain)
        assert all(isinstance(i, FileEntry) and os.path.samefile(i.path, i.display) for i in items)
    mounted = list(walk([WalkRoot(str(tmp_path), "/")]))  # a mounted root, reported as seen inside it
    assert _paths(mounted) == ["/a/sub/deep/w", "/a/x", "/a/y", "/a-b/z", "/b", "/c.log"]
    assert [i.path for i in mounted if isinstance(i, FileEntry)][0] == f"{tmp_path}/a/sub/deep/w"


def test_resume_after_any_path_gives_the_rest(tmp_path: Path) -> None:
    _tree(tmp_path)
    full = _paths(_items(tmp_path))
    for i, cut in enumerate(full):
        assert _paths(_items(tmp_path, resume_after=cut)) == full[i + 1 :]


def test_resume_inside_a_followed_symlinked_folder_gives_the_rest(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    _tree(root)
    for name in ("a", "b", "c"):
        write(outside / name, name)
    os.symlink(outside, root / "a-link")
    full = _paths(_items(root, follow_symlinks=True))
    assert f"{root}/a-link/b" in full
    for i, cut in enumerate(full):
        assert _paths(_items(root, follow_symlinks=True, resume_after=cut)) == full[i + 1 :], cut


def test_exclude_include_and_size(tmp_path: Path) -> None:
    _tree(tmp_path)
    write(tmp_path / "big.bin", b"x" * 100)
    items = _items(tmp_path, exclude=("*.log", f"{tmp_path}/a/sub"), include=("*",), max_file_size=50)
    skips = {i.path[len(str(tmp_path)) + 1 :]: (i.reason, i.detail) for i in items if isinstance(i, Skip)}
    assert skips == {
        "a/sub": (SkipReason.EXCLUDED, "directory matches an exclude pattern"),
        "c.log": (SkipReason.EXCLUDED, "matches an exclude pattern"),
        "big.bin": (SkipReason.TOO_LARGE, "100 bytes > 50"),
    }
    only_y = _items(tmp_path, include=("y",))
    assert [i.display for i in only_y if isinstance(i, FileEntry)] == [f"{tmp_path}/a/y"]


def test_fifo_and_devices_are_never_opened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    os.symlink("/dev/null", tmp_path / "null-link")
    items = _items(tmp_path, follow_symlinks=True)
    assert {(i.path, i.detail) for i in items if isinstance(i, Skip)} == {
        (f"{tmp_path}/pipe", "fifo"),
        (f"{tmp_path}/null-link", "character device"),
    }


def test_symlink_loops_terminate(tmp_path: Path) -> None:
    write(tmp_path / "d" / "f", "x")
    os.symlink(tmp_path, tmp_path / "d" / "up")  # loop back to an ancestor
    os.symlink("self", tmp_path / "self")  # a link to itself
    os.symlink(tmp_path / "d" / "f", tmp_path / "flink")  # inside the scan: scanned once, at d/f
    outside = write(tmp_path.parent / f"{tmp_path.name}-outside" / "o", "o")
    os.symlink(outside.parent, tmp_path / "out")  # outside the scan: followed
    items = _items(tmp_path, follow_symlinks=True)
    files = sorted(i.display for i in items if isinstance(i, FileEntry))
    assert files == [f"{tmp_path}/d/f", f"{tmp_path}/out/o"]
    skips = {(i.path, i.reason, i.detail) for i in items if isinstance(i, Skip)}
    assert (f"{tmp_path}/d/up", SkipReason.SYMLINK, "symlink loop (points to a parent folder)") in skips
    assert (f"{tmp_path}/self", SkipReason.SYMLINK, "symlink loop") in skips
    not_followed = _items(tmp_path)
    assert {i.detail for i in not_followed if isinstance(i, Skip)} == {"symlink not followed"}


def test_one_filesystem_unless_asked(tmp_path: Path) -> None:
    if os.stat("/dev/shm").st_dev == os.stat(tmp_path).st_dev:
        import pytest

        pytest.skip("/dev/shm is not a separate filesystem here")
    os.symlink("/dev/shm", tmp_path / "shm")
    items = _items(tmp_path, follow_symlinks=True)
    assert [(i.path, i.reason) for i in items if isinstance(i, Skip)] == [(f"{tmp_path}/shm", SkipReason.EXCLUDED)]
    crossing = _items(tmp_path, follow_symlinks=True, one_filesystem=False)
    assert not any(isinstance(i, Skip) and i.path == f"{tmp_path}/shm" for i in crossing)


def test_deep_tree_does_not_recurse(tmp_path: Path) -> None:
    d = tmp_path
    for _ in range(60):
        d = d / "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
    os.makedirs(d)
    (d / "leaf").write_text("x")
    cwd = os.getcwd()
    assert [i.display for i in _items(tmp_path) if isinstance(i, FileEntry)] == [str(d / "leaf")]
    assert os.getcwd() == cwd


def test_resume_right_after_an_unreadable_folder_does_not_report_it_twice(shared_dir: Path) -> None:
    write(shared_dir / "a" / "f", "x")
    write(shared_dir / "b" / "g", "y").chmod(0o644)
    (shared_dir / "b").chmod(0o755)
    (shared_dir / "a").chmod(0o000)

    def both() -> list[list[str]]:
        return [_paths(_items(shared_dir)), _paths(_items(shared_dir, resume_after=f"{shared_dir}/a"))]

    full, rest = as_nobody(both)
    assert full == [f"{shared_dir}/a", f"{shared_dir}/b/g"]  # "a" is a permission_denied skip
    assert rest == [f"{shared_dir}/b/g"]
