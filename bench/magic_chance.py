"""How many random files the engine takes for a container: the false "not scanned" rate of short magics.

A file whose first bytes happen to be an archive's or a compressor's magic is handed to that format's reader, and
when the reader cannot open it, it is "not scanned: corrupt" (or "needs clamd"): never clean. Two bytes of magic
are met by one random file in 65,536. This draws N random heads (the whole of a small file) and counts, per magic,
those the engine's classification sends to a container path: an archive decoder (`filetypes.is_archive`) or a
format only clamd opens (`exotic.exotic`).

Run from the repository root:  .venv/bin/python -m bench.magic_chance [--heads 2000000] [--size 512] [--seed 11]
"""

from __future__ import annotations

import argparse
import random
from collections import Counter

from fleetscan.engine.exotic import exotic
from fleetscan.engine.filetypes import is_archive

#: The magics of three bytes or fewer, by their first two bytes, as the count names them.
NAMES = {
    b"\x1f\x8b": "gzip 1f8b",
    b"\x1f\x9d": ".Z 1f9d",
    b"\x71\xc7": "cpio bin 71c7",
    b"\xc7\x71": "cpio bin c771",
    b"BZ": "bzip2 BZh",
    b"\x5d\x00": "lzma 5d0000",
    b"\x60\xea": "arj 60ea",
    b"CW": "swf CWS",
    b"ZW": "swf ZWS",
}


def count(heads: int, size: int, seed: int) -> Counter[str]:
    rng = random.Random(seed)
    sent: Counter[str] = Counter()
    for _ in range(heads):
        head = rng.randbytes(size)
        if is_archive(head):
            sent[NAMES.get(head[:2], f"archive {head[:4].hex()}")] += 1
        kind = exotic(head, lambda off, n, h=head: h[off : off + n], size)
        if kind is not None:
            sent[f"{kind} ({NAMES.get(head[:2], head[:4].hex())})"] += 1
    return sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--heads", type=int, default=2_000_000)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    sent = count(args.heads, args.size, args.seed)
    print(f"{args.heads:,} random heads of {args.size} bytes (seed {args.seed}): "
          f"{sum(sent.values())} sent to a container path")
    for what, n in sorted(sent.items(), key=lambda kv: -kv[1]):
        print(f"  {what:<32} {n:>6}  (1 in {args.heads // n:,})")


if __name__ == "__main__":
    main()
