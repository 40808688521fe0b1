"""Bearer API keys for the shop backend's endpoints (the OpenAPI's ``bearer`` scheme, so
/docs' "Authorize" button works)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

bearer = HTTPBearer(
    scheme_name="bearer",
    bearerFormat="omni_<id>.<secret>",
    description="An API key from `omni api-key create NAME`",
    auto_error=False,
)


async def require_key(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> str:
    if credentials is None or not credentials.credentials:
        raise HTTPException(
            401,
            detail="send 'Authorization: Bearer <api key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    key_id = await request.app.state.services.keys.verify(credentials.credentials.strip())
    if key_id is None:
        raise HTTPException(
            401, detail="invalid or revoked API key", headers={"WWW-Authenticate": "Bearer"}
        )
    return str(key_id)
