"""A local server speaking Twilio's REST API (Messages create and list, Account fetch), checking
every request against the official OpenAPI spec's CreateMessage form (tests/contracts): required
and known fields, types, the spec's patterns (ContentSid ``^HX…``, MessagingServiceSid ``^MG…``),
and for WhatsApp ``whatsapp:+E.164`` on both ends, Body or ContentSid (one, not both), and
ContentVariables as a JSON object of strings. Every accepted request's body is kept as it came
over the wire (``wire``) beside its parsed form (``messages``)."""

from __future__ import annotations

import base64
import json
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

CONTRACT = json.loads(
    (Path(__file__).resolve().parents[1] / "contracts" / "twilio_subset.json").read_text(
        encoding="utf-8"
    )
)
CREATE = CONTRACT["createMessage"]
LIST = CONTRACT["listMessage"]
E164 = re.compile(r"^\+[1-9]\d{1,14}$")
#: The spec's description of Body: "Can be up to 1,600 characters in length."
MAX_BODY = 1600


def _type_ok(kind: str, value: str) -> bool:
    if kind == "integer":
        return value.lstrip("-").isdigit()
    if kind == "number":
        try:
            float(value)
        except ValueError:
            return False
        return True
    if kind == "boolean":
        return value.lower() in ("true", "false")
    return True


def _constraint_problems(name: str, value: str) -> list[str]:
    rule = CREATE["constraints"].get(name, {})
    problems = []
    if "pattern" in rule and not re.search(rule["pattern"], value):
        problems.append(f"{name} does not match {rule['pattern']}")
    if not rule.get("minLength", 0) <= len(value) <= rule.get("maxLength", len(value)):
        problems.append(f"{name} has {len(value)} characters")
    return problems


def _content_problems(form: dict[str, str]) -> list[str]:
    """WhatsApp addressing, and Body or ContentSid with its ContentVariables."""
    problems = []
    to, sender = form.get("To", ""), form.get("From")
    if sender is not None and to.startswith("whatsapp:") != sender.startswith("whatsapp:"):
        problems.append("whatsapp: on one end only (To and From both need it)")
    for end in (to, sender or ""):
        if end.startswith("whatsapp:") and not E164.match(end.removeprefix("whatsapp:")):
            problems.append(f"a WhatsApp address must be whatsapp:+E.164, not {end!r}")
    if ("Body" in form) == ("ContentSid" in form):
        problems.append("needs Body or ContentSid, exactly one")
    if len(form.get("Body", "")) > MAX_BODY:
        problems.append(f"Body longer than {MAX_BODY} characters")
    if "ContentVariables" in form:
        if "ContentSid" not in form:
            problems.append("ContentVariables without ContentSid")
        try:
            variables = json.loads(form["ContentVariables"])
        except ValueError:
            variables = None
        if not isinstance(variables, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in variables.items()
        ):
            problems.append("ContentVariables is not a JSON object of strings")
    return problems


@dataclass
class TwilioPeer:
    account_sid: str = "AC" + "0" * 32
    auth_token: str = "token-" + "x" * 26
    #: To number -> (HTTP status, Twilio code, extra headers)
    failures: dict[str, tuple[int, int, dict[str, str]]] = field(default_factory=dict)
    messages: list[dict[str, str]] = field(default_factory=list)
    #: The raw bodies of accepted create requests, in order (``messages[i]`` parsed).
    wire: list[bytes] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    #: Called with each accepted message's form before Twilio answers (fault tests kill the
    #: sender here: Twilio has the message, the sender never hears so).
    on_create: Callable[[dict[str, str]], None] | None = None
    #: Awaited after a message is stored, before Twilio answers: a slow API.
    hold: Callable[[dict[str, str]], Awaitable[None]] | None = None

    def app(self) -> FastAPI:
        app = FastAPI()

        def authorised(request: Request) -> bool:
            expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
            return request.headers.get("authorization") == f"Basic {expected}"

        def error(
            status: int, code: int, message: str, headers: dict[str, str] | None = None
        ) -> JSONResponse:
            return JSONResponse(
                {
                    "code": code,
                    "message": message,
                    "status": status,
                    "more_info": f"https://www.twilio.com/docs/errors/{code}",
                },
                status_code=status,
                headers=headers,
            )

        @app.get("/2010-04-01/Accounts/{sid}.json")
        async def account(sid: str, request: Request) -> JSONResponse:
            if not authorised(request) or sid != self.account_sid:
                return error(401, 20003, "Authenticate")
            return JSONResponse({"sid": sid, "status": "active", "friendly_name": "test"})

        @app.get("/2010-04-01/Accounts/{sid}/Messages.json")
        async def listing(sid: str, request: Request) -> JSONResponse:
            """Messages list, filtered by To and DateSent>= (a day, as Twilio does)."""
            if not authorised(request) or sid != self.account_sid:
                return error(401, 20003, "Authenticate")
            unknown = [k for k in request.query_params if k not in LIST["query"]]
            if unknown:
                self.violations.extend(f"unknown list parameter {k}" for k in unknown)
                return error(400, 20001, f"unknown parameters {unknown}")
            to = request.query_params.get("To")
            after = request.query_params.get("DateSent>", "")
            found = [
                m
                for m in self.messages
                if (to is None or m["To"] == to) and m["date_sent"][:10] >= after[:10]
            ]
            listed = [
                {
                    "sid": m["sid"],
                    "to": m["To"],
                    "body": m.get("Body"),
                    "status": "sent",
                    "date_sent": m["date_sent_rfc"],
                    "account_sid": sid,
                }
                for m in found
            ]
            path = f"/2010-04-01/Accounts/{sid}/Messages.json"
            return JSONResponse(
                {
                    "messages": listed,
                    "first_page_uri": path,
                    "next_page_uri": None,
                    "previous_page_uri": None,
                    "page": 0,
                    "page_size": 50,
                    "start": 0,
                    "end": max(len(listed) - 1, 0),
                    "uri": path,
                }
            )

        @app.post("/2010-04-01/Accounts/{sid}/Messages.json")
        async def create(sid: str, request: Request) -> JSONResponse:
            if not authorised(request) or sid != self.account_sid:
                return error(401, 20003, "Authenticate")
            raw = await request.body()
            parsed = await request.form()
            if len(parsed.multi_items()) != len(parsed):
                self.violations.append("a field given twice")
            form = {k: str(v) for k, v in parsed.items()}
            problems = [
                f"missing required {name}" for name in CREATE["required"] if name not in form
            ]
            for name, value in form.items():
                kind = CREATE["fields"].get(name)
                if kind is None:
                    problems.append(f"unknown field {name}")
                elif not _type_ok(kind, value):
                    problems.append(f"{name} is not {kind}")
                problems += _constraint_problems(name, value)
            if "From" not in form and "MessagingServiceSid" not in form:
                problems.append("needs From or MessagingServiceSid")
            problems += _content_problems(form)
            if problems:
                self.violations.extend(problems)
                return error(400, 21601, "; ".join(problems))
            if form["To"].removeprefix("whatsapp:") in self.failures:
                status, code, headers = self.failures[form["To"].removeprefix("whatsapp:")]
                return error(status, code, f"failure {code}", headers)
            sid_ = "SM" + secrets.token_hex(16)
            now = datetime.now(UTC)
            self.wire.append(raw)
            self.messages.append(
                {
                    **form,
                    "sid": sid_,
                    "date_sent": now.isoformat(),
                    "date_sent_rfc": format_datetime(now, usegmt=True),
                }
            )
            if self.on_create is not None:
                self.on_create(form)
            if self.hold is not None:
                await self.hold(form)
            return JSONResponse(
                {
                    "sid": sid_,
                    "status": "queued",
                    "to": form["To"],
                    "from": form.get("From"),
                    "body": form.get("Body"),
                    "account_sid": sid,
                    "num_segments": "1",
                    "date_created": "Tue, 24 Nov 2026 12:00:00 +0000",
                },
                status_code=201,
            )

        return app
