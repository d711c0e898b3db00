"""Identifiers in the shapes both clouds use."""

from __future__ import annotations

import hashlib
import os
import random
import secrets
import uuid


def hex_id() -> str:
    """32 hex characters: Alibaba's TaskId shape, also used as Huawei's task_id."""
    return uuid.uuid4().hex


# Request ids: one per answer, so cheap. `uuid.uuid4()` reads the kernel's random source (a system call) and builds
# a UUID object for each: five times the CPU of these. These are 128 bits of a Mersenne Twister seeded from
# that source, reseeded in every forked child, shaped as a version-4 UUID as before. Unique for any practical
# purpose, and unknown to a client until answered; but predictable from enough of them, so a correlation id for
# logs only, never a secret (tokens and secrets come from `secrets`).
_requests = random.Random()
os.register_at_fork(after_in_child=_requests.seed)  # a forked worker must not repeat its parent's ids
_V4_CLEAR = ~(0xF000 << 64 | 0xC000 << 48)
_V4_SET = 0x4000 << 64 | 0x8000 << 48  # version 4, RFC 4122 variant


def request_hex() -> str:
    """A request id, 32 hex characters (a random UUID's hex): the agent protocol's and HSS's shape."""
    return "%032x" % (_requests.getrandbits(128) & _V4_CLEAR | _V4_SET)


def request_uuid() -> str:
    """A request id as Alibaba writes its RequestId: a random UUID, upper case with dashes."""
    h = request_hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}".upper()


def host_uuid() -> str:
    return str(uuid.uuid4())


def agent_id() -> str:
    return secrets.token_hex(32)


def token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def client_token_key(project_id: str, operation: str, client_token: str) -> str:
    """What a stored task or schedule keeps of its ClientToken: a token is unique per project and operation.

    The database holds one key per account (`uq_*_client_token`), so the project and the operation are
    folded into it; the same token sent by another project, or to another operation, is another request.
    """
    return hashlib.sha256("\0".join((project_id, operation, client_token)).encode()).hexdigest()
