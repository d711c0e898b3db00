"""Pure rules of a sweep (core/sweep.py): which hashes, what the task and its findings are called, what is known."""

from __future__ import annotations

import pytest

from fleetscan.core.alerts import resolves
from fleetscan.core.errors import InvalidParameter
from fleetscan.core.models import Detection, DetectionView, Host, RootTask, ScanType, Severity
from fleetscan.core.sweep import SweepHash, known_hits, parse_hashes, signature_name, task_name, with_sizes
from fleetscan.core.validation import INT64_MAX

H1, H2 = "ab" * 32, "cd" * 32


def _view(host: str, path: str, digest: str, at: int, size: int = 10) -> DetectionView:
    det = Detection("r", 1, 1, 1, "x", "virus", Severity.HIGH, path, digest, file_size=size, occur_time=at)
    return DetectionView(det, Host(host_id=host, account_id=1, project_id="p", name=f"n-{host}"),
                         RootTask("t", 1, "p", "n", ScanType.FULL))


def test_hashes_are_lowered_and_kept_once_in_order() -> None:
    assert parse_hashes([H2.upper(), H1, H2]) == [H2, H1]


@pytest.mark.parametrize("bad", ["", "abc", H1[:-1], H1 + "0", "zz" * 32, f" {H1[:-2]} "])
def test_anything_but_64_hex_digits_is_refused(bad: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        parse_hashes([H1, bad])
    assert caught.value.parameter == "sha256"


def test_names() -> None:
    assert signature_name(H1) == "Sweep.SHA256.abababababab"
    assert task_name([H1]) == "sweep sha256:abababababab…"
    assert task_name([H1, H2]) == "sweep sha256:abababababab… +1"


def test_known_hits_keep_the_newest_sighting_of_each_place() -> None:
    views = [_view("h1", "/a", H1, 5), _view("h1", "/a", H1, 9), _view("h2", "/b", H1, 7), _view("h3", "/c", H2, 8)]
    hits = known_hits(views, [H1])
    assert [(h.host_id, h.file_path, h.last_seen) for h in hits] == [("h1", "/a", 9), ("h2", "/b", 7)]
    assert hits[0].host_name == "n-h1"


def test_a_reported_size_makes_the_lookup_size_keyed() -> None:
    views = [_view("h1", "/a", H1, 1, size=4096), _view("h2", "/b", H2, 1, size=INT64_MAX)]
    assert with_sizes([H1, H2], views) == [SweepHash(H1, 4096), SweepHash(H2, None)]


def test_a_sweep_resolves_no_alert() -> None:
    """It looked for its hashes alone: not finding another alert's file says nothing about that file."""
    sweep = RootTask("t", 1, "p", "sweep", ScanType.FULL, sweep=[SweepHash(H1)])
    assert not resolves(sweep, "/etc/evil.bin", "", ())
    assert resolves(RootTask("t", 1, "p", "full", ScanType.FULL), "/etc/evil.bin", "", ())
