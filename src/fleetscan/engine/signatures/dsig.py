"""ClamAV's digital signatures, verified as libclamav verifies them (``libclamav/dsig.c``), in pure Python.

Two schemes, each with its own published RSA key:

* a ``.cvd`` header's ``dsig`` field signs the MD5 of the body (``cli_versig``): plain RSA, the decrypted number
  being the 16-byte digest itself;
* the ``DSIG:`` line ending the ``.info`` member of a ``.cvd`` or ``.cld`` signs the SHA-256 of the lines above it
  (``cli_versig2``): RSA-PSS with SHA-256, MGF1 and a 32-byte salt, on a 2048-bit key.

Both write the signature number in base 64 with ClamAV's own digit order (``a``-``z``, ``A``-``Z``, ``0``-``9``,
``+``, ``/``), least significant digit first. The keys are parameters so that tests can sign with a key of their
own; they default to ClamAV's.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

__all__ = ["RsaKey", "ClamavKeys", "CLAMAV_KEYS", "decode_number", "verify_md5_dsig", "verify_sha256_pss"]


@dataclass(frozen=True)
class RsaKey:
    n: int
    e: int


@dataclass(frozen=True)
class ClamavKeys:
    cvd: RsaKey
    """Signs a ``.cvd`` header (``CLI_NSTR``/``CLI_ESTR`` in ``dsig.c``)."""
    info: RsaKey
    """Signs the ``.info`` member of ``.cvd`` and ``.cld`` files (``INFO_NSTR``/``INFO_ESTR`` in ``readdb.c``)."""


CLAMAV_KEYS = ClamavKeys(
    cvd=RsaKey(
        n=int(
            "118640995551645342603070001658453189751527774412027743746599405743243142607464144767361060640655844749760"
            "788890022283424922762488917565551002467771109669598189410434699034532232228621591089508178591428456220796"
            "841621637175567590476666928698770143328137383952820383197532047771780196576957695822641224262693037"
        ),
        e=100001027,
    ),
    info=RsaKey(
        n=int(
            "110888949830485454736595561066271949239289417917950476205916586974135810433227159121724968065253810558809"
            "645206184002243333205346602992339837553417406795028668299096799557343913926683783612215242053966310901051"
            "516412708572770803107343209516537005089417174191687239425078907029047027075874516216910507543078503833998"
            "653464872037984641785373922114027864813598244611972311028954150937703942166663244845939357624084685168266"
            "331921408266679234948220458053478099328484548458869717064243605586678627758760720594377033653802091016977"
            "38577515476935085469455279994113145977994084618328482151013142393373316337519977244732747977"
        ),
        e=100002049,
    ),
)

_DIGITS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/"
_VALUE = {ch: i for i, ch in enumerate(_DIGITS)}
_PSS_LEN = 2048 // 8
_SHA256_LEN = 32
_SALT_LEN = 32


def decode_number(text: str) -> int | None:
    """The number a signature field writes, or None when it holds a character outside ClamAV's digits."""
    value = 0
    for i, ch in enumerate(text):
        digit = _VALUE.get(ch)
        if digit is None:
            return None
        value |= digit << (6 * i)
    return value


def _decrypt(dsig: str, key: RsaKey, length: int) -> bytes | None:
    """The signature raised to the public exponent, as ``length`` big-endian bytes; None if it does not fit."""
    number = decode_number(dsig.strip())
    if number is None:
        return None
    plain = pow(number, key.e, key.n)
    if plain.bit_length() > 8 * length:
        return None
    return plain.to_bytes(length, "big")


def verify_md5_dsig(md5_hex: str, dsig: str, key: RsaKey = CLAMAV_KEYS.cvd) -> bool:
    """Whether ``dsig`` is the publisher's signature of this MD5 (hex, as in the header): ``cli_versig``."""
    if len(md5_hex) != 32 or not md5_hex[0].isalnum():
        return False
    plain = _decrypt(dsig, key, 16)
    return plain is not None and plain.hex() == md5_hex


def _mgf1(seed: bytes, length: int) -> bytes:
    out = b"".join(hashlib.sha256(seed + i.to_bytes(4, "big")).digest() for i in range(-(-length // _SHA256_LEN)))
    return out[:length]


def verify_sha256_pss(digest: bytes, dsig: str, key: RsaKey = CLAMAV_KEYS.info) -> bool:
    """Whether ``dsig`` is the publisher's RSA-PSS signature of this SHA-256 digest: ``cli_versig2``."""
    encoded = _decrypt(dsig, key, _PSS_LEN)
    if encoded is None or encoded[-1] != 0xBC:
        return False
    block = _PSS_LEN - _SHA256_LEN - 1
    masked, hashed = encoded[:block], encoded[block:-1]
    data = bytearray(a ^ b for a, b in zip(masked, _mgf1(hashed, block), strict=True))
    data[0] &= 0x7F
    start = data.find(1)
    if start < 0 or block - (start + 1) != _SALT_LEN:
        return False
    salt = bytes(data[start + 1 :])
    return hashlib.sha256(bytes(8) + digest + salt).digest() == hashed
