"""The edges reach storage only through named ControlPlane methods (docs/architecture.md, "The core's ports").

Ruff's banned-api stops an edge importing `fleetscan.storage`; this stops the other way in, an attribute read
of the plane's `storage`, which no import rule sees.
"""

from __future__ import annotations

import ast
from pathlib import Path

import fleetscan

EDGES = ("api", "server", "console")


def test_no_edge_reads_the_planes_storage() -> None:
    root = Path(fleetscan.__file__).parent
    found = [
        f"{path.relative_to(root)}:{node.lineno}"
        for edge in EDGES
        for path in sorted((root / edge).rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.Attribute) and node.attr == "storage"
    ]
    assert found == []
