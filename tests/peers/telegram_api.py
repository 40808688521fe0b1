"""A local Bot API server that checks every request against the Bot API spec (Bot API 10.1,
carried in tests/contracts/telegram_subset.json) and answers like Telegram does."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from peers.telegram_html import CantParseEntities, Parsed, parse_html

CONTRACT = json.loads(
    (Path(__file__).resolve().parents[1] / "contracts" / "telegram_subset.json").read_text(
        encoding="utf-8"
    )
)
#: sendMessage's fields that take an object (sent as a JSON string in a form), by type.
OBJECTS = {"reply_markup": "InlineKeyboardMarkup", "link_preview_options": "LinkPreviewOptions"}


def _scalar_ok(types: list[str], value: Any) -> bool:
    for kind in types:
        if kind == "Integer" and (isinstance(value, int) or str(value).lstrip("-").isdigit()):
            return True
        if kind == "String" and isinstance(value, (str, int)):
            return True
        if kind == "Boolean" and (isinstance(value, bool) or str(value) in ("true", "false")):
            return True
        if kind not in ("Integer", "String", "Boolean"):
            return True  # objects are checked separately where the tests use them
    return False


def check_object(type_name: str, value: Any, where: str) -> list[str]:
    spec = CONTRACT["types"][type_name]
    if not isinstance(value, dict):
        return [f"{where}: {type_name} must be an object"]
    problems = [
        f"{where}: missing {f['name']}" for f in spec if f["required"] and f["name"] not in value
    ]
    known = {f["name"]: f for f in spec}
    for name, item in value.items():
        if name not in known:
            problems.append(f"{where}: unknown field {name}")
        elif type_name == "InlineKeyboardMarkup" and name == "inline_keyboard":
            rows = item if isinstance(item, list) else []
            for r, row in enumerate(rows):
                for c, button in enumerate(row if isinstance(row, list) else []):
                    problems += check_object(
                        "InlineKeyboardButton", button, f"{where}.inline_keyboard[{r}][{c}]"
                    )
        elif not _scalar_ok(known[name]["types"], item):
            problems.append(f"{where}: {name} has the wrong type")
    return problems


@dataclass
class TelegramPeer:
    token: str = "123456:TEST-token"
    username: str = "omni_test_bot"
    #: chat id -> (HTTP status, description, extra parameters)
    failures: dict[str, tuple[int, str, dict[str, Any]]] = field(default_factory=dict)
    sent: list[dict[str, Any]] = field(default_factory=list)
    #: What the user sees of each sent message: text and entities (parse_mode=HTML parsed).
    shown: list[Parsed] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    #: Called with each delivered sendMessage before the Bot API answers (fault tests kill
    #: the sender here).
    on_send: Callable[[dict[str, Any]], None] | None = None
    #: The client's (host, port) of each message in ``sent``: which connection, hence which
    #: process, sent it.
    clients: list[tuple[str, int]] = field(default_factory=list)
    #: Awaited after a message is stored, before the answer: the sender waits meanwhile, as
    #: with a slow Bot API (fault injection).
    hold: Callable[[dict[str, Any]], Awaitable[None]] | None = None

    def app(self) -> FastAPI:
        app = FastAPI()

        def fail(
            status: int, description: str, parameters: dict[str, Any] | None = None
        ) -> JSONResponse:
            body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
            if parameters:
                body["parameters"] = parameters
            return JSONResponse(body, status_code=status)

        @app.post("/bot{token}/{method}")
        async def call(token: str, method: str, request: Request) -> JSONResponse:
            if token != self.token:
                return fail(401, "Unauthorized")
            if method not in CONTRACT["methods"]:
                return fail(404, "Not Found")
            if request.headers.get("content-type", "").startswith("application/json"):
                params: dict[str, Any] = await request.json()
            else:
                params = {k: str(v) for k, v in (await request.form()).items()}
            problems = self.validate(method, params)
            if problems:
                self.violations += problems
                return fail(400, "Bad Request: " + "; ".join(problems))
            stored = len(self.sent)
            answer = self.answer(method, params, fail)
            if len(self.sent) > stored:
                client = request.client
                self.clients.append((client.host, client.port) if client else ("", 0))
                if self.hold is not None:
                    await self.hold(params)
            return answer

        return app

    def validate(self, method: str, params: dict[str, Any]) -> list[str]:
        spec = {f["name"]: f for f in CONTRACT["methods"][method]}
        problems = [
            f"{method}: missing {n}" for n, f in spec.items() if f["required"] and n not in params
        ]
        for name, value in params.items():
            if name not in spec:
                problems.append(f"{method}: unknown field {name}")
            elif name in OBJECTS:
                try:
                    given = json.loads(value) if isinstance(value, str) else value
                except ValueError:
                    given = None
                problems += check_object(OBJECTS[name], given, name)
            elif not _scalar_ok(spec[name]["types"], value):
                problems.append(f"{method}: {name} has the wrong type")
        return problems

    def answer(self, method: str, params: dict[str, Any], fail: Any) -> JSONResponse:
        if method == "getMe":
            return JSONResponse(
                {
                    "ok": True,
                    "result": {
                        "id": 123456,
                        "is_bot": True,
                        "first_name": "Omni",
                        "username": self.username,
                        "can_join_groups": False,
                        "can_read_all_group_messages": False,
                        "supports_inline_queries": False,
                    },
                }
            )
        if method == "sendMessage":
            chat = str(params["chat_id"])
            if chat in self.failures:
                status, description, parameters = self.failures[chat]
                return fail(status, description, parameters)  # type: ignore[no-any-return]
            try:
                shown = (
                    parse_html(str(params["text"]))
                    if params.get("parse_mode") == "HTML"
                    else Parsed(str(params["text"]))
                )
            except CantParseEntities as exc:
                return fail(400, f"Bad Request: can't parse entities: {exc}")  # type: ignore[no-any-return]
            self.sent.append(params)
            self.shown.append(shown)
            if self.on_send is not None:
                self.on_send(params)
            return JSONResponse(
                {
                    "ok": True,
                    "result": {
                        "message_id": len(self.sent),
                        "date": int(time.time()),
                        "chat": {"id": int(chat), "type": "private"},
                        "text": params["text"],
                    },
                }
            )
        if method == "getUpdates":
            offset = int(params.get("offset", 0) or 0)
            return JSONResponse(
                {"ok": True, "result": [u for u in self.updates if u["update_id"] >= offset]}
            )
        return JSONResponse({"ok": True, "result": True})
