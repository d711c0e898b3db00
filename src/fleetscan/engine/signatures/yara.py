"""YARA rule sources: files or folders of rules, compiled later together with the translated ClamAV patterns."""

from __future__ import annotations

import re

from ..results import Severity

__all__ = ["YARA_SUFFIXES", "count_rules", "severity_from_meta"]

YARA_SUFFIXES = (".yar", ".yara", ".rule", ".rules")

_RULE = re.compile(r"^\s*(?:(?:private|global)\s+)*rule\s+\w+", re.MULTILINE)
_LEVELS = frozenset(level.value for level in Severity)


def count_rules(text: str) -> int:
    """Rules in a source, for reporting how many were lost when a file does not compile."""
    return max(1, len(_RULE.findall(text)))


def severity_from_meta(meta: tuple[tuple[str, object], ...], default: str = Severity.HIGH.value) -> str:
    """Map a rule's ``severity``/``score`` metadata (word or 0-100 number) onto the four HSS levels."""
    for key, value in meta:
        if key.lower() not in ("severity", "score", "threat_level"):
            continue
        if isinstance(value, str) and value.lower() in _LEVELS:
            return value.lower()
        if isinstance(value, int | float) and not isinstance(value, bool):
            v = float(value)
            level = Severity.CRITICAL if v >= 90 else Severity.HIGH if v >= 70 else Severity.MEDIUM if v >= 40 \
                else Severity.LOW
            return level.value
    return default
