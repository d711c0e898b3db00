"""The EICAR test signature, always loaded so that any deployment can be checked end to end.

The test string itself is never written in the clear, here or in this module's bytecode: an antivirus (this one
included) scanning the installed package must not find a test file in it. It is kept masked and unmasked when the
module is imported; a function call, unlike ``a + b`` on two constants, is not folded into one constant by the
compiler.
"""

from __future__ import annotations

__all__ = ["EICAR", "EICAR_NAME", "EICAR_RULE", "EICAR_NAMESPACE"]

#: XOR mask of the stored string (any non-zero byte hides it), and the string masked, in hex.
_MASK = 0xA5
_MASKED = (
    "fd90ea84f580e5e4f5fe91f9f5fffd90918df5fb8c92e6e68c92d881e0ece6e4f788"
    "f6f1e4ebe1e4f7e188e4ebf1ecf3ecf7f0f688f1e0f6f188e3ece9e08481ed8eed8f"
)


def _unmask(hex_text: str, mask: int = _MASK) -> bytes:
    return bytes(b ^ mask for b in bytes.fromhex(hex_text))


EICAR = _unmask(_MASKED)
EICAR_NAME = "Eicar-Test-Signature"
EICAR_NAMESPACE = "fleetscan_builtin"

# A hex string rather than a text string: the EICAR text contains characters YARA would need escaped (and the rule
# source, like the module, then never holds the string in the clear).
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
