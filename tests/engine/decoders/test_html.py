"""Base64 data URIs in HTML, CSS and scripts: each decoded payload is a layer, matched like a file."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from fleetscan.engine.decoders import Undecodable
from fleetscan.engine.decoders.html import decode_data_uris
from fleetscan.engine.limits import ArchiveLimits, Budget
from fleetscan.engine.results import SkipReason

from .conftest import LayerWalk, Marker, compare_with_clamscan


def _budget() -> Budget:
    return Budget(ArchiveLimits(), archive_size=1 << 20)


def test_data_uris_in_html_css_and_js_match_at_least_as_clamscan(
    tmp_path: Path, marker: Marker, walk: LayerWalk
) -> None:
    b64 = base64.b64encode(marker.payload).decode()
    wrapped = "\\\n".join(b64[i : i + 76] for i in range(0, len(b64), 76))
    corpus = {
        "page.html": f'<html><body><a href="data:application/octet-stream;base64,{b64}">get</a></body></html>'.encode(),
        "style.css": f"body {{ background: url(data:image/png;base64,{wrapped}); }}\n".encode(),
        "app.js": f'var blob = "DATA:application/x-msdownload;name=a.exe;base64,{b64}";\n'.encode(),
        "urlsafe.svg": f'<svg><image href="data:;base64,{base64.urlsafe_b64encode(marker.payload).decode()}"/></svg>'
        .encode(),
    }
    walks = compare_with_clamscan(walk, marker.sig_dir, corpus, tmp_path)
    for name, walked in walks.items():
        assert walked.where(Marker.HASH) == {"data URI 1"}, name
        assert Marker.BODY in walked.found and not walked.problems, name
    assert Marker.HASH in walks["page.html"].clamscan  # ClamAV decodes the HTML one too


def test_many_uris_each_a_layer() -> None:
    page = b"".join(b'<img src="data:image/gif;base64,' + base64.b64encode(bytes([i]) * 10) + b'">' for i in range(5))
    assert [(x.name, x.data) for x in decode_data_uris(page, "p.html", _budget())] == [
        (f"data URI {i + 1}", bytes([i]) * 10) for i in range(5)
    ]
    assert list(decode_data_uris(b"<p>no uri here, nothing to do</p>", "p.html", _budget())) == []


def test_damaged_base64_yields_what_decodes_then_says_corrupt(marker: Marker) -> None:
    b64 = base64.b64encode(marker.payload)
    b64 = b64[: len(b64) // 4 * 4 - 4] + b"A"  # one character past a whole group
    page = b'<a href="data:application/octet-stream;base64,' + b64 + b'">x</a>'
    got = []
    with pytest.raises(Undecodable) as err:
        for layer in decode_data_uris(page, "p.html", _budget()):
            got.append(layer)
    assert err.value.reason == SkipReason.CORRUPT
    assert got and marker.text in got[0].data  # what decoded before the damage is still matched


def test_uri_limit_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from fleetscan.engine.decoders import html

    monkeypatch.setattr(html, "MAX_URIS", 2)
    page = b'<img src="data:;base64,QUJD">' * 3
    with pytest.raises(Undecodable) as err:
        list(decode_data_uris(page, "p.html", _budget()))
    assert err.value.reason == SkipReason.ARCHIVE_LIMIT and "more than 2 data URIs" in err.value.detail


def test_every_spelling_the_pattern_accepts_is_searched(marker: Marker) -> None:
    """The pattern ignores case; the quick search before it must not drop a spelling it accepts (``dATA:`` was)."""
    b64 = base64.b64encode(marker.payload).decode()
    for scheme in ("data", "Data", "DATA", "dATA"):
        page = f'<img src="{scheme}:image/gif;base64,{b64}">'.encode()
        assert [x.data for x in decode_data_uris(page, "p.html", _budget())] == [marker.payload], scheme


def test_a_text_without_a_colon_holds_no_uri() -> None:
    """The quick exit before the searches: no colon, no ``data:`` and nothing decoded; one colon, and it is."""
    assert list(decode_data_uris(b"plain words\n" * 1000, "t.txt", _budget())) == []
    page = b"words " * 1000 + b"data:;base64,TVqQAAMAAAAEAAAA"
    assert [x.name for x in decode_data_uris(page, "t.txt", _budget())] == ["data URI 1"]
