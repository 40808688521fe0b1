"""Bearer API keys for the shop backend's endpoints (the OpenAPI's ``bearer`` scheme, so
/docs' "Authorize" button works), with failed attempts throttled per client
(orchestrator.api.throttle): a valid key is never slowed.

Each route names the scope it needs with one of the dependencies below (``Ingest``, ``Read``,
``Admin``): a valid key without it gets 403 (it authenticated; it may not do this)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, NoReturn

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from orchestrator.api.keys import SCOPES, Grant
from orchestrator.api.throttle import retry_after_header

bearer = HTTPBearer(
    scheme_name="bearer",
    bearerFormat="omni_<id>.<secret>",
    description="An API key from `omni api-key create NAME --scope ingest,read`",
    auto_error=False,
)


def _refuse(request: Request, detail: str) -> NoReturn:
    host = request.client.host if request.client else "unknown"
    wait = request.app.state.services.auth_throttle.failed(host)
    if wait > 0:
        raise HTTPException(
            429,
            detail="too many failed authentications from this client; retry later",
            headers={"Retry-After": retry_after_header(wait)},
        )
    raise HTTPException(401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


async def require_key(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Grant:
    if credentials is None or not credentials.credentials:
        _refuse(request, "send 'Authorization: Bearer <api key>'")
    grant: Grant | None = await request.app.state.services.keys.verify(
        credentials.credentials.strip()
    )
    if grant is None:
        _refuse(request, "invalid or revoked API key")
    return grant


def require_scope(scope: str) -> Callable[[Grant], Awaitable[Grant]]:
    """A dependency: a valid key holding ``scope`` (401 without a valid key, 403 without it)."""
    if scope not in SCOPES:
        raise ValueError(f"no scope {scope!r}")

    async def check(grant: Annotated[Grant, Depends(require_key)]) -> Grant:
        if scope not in grant.scopes:
            raise HTTPException(
                403,
                detail=f"this API key lacks the {scope!r} scope "
                f"(it has: {', '.join(sorted(grant.scopes))})",
            )
        return grant

    return check


Ingest = Depends(require_scope("ingest"))
Read = Depends(require_scope("read"))
Admin = Depends(require_scope("admin"))
