"""``fleetscan scan`` run for real in a subprocess: output, JSON document and clamscan's exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from fleetscan.engine import EICAR

RUN = "import sys; from fleetscan.cli.scan import scan; scan(prog_name='fleetscan scan')"


def fleetscan_scan(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CACHE_HOME": str(home / "cache")}
    return subprocess.run([sys.executable, "-c", RUN, *args], capture_output=True, text=True, env=env, timeout=120)


def test_clean_tree_exits_0(tmp_path: Path) -> None:
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "a.txt").write_text("hello")
    out = fleetscan_scan(str(tmp_path / "t"), home=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "----------- SCAN SUMMARY -----------" in out.stdout
    assert "Scanned files: 1" in out.stdout and "Infected files: 0" in out.stdout
    assert "Signatures loaded: 1 (eicar 1)" in out.stdout


def test_detection_exits_1_and_prints_found_lines(tmp_path: Path) -> None:
    t = tmp_path / "t"
    t.mkdir()
    (t / "e.com").write_bytes(EICAR)
    (t / "big").write_bytes(b"x" * 5000)
    (t / "skip.log").write_bytes(EICAR)
    sig = tmp_path / "s.ndb"
    sig.write_text("Test.Sig:0:*:78787878787878\nUnusable:3:*:3c736372697074\n")
    out = fleetscan_scan(str(t), "-d", str(sig), "--exclude", "*.log", "--max-file-size", "4k", home=tmp_path)
    assert out.returncode == 1, out.stderr
    assert f"{t / 'e.com'}: Eicar-Test-Signature FOUND" in out.stdout
    assert "Not scanned: 2 (excluded 1, too_large 1)" in out.stdout
    assert "Signatures not usable: 1" in out.stdout


def test_json_is_one_document(tmp_path: Path) -> None:
    t = tmp_path / "t"
    t.mkdir()
    (t / "e.com").write_bytes(EICAR)
    out = fleetscan_scan(str(t), "--json", home=tmp_path)
    assert out.returncode == 1
    doc = json.loads(out.stdout)
    assert doc["report"]["files_detected"] == 1
    assert doc["report"]["detections"][0]["signature"] == "Eicar-Test-Signature"
    assert doc["signatures"]["counts"] == {"eicar": 1}
    again = json.loads(fleetscan_scan(str(t), "--json", home=tmp_path).stdout)
    assert again["report"]["files_cached"] == 1  # the verdict cache under XDG_CACHE_HOME
    nocache = json.loads(fleetscan_scan(str(t), "--json", "--no-cache", home=tmp_path).stdout)
    assert nocache["report"]["files_cached"] == 0


def test_errors_exit_2(tmp_path: Path) -> None:
    missing = fleetscan_scan(str(tmp_path), "-d", str(tmp_path / "nope.hdb"), home=tmp_path)
    assert missing.returncode == 2
    no_paths = fleetscan_scan(home=tmp_path)
    assert no_paths.returncode == 2
    bad_size = fleetscan_scan(str(tmp_path), "--max-file-size", "lots", home=tmp_path)
    assert bad_size.returncode == 2
    gone = tmp_path / "file"
    gone.write_text("x")
    (tmp_path / "vanished-target").mkdir()
    unreadable = fleetscan_scan(str(tmp_path / "does-not-exist"), home=tmp_path)
    assert unreadable.returncode == 2  # nothing detected, one read error: as clamscan
    assert "read_error 1" in unreadable.stdout


def test_quick_and_full_take_no_paths(tmp_path: Path) -> None:
    out = fleetscan_scan("--type", "quick", str(tmp_path), home=tmp_path)
    assert out.returncode == 2
    assert "chooses its own locations" in out.stderr


def _stored_zip(member: bytes) -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("x.com", member)
    return buf.getvalue()


def test_exit_status_names_what_was_not_scanned(tmp_path: Path) -> None:
    """1 on a detection; else 2 when a file asked for was not scanned for a reason the user did not choose (a limit,
    a container that cannot be opened), unless `--accept` names it; exclusions and symlinks never count."""
    t = tmp_path / "t"
    t.mkdir()
    (t / "ok.txt").write_text("fine")
    (t / "broken.zip").write_bytes(b"PK\x03\x04" + bytes(range(9, 200)) * 10)
    (t / "big.bin").write_bytes(b"z" * 5000)
    (t / "skip.log").write_bytes(EICAR)
    os.symlink(t / "ok.txt", t / "link")
    out = fleetscan_scan(str(t), "--exclude", "*.log", "--max-file-size", "4k", home=tmp_path)
    assert out.returncode == 2, out.stdout
    assert "Not scanned: 4 (corrupt 1, excluded 1, symlink 1, too_large 1)" in out.stdout
    partly = fleetscan_scan(str(t), "--exclude", "*.log", "--max-file-size", "4k", "--accept", "corrupt",
                            home=tmp_path)
    assert partly.returncode == 2
    accepted = fleetscan_scan(str(t), "--exclude", "*.log", "--max-file-size", "4k", "--accept", "corrupt",
                              "--accept", "too_large", home=tmp_path)
    assert accepted.returncode == 0, accepted.stdout
    chosen = fleetscan_scan(str(t / "ok.txt"), str(t / "skip.log"), str(t / "link"), "--exclude", "*.log",
                            home=tmp_path)
    assert chosen.returncode == 0, chosen.stdout
    bad = fleetscan_scan(str(t), "--accept", "no_such_reason", home=tmp_path)
    assert bad.returncode == 2 and "no_such_reason" in bad.stderr


def test_one_result_per_file_unless_all_matches(tmp_path: Path) -> None:
    t = tmp_path / "t"
    t.mkdir()
    (t / "stored.zip").write_bytes(_stored_zip(EICAR))
    out = fleetscan_scan(str(t), "--no-cache", home=tmp_path)
    assert out.returncode == 1
    assert [line for line in out.stdout.splitlines() if line.endswith("FOUND")] == [
        f"{t / 'stored.zip'}!x.com: Eicar-Test-Signature FOUND"]
    every = fleetscan_scan(str(t), "--no-cache", "--all-matches", home=tmp_path)
    assert sorted(line for line in every.stdout.splitlines() if line.endswith("FOUND")) == [
        f"{t / 'stored.zip'}!x.com: Eicar-Test-Signature FOUND", f"{t / 'stored.zip'}: Eicar-Test-Signature FOUND"]


def test_a_detection_does_not_hide_what_was_not_opened(tmp_path: Path) -> None:
    import io
    import zipfile

    t = tmp_path / "t"
    t.mkdir()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("eicar.com", EICAR)
        z.writestr("broken.7z", b"7z\xbc\xaf\x27\x1c" + b"\x00\x04" + bytes(range(40)))
    (t / "mixed.zip").write_bytes(buf.getvalue())
    out = fleetscan_scan(str(t), "--no-cache", "-v", home=tmp_path)
    assert out.returncode == 1
    assert "Infected files: 1" in out.stdout
    assert "Not scanned: 1 (corrupt 1; 1 of them detected)" in out.stdout
    assert f"corrupt: {t / 'mixed.zip'}!broken.7z" in out.stdout


def test_help_states_the_exit_status() -> None:
    out = subprocess.run([sys.executable, "-c", RUN, "--help"], capture_output=True, text=True, timeout=60)
    assert "Exit status" in out.stdout and "--accept" in out.stdout and "--all-matches" in out.stdout
