"""The EICAR test signature, always loaded so that any deployment can be checked end to end."""

from __future__ import annotations

__all__ = ["EICAR", "EICAR_NAME", "EICAR_RULE", "EICAR_NAMESPACE"]

EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
EICAR_NAME = "Eicar-Test-Signature"
EICAR_NAMESPACE = "fleetscan_builtin"

# A hex string rather than a text string: the EICAR text contains characters YARA would need escaped.
EICAR_RULE = (
    "rule eicar_test_file {\n"
    "  meta:\n"
    f'    name = "{EICAR_NAME}"\n'
    '    severity = "low"\n'
    "  strings:\n"
    f"    $eicar = {{ {EICAR.hex(' ').upper()} }}\n"
    "  condition:\n"
    "    $eicar\n"
    "}\n"
)
