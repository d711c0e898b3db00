from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from fleetscan.engine.cache import KEEP_KEYS, VerdictCache, stamp
from fleetscan.engine.results import CLEAN, DETECTED, SKIPPED


def test_stamp_is_equal_only_when_size_and_both_times_are() -> None:
    base = stamp(10, 1_700_000_000_123_456_789, 1_700_000_000_123_456_789)
    assert base == stamp(10, 1_700_000_000_123_456_789, 1_700_000_000_123_456_789)
    assert base != stamp(11, 1_700_000_000_123_456_789, 1_700_000_000_123_456_789)
    assert base != stamp(10, 1_700_000_000_123_456_788, 1_700_000_000_123_456_789)
    assert base != stamp(10, 1_700_000_000_123_456_789, 1_700_000_000_123_456_790)
    assert stamp(0, -1, 0) != stamp(0, 0, -1)  # times before 1970 stay distinct


def test_verdicts_survive_a_reopen_and_changes_miss(tmp_path: Path) -> None:
    db = tmp_path / "v.sqlite"
    cache = VerdictCache(db, "k1")
    cache.put(1, 100, 10, 5, 6, CLEAN, [[], None, ""])
    det = [[["Sig", "hash", "high", None, None]], None, ""]
    cache.put(1, 101, 20, 5, 6, DETECTED, det)
    cache.put(1, 102, 30, 5, 6, SKIPPED, [[], "archive_limit", "too many members"])
    cache.close()
    again = VerdictCache(db, "k1")
    assert len(again) == 3
    assert again.get(1, 100, 10, 5, 6) is not None and again.get(1, 100, 10, 5, 6)[0] == CLEAN  # type: ignore[index]
    status, payload = again.get(1, 101, 20, 5, 6)  # type: ignore[misc]
    assert (status, json.loads(payload)) == (DETECTED, det)
    assert again.get(1, 102, 30, 5, 6) == (SKIPPED, json.dumps([[], "archive_limit", "too many members"]))
    assert again.get(1, 100, 10, 5, 7) is None  # ctime moved
    assert again.get(2, 100, 10, 5, 6) is None  # another device
    assert VerdictCache(db, "k2").get(1, 100, 10, 5, 6) is None  # another signature version or options


def test_a_file_that_becomes_clean_loses_its_old_verdict(tmp_path: Path) -> None:
    db = tmp_path / "v.sqlite"
    cache = VerdictCache(db, "k")
    cache.put(1, 7, 10, 5, 6, DETECTED, [[["Sig", "hash", "high", None, None]], None, ""])
    cache.put(1, 7, 11, 8, 9, CLEAN, [[], None, ""])
    cache.close()
    again = VerdictCache(db, "k")
    assert again.get(1, 7, 10, 5, 6) is None
    assert again.get(1, 7, 11, 8, 9) is not None and len(again) == 1


def test_two_scans_writing_at_once_keep_both_verdicts(tmp_path: Path) -> None:
    db = tmp_path / "v.sqlite"
    a, b = VerdictCache(db, "k"), VerdictCache(db, "k")
    a.put(1, 1, 10, 5, 6, CLEAN, None)
    b.put(1, 2, 10, 5, 6, CLEAN, None)
    b.put(1, 3, 10, 5, 6, DETECTED, [[["Sig", "hash", "high", None, None]], None, ""])
    a.close()
    b.close()
    merged = VerdictCache(db, "k")
    assert len(merged) == 3
    assert all(merged.get(1, ino, 10, 5, 6) is not None for ino in (1, 2, 3))


def test_only_the_most_recently_used_keys_are_kept(tmp_path: Path) -> None:
    db = tmp_path / "v.sqlite"
    for n in range(KEEP_KEYS + 2):
        cache = VerdictCache(db, f"k{n}")
        cache.put(1, 1, 10, 5, 6, CLEAN, None)
        cache.close()
    keys = {r[0] for r in sqlite3.connect(db).execute("SELECT key FROM tables")}
    assert keys == {f"k{n}" for n in range(2, KEEP_KEYS + 2)}


def test_a_cache_of_the_row_per_file_schema_is_replaced(tmp_path: Path) -> None:
    db = tmp_path / "v.sqlite"
    old = sqlite3.connect(db)
    old.execute("CREATE TABLE verdicts (dev INTEGER, ino INTEGER, version TEXT)")
    old.execute("INSERT INTO verdicts VALUES (1, 1, 'k')")
    old.commit()
    old.close()
    cache = VerdictCache(db, "k")
    assert len(cache) == 0
    cache.put(1, 1, 10, 5, 6, CLEAN, None)
    cache.close()
    assert len(VerdictCache(db, "k")) == 1
    tables = {r[0] for r in sqlite3.connect(db).execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "verdicts" not in tables


def test_disabled_cache_never_hits(tmp_path: Path) -> None:
    cache = VerdictCache(None, "k")
    cache.put(1, 1, 10, 5, 6, CLEAN, None)
    assert not cache.enabled and cache.get(1, 1, 10, 5, 6) is None and cache.totals("s") is None
    cache.close()


def test_a_flush_writes_what_changed_not_the_whole_table(tmp_path: Path) -> None:
    db = tmp_path / "v.sqlite"
    big = VerdictCache(db, "k")
    for ino in range(10_000):
        big.put(1, ino, 10, 5, 6, CLEAN, None)
    big.close()
    conn = sqlite3.connect(db)
    table_bytes = conn.execute("SELECT length(data) FROM tables WHERE key = 'k'").fetchone()[0]
    scan = VerdictCache(db, "k")
    scan.put(1, 99_999, 10, 5, 6, DETECTED, [[["Sig", "hash", "high", None, None]], None, ""])
    scan.flush()
    (delta_bytes,) = conn.execute("SELECT length(data) FROM deltas WHERE key = 'k'").fetchone()
    assert delta_bytes * 100 < table_bytes
    survivor = VerdictCache(db, "k")  # another scan, while the first is still running (or was killed)
    assert len(survivor) == 10_001 and survivor.get(1, 99_999, 10, 5, 6) is not None
    scan.close()  # folds the delta into the table
    assert conn.execute("SELECT count(*) FROM deltas").fetchone()[0] == 0
    assert len(VerdictCache(db, "k")) == 10_001


def test_a_damaged_row_costs_a_rescan_and_nothing_else(tmp_path: Path) -> None:
    db = tmp_path / "v.sqlite"
    cache = VerdictCache(db, "k")
    cache.put(1, 1, 10, 5, 6, CLEAN, None)
    cache.close()
    conn = sqlite3.connect(db)
    conn.execute("UPDATE tables SET data = ? WHERE key = 'k'", (b"\x00not marshal data",))
    conn.commit()
    damaged = VerdictCache(db, "k")
    assert len(damaged) == 0 and damaged.get(1, 1, 10, 5, 6) is None
    damaged.put(1, 2, 10, 5, 6, CLEAN, None)
    damaged.close()
    again = VerdictCache(db, "k")
    assert again.get(1, 2, 10, 5, 6) is not None and len(again) == 1
