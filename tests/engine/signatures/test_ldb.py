"""ClamAV logical signatures (.ldb): translated to YARA and checked against clamscan on the same files."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from fleetscan.engine import load_signatures
from fleetscan.engine.signatures.ldb import evaluate, holds_unmatched, parse_ldb_line
from fleetscan.engine.signatures.ndb import Untranslatable

from ..conftest import found, scan, sigs, write


def h(text: str | bytes) -> str:
    return (text.encode() if isinstance(text, str) else text).hex()


def test_expressions_are_read_as_clamav_writes_them() -> None:
    def expr(line: str) -> object:
        return parse_ldb_line(line).expr

    s0, s1, s2 = ("sub", 0), ("sub", 1), ("sub", 2)
    assert expr(f"A;Target:0;0&1;{h('ab')};{h('cd')}") == ("and", (s0, s1))
    # ClamAV splits at the first operator and reads the rest as one operand
    assert expr(f"A;Target:0;0|1|2;{h('ab')};{h('cd')};{h('ef')}") == ("or", (s0, ("or", (s1, s2))))
    assert expr(f"A;Target:0;0&1|2;{h('ab')};{h('cd')};{h('ef')}") == ("and", (s0, ("or", (s1, s2))))
    assert expr(f"A;Target:0;(0&1)|2;{h('ab')};{h('cd')};{h('ef')}") == ("or", (("and", (s0, s1)), s2))
    assert expr(f"A;Target:0;0>2;{h('ab')}") == ("count", (0,), ">", 2, None, s0)
    assert expr(f"A;Target:0;0>2,1;{h('ab')}") == ("count", (0,), ">", 2, None, s0)  # ,Y means nothing here
    assert expr(f"A;Target:0;(0|1)<3,2;{h('ab')};{h('cd')}") == ("count", (0, 1), "<", 3, 2, ("or", (s0, s1)))
    sig = parse_ldb_line(f"A;Engine:51-255,Target:1,FileSize:10-20;0&1;EP+0,8:{h('ab')};EOF-4:{h('cd')}")
    assert sig.target == 1 and sig.file_size == (10, 20)
    assert [(p.offset_kind, p.start, p.span, p.string) for p in sig.subsigs] == [
        ("ep", 0, 8, "{ 61 62 }"), ("eof", 4, 0, "{ 63 64 }")]
    assert parse_ldb_line(f"A;Target:0;0;{h('ab')}::iwi").subsigs[0].string == '"\\x61\\x62" nocase wide'


def test_evaluation_follows_matches_and_counts() -> None:
    s0, s1 = ("sub", 0), ("sub", 1)
    both = ("and", (s0, s1))
    assert evaluate(both, {0, 1}, {0: 1, 1: 1}) and not evaluate(both, {0}, {0: 1})
    group = ("count", (0, 1), ">", 2, 2, ("or", (s0, s1)))
    assert evaluate(group, {0, 1}, {0: 2, 1: 1})
    assert not evaluate(group, {0}, {0: 3})  # three matches, but one distinct subsignature
    needs_both = ("count", (0, 1), ">", 1, None, both)  # (0&1)>1: nothing counts unless both matched
    assert evaluate(needs_both, {0, 1}, {0: 1, 1: 1}) and not evaluate(needs_both, {0}, {0: 5})
    assert evaluate(("count", (0,), "=", 0, None, s0), set(), {}) and holds_unmatched(("count", (0,), "<", 2, None, s0))
    assert not holds_unmatched(both)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("A;Target:0;0;/ab+c/", "PCRE subsignature"),
        ("A;Target:0;0;0#be2#=1234", "byte-compare or fuzzy-image subsignature"),
        ("A;Target:0;0;${1-2}12$", "macro subsignature"),
        (f"A;Target:0;0&1;{h('ab')}", "the expression names subsignature 1, which is not given"),
        (f"A;Target:0;0;{h('ab')};{h('cd')}", "a subsignature the expression does not use"),
        (f"A;Target:0;0>1;5:{h('ab')}", "a match count on a subsignature with an offset"),
        (f"A;Engine:51-99,Target:0;0;{h('ab')}", "made for other ClamAV engine levels (this engine follows level 216)"),
        (f"A;Engine:51-255;0;{h('ab')}", "no Target in the target description"),
        (f"A;Target:3;0;{h('ab')}", "target 3 (HTML) needs ClamAV normalisation"),
        (f"A;Target:1,IconGroup1:foo;0;{h('ab')}", "target condition IconGroup1"),
        ("A;Target:0;0;4142??43::i", "modifiers on a pattern with wildcards"),
        (f"A;Target:0;0;SL+1:{h('ab')}", "section-relative offset"),
        ("A;Target:0", "malformed .ldb line"),
    ],
)
def test_what_yara_cannot_say_is_refused_with_the_reason(line: str, reason: str) -> None:
    with pytest.raises(Untranslatable) as exc:
        parse_ldb_line(line)
    assert str(exc.value) == reason


def test_a_signature_with_a_subsignature_yara_x_rejects_matches_nothing(tmp_path: Path) -> None:
    sample = write(tmp_path / "t.txt", "xx alpha-part xx")
    sigset = sigs(tmp_path, "t.ldb", [f"L.Half;Engine:51-255,Target:0;0|1;{h('alpha-part')};6162{{5-2}}63"])
    assert "logical" not in sigset.counts
    assert [r for r in sigset.unsupported.counts if r.startswith("logical signature: subsignature rejected")]
    assert found(scan([sample], sigset)) == set()  # its compiled subsignature is not reported on its own


def elf_entry_bytes(path: Path) -> bytes:
    """Eight bytes at an ELF file's entry point (its file offset as yara-x's elf module gives it)."""
    import yara_x

    outputs = yara_x.compile('import "elf" rule entry { condition: true }').scan(path.read_bytes()).module_outputs
    entry = int(outputs["elf"]["entry_point"])
    return path.read_bytes()[entry : entry + 8]


def test_entry_point_offsets_hold_on_elf_files(tmp_path: Path) -> None:
    if shutil.which("clamscan") is None:
        pytest.skip("Debian package clamav (clamscan) is not installed")
    elf = tmp_path / "corpus" / "true.elf"
    elf.parent.mkdir()
    shutil.copy("/bin/true", elf)
    db = write(tmp_path / "sigs" / "elf.ndb", f"Ndb.ElfEntry:6:EP+0:{elf_entry_bytes(elf).hex()}\n")
    ours = found(scan([elf], load_signatures([db])))
    assert ours == clamscan_found(db, elf.parent) == {(str(elf), "Ndb.ElfEntry")}


def clamscan_found(db: Path, target: Path) -> set[tuple[str, str]]:
    out = subprocess.run(
        ["clamscan", "--no-summary", "--allmatch", "-r", "--bytecode=no", "-d", str(db), str(target)],
        capture_output=True, text=True,
    )
    assert out.returncode in (0, 1), out.stderr
    hits = set()
    for line in out.stdout.splitlines():
        if line.endswith(" FOUND"):
            path, _, name = line[: -len(" FOUND")].rpartition(": ")
            hits.add((path, name.removesuffix(".UNOFFICIAL")))
    return hits


def test_fleetscan_and_clamscan_agree_on_every_file(tmp_path: Path, clam_dir: Path) -> None:
    if shutil.which("clamscan") is None:
        pytest.skip("Debian package clamav (clamscan) is not installed")
    corpus = tmp_path / "corpus"
    filler = "lorem ipsum dolor sit amet " * 8
    files = {
        "both.txt": f"{filler}alpha-part{filler}beta-part{filler}",
        "alpha.txt": f"{filler}alpha-part{filler}",
        "alpha2.txt": f"{filler}alpha-part{filler}alpha-part{filler}",
        "alpha3.txt": f"alpha-part{filler}alpha-part alpha-part{filler}",
        "group.txt": f"{filler}alpha-part alpha-part{filler}beta-part",
        "gamma.txt": f"{filler}gamma-part{filler}",
        "nested.txt": f"alpha-part{filler}delta-part",
        "head.txt": f"HEADER{filler}beta-part{filler}",
        "notatstart.txt": f"xHEADER{filler}beta-part{filler}",
        "tail.txt": f"{filler}TRAILER",
        "tailnot.txt": f"{filler}TRAILER.",
        "small.txt": "tiny-part",
        "large.txt": f"{filler}tiny-part{filler}",
        "case.txt": f"{filler}MiXeD-CaSe{filler}",
        "wide.txt": filler + "wide-part".encode("utf-16-le").decode("latin-1") + filler,
        "pe-strings.txt": f"{filler}CLAM and MessageBox{filler}",
        "many.txt": "B" + "A" * 1500 + "B",  # counts past yara-x's default of 1,000 matches kept per pattern
    }
    for name, text in files.items():
        write(corpus / name, text.encode("latin-1"))
    shutil.copy(clam_dir / "clam.exe", corpus / "clam.exe")
    shutil.copy("/bin/true", corpus / "true.elf")
    at_entry = elf_entry_bytes(corpus / "true.elf")
    lines = [
        f"L.And;Engine:51-255,Target:0;0&1;{h('alpha-part')};{h('beta-part')}",
        f"L.Or;Engine:51-255,Target:0;0|1;{h('gamma-part')};{h('delta-part')}",
        f"L.Count;Engine:51-255,Target:0;0>1;{h('alpha-part')}",
        f"L.Exact;Engine:51-255,Target:0;0=2;{h('alpha-part')}",
        f"L.Fewer;Engine:51-255,Target:0;0<2;{h('alpha-part')}",  # no match at all is fewer too, as in ClamAV
        f"L.Without;Engine:51-255,Target:0;0=0&1;{h('alpha-part')};{h('beta-part')}",
        f"L.Group;Engine:51-255,Target:0;(0|1)>2,2;{h('alpha-part')};{h('beta-part')}",
        f"L.Nested;Engine:51-255,Target:0;0&(1|2);{h('alpha-part')};{h('delta-part')};{h('gamma-part')}",
        f"L.Offset;Engine:51-255,Target:0;0&1;0:{h('HEADER')};{h('beta-part')}",
        f"L.Eof;Engine:51-255,Target:0;0;EOF-7:{h('TRAILER')}",
        f"L.Size;Engine:51-255,Target:0,FileSize:1-20;0;{h('tiny-part')}",
        f"L.Nocase;Engine:51-255,Target:0;0;{h('mixed-case')}::i",
        f"L.Wide;Engine:51-255,Target:0;0;{h('wide-part')}::w",
        f"L.Pe;Engine:51-255,Target:1;0&1;{h('CLAM')};{h('MessageBox')}",
        f"L.PeWithout;Engine:51-255,Target:1;0<1;{h('not in any file')}",  # holds with no match, on PE files only
        f"L.Mixed;Engine:51-255,Target:0;0&1|2;{h('alpha-part')};{h('gamma-part')};{h('delta-part')}",
        f"L.BothCounted;Engine:51-255,Target:0;(0&1)>2;{h('alpha-part')};{h('beta-part')}",
        f"L.SingleDistinct;Engine:51-255,Target:0;0>1,1;{h('alpha-part')}",
        f"L.ElfEntry;Engine:51-255,Target:6;0;EP+0:{at_entry.hex()}",
        f"L.Many;Engine:51-255,Target:0;0>1200;{h('AA')}",
        f"L.OldEngine;Engine:51-99,Target:0;0;{h('alpha-part')}",  # skipped by both: made for old engines
    ]
    sigset = sigs(tmp_path, "test.ldb", lines)
    assert sigset.counts["logical"] == len(lines) - 1 and sigset.unsupported.total == 1
    ours = found(scan([corpus], sigset))
    theirs = clamscan_found(tmp_path / "sigs" / "test.ldb", corpus)
    assert ours == theirs, (sorted(ours - theirs), sorted(theirs - ours))
    assert {name for _, name in ours} == {line.split(";")[0] for line in lines} - {"L.OldEngine"}  # all others fired
    assert (str(corpus / "true.elf"), "L.ElfEntry") in ours
    assert (str(corpus / "clam.exe"), "L.Pe") in ours and (str(corpus / "pe-strings.txt"), "L.Pe") not in ours
    assert {path for path, name in ours if name == "L.PeWithout"} == {str(corpus / "clam.exe")}
