"""SignatureStore: per project, each change a new immutable version; contents kept once; bytes pass validation."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from fleetscan.core.errors import InvalidParameter, NotFound
from fleetscan.core.models import ScanType
from fleetscan.core.service import ControlPlane
from fleetscan.core.signature_sets import SignatureFile
from fleetscan.core.tasks import Counters, TaskRequest
from fleetscan.storage import SqlStorage
from fleetscan.storage.schema import signature_blobs
from fleetscan.storage.validated import validated

from .world import enrolled, finding

RULE = b'rule stored { strings: $a = "stored-marker" condition: $a }\n'
HASHES = b"%s  Known.Bad\n" % (b"ab" * 32)


@pytest.fixture
def raw(store: SqlStorage) -> SqlStorage:
    return store


@pytest.fixture
def plane(raw: SqlStorage) -> ControlPlane:
    """Behind the validation layer, as the server runs it: these tests also hold it to bytes."""
    return ControlPlane(validated(raw), lambda: 1_700_000_000_000)


def test_each_change_is_a_new_immutable_version(plane: ControlPlane, raw: SqlStorage) -> None:
    scope = plane.project_scope("acct", "p1")
    first = plane.add_signatures(scope, "mine", [("r.yar", RULE), ("bad.sha256", HASHES)])
    second = plane.add_signatures(scope, "copy", [("r.yar", RULE)])  # the same bytes in another set
    third = plane.remove_signature_set(scope, "mine")
    assert (first.version, second.version, third.version) == (1, 2, 3)
    assert len({first.etag, second.etag, third.etag}) == 3
    again = plane.storage.get_signature_version(scope, 1, content=True)
    assert again is not None and {(f.set_name, f.name, f.content) for f in again.files} == {
        ("mine", "r.yar", RULE),
        ("mine", "bad.sha256", HASHES),
    }
    newest = plane.signature_version(scope)
    assert newest is not None and newest.version == 3 and [f.name for f in newest.files] == ["r.yar"]
    assert newest.files[0].content is None  # a listing does not load the bytes
    with raw.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(signature_blobs)).scalar_one() == 2
    assert plane.signature_version(plane.project_scope("acct", "p2")) is None  # per project


def test_refusals_change_nothing(plane: ControlPlane) -> None:
    scope = plane.project_scope("acct", "p1")
    with pytest.raises(InvalidParameter, match="file name"):
        plane.add_signatures(scope, "s", [("x" * 300 + ".yar", RULE)])
    with pytest.raises(InvalidParameter):
        plane.add_signatures(scope, "../up", [("r.yar", RULE)])
    with pytest.raises(NotFound):
        plane.remove_signature_set(scope, "never")
    assert plane.signature_version(scope) is None


def test_the_validation_layer_passes_bytes_and_holds_names_to_their_columns(raw: SqlStorage) -> None:
    store = validated(raw)
    scope = ControlPlane(store).project_scope("acct", "p1")
    content = bytes(range(256))  # not text: must pass as it is
    ok = SignatureFile("s", "b.sha256", "sha256", "0" * 64, 256, content)
    assert store.change_signatures(scope, lambda _: [ok], 1).version == 1
    wide = SignatureFile("s" * 129, "b.sha256", "sha256", "0" * 64, 256, content)
    with pytest.raises(InvalidParameter, match="set_name"):
        store.change_signatures(scope, lambda _: [wide], 2)
    assert store.get_signature_version(scope, content=True).files[0].content == content  # type: ignore[union-attr]


def test_hosts_and_findings_record_the_version_they_scanned_with(raw: SqlStorage) -> None:
    plane = ControlPlane(raw, lambda: 1_700_000_000_000)
    [host] = enrolled(plane, 1)
    scope = plane.create_access_key("acct", "p1").scope
    raw.note_host_signatures(host.id, 3)
    found = raw.get_host_by_agent(host.agent_id)
    assert found is not None and found[0].signature_version == 3
    root = plane.create_task(scope, TaskRequest("t", ScanType.FULL, host_ids=[host.host_id])).root
    [(sub, _)] = plane.work(host)
    seen = [finding("/a", signature_version=2), finding("/b", signature_version=3), finding("/c")]
    plane.report(host, sub.id, "r1", Counters(), seen)
    assert raw.signature_versions_of_roots([root.id, 999]) == {root.id: [2, 3], 999: []}
    assert raw.signature_versions_of_roots([]) == {}
