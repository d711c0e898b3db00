"""A deterministic, safe directory walk: every path it meets becomes a file to scan or a :class:`Skip`.

Entries are visited depth first in sorted name order, so a walk can be resumed after any path (a checkpoint) by
comparing path components. Nothing is opened here: FIFOs and devices are recognised from ``lstat`` alone (opening
a FIFO blocks), symlinks are not followed unless asked, and followed ones cannot loop because every directory
entered is remembered by (device, inode). fleetscan's own folders are known by (device, inode) too, so no path
leads into them: not a bind mount, a symlinked target, nor a target given inside one.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import re
import stat
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from .results import Skip, SkipReason

__all__ = ["FileEntry", "WalkRoot", "WalkOptions", "PathFilter", "walk", "path_key", "open_path", "OWN_FILES"]

#: The detail of the ``excluded`` skip reported for fleetscan's own folders.
OWN_FILES = "fleetscan's own files (its package, state or signature cache)"


@dataclass(slots=True)
class FileEntry:
    """A regular file to scan. ``path`` is where to open it, ``display`` how it is reported (inside ``root``).

    Not frozen: one is made per file, and a frozen dataclass's ``__init__`` costs three times as much.
    """

    path: str
    display: str
    size: int
    dev: int
    ino: int
    mtime_ns: int
    ctime_ns: int


@dataclass(frozen=True, slots=True)
class WalkRoot:
    """A path a walk starts from: where it is on this host, and how it is reported (inside a mounted root, the
    path as seen inside it). Not the server's `core.models.Target`, which names hosts a task runs on."""

    real: str
    display: str


@dataclass(frozen=True)
class WalkOptions:
    exclude: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    max_file_size: int | None = None
    one_filesystem: bool = True
    follow_symlinks: bool = False
    pruned: Mapping[str, str] = field(default_factory=dict)
    """Display paths never entered (``/proc``, network mounts...), with the detail reported for them."""
    resume_after: str | None = None
    own: frozenset[tuple[int, int]] = frozenset()
    """(device, inode) of fleetscan's own folders (:func:`~.locations.own_folders`): never entered, whatever the
    path that leads there; a scan must not find the test patterns or rules fleetscan keeps for itself."""


def path_key(display: str) -> tuple[str, ...]:
    """The sort key of the walk order: path components, so ``/a/b`` < ``/a/b/c`` < ``/a/b-c``."""
    return tuple(display.rstrip("/").split("/")) if display != "/" else ("",)


def _compile(patterns: Iterable[str]) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
    full: list[str] = []
    base: list[str] = []
    for p in patterns:
        p = p.rstrip("/") or "/"
        (full if "/" in p else base).append(fnmatch.translate(p))
    return (re.compile("|".join(full)) if full else None, re.compile("|".join(base)) if base else None)


class PathFilter:
    """Include/exclude glob patterns: with a ``/`` a pattern matches the whole path, without one the name."""

    def __init__(self, exclude: Iterable[str] = (), include: Iterable[str] = ()) -> None:
        self._ex_full, self._ex_base = _compile(exclude)
        self._in_full, self._in_base = _compile(include)
        self.has_include = self._in_full is not None or self._in_base is not None
        self.has_exclude = self._ex_full is not None or self._ex_base is not None

    @staticmethod
    def _match(full: re.Pattern[str] | None, base: re.Pattern[str] | None, display: str) -> bool:
        if full is not None and full.match(display):
            return True
        return base is not None and base.match(display.rsplit("/", 1)[-1]) is not None

    def excluded(self, display: str) -> bool:
        return self._match(self._ex_full, self._ex_base, display)

    def included(self, display: str) -> bool:
        return not self.has_include or self._match(self._in_full, self._in_base, display)


_SPECIAL = ((stat.S_ISFIFO, "fifo"), (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"),
            (stat.S_ISBLK, "block device"))


Listing = list[tuple[str, "os.stat_result | OSError"]]
"""A directory's entries in name order, each with its ``lstat`` result or the error that stopped it."""
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def open_path(path: str, flags: int) -> int:
    """``os.open``, and for a path the kernel refuses as too long (beyond PATH_MAX), one directory at a time.

    Each step opens the next component relative to its parent's descriptor, so how deep a file lies cannot hide it
    from the walk or the workers. ``flags`` apply to the last component as they would to ``os.open``.
    """
    try:
        return os.open(path, flags)
    except OSError as exc:
        if exc.errno != errno.ENAMETOOLONG:
            raise
    head, _, name = path.rpartition("/")
    fd = os.open("/" if path.startswith("/") else ".", _DIR_FLAGS)
    try:
        for part in head.split("/"):
            if part:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = child
        return os.open(name or ".", flags, dir_fd=fd)
    finally:
        os.close(fd)


def _special_kind(mode: int) -> str:
    for test, kind in _SPECIAL:
        if test(mode):
            return kind
    return "special file"


def _error_skip(display: str, exc: OSError, what: str) -> Skip:
    if isinstance(exc, PermissionError):
        return Skip(display, SkipReason.PERMISSION_DENIED, f"{what} not readable")
    if isinstance(exc, FileNotFoundError):
        return Skip(display, SkipReason.READ_ERROR, f"{what} vanished during the walk")
    return Skip(display, SkipReason.READ_ERROR, f"{what}: {exc.strerror or exc}")


class _Walker:
    def __init__(self, opts: WalkOptions) -> None:
        self.opts = opts
        self.filter = PathFilter(opts.exclude, opts.include)
        self.resume = path_key(opts.resume_after) if opts.resume_after else None
        self.visited: set[tuple[int, int]] = set()
        self.roots: list[str] = []

    def _inside_scan(self, link: str) -> str | None:
        """Why a followed symlink is not entered when it points back into the scanned tree, else None.

        Its target is scanned under its own path, which keeps one report line per file and makes loops impossible.
        """
        target = os.path.realpath(link)
        for root in self.roots:
            if target == root or target.startswith(root.rstrip("/") + "/"):
                parent = os.path.realpath(os.path.dirname(link))
                if parent == target or parent.startswith(target.rstrip("/") + "/"):
                    return "symlink loop (points to a parent folder)"
                return "points inside the scanned tree (scanned at its own path)"
        return None

    def _before_resume(self, key: tuple[str, ...], is_dir: bool) -> bool:
        """True when the whole item (a directory: its whole subtree) precedes the checkpoint."""
        r = self.resume
        if r is None:
            return False
        if is_dir:
            return key < r[: len(key)]
        return key <= r

    def _file(self, real: str, display: str, st: os.stat_result) -> FileEntry | Skip:
        opts = self.opts
        if self.filter.excluded(display):
            return Skip(display, SkipReason.EXCLUDED, "matches an exclude pattern")
        if not self.filter.included(display):
            return Skip(display, SkipReason.EXCLUDED, "not matched by an include pattern")
        if opts.max_file_size is not None and st.st_size > opts.max_file_size:
            return Skip(display, SkipReason.TOO_LARGE, f"{st.st_size} bytes > {opts.max_file_size}")
        return FileEntry(real, display, st.st_size, st.st_dev, st.st_ino, st.st_mtime_ns, st.st_ctime_ns)

    def _dir_skip(self, display: str, st: os.stat_result, root_dev: int, via_link: bool) -> Skip | None:
        ident = (st.st_dev, st.st_ino)
        if ident in self.opts.own:
            return Skip(display, SkipReason.EXCLUDED, OWN_FILES)
        if display in self.opts.pruned:
            return Skip(display, SkipReason.EXCLUDED, self.opts.pruned[display])
        if self.filter.excluded(display):
            return Skip(display, SkipReason.EXCLUDED, "directory matches an exclude pattern")
        if self.opts.one_filesystem and st.st_dev != root_dev:
            return Skip(display, SkipReason.EXCLUDED, "other filesystem (one filesystem per scan unless asked)")
        if ident in self.visited:
            detail = "symlink loop or directory reached twice" if via_link else "directory reached twice (bind mount)"
            return Skip(display, SkipReason.SYMLINK if via_link else SkipReason.EXCLUDED, detail)
        self.visited.add(ident)
        return None

    def _inside_own(self, path: str) -> bool:
        """Whether ``path`` lies in one of fleetscan's own folders, by the path as given (which may cross a bind
        mount) and as resolved (which may cross a symlink): each folder on the way is known by its identity."""
        if not self.opts.own:
            return False
        seen: set[str] = set()
        for start in (os.path.abspath(path), os.path.realpath(path)):
            folder = os.path.dirname(start)
            while folder not in seen:
                seen.add(folder)
                try:
                    st = os.stat(folder)
                except OSError:
                    pass
                else:
                    if (st.st_dev, st.st_ino) in self.opts.own:
                        return True
                parent = os.path.dirname(folder)
                if parent == folder:
                    break
                folder = parent
        return False

    def walk_target(self, target: WalkRoot) -> Iterator[FileEntry | Skip]:
        key = path_key(target.display)
        if self._inside_own(target.real):
            if not self._before_resume(key, False):
                yield Skip(target.display, SkipReason.EXCLUDED, OWN_FILES)
            return
        try:
            st = os.stat(target.real)  # an explicit target is followed even when it is a symlink
        except OSError as exc:
            if not self._before_resume(key, False):
                if exc.errno == errno.ELOOP:
                    yield Skip(target.display, SkipReason.SYMLINK, "symlink loop")
                elif isinstance(exc, PermissionError):
                    yield _error_skip(target.display, exc, "target")
                else:  # never there, not "vanished": say what the system said ("No such file or directory")
                    yield Skip(target.display, SkipReason.READ_ERROR, exc.strerror or str(exc))
            return
        if stat.S_ISREG(st.st_mode):
            if not self._before_resume(key, False):
                yield self._file(target.real, target.display, st)
            return
        if not stat.S_ISDIR(st.st_mode):
            if not self._before_resume(key, False):
                yield Skip(target.display, SkipReason.SPECIAL_FILE, _special_kind(st.st_mode))
            return
        if self._before_resume(key, True):
            return
        skip = self._dir_skip(target.display, st, st.st_dev, via_link=False)
        if skip is not None:
            yield skip
            return
        yield from self._walk_dir(target.real, target.display, key, st.st_dev)

    def _listing(self, dreal: str, ddisplay: str, via_link: bool) -> Listing | Skip:
        """The directory's entries in name order, each with its ``lstat`` or the error that stopped it.

        Entries are stat'ed relative to the open directory: the cheapest way (no ``DirEntry`` objects, a sort of
        plain strings), and the names and their ``lstat`` come from the same folder even if a parent is renamed
        meanwhile. Files are still opened by path later (one folder at a time past PATH_MAX: ``open_path``); the
        worker reports what it opened, and a verdict is cached only when that is the file the walk saw.
        """
        flags = _DIR_FLAGS if via_link else _DIR_FLAGS | _NOFOLLOW  # a folder swapped for a symlink is not entered
        try:
            fd = open_path(dreal, flags)
        except OSError as exc:
            return _error_skip(ddisplay, exc, "directory")
        try:
            out: Listing = []
            lstat = os.lstat
            for name in sorted(os.listdir(fd)):
                try:
                    out.append((name, lstat(name, dir_fd=fd)))
                except OSError as exc:
                    out.append((name, exc))
            return out
        except OSError as exc:
            return _error_skip(ddisplay, exc, "directory")
        finally:
            os.close(fd)

    def _walk_dir(self, real: str, display: str, key: tuple[str, ...], root_dev: int) -> Iterator[FileEntry | Skip]:
        """Iterative depth-first walk in name order (no recursion: a hostile tree can be arbitrarily deep).

        This loop is most of what a rescan of unchanged files costs, so the common entry (a regular file, no
        filters, no checkpoint) takes the shortest path: one comparison of its type, one object.
        """
        first = self._listing(real, display, via_link=True)  # a target is followed even when it is a symlink
        if isinstance(first, Skip):
            if not self._before_resume(key, False):
                yield first
            return
        # Below a target whose path is reported as it is, an entry's display path is its real path.
        same = real == display
        stack: list[tuple[str, str, tuple[str, ...], Iterator[tuple[str, os.stat_result | OSError]]]] = [
            (display.rstrip("/") + "/", real.rstrip("/") + "/", key, iter(first))
        ]
        follow = self.opts.follow_symlinks
        resuming = self.resume is not None  # path keys are only built when a checkpoint needs them
        plain = not self.filter.has_exclude and not self.filter.has_include
        max_size = self.opts.max_file_size if self.opts.max_file_size is not None else -1
        fmt_mask, IFREG, IFDIR, IFLNK = 0o170000, stat.S_IFREG, stat.S_IFDIR, stat.S_IFLNK
        while stack:
            dprefix, rprefix, dkey, entries = stack[-1]
            for name, st in entries:
                disp = dprefix + name
                ereal = disp if same else rprefix + name
                if isinstance(st, OSError):
                    if not (resuming and self._before_resume(dkey + (name,), False)):
                        yield _error_skip(disp, st, "entry")
                    continue
                fmt = st.st_mode & fmt_mask
                if fmt == IFREG and plain and not resuming and (max_size < 0 or st.st_size <= max_size):
                    yield FileEntry(ereal, disp, st.st_size, st.st_dev, st.st_ino, st.st_mtime_ns, st.st_ctime_ns)
                    continue
                ekey = dkey + (name,) if resuming else dkey
                via_link = False
                if fmt == IFLNK:
                    # Reported as one item, unless followed into a folder: then the folder's rule applies below, so
                    # a scan resumed inside a followed folder goes on with the rest of it.
                    skip = None
                    if not follow:
                        skip = Skip(disp, SkipReason.SYMLINK, "symlink not followed")
                    else:
                        try:
                            st = os.stat(ereal)
                        except OSError as exc:
                            detail = "symlink loop" if exc.errno == errno.ELOOP else "dangling symlink"
                            skip = Skip(disp, SkipReason.SYMLINK, detail)
                        else:
                            inside = self._inside_scan(ereal)
                            if inside is not None:
                                skip = Skip(disp, SkipReason.SYMLINK, inside)
                    if skip is not None:
                        if not self._before_resume(ekey, False):
                            yield skip
                        continue
                    fmt, via_link = st.st_mode & fmt_mask, True
                if fmt == IFDIR:
                    if self._before_resume(ekey, True):
                        continue
                    skip = self._dir_skip(disp, st, root_dev, via_link)
                    if skip is None:
                        listing = self._listing(ereal, disp, via_link)
                        if isinstance(listing, Skip):
                            if not self._before_resume(ekey, False):  # reported before the checkpoint already
                                yield listing
                        else:
                            stack.append((disp + "/", ereal + "/", ekey, iter(listing)))
                            break  # descend; this directory's iterator resumes after the subtree
                    elif not self._before_resume(ekey, False):
                        yield skip
                    continue
                if resuming and self._before_resume(ekey, False):
                    continue
                if fmt == IFREG:
                    yield self._file(ereal, disp, st)
                else:
                    yield Skip(disp, SkipReason.SPECIAL_FILE, _special_kind(st.st_mode))
            else:
                stack.pop()


def walk(targets: Iterable[WalkRoot], opts: WalkOptions | None = None) -> Iterator[FileEntry | Skip]:
    """Yield files and skips of all targets, in ``path_key`` order."""
    walker = _Walker(opts or WalkOptions())
    ordered = sorted(targets, key=lambda t: path_key(t.display))
    walker.roots = [os.path.realpath(t.real) for t in ordered]
    for target in ordered:
        yield from walker.walk_target(target)
