"""Bearer API keys for the shop backend's endpoints."""

from __future__ import annotations

from fastapi import HTTPException, Request


async def require_key(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented:
        raise HTTPException(
            401,
            detail="send 'Authorization: Bearer <api key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    key_id = await request.app.state.services.keys.verify(presented.strip())
    if key_id is None:
        raise HTTPException(
            401, detail="invalid or revoked API key", headers={"WWW-Authenticate": "Bearer"}
        )
    return str(key_id)
