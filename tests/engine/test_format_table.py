"""The format table of issue 9: every packaging a server holds, scanned by fleetscan and by clamscan on the same
signature files, and by fleetscan with a real clamd (started here, as PostgreSQL is) for the formats only
libclamav opens.

The corpus (``tests/support/formats.py``, which ``bench/formats.py`` builds too) is one file per format around
one payload, the same packagings around clean bytes, damaged, truncated and encrypted variants, and ClamAV's own
test files. ``pytest -s`` prints the table.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from fleetscan.engine import SignatureSet
from tests.support import formats
from tests.support.clamd import ClamdServer
from tests.support.formats import CLEAN, DAMAGED, PAYLOAD, TESTFILE, Corpus, Verdict


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    if shutil.which("clamscan") is None:
        pytest.skip("Debian package clamav (clamscan) is not installed")
    return formats.build(tmp_path_factory.mktemp("formats") / "corpus")


@pytest.fixture(scope="module")
def sigset(corpus: Corpus) -> SignatureSet:
    return formats.signatures(corpus)


@pytest.fixture(scope="module")
def ours(corpus: Corpus, sigset: SignatureSet) -> dict[str, Verdict]:
    return formats.fleetscan_verdicts(corpus, sigset, corpus.rows)


@pytest.fixture(scope="module")
def theirs(corpus: Corpus) -> dict[str, Verdict]:
    return formats.clamscan_verdicts(corpus)


@pytest.fixture(scope="module")
def clamd(corpus: Corpus) -> Iterator[ClamdServer]:
    if shutil.which("clamd") is None and not os.path.exists("/usr/sbin/clamd"):
        pytest.skip("Debian package clamav-daemon is not installed")
    server = ClamdServer(sorted(corpus.sigs.iterdir()), stream_max="100M").start()
    yield server
    server.stop()


def _rows(corpus: Corpus, group: str) -> list[formats.Row]:
    return [row for row in corpus.rows if row.group == group]


def test_at_least_what_clamscan_finds_on_every_format_row(
    corpus: Corpus, ours: dict[str, Verdict], theirs: dict[str, Verdict]
) -> None:
    print(f"\n{formats.table(corpus.rows, {'fleetscan': ours, 'clamscan': theirs})}")
    for note in corpus.notes:
        print(f"not built: {note}")
    assert len(_rows(corpus, PAYLOAD)) >= 60
    for row in corpus.rows:
        if row.group == TESTFILE:
            continue  # the formats only libclamav opens need clamd: below
        assert row.name in theirs, f"clamscan said nothing of {row.name}"
        missing = theirs[row.name].found - ours[row.name].found
        assert not missing, f"{row.format}: clamscan found {missing}, fleetscan: {ours[row.name]}"


def test_every_payload_is_found_and_every_clean_file_is_clean(corpus: Corpus, ours: dict[str, Verdict]) -> None:
    wrong = [f"{row.format}: {ours[row.name]}" for row in _rows(corpus, PAYLOAD) if ours[row.name].state != "detected"]
    wrong += [f"clean {row.format}: {ours[row.name]}" for row in _rows(corpus, CLEAN)
              if ours[row.name].state != "clean"]
    assert not wrong


def test_damaged_truncated_and_encrypted_are_never_clean(corpus: Corpus, ours: dict[str, Verdict]) -> None:
    for row in _rows(corpus, DAMAGED):
        verdict = ours[row.name]
        assert verdict.state != "clean", row.format
        assert verdict.reason, f"{row.format}: {verdict} names no layer it could not open"


def test_clamav_testfiles_without_clamd_are_detected_or_not_scanned_with_a_reason(
    corpus: Corpus, ours: dict[str, Verdict]
) -> None:
    rows = _rows(corpus, TESTFILE)
    if not rows:
        pytest.skip("Debian package clamav-testfiles is not installed")
    assert len(rows) == 44
    for row in rows:
        verdict = ours[row.name]
        assert verdict.state == "detected" or (verdict.state == "not scanned" and verdict.reason), (row.format, verdict)


def test_with_clamd_clamav_testfiles_44_of_44_and_every_row_holds(
    corpus: Corpus, sigset: SignatureSet, ours: dict[str, Verdict], theirs: dict[str, Verdict], clamd: ClamdServer
) -> None:
    rows = _rows(corpus, TESTFILE)
    if not rows:
        pytest.skip("Debian package clamav-testfiles is not installed")
    with_clamd = formats.fleetscan_verdicts(corpus, sigset, corpus.rows, clamd=clamd.address)
    print(f"\n{formats.table(rows, {'fleetscan': ours, 'clamscan': theirs, 'fleetscan --clamd': with_clamd})}")
    assert [row.format for row in rows if with_clamd[row.name].state != "detected"] == []
    assert len(rows) == 44
    for row in corpus.rows:  # clamd adds; it never takes away
        assert theirs[row.name].found <= with_clamd[row.name].found, (row.format, with_clamd[row.name])
        assert (with_clamd[row.name].state == "clean") == (ours[row.name].state == "clean"), row.format
