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


def clean_tree(tmp: Path) -> Path:
    t = tmp / "t"
    t.mkdir(exist_ok=True)
    (t / "a.txt").write_text("hello")
    return t


def test_bad_signature_sources_exit_2_naming_them(tmp_path: Path) -> None:
    t = clean_tree(tmp_path)
    noise = tmp_path / "sigs" / "main.cvd"
    noise.parent.mkdir()
    noise.write_bytes(bytes((i * 37 + 11) % 256 for i in range(2000)))
    garbage = tmp_path / "sigs" / "local.ndb"
    garbage.write_text("Good.Sig:0:*:4142434445464748\nthis line is not a signature\n")
    for source, why in ((noise, "not a ClamAV database container"), (garbage, "malformed .ndb line")):
        out = fleetscan_scan(str(t), "-d", str(source), home=tmp_path)
        assert out.returncode == 2, out.stdout
        assert f"{source}: " in out.stderr and why in out.stderr and "--ignore-bad-signatures" in out.stderr
        assert "SCAN SUMMARY" not in out.stdout
    missing = fleetscan_scan(str(t), "-d", str(tmp_path / "nope.ndb"), home=tmp_path)
    assert missing.returncode == 2 and "signature path not found" in missing.stderr
    assert "--ignore-bad-signatures" not in missing.stderr  # which would not help
    accepted = fleetscan_scan(str(t), "-d", str(tmp_path / "sigs"), "--ignore-bad-signatures", home=tmp_path)
    assert accepted.returncode == 0, accepted.stderr
    assert "Signatures not usable: 2" in accepted.stdout
    assert "body-pattern 1" in accepted.stdout  # what could be read is used


def test_home_in_signature_and_cache_paths_is_expanded(tmp_path: Path) -> None:
    t = tmp_path / "t"
    t.mkdir()
    (t / "x.bin").write_bytes(b"..fleetscan-home-marker..")
    home = tmp_path / "home"
    (home / "sigs").mkdir(parents=True)
    (home / "sigs" / "x.ndb").write_text(f"Home.Sig:0:*:{b'fleetscan-home-marker'.hex()}\n")
    env = {**os.environ, "HOME": str(home)}
    out = subprocess.run([sys.executable, "-c", RUN, str(t), "-d", "~/sigs/x.ndb", "--cache-dir", "~/c"],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert out.returncode == 1, out.stderr
    assert f"{t / 'x.bin'}: Home.Sig FOUND" in out.stdout
    assert list((home / "c" / "rules").glob("set-*.yarx")) and (home / "c" / "verdicts.sqlite").exists()
    assert not (tmp_path / "~").exists()


def test_a_missing_target_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "path"
    out = fleetscan_scan(str(missing), home=tmp_path)
    assert out.returncode == 2
    assert f"{missing}: No such file or directory" in out.stderr
    doc = json.loads(fleetscan_scan(str(missing), "--json", home=tmp_path).stdout)
    [skip] = doc["report"]["skip_examples"]["read_error"]
    assert (skip["path"], skip["detail"]) == (str(missing), "No such file or directory")


def test_cached_verdicts_never_exceed_scanned_files(tmp_path: Path) -> None:
    import zipfile

    t = tmp_path / "t"
    t.mkdir()
    for i in range(40):
        (t / f"f{i}.txt").write_text(f"file {i}\n")
    with zipfile.ZipFile(t / "many.zip", "w") as z:  # over the member limit below: not scanned, a cacheable verdict
        for i in range(5):
            z.writestr(f"m{i}.txt", "x")
    args = (str(t), "--archive-max-members", "2", "--json")
    first = json.loads(fleetscan_scan(*args, home=tmp_path).stdout)["report"]
    again = json.loads(fleetscan_scan(*args, home=tmp_path).stdout)["report"]
    assert (first["files_scanned"], first["files_skipped"], first["files_cached"]) == (40, 1, 0)
    assert (again["files_scanned"], again["files_skipped"], again["files_cached"]) == (40, 1, 40)
    text = fleetscan_scan(str(t), "--archive-max-members", "2", home=tmp_path).stdout
    assert "Scanned files: 40" in text and "Cached verdicts: 40" in text


def test_the_cache_folder_is_never_scanned(tmp_path: Path) -> None:
    t = clean_tree(tmp_path)
    (t / "e.com").write_bytes(EICAR)
    assert fleetscan_scan(str(t), home=tmp_path).returncode == 1  # compiled rules now cached under cache/fleetscan
    assert list((tmp_path / "cache" / "fleetscan" / "rules").glob("set-*.yarx"))
    doc = json.loads(fleetscan_scan(str(tmp_path / "cache"), "--json", home=tmp_path).stdout)["report"]
    assert doc["detections"] == [] and doc["files_scanned"] == 0
    [skip] = doc["skip_examples"]["excluded"]
    assert skip["path"] == str(tmp_path / "cache" / "fleetscan") and "fleetscan's own files" in skip["detail"]


def on_terminal(args: list[str], env: dict[str, str], columns: int) -> list[str]:
    """Run with stderr on a pseudo-terminal ``columns`` wide; every line drawn on it, escape sequences removed."""
    import fcntl
    import pty
    import re
    import select
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = {k: v for k, v in env.items() if k not in ("COLUMNS", "LINES")}
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave,
                            env={**env, "TERM": "xterm"})
    os.close(slave)
    drawn = b""
    while True:
        if select.select([master], [], [], 0.1)[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the other side closed
                break
            if not chunk:
                break
            drawn += chunk
        elif proc.poll() is not None:
            break
    proc.wait(timeout=120)
    os.close(master)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", drawn.decode("utf-8", "replace"))
    return [line for line in re.split(r"[\r\n]", text) if line.strip()]


def test_the_progress_line_fits_an_80_column_terminal(tmp_path: Path) -> None:
    import re

    from rich.cells import cell_len

    deep = tmp_path / "t" / ("a" * 30) / ("b" * 30) / ("c" * 30)
    deep.mkdir(parents=True)
    for i in range(300):
        (deep / f"file_with_a_long_name_{i:03d}.bin").write_bytes(os.urandom(20_000))
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    lines = on_terminal([sys.executable, "-c", RUN, str(tmp_path / "t"), "--workers", "1", "--max-io-rate", "3M"],
                        env, columns=80)
    assert lines, "no progress drawn"
    assert max(cell_len(line) for line in lines) < 80
    shape = re.compile(r"\d+\.\d% \d+/~?\d+ files \d+ MB/s (\d+:\d\d:\d\d|-:--:--) …\S*_long_name_\d+\.bin")
    assert any(shape.search(line) for line in lines), lines[-3:]
