from __future__ import annotations

from pathlib import Path

import pytest

from fleetscan.engine import SignatureSourceError, load_signatures

from ..conftest import found, scan, write

RULES = """
rule Critical_Thing { meta: severity = "critical" strings: $a = "evil-marker-1" condition: $a }
rule Scored_Thing { meta: score = 45 strings: $a = { 65 76 69 6C 2D 6D 61 72 6B 65 72 2D 32 } condition: $a }
"""


def test_folder_of_rules_with_severity(tmp_path: Path) -> None:
    write(tmp_path / "rules" / "a.yar", RULES)
    write(tmp_path / "rules" / "sub" / "b.yara", 'rule Other { strings: $a = "evil-marker-3" condition: $a }')
    sigset = load_signatures([tmp_path / "rules"])
    assert sigset.counts["yara"] == 3
    t1 = write(tmp_path / "t" / "one", b"..evil-marker-1..")
    t2 = write(tmp_path / "t" / "two", b"..evil-marker-2..")
    t3 = write(tmp_path / "t" / "three", b"..evil-marker-3..")
    write(tmp_path / "t" / "clean", b"nothing here")
    report = scan([tmp_path / "t"], sigset)
    assert found(report) == {(str(t1), "Critical_Thing"), (str(t2), "Scored_Thing"), (str(t3), "Other")}
    sev = {d.signature: (d.severity, d.offset, d.sig_type) for d in report.detections}
    assert sev["Critical_Thing"] == ("critical", 2, "yara")
    assert sev["Scored_Thing"] == ("medium", 2, "yara")
    assert report.files_clean == 1


def test_same_rule_name_in_two_files_is_fine(tmp_path: Path) -> None:
    write(tmp_path / "r" / "a.yar", 'rule Dup { strings: $a = "aaa-111" condition: $a }')
    write(tmp_path / "r" / "b.yar", 'rule Dup { strings: $a = "bbb-222" condition: $a }')
    assert load_signatures([tmp_path / "r"]).counts["yara"] == 2


def test_broken_rule_file_is_an_error_unless_accepted(tmp_path: Path) -> None:
    write(tmp_path / "r" / "bad.yar", "rule Broken { condition: $nope }\nrule Also { condition: true }\n")
    write(tmp_path / "r" / "good.yar", 'rule Good { strings: $a = "good-marker" condition: $a }')
    with pytest.raises(SignatureSourceError, match=r"bad\.yar: YARA rule file rejected by yara-x: .*unknown pattern"):
        load_signatures([tmp_path / "r"])
    sigset = load_signatures([tmp_path / "r"], ignore_bad=True)
    assert sigset.counts["yara"] == 1
    [(reason, n)] = sigset.unsupported.counts.items()
    assert reason.startswith("YARA rule file rejected by yara-x") and n == 2
