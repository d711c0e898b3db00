"""`fleetscan signatures add | list | remove`: central signature sets, validated before they are stored."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from tests.support.server import cli

RULE = 'rule fleetscan_marker_{n} {{ strings: $a = "{marker}" condition: $a }}\n'


@pytest.fixture
def project() -> str:
    return "p-" + uuid.uuid4().hex[:12]


def _run(database_url: str, *args: str) -> tuple[int, str, str]:
    done = cli(database_url, "signatures", *args)
    return done.returncode, done.stdout, done.stderr


def test_add_list_remove(database_url: str, project: str, tmp_path: Path) -> None:
    rule = tmp_path / "marker.yar"
    rule.write_text(RULE.format(n=1, marker="unique-marker-" + uuid.uuid4().hex))
    hashes = tmp_path / "bad.sha256"
    hashes.write_text(f"{'ab' * 32}  Known.Bad.File\n{'cd' * 32}\n")
    code, out, err = _run(database_url, "add", str(rule), str(hashes), "--project-id", project, "--name", "mine",
                          "--json")
    assert code == 0, err
    added = json.loads(out)
    assert added["version"] == 1
    assert [(f["name"], f["kind"]) for f in added["sets"]["mine"]] == [("bad.sha256", "sha256"), ("marker.yar", "yara")]
    other = tmp_path / "other.yara"
    other.write_text(RULE.format(n=2, marker="other-marker"))
    code, out, err = _run(database_url, "add", str(other), "--project-id", project, "--json")
    assert code == 0, err
    assert json.loads(out)["version"] == 2

    code, out, _ = _run(database_url, "list", "--project-id", project, "--json")
    listed = json.loads(out)
    assert listed["version"] == 2 and sorted(listed["sets"]) == ["mine", "other"]
    code, out, _ = _run(database_url, "list", "--project-id", project)
    assert "version 2" in out and "mine" in out and "marker.yar" in out

    code, out, err = _run(database_url, "remove", "mine", "--project-id", project)
    assert code == 0, err
    code, out, _ = _run(database_url, "list", "--project-id", project, "--json")
    assert json.loads(out)["version"] == 3 and sorted(json.loads(out)["sets"]) == ["other"]

    code, _, err = _run(database_url, "remove", "mine", "--project-id", project)
    assert code != 0 and "mine" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_rule_that_does_not_compile_is_refused_with_the_compilers_message(
    database_url: str, project: str, tmp_path: Path
) -> None:
    bad = tmp_path / "broken.yar"
    bad.write_text('rule broken { strings: $a = "x" condition: $b }\n')
    code, out, err = _run(database_url, "add", str(bad), "--project-id", project)
    assert code != 0
    assert "broken.yar" in err and "$b" in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    code, out, _ = _run(database_url, "list", "--project-id", project, "--json")
    assert json.loads(out)["version"] is None  # nothing stored


def test_a_damaged_ndb_is_refused_naming_it(database_url: str, project: str, tmp_path: Path) -> None:
    good = tmp_path / "good.yar"
    good.write_text(RULE.format(n=3, marker="fine"))
    damaged = tmp_path / "damaged.ndb"
    damaged.write_text("this is not a signature\n")
    code, _, err = _run(database_url, "add", str(good), str(damaged), "--project-id", project)
    assert code != 0 and "damaged.ndb" in err, err
    assert "Traceback" not in err
    code, out, _ = _run(database_url, "list", "--project-id", project, "--json")
    assert json.loads(out)["version"] is None


def test_an_unknown_kind_is_refused(database_url: str, project: str, tmp_path: Path) -> None:
    odd = tmp_path / "notes.txt"
    odd.write_text("hello\n")
    code, _, err = _run(database_url, "add", str(odd), "--project-id", project)
    assert code != 0 and "notes.txt" in err and "Traceback" not in err
