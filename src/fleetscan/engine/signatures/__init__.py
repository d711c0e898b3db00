"""Signature sources (YARA, hash lists, ClamAV databases and containers) and the compiled set the engine uses.

`sources` finds and reads them, `compile` builds one yara-x ``Rules`` and its tables, `set_cache` keeps compiled
sets on disk, `load` ties the three together; `clamav_match` reads a match as ClamAV would.
"""

from __future__ import annotations

from .eicar import EICAR, EICAR_NAME
from .hashes import HashIndex
from .load import load_signatures
from .model import BodyPattern, HashSig, UnsupportedReport
from .ndb import Untranslatable, clamav_hex_to_yara, parse_ndb_line
from .signature_set import MatchTables, SignatureSet
from .sources import DamagedSignatures, SignatureSourceError, sources_stamp

__all__ = [
    "EICAR",
    "EICAR_NAME",
    "BodyPattern",
    "DamagedSignatures",
    "HashIndex",
    "HashSig",
    "MatchTables",
    "SignatureSet",
    "SignatureSourceError",
    "UnsupportedReport",
    "Untranslatable",
    "clamav_hex_to_yara",
    "load_signatures",
    "parse_ndb_line",
    "sources_stamp",
]
