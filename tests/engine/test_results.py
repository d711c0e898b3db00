from __future__ import annotations

import json

from fleetscan.engine import Hit, ScanReport, Skip, SkipReason
from fleetscan.engine.results import MAX_EXAMPLES


def test_report_round_trips_through_json() -> None:
    r = ScanReport(signature_version="v1", files_clean=3, files_detected=1, bytes_scanned=10, checkpoint="/a/b")
    r.detections.append(Hit("/a/x", "Sig", "hash", "high", None, "in.zip!x", "v1"))
    for i in range(MAX_EXAMPLES + 5):
        r.add_skip(Skip(f"/a/big{i}", SkipReason.TOO_LARGE, "big"))
    doc = json.loads(json.dumps(r.to_dict()))
    assert doc["files_scanned"] == 4 and doc["files_skipped"] == MAX_EXAMPLES + 5
    back = ScanReport.from_dict(doc)
    assert back.to_dict() == r.to_dict()
    assert len(back.skip_examples["too_large"]) == MAX_EXAMPLES
    assert back.skipped == {"too_large": MAX_EXAMPLES + 5}
