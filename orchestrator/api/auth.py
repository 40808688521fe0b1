"""Bearer API keys for the shop backend's endpoints (the OpenAPI's ``bearer`` scheme, so
/docs' "Authorize" button works), with failed attempts throttled per client
(orchestrator.api.throttle): a valid key is never slowed."""

from __future__ import annotations

from typing import Annotated, NoReturn

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from orchestrator.api.throttle import retry_after_header

bearer = HTTPBearer(
    scheme_name="bearer",
    bearerFormat="omni_<id>.<secret>",
    description="An API key from `omni api-key create NAME`",
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
) -> str:
    if credentials is None or not credentials.credentials:
        _refuse(request, "send 'Authorization: Bearer <api key>'")
    key_id = await request.app.state.services.keys.verify(credentials.credentials.strip())
    if key_id is None:
        _refuse(request, "invalid or revoked API key")
    return str(key_id)
