"""Engine benchmark: `fleetscan scan` against `clamscan` on the same seeded corpus and the same signatures.

Generates (once per seed and size) a corpus of text, source, binaries, large files, nested archives, planted
detections, unreadable files, a FIFO and a symlink loop, and one signature set written in ClamAV form (.hdb with
20,000 md5 hashes, .ndb with 500 byte patterns and EICAR, one .ldb logical signature) and in YARA form (the same
patterns and the logical signature as YARA rules, the same hashes as a hash list). Then, in one run, on a warm page
cache:

1. the limit: reading and sha256-hashing every file with one process per core, no matching at all;
2. `clamscan` (Debian's clamav) with `-d` on the ClamAV form;
3. `fleetscan scan` on the ClamAV form, a fresh verdict cache (first scan);
4. `fleetscan scan` again, same cache (rescan of the unchanged corpus);
5. `fleetscan scan` on the YARA form (fresh cache);
6. `fleetscan scan` on the ClamAV form plus one lower-case text pattern with a space (fresh cache): the set above
   holds no signature that needs whitespace runs collapsed, so fleetscan folds text without collapsing it (and a set
   of binary patterns only would make no normalised copy at all); this run pays for ClamAV's whole normalisation,
   which clamscan always does;

and checks each against the planted ground truth: every plant a scanner can reach is found, no clean file is
flagged, and the plants fleetscan cannot reach are listed with the reason. Times are printed, never asserted.

Run from the repository root:  .venv/bin/python -m bench.engine [--size-mb 2048] [--files 50000]
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import io
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tarfile
import threading
import time
import zipfile
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import libarchive

EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
EICAR_NAME = "Eicar-Test-Signature"
MB = 1024 * 1024
CORPUS_VERSION = "6"
WORDS = (
    "the of and to in is was for on that with as by at from this have not are or be which one had but all "
    "server config file process memory thread socket buffer request response error value index table query "
    "update delete insert select user admin password token secret cache queue worker agent scan task host"
).split()
SOURCE_SNIPPETS = (
    "def handler(event, context):\n    return {'status': 200, 'body': event.get('path')}\n",
    "int main(int argc, char **argv) {\n    for (int i = 0; i < argc; i++) puts(argv[i]);\n    return 0;\n}\n",
    "function render(items) {\n  return items.map((x) => `<li>${x}</li>`).join('');\n}\n",
    'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println("hello")\n}\n',
    "<?php\n$rows = $db->query('SELECT id FROM users');\nforeach ($rows as $r) { echo $r['id']; }\n",
)


# ------------------------------------------------------------------------------------------------- corpus


@dataclass
class Plant:
    path: str  # outer file, as both scanners report it
    signature: str
    how: str
    fleetscan_reason: str | None = None  # why fleetscan cannot reach it, or None
    clamscan_reason: str | None = None


@dataclass
class Corpus:
    root: Path
    sigs_clamav: Path
    sigs_yara: Path
    plants: list[Plant] = field(default_factory=list)
    files: int = 0
    bytes: int = 0


class Gen:
    def __init__(self, seed: int, root: Path) -> None:
        self.rng = random.Random(seed)
        self.root = root
        self.pool = self.rng.randbytes(32 * MB)  # binary content is cut from one seeded pool (fast, reproducible)
        self.files = 0
        self.bytes = 0

    def binary(self, n: int) -> bytes:
        out = bytearray()
        while len(out) < n:
            start = self.rng.randrange(0, len(self.pool) - 4096)
            take = min(n - len(out), self.rng.randrange(4096, 1 * MB), len(self.pool) - start)
            out += self.pool[start : start + take]
        head = self.rng.choice((b"\x7fELF\x02\x01\x01\x00", b"\x00asm\x01\x00\x00\x00", b"\xca\xfe\xd0\x0d"))
        out[: len(head)] = head
        return bytes(out[:n])

    def text(self, n: int) -> bytes:
        words = self.rng.choices(WORDS, k=n // 5 + 1)
        lines = [" ".join(words[i : i + 12]) for i in range(0, len(words), 12)]
        return "\n".join(lines).encode()[:n]

    def source(self, n: int) -> bytes:
        parts = []
        size = 0
        while size < n:
            s = self.rng.choice(SOURCE_SNIPPETS)
            parts.append(s)
            size += len(s)
        return "".join(parts).encode()[:n]

    def write(self, rel: str, data: bytes) -> Path:
        p = self.root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        self.files += 1
        self.bytes += len(data)
        return p


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for k, v in members.items():
            z.writestr(k, v)
    return buf.getvalue()


def _tar(members: dict[str, bytes], mode: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as t:  # type: ignore[call-overload]
        for k, v in members.items():
            info = tarfile.TarInfo(k)
            info.size = len(v)
            info.mtime = 1_700_000_000
            t.addfile(info, io.BytesIO(v))
    return buf.getvalue()


def _libarchive(members: dict[str, bytes], fmt: str, flt: str | None = None) -> bytes:
    out = io.BytesIO()
    with libarchive.custom_writer(out.write, fmt, filter_name=flt) as w:
        for k, v in members.items():
            w.add_file_from_memory(k, len(v), v)
    return out.getvalue()


ARCHIVERS: dict[str, Callable[[dict[str, bytes]], bytes]] = {
    "zip": _zip,
    "tar.gz": lambda m: _tar(m, "w:gz"),
    "tar.bz2": lambda m: _tar(m, "w:bz2"),
    "tar.xz": lambda m: _tar(m, "w:xz"),
    "7z": lambda m: _libarchive(m, "7zip"),
    "cpio": lambda m: _libarchive(m, "cpio_newc"),
}


def _rand_pattern(rng: random.Random) -> tuple[bytes, str]:
    """A 16-byte pattern and its ClamAV hex; some with a wildcard byte (in the hex only)."""
    raw = bytes(rng.randrange(256) for _ in range(16))
    hexs = raw.hex()
    if rng.random() < 0.3:
        hexs = hexs[:14] + "??" + hexs[16:]
    return raw, hexs


def generate(workdir: Path, seed: int, size_mb: int, nfiles: int) -> Corpus:
    root = workdir / "corpus"
    sigs = workdir / "sigs"
    marker = workdir / "corpus.json"
    params = {"seed": seed, "size_mb": size_mb, "files": nfiles, "version": CORPUS_VERSION}
    if marker.exists() and json.loads(marker.read_text()).get("params") == params:
        doc = json.loads(marker.read_text())
        c = Corpus(
            root, sigs / "clamav", sigs / "yara", [Plant(**p) for p in doc["plants"]], doc["files"], doc["bytes"]
        )
        return c
    for d in (root, sigs):
        if d.exists():
            for p in d.rglob("*"):
                if not p.is_symlink():
                    p.chmod(0o755 if p.is_dir() else 0o644)
            shutil.rmtree(d)
    g = Gen(seed, root)
    rng = g.rng
    total = size_mb * MB
    plants: list[Plant] = []

    # Signatures first: 500 patterns (EICAR added for clamscan, built into fleetscan) and 20,000 md5 hashes.
    patterns = [_rand_pattern(rng) for _ in range(500)]
    pattern_names = [f"Bench.Pattern.{i:03}" for i in range(500)]
    hashes: list[tuple[str, int, str]] = []
    dirs = [
        "home/alice",
        "home/bob/projects/app",
        "home/bob/.cache",
        "var/www/html",
        "var/www/html/uploads",
        "srv/data",
        "opt/tool/bin",
        "usr/local/bin",
        "usr/lib/app",
        "tmp/build",
        "etc/cron.d",
        "var/log/app",
    ]
    dirs += [f"home/user{i:02}/docs/{j}" for i in range(20) for j in range(5)]

    def where(name: str) -> str:
        return f"{rng.choice(dirs)}/{name}"

    def plant_pattern(data: bytes, i: int) -> bytes:
        raw = patterns[i][0]
        off = rng.randrange(0, max(1, len(data) - len(raw)))
        return data[:off] + raw + data[off + len(raw) :]

    # Planted detections in plain files.
    for i in range(8):
        p = g.write(where(f"eicar{i}.com"), EICAR + b"\r\n")
        plants.append(Plant(str(p), EICAR_NAME, "EICAR file"))
    for i in range(20):
        data = g.binary(rng.randrange(8_000, 400_000))
        p = g.write(where(f"dropper{i}.bin"), data)
        hashes.append((hashlib.md5(data).hexdigest(), len(data), f"Bench.Hash.Plant{i:02}"))
        plants.append(Plant(str(p), f"Bench.Hash.Plant{i:02}", "md5 of whole file"))
    for i in range(20):
        k = rng.randrange(500)
        p = g.write(where(f"implant{i}.so"), plant_pattern(g.binary(rng.randrange(8_000, 800_000)), k))
        plants.append(Plant(str(p), pattern_names[k], "byte pattern in file"))
    # Planted detections in archives (every format, nested up to 3 levels).
    for i, (fmt, make) in enumerate(ARCHIVERS.items()):
        members = {f"doc{j}.txt": g.text(rng.randrange(1000, 20000)) for j in range(5)}
        kind = i % 3
        if kind == 0:
            members["payload/eicar.txt"] = EICAR
            sig, how = EICAR_NAME, f"EICAR in {fmt}"
        elif kind == 1:
            data = g.binary(rng.randrange(8_000, 100_000))
            members["payload/tool.bin"] = data
            sig = f"Bench.Hash.Arch{i}"
            hashes.append((hashlib.md5(data).hexdigest(), len(data), sig))
            how = f"md5 of a member of {fmt}"
        else:
            k = rng.randrange(500)
            members["payload/lib.so"] = plant_pattern(g.binary(50_000), k)
            sig, how = pattern_names[k], f"byte pattern in a member of {fmt}"
        p = g.write(where(f"bundle{i}.{fmt}"), make(members))
        plants.append(Plant(str(p), sig, how))
    k = rng.randrange(500)
    inner = _zip({"x/evil.so": plant_pattern(g.binary(30_000), k), "readme": b"hi"})
    mid = _tar({"inner.zip": inner, "notes.txt": g.text(3000)}, "w:gz")
    p = g.write(where("nested3.zip"), _zip({"mid.tar.gz": mid}))
    plants.append(Plant(str(p), pattern_names[k], "byte pattern 3 archives deep (zip>tar.gz>zip)"))
    deep = EICAR
    for lvl in range(8):
        deep = _zip({f"l{lvl}.bin" if lvl == 0 else f"l{lvl}.zip": deep})
    p = g.write(where("deep8.zip"), deep)
    plants.append(Plant(str(p), EICAR_NAME, "EICAR 8 archives deep"))  # depth limit 17, as ClamAV's MaxRecursion
    # A logical (.ldb) signature: two parts that must both be present.
    ldb_a, ldb_b = b"bench-logical-part-one", b"bench-logical-part-two"
    p = g.write(where("logical.txt"), g.text(5000) + ldb_a + g.text(2000) + ldb_b)
    plants.append(Plant(str(p), "Bench.Logical.Sig", "logical signature (.ldb)"))
    p = g.write(where("half-logical.txt"), g.text(3000) + ldb_a + g.text(3000))  # one part only: clean
    # An unreadable plant: only unreadable when the scanners do not run as root.
    p = g.write(where("unreadable-plant.bin"), EICAR)
    p.chmod(0o000)
    plants.append(
        Plant(
            str(p),
            EICAR_NAME,
            "EICAR in a mode-000 file",
            fleetscan_reason=None if os.geteuid() == 0 else "permission denied",
            clamscan_reason=None if os.geteuid() == 0 else "permission denied",
        )
    )

    # Large files (one plant at 3/4 of one of them).
    n_large = max(1, size_mb // 512)
    large_size = max(MB, int(total * 0.25) // n_large)
    for i in range(n_large):
        data = g.binary(large_size)
        if i == 0:
            k = rng.randrange(500)
            off = large_size * 3 // 4
            data = data[:off] + patterns[k][0] + data[off + 16 :]
            plants.append(
                Plant(
                    str(g.write(f"srv/data/large{i}.img", data)),
                    pattern_names[k],
                    "byte pattern deep inside a large file",
                )
            )
        else:
            g.write(f"srv/data/large{i}.img", data)
    # Clean archives (nested sometimes).
    # The formats in the proportions a server holds them: mostly zip (jar, war) and gzip'd tar.
    n_arch = max(6, nfiles // 100)
    for i in range(n_arch):
        fmt = rng.choices(list(ARCHIVERS), weights=(40, 35, 8, 8, 5, 4))[0]
        members = {
            f"m{j}.{'txt' if j % 2 else 'bin'}": (
                g.text(rng.randrange(500, 30000)) if j % 2 else g.binary(rng.randrange(1000, 60000))
            )
            for j in range(rng.randrange(3, 20))
        }
        if i % 10 == 0:
            members["inner.zip"] = _zip({"a.txt": g.text(4000), "b.bin": g.binary(20000)})
        g.write(f"{rng.choice(dirs)}/pkg{i}.{fmt}", ARCHIVERS[fmt](members))
    # Unreadable clean files, a FIFO and a symlink loop.
    for i in range(5):
        g.write(f"home/alice/private{i}.key", g.text(2000)).chmod(0o000)
    for d in ("tmp/build", "home/bob/projects"):
        (root / d).mkdir(parents=True, exist_ok=True)
    os.mkfifo(root / "tmp" / "build" / "pipe")
    os.symlink("..", root / "home" / "bob" / "projects" / "loop")
    # Text, source and binaries fill the rest of the file count and byte budget.
    left_files = max(0, nfiles - g.files)
    n_text, n_src = int(left_files * 0.5), int(left_files * 0.37)
    n_bin = left_files - n_text - n_src
    # About 50 files per folder, as in real trees.
    for i in range(n_text):
        g.write(f"{dirs[(i // 50) % len(dirs)]}/t{i // 50}/note{i}.txt", g.text(int(rng.expovariate(1 / 4000)) + 10))
    exts = ("py", "c", "js", "go", "php")
    for i in range(n_src):
        g.write(
            f"{dirs[(i // 50) % len(dirs)]}/s{i // 50}/mod{i}.{exts[i % 5]}",
            g.source(int(rng.expovariate(1 / 8000)) + 50),
        )
    budget = max(n_bin * 1000, total - g.bytes)
    avg = budget // max(1, n_bin)
    for i in range(n_bin):
        n = max(1000, min(int(rng.expovariate(1 / avg)), 16 * avg))
        g.write(f"{dirs[(i // 50) % len(dirs)]}/b{i // 50}/bin{i}", g.binary(n))

    # Fill the hash signatures up to 20,000 with random digests (sizes like the corpus's, so some files get hashed).
    while len(hashes) < 20_000:
        hashes.append((rng.randbytes(16).hex(), rng.randrange(1000, 400_000), f"Bench.Hash.Random{len(hashes):05}"))
    cl = sigs / "clamav"
    ya = sigs / "yara"
    cl.mkdir(parents=True)
    ya.mkdir(parents=True)
    (cl / "bench.hdb").write_text("".join(f"{h}:{s}:{n}\n" for h, s, n in hashes))
    (cl / "bench.ndb").write_text(
        "".join(f"{n}:0:*:{hx}\n" for n, (_, hx) in zip(pattern_names, patterns, strict=True))
        + f"{EICAR_NAME}:0:*:{EICAR.hex()}\n"
    )
    (cl / "bench.ldb").write_text(f"Bench.Logical.Sig;Target:0;0&1;{ldb_a.hex()};{ldb_b.hex()}\n")
    rules = []
    for n, (_raw, hx) in zip(pattern_names, patterns, strict=True):
        ident = n.replace(".", "_")
        rules.append(
            f'rule {ident} {{\n  meta:\n    name = "{n}"\n  strings:\n    $p = {{ {hx} }}\n  condition:\n    $p\n}}\n'
        )
    rules.append(
        f"rule Bench_Logical_Sig {{\n  strings:\n    $a = {{ {ldb_a.hex()} }}\n    $b = {{ {ldb_b.hex()} }}\n"
        "  condition:\n    $a and $b\n}\n"
    )
    (ya / "bench.yar").write_text("".join(rules))
    (ya / "bench.hashes").write_text("".join(f"{h}:{s}:{n}\n" for h, s, n in hashes))
    corpus = Corpus(root, cl, ya, plants, g.files, g.bytes)
    marker.write_text(
        json.dumps({"params": params, "plants": [p.__dict__ for p in plants], "files": g.files, "bytes": g.bytes})
    )
    return corpus


# ------------------------------------------------------------------------------------------------- measuring


@dataclass
class Run:
    name: str
    wall: float
    cpu: float
    peak_rss: int
    bytes: int
    files: int
    found: set[tuple[str, str]]
    note: str = ""


def _tree_rss(pid: int) -> int:
    total = 0
    stack = [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
                        break
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    stack.extend(int(c) for c in fh.read().split())
        except (OSError, ValueError):
            continue
    return total


def _become_subreaper() -> None:
    """Orphaned grandchildren (the fork server and its workers) are re-parented to us, so their CPU is counted."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def _reap() -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.02)


def measure(
    cmd: Sequence[str], env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], float, float, int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak = 0
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    out_chunks: dict[str, str] = {}

    def pump() -> None:
        o, e = proc.communicate()
        out_chunks["out"], out_chunks["err"] = o, e

    th = threading.Thread(target=pump)
    th.start()
    while th.is_alive():
        peak = max(peak, _tree_rss(proc.pid))
        th.join(0.02)
    wall = time.monotonic() - t0
    _reap()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    done = subprocess.CompletedProcess(cmd, proc.returncode, out_chunks.get("out", ""), out_chunks.get("err", ""))
    return done, wall, cpu, peak


def _hash_file(path: str) -> int:
    h = hashlib.sha256()
    n = 0
    try:
        with open(path, "rb", buffering=0) as fh:
            while chunk := fh.read(4 * MB):
                h.update(chunk)
                n += len(chunk)
    except OSError:
        pass
    return n


def compile_bytecode() -> bool:
    """Write fleetscan's ``.pyc`` files when the environment keeps Python from writing them (this workplace sets
    PYTHONDONTWRITEBYTECODE): an installed package has them, while an editable checkout would otherwise compile
    every module from source at every start, about 20 ms of each run. Stale ones are recompiled by Python anyway."""
    if not os.environ.get("PYTHONDONTWRITEBYTECODE"):
        return False
    import compileall

    import fleetscan

    return bool(compileall.compile_dir(os.path.dirname(fleetscan.__file__), quiet=1))


def listing_time(root: Path) -> float:
    """The floor a rescan stands on: walking the tree and ``lstat``-ing every entry, in Python, doing nothing else."""
    best = float("inf")
    for _ in range(3):
        t0 = time.monotonic()
        stack = [str(root)]
        while stack:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    entry.stat(follow_symlinks=False)
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
        best = min(best, time.monotonic() - t0)
    return best


def limit_run(root: Path) -> Run:
    paths = []
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            p = os.path.join(dirpath, f)
            if os.path.isfile(p) and not os.path.islink(p):
                paths.append(p)
    t0 = time.monotonic()
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    s0 = resource.getrusage(resource.RUSAGE_SELF)
    with ProcessPoolExecutor(os.cpu_count() or 1) as pool:
        total = sum(pool.map(_hash_file, paths, chunksize=64))
    wall = time.monotonic() - t0
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    s1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = sum(getattr(c1, a) - getattr(c0, a) + getattr(s1, a) - getattr(s0, a) for a in ("ru_utime", "ru_stime"))
    return Run("read+sha256 (limit)", wall, cpu, 0, total, len(paths), set())


def clamscan_run(corpus: Corpus, max_size_mb: int) -> Run:
    cmd = [
        "clamscan",
        "-r",
        "--allmatch",
        "--heuristic-alerts=no",
        "--bytecode=no",
        "-d",
        str(corpus.sigs_clamav),
        f"--max-filesize={max_size_mb}M",
        f"--max-scansize={max_size_mb}M",
        "--max-files=10000",
        "--max-recursion=17",
        str(corpus.root),
    ]
    done, wall, cpu, peak = measure(cmd)
    found = set()
    scanned_mb = 0.0
    files = 0
    for line in done.stdout.splitlines():
        if line.endswith(" FOUND"):
            path, _, name = line[: -len(" FOUND")].rpartition(": ")
            found.add((path, name.removesuffix(".UNOFFICIAL")))
        elif line.startswith("Data scanned:"):
            scanned_mb = float(line.split()[2])
        elif line.startswith("Scanned files:"):
            files = int(line.split()[2])
    if done.returncode not in (0, 1):
        print(f"clamscan exited {done.returncode}: {done.stderr.strip()[-500:]}", file=sys.stderr)
    return Run("clamscan", wall, cpu, peak, int(scanned_mb * 1e6), files, found)


#: The pattern of the text variant: lower case with spaces, as a PowerShell download cradle is written after ClamAV's
#: normalisation; the corpus does not hold it.
TEXT_PATTERN = b"iex (new-object net.webclient).downloadstring("


def text_variant(corpus: Corpus) -> Path:
    """The ClamAV form plus `TEXT_PATTERN` (written beside the corpus's signatures, afresh each run)."""
    folder = corpus.sigs_clamav.with_name("clamav-text")
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(corpus.sigs_clamav, folder)
    (folder / "text.ndb").write_text(f"Bench.Text.Spaced:0:*:{TEXT_PATTERN.hex()}\n")
    return folder


def fleetscan_run(
    name: str, corpus: Corpus, sigs: Path, cache: Path, max_size_mb: int
) -> tuple[Run, dict[str, object]]:
    exe = Path(sys.executable).with_name("fleetscan")
    base = [str(exe), "scan"] if exe.exists() else [sys.executable, "-m", "fleetscan.cli", "scan"]
    cmd = [
        *base,
        str(corpus.root),
        "-d",
        str(sigs),
        "--json",
        f"--max-file-size={max_size_mb}M",
        f"--cache-dir={cache}",
    ]
    done, wall, cpu, peak = measure(cmd, env={**os.environ})
    try:
        doc = json.loads(done.stdout)
    except json.JSONDecodeError:
        print(f"{name}: no JSON (exit {done.returncode}): {done.stderr.strip()[-2000:]}", file=sys.stderr)
        raise SystemExit(2) from None
    report = doc["report"]
    # YARA rule names cannot hold dots: Bench_Pattern_001 is the YARA form of Bench.Pattern.001.
    found = {
        (d["path"], d["signature"].replace("_", ".") if d["signature"].startswith("Bench_") else d["signature"])
        for d in report["detections"]
    }
    note = f"engine {report['duration']:.2f}s, cached {report['files_cached']}"
    return Run(name, wall, cpu, peak, report["bytes_scanned"], report["files_scanned"], found, note), doc


# ------------------------------------------------------------------------------------------------- checking


def engine_duration(doc: dict[str, object]) -> float:
    report = doc["report"]
    assert isinstance(report, dict)
    return float(report["duration"])


def check(run: Run, plants: list[Plant], reason_of: Callable[[Plant], str | None]) -> tuple[list[str], list[str]]:
    expected = {(p.path, p.signature) for p in plants if reason_of(p) is None}
    planted_files = {p.path for p in plants}
    missing = sorted(f"{p} ({s})" for p, s in expected - run.found)
    false = sorted(
        f"{p} ({s})"
        for p, s in run.found - expected
        if p not in planted_files or (p, s) not in {(q.path, q.signature) for q in plants}
    )
    return missing, false


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=int, default=2048, help="corpus size in MiB (default 2048)")
    ap.add_argument("--files", type=int, default=50_000, help="number of files (default 50,000)")
    ap.add_argument("--seed", type=int, default=20260701)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/fleetscan-bench"))
    ap.add_argument("--max-file-size-mb", type=int, default=1024, help="given to both scanners")
    ap.add_argument("--skip-clamscan", action="store_true")
    ap.add_argument("--skip-yara-form", action="store_true")
    ap.add_argument("--skip-text-variant", action="store_true",
                    help="leave out the run with a lower-case text pattern (whole normalisation)")
    args = ap.parse_args(argv)
    _become_subreaper()
    if not args.skip_clamscan and shutil.which("clamscan") is None:
        print("clamscan not found: apt-get install clamav (or --skip-clamscan)", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    corpus = generate(args.workdir, args.seed, args.size_mb, args.files)
    print(
        f"corpus: {corpus.files} files, {corpus.bytes / 1e6:.0f} MB, {len(corpus.plants)} plants "
        f"({args.workdir}, seed {args.seed}, ready in {time.monotonic() - t0:.1f}s); "
        f"signatures: 20000 md5 + 500 patterns + EICAR + 1 logical; {os.cpu_count()} cores"
    )
    if os.geteuid() == 0:
        print("note: running as root, so the mode-000 files are readable to both scanners")
    runs: list[Run] = []
    if compile_bytecode():
        print("note: compiled fleetscan's bytecode first, as installing a package does (PYTHONDONTWRITEBYTECODE set)")

    def warm() -> None:
        """Read the corpus again, untimed, before each timed run: this machine reclaims page-cache pages that
        sat unused for about a minute, so the run after a 60 s clamscan would otherwise read from disk (seen:
        the first fleetscan scan after clamscan spent 4.9 s in the kernel, 7.8 s in all; warm, it takes 2.7 s)."""
        limit_run(corpus.root)

    warm()
    runs.append(limit_run(corpus.root))

    clam = None if args.skip_clamscan else clamscan_run(corpus, args.max_file_size_mb)
    if clam:
        runs.append(clam)
    cache = args.workdir / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    warm()
    first, first_doc = fleetscan_run("fleetscan scan", corpus, corpus.sigs_clamav, cache, args.max_file_size_mb)
    runs.append(first)
    rescan, rescan_doc = fleetscan_run("fleetscan rescan", corpus, corpus.sigs_clamav, cache, args.max_file_size_mb)
    rescan_doc_duration = engine_duration(rescan_doc)
    runs.append(rescan)
    if not args.skip_yara_form:
        ycache = args.workdir / "cache-yara"
        shutil.rmtree(ycache, ignore_errors=True)
        warm()
        yrun, _ = fleetscan_run("fleetscan (YARA form)", corpus, corpus.sigs_yara, ycache, args.max_file_size_mb)
        runs.append(yrun)
    text = None
    if not args.skip_text_variant:
        tcache = args.workdir / "cache-text"
        shutil.rmtree(tcache, ignore_errors=True)
        warm()
        text, _ = fleetscan_run("fleetscan (+text pattern)", corpus, text_variant(corpus), tcache,
                                args.max_file_size_mb)
        runs.append(text)

    print()
    print(f"{'run':<24}{'wall s':>9}{'cpu s':>9}{'MB/s':>9}{'files/s':>10}{'peak MB':>9}  notes")
    for r in runs:
        mbps = r.bytes / 1e6 / r.wall if r.wall else 0.0
        fps = r.files / r.wall if r.wall else 0.0
        peak = f"{r.peak_rss / 1e6:.0f}" if r.peak_rss else "-"
        print(f"{r.name:<24}{r.wall:>9.2f}{r.cpu:>9.2f}{mbps:>9.0f}{fps:>10.0f}{peak:>9}  {r.note}")
    print()
    if clam:
        print(
            f"clamscan / fleetscan wall time: {clam.wall / first.wall:.1f}x "
            f"(cpu {clam.cpu / max(first.cpu, 1e-9):.1f}x)"
        )
        if text:
            print(
                f"clamscan / fleetscan (+text pattern) wall time: {clam.wall / text.wall:.1f}x "
                f"(cpu {clam.cpu / max(text.cpu, 1e-9):.1f}x; clamscan normalises every text whatever its patterns)"
            )
    print(
        f"first scan / rescan wall time: {first.wall / rescan.wall:.1f}x "
        f"(engine time {engine_duration(first_doc) / max(rescan_doc_duration, 1e-9):.1f}x)"
    )
    listing = listing_time(corpus.root)
    print(
        f"bare Python listing of the corpus (scandir + lstat, best of 3): {listing:.2f}s; "
        f"rescan engine time / listing: {rescan_doc_duration / listing:.1f}x"
    )
    exe = Path(sys.executable).with_name("fleetscan")
    if exe.exists():
        _, startup, _, _ = measure([str(exe), "scan", "--help"])
        print(f"fleetscan process start + the scan command's imports (fleetscan scan --help): {startup:.2f}s")
    ok = True
    print()
    sig = first_doc["signatures"]
    assert isinstance(sig, dict)
    print(f"fleetscan signatures: {sig['counts']}; not usable: {sig['unsupported']}")
    report = first_doc["report"]
    assert isinstance(report, dict)
    print(f"fleetscan not scanned: {report['skipped']}")
    for r in [x for x in runs if x.name.startswith("fleetscan")]:
        missing, false = check(r, corpus.plants, lambda p: p.fleetscan_reason)
        reach = sum(1 for p in corpus.plants if p.fleetscan_reason is None)
        status = "OK" if not missing and not false else "MISMATCH"
        ok &= status == "OK"
        print(
            f"{r.name}: {len(r.found)} detections, {reach} reachable plants, missing {len(missing)}, "
            f"false positives {len(false)} -> {status}"
        )
        for m in missing + false:
            print(f"    {m}")
    for p in corpus.plants:
        if p.fleetscan_reason:
            print(f"  unreachable for fleetscan: {p.path} [{p.how}]: {p.fleetscan_reason}")
    if clam:
        missing, false = check(clam, corpus.plants, lambda p: p.clamscan_reason)
        status = "OK" if not missing and not false else "MISMATCH"
        print(
            f"clamscan: {len(clam.found)} detections, missing {len(missing)}, false positives {len(false)} -> {status}"
        )
        for m in missing + false:
            print(f"    {m}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
