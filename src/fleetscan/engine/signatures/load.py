"""`load_signatures`: the sources read, compiled and cached as one `SignatureSet`."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from .compile import build_set
from .set_cache import cached_version, load_cached, remember, store
from .signature_set import SignatureSet
from .sources import DamagedSignatures, SignatureSourceError, Source, read_sources, sources_stamp, sources_version

__all__ = ["load_signatures"]


def load_signatures(
    paths: Sequence[str | os.PathLike[str]] = (),
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    ignore_bad: bool = False,
) -> SignatureSet:
    """Read YARA, hash-list and ClamAV sources (files or folders) into one set; EICAR is always included.

    A damaged source (see :class:`UnsupportedReport`) is a :class:`DamagedSignatures` naming it, unless
    ``ignore_bad``: then what could be read is used and the rest counted. ``~`` in paths is the user's home.

    With ``cache_dir`` the parsed tables and compiled rules are kept under the set's version (a digest of the
    sources' contents), and the version under the sources' :func:`sources_stamp`. Reloading an unchanged set, as
    every rescan does, then costs a ``stat`` of each source and reading a small pickle: the sources are not read,
    and the compiled tables are read back only once a file must be matched. The cache directory must be as trusted
    as the code (it holds pickles): the CLI uses the user's own cache folder, the agent its state folder.
    """
    stamp = sources_stamp(paths)  # before reading: a source changed meanwhile gets a new stamp next time
    cdir = Path(cache_dir).expanduser() if cache_dir is not None else None
    version = cached_version(cdir, stamp) if cdir is not None else None
    sources: list[Source] | None = None
    if version is None:
        sources = read_sources(paths)
        version = sources_version(sources)
    sigset: SignatureSet | None = None
    if cdir is not None:
        expected = version

        def rebuild() -> SignatureSet:
            again = read_sources(paths)
            if sources_version(again) != expected:
                raise SignatureSourceError("the signature sources changed during the scan")
            return build_set(again, expected)

        sigset = load_cached(cdir / f"set-{version}", version, rebuild)
    if sigset is None:
        if sources is None:  # the stamp pointed to a set that is gone: read the sources after all
            sources = read_sources(paths)
            version = sources_version(sources)
        sigset = build_set(sources, version)
        if cdir is not None:
            store(cdir / f"set-{version}", sigset)
    sigset.stamp = stamp
    if cdir is not None:
        sigset.cache_dir = str(cdir)
        remember(cdir, stamp, sigset)
    if sigset.unsupported.damaged and not ignore_bad:
        raise DamagedSignatures(sigset.unsupported.damaged)
    return sigset
