from __future__ import annotations

import fleetscan.engine as engine


def test_public_surface() -> None:
    assert sorted(engine.__all__) == sorted(set(engine.__all__))
    for name in engine.__all__:
        assert getattr(engine, name) is not None
    for name in ("load_signatures", "Scanner", "ScanOptions", "ScanReport", "Hit", "Skip", "SkipReason",
                 "Progress", "SignatureSet", "ArchiveLimits"):
        assert name in engine.__all__
