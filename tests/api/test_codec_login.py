"""The codec server's browser login: the cookie holds a signed session id (never the key),
the form refuses cross-site posts and stale tokens, a key needs the ``console`` scope, and
revoking the key ends its session."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from tests_store_url import migrated_sqlite

from orchestrator.api.codec_server import codec_app
from orchestrator.api.keys import ApiKeys
from orchestrator.api.serve import serving
from orchestrator.engine.codec import EncryptionCodec
from orchestrator.engine.codec_keys import new_key, parse_keys
from orchestrator.store.db import make_engine, sessions
from orchestrator.store.sessions import SqlSessions

BODY = {"payloads": [{"metadata": {"encoding": "YmluYXJ5L3BsYWlu"}, "data": "aGk="}]}


@dataclass
class Codec:
    base: str
    keys: ApiKeys


@pytest.fixture
async def codec(tmp_path: Path) -> AsyncIterator[Codec]:
    engine = make_engine(await migrated_sqlite(tmp_path))
    keys = ApiKeys(sessions(engine))
    app = codec_app(
        EncryptionCodec(parse_keys([new_key("k1")])),
        keys,
        origins=["http://127.0.0.1:8233"],
        sessions=SqlSessions(keys.sessions),
        secret=b"c" * 32,
    )
    async with serving(app) as base:
        yield Codec(base, keys)
    await engine.dispose()


async def sign_in(http: httpx.AsyncClient, key: str, **headers: str) -> httpx.Response:
    form = await http.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf is not None
    return await http.post("/login", data={"key": key, "csrf": csrf.group(1)}, headers=headers)


async def test_the_cookie_names_a_session_and_never_holds_the_key(codec: Codec) -> None:
    key = await codec.keys.create("engineer", scopes=["console"])
    async with httpx.AsyncClient(base_url=codec.base) as http:
        signed = await sign_in(http, key, **{"Sec-Fetch-Site": "same-origin"})
        assert signed.status_code == 200
        cookies = " ".join(signed.headers.get_list("set-cookie"))
        secret = key.partition(".")[2]
        assert key not in cookies and secret not in cookies
        assert "omni_codec_session=" in cookies and "httponly" in cookies.lower()
        assert (await http.post("/encode", json=BODY)).status_code == 200
        await codec.keys.revoke(key)
        assert (await http.post("/encode", json=BODY)).status_code == 401


async def test_the_login_form_refuses_cross_site_posts_and_forged_tokens(codec: Codec) -> None:
    key = await codec.keys.create("engineer", scopes=["console"])
    async with httpx.AsyncClient(base_url=codec.base) as http:
        for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.test"}):
            refused = await sign_in(http, key, **headers)
            assert refused.status_code == 403
            assert "omni_codec_session" not in http.cookies
        await http.get("/login")
        no_token = await http.post("/login", data={"key": key})
        assert no_token.status_code == 403
        odd = await http.post("/login", data={"key": key, "csrf": "é" * 30})
        assert odd.status_code == 403
        assert (await http.post("/encode", json=BODY)).status_code == 401


async def test_a_key_needs_the_console_scope(codec: Codec) -> None:
    shop = await codec.keys.create("shop", scopes=["ingest", "read", "admin"])
    async with httpx.AsyncClient(base_url=codec.base) as http:
        assert (await sign_in(http, shop)).status_code == 403
        bearer = {"Authorization": f"Bearer {shop}"}
        assert (await http.post("/decode", json=BODY, headers=bearer)).status_code == 403
        odd = {"Cookie": ("omni_codec_session=" + "é" * 30).encode()}
        refused = await http.post("/decode", json=BODY, headers=odd)  # type: ignore[arg-type]
        assert refused.status_code == 401
