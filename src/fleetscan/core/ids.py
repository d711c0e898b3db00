"""Identifiers in the shapes both clouds use."""

from __future__ import annotations

import hashlib
import secrets
import uuid


def hex_id() -> str:
    """32 hex characters: Alibaba's TaskId shape, also used as Huawei's task_id."""
    return uuid.uuid4().hex


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
