"""Bearer API keys for the shop backend's endpoints, with failed attempts throttled per
client (orchestrator.api.throttle): a valid key is never slowed."""

from __future__ import annotations

from typing import NoReturn

from fastapi import HTTPException, Request

from orchestrator.api.throttle import retry_after_header


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


async def require_key(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented:
        _refuse(request, "send 'Authorization: Bearer <api key>'")
    key_id = await request.app.state.services.keys.verify(presented.strip())
    if key_id is None:
        _refuse(request, "invalid or revoked API key")
    return str(key_id)
