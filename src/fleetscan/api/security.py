"""Who is calling: a signed request (either cloud's scheme) or a bearer token, resolved to a Scope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from starlette.requests import Request

from ..auth import Reason, RequestParts, SignatureError, read_claim, verify
from ..core.models import Scope
from ..core.service import ControlPlane

CLOCK_WINDOW = timedelta(minutes=15)


class AuthError(Exception):
    """The request is not from a caller we know. Each edge maps `reason` through its own table:
    Alibaba answers the gateway's distinct codes, HSS one 401 whatever the reason."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason.value)
        self.reason = reason


async def request_parts(request: Request) -> RequestParts:
    """The request as the verifiers see it; the body is read through the edge's cap (`api/edge.py`)."""
    return RequestParts(
        method=request.method,
        path=request.scope.get("raw_path", request.url.path.encode()).decode("latin-1").split("?", 1)[0],
        query=request.scope.get("query_string", b"").decode("latin-1"),
        headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.scope["headers"]],
        body=await request.body(),
    )


def authenticate_signed(plane: ControlPlane, parts: RequestParts) -> Scope:
    """Verify the signature with the key's secret and spend its nonce; raise AuthError otherwise."""
    try:
        claim = read_claim(parts)
    except SignatureError as exc:
        raise AuthError(exc.reason) from exc
    if claim is None:
        raise AuthError(Reason.UNSIGNED)
    key = plane.access_key(claim.access_key_id)
    if key is None:
        raise AuthError(Reason.UNKNOWN_ACCESS_KEY)
    now_ms = plane.clock()
    try:
        verify(parts, claim, key.secret, now=datetime.fromtimestamp(now_ms / 1000, UTC), window=CLOCK_WINDOW)
    except SignatureError as exc:
        raise AuthError(exc.reason) from exc
    if claim.nonce is not None:
        # Kept in the database, not in memory: a replay sent to another replica is refused too.
        expires = now_ms + 2 * int(CLOCK_WINDOW.total_seconds() * 1000)
        if not plane.spend_nonce(key.access_key_id, claim.nonce, expires):
            raise AuthError(Reason.REPLAYED_NONCE)
    return key.scope


def authenticate_token(plane: ControlPlane, token: str) -> Scope:
    scope = plane.token_scope(token)
    if scope is None:
        raise AuthError(Reason.UNKNOWN_TOKEN)
    return scope
