"""Signature sources (YARA, hash lists, ClamAV databases and containers) and the compiled set the engine uses."""

from __future__ import annotations

from .eicar import EICAR, EICAR_NAME
from .hashes import HashIndex
from .model import BodyPattern, HashSig, UnsupportedReport
from .ndb import Untranslatable, clamav_hex_to_yara, parse_ndb_line
from .sigset import DamagedSignatures, SignatureError, SignatureSet, load_signatures, sources_stamp

__all__ = [
    "EICAR",
    "EICAR_NAME",
    "BodyPattern",
    "DamagedSignatures",
    "HashIndex",
    "HashSig",
    "SignatureError",
    "SignatureSet",
    "Untranslatable",
    "UnsupportedReport",
    "clamav_hex_to_yara",
    "load_signatures",
    "parse_ndb_line",
    "sources_stamp",
]
