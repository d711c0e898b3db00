"""Writers for the test corpus: OLE2 compound files, VBA projects, OLE1 packages (nothing in the stdlib writes them).

Small and literal: enough of each format for olefile, ClamAV and Office to read, built the way the specifications
(MS-CFB, MS-OVBA, MS-OLEDS) lay them out, so the decoders are tested against files they did not write themselves.
"""

from __future__ import annotations

import struct

SECTOR, MINI, CUTOFF = 512, 64, 4096
FREE, END, FATSECT, NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def cfb(streams: dict[str, bytes]) -> bytes:
    """An OLE2 file holding ``streams`` ({"Macros/VBA/dir": bytes, ...}); storages are made for the folders.
    Streams under 4 KiB live in the mini stream, as Office writes them."""
    nodes: list[dict] = [{"name": "Root Entry", "type": 5, "kids": [], "data": b""}]
    index = {"": 0}
    for path, data in streams.items():
        parts = path.split("/")
        for i in range(1, len(parts) + 1):
            key = "/".join(parts[:i])
            if key not in index:
                stream = i == len(parts)
                nodes.append({"name": parts[i - 1], "type": 2 if stream else 1, "kids": [],
                              "data": data if stream else b""})
                index[key] = len(nodes) - 1
                nodes[index["/".join(parts[: i - 1])]]["kids"].append(len(nodes) - 1)
    sectors: list[bytes] = []
    fat: list[int] = []

    def chain(blob: bytes) -> int:
        count, start = max(1, -(-len(blob) // SECTOR)), len(sectors)
        for i in range(count):
            sectors.append(blob[i * SECTOR : (i + 1) * SECTOR].ljust(SECTOR, b"\0"))
            fat.append(start + i + 1 if i < count - 1 else END)
        return start

    mini, minifat = bytearray(), []
    for node in nodes[1:]:
        if node["type"] != 2:
            node["start"] = 0
        elif len(node["data"]) >= CUTOFF:
            node["start"] = chain(node["data"])
        else:
            count, start = max(1, -(-len(node["data"]) // MINI)), len(mini) // MINI
            mini += node["data"].ljust(count * MINI, b"\0")
            minifat += [start + i + 1 if i < count - 1 else END for i in range(count)]
            node["start"] = start
    nodes[0]["start"] = chain(bytes(mini)) if mini else END
    nodes[0]["data"] = bytes(mini)
    minifat_start = chain(b"".join(struct.pack("<I", x) for x in minifat).ljust(SECTOR, b"\xff")) if minifat else END
    directory = b""
    for node in nodes:
        kids = node["kids"]
        for a, b in zip(kids, kids[1:], strict=False):
            nodes[a]["right"] = b
        name = node["name"].encode("utf-16-le") + b"\0\0"
        directory += struct.pack(
            "<64sHBBIII16sIQQIQ", name, len(name), node["type"], 1, NOSTREAM, node.get("right", NOSTREAM),
            kids[0] if kids else NOSTREAM, b"\0" * 16, 0, 0, 0, node["start"], len(node["data"]))
    directory += b"\0" * (-len(directory) % SECTOR)
    dir_start = chain(directory)
    nfat = 1
    while (len(sectors) + nfat) * 4 > nfat * SECTOR:
        nfat += 1
    fat_start = len(sectors)
    fat += [FATSECT] * nfat
    table = b"".join(struct.pack("<I", x) for x in fat).ljust(nfat * SECTOR, b"\xff")
    sectors += [table[i * SECTOR : (i + 1) * SECTOR] for i in range(nfat)]
    difat = [fat_start + i for i in range(nfat)] + [FREE] * (109 - nfat)
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"\0" * 16, 0x3E, 3, 0xFFFE, 9, 6, b"\0" * 6,
        0, nfat, dir_start, 0, CUTOFF, minifat_start, len(minifat) and -(-len(minifat) * 4 // SECTOR), END, 0,
    ) + b"".join(struct.pack("<I", x) for x in difat)
    return header + b"".join(sectors)


def ovba_compress(data: bytes) -> bytes:
    """MS-OVBA 2.4.1 compression (greedy, a short search window: small code, real copy tokens)."""
    out = bytearray(b"\x01")
    for cs in range(0, len(data), 4096):
        chunk, body, pos = data[cs : cs + 4096], bytearray(), 0
        while pos < len(chunk):
            flag_at, flags = len(body), 0
            body.append(0)
            for bit in range(8):
                if pos >= len(chunk):
                    break
                bit_count = max((pos - 1).bit_length(), 4)
                max_len, best_len, best_off = (0xFFFF >> bit_count) + 3, 0, 0
                for off in range(1, min(pos, 1 << bit_count, 256) + 1):
                    n = 0
                    while n < max_len and pos + n < len(chunk) and chunk[pos + n - off] == chunk[pos + n]:
                        n += 1
                    if n > best_len:
                        best_len, best_off = n, off
                if best_len >= 3:
                    body += struct.pack("<H", (best_off - 1) << (16 - bit_count) | (best_len - 3))
                    flags |= 1 << bit
                    pos += best_len
                else:
                    body.append(chunk[pos])
                    pos += 1
            body[flag_at] = flags
        if len(body) > 4096:  # incompressible: stored raw, which only a whole 4 KiB chunk may be
            assert len(chunk) == 4096
            out += struct.pack("<H", 0x3FFF) + chunk
        else:
            out += struct.pack("<H", 0xB000 | (len(body) - 1)) + body
    return bytes(out)


def _rec(rid: int, value: bytes) -> bytes:
    return struct.pack("<HI", rid, len(value)) + value


def vba_project(modules: dict[str, str]) -> dict[str, bytes]:
    """The streams of a VBA project storage (``VBA/dir``, ``VBA/_VBA_PROJECT``, one per module), for ``cfb``."""
    project = b"".join((
        _rec(0x01, struct.pack("<I", 1)), _rec(0x02, struct.pack("<I", 0x409)), _rec(0x14, struct.pack("<I", 0x409)),
        _rec(0x03, struct.pack("<H", 1252)), _rec(0x04, b"VBAProject"), _rec(0x05, b""), _rec(0x40, b""),
        _rec(0x06, b""), _rec(0x3D, b""), _rec(0x07, struct.pack("<I", 0)), _rec(0x08, struct.pack("<I", 0)),
        struct.pack("<HIIH", 0x09, 4, 1, 0), _rec(0x0C, b""), _rec(0x3C, b""),
        _rec(0x0F, struct.pack("<H", len(modules))), _rec(0x13, struct.pack("<H", 0xFFFF)),
    ))
    streams = {}
    cache = b"\xcc" * 8  # the performance cache the source follows (MODULEOFFSET)
    for name, source in modules.items():
        project += b"".join((
            _rec(0x19, name.encode()), _rec(0x47, name.encode("utf-16-le")), _rec(0x1A, name.encode()),
            _rec(0x32, name.encode("utf-16-le")), _rec(0x1C, b""), _rec(0x48, b""),
            _rec(0x31, struct.pack("<I", len(cache))), _rec(0x1E, struct.pack("<I", 0)),
            _rec(0x2C, struct.pack("<H", 0xFFFF)), _rec(0x21, b""), _rec(0x2B, b""),
        ))
        streams[f"VBA/{name}"] = cache + ovba_compress(source.encode())
    project += _rec(0x10, b"")
    streams["VBA/dir"] = ovba_compress(project)
    streams["VBA/_VBA_PROJECT"] = b"\xcc\x61\xff\xff\x00\x00\x00"
    return streams


def ole10native(name: str, payload: bytes) -> bytes:
    """An OLE1 "Package" native stream wrapping ``payload`` as the file ``name`` (without the 4-byte size that the
    ``\\x01Ole10Native`` stream puts first)."""
    temp = f"C:\\Temp\\{name}".encode() + b"\0"
    return (b"\x02\x00" + name.encode() + b"\0" + f"C:\\{name}".encode() + b"\0" + b"\x00\x00\x03\x00"
            + struct.pack("<I", len(temp)) + temp + struct.pack("<I", len(payload)) + payload)
