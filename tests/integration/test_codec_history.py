"""With the payload codec on, runs for several customers leave none of their email, phone,
name or event data in Temporal's history; the codec server decodes it for an authorised
caller only (HTTP, the Temporal UI's CORS preflight and cookie, the temporal CLI)."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from accepting import AcceptingChannel
from e2e_stack import Running, running_stack
from google.protobuf import json_format
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload, Payloads, WorkflowExecution
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from channels.base import Channel, Delivery, Outbound, PermanentChannelError
from orchestrator.api.codec_server import codec_app
from orchestrator.api.serve import serving
from orchestrator.dev.binaries import temporal_cli
from orchestrator.engine.codec import EncryptionCodec, sealed
from orchestrator.engine.codec_keys import new_key, parse_keys
from orchestrator.store.sessions import SqlSessions

UI = "http://localhost:8233"
RECEIPT = """
scenario: receipt
category: transactional
trigger: {event: order_placed}
steps:
  - send: {email: receipt/thanks}
  - send: {sms: receipt/thanks}
sample:
  order_placed: {order: {id: o-1, item: Lamp, buyer: {name: Sam, email: s@example.com}}}
"""
TEMPLATES = {
    "receipt/thanks/email": "{% block subject %}Thanks, {{ contact.first_name }}{% endblock %}"
    "{% block html %}<p>{{ order.item }} for {{ order.buyer.name }}</p>{% endblock %}",
    "receipt/thanks/sms": "{% block text %}{{ order.item }} is on its way{% endblock %}",
}


class RefusingSms:
    """Twilio refusing the number, in its own words (which quote the number)."""

    name = "sms"

    async def check(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def send(self, out: Outbound) -> Delivery:
        raise PermanentChannelError(f"invalid_address: twilio 21211 Invalid 'To' {out.address}")


@dataclass
class Customer:
    id: str
    first: str
    last: str
    email: str
    phone: str
    item: str

    @property
    def secrets(self) -> list[str]:
        return [self.first, self.last, self.email, self.phone, self.item]


def customer(n: int) -> Customer:
    tag = uuid.uuid4().hex[:8]
    return Customer(
        id=f"cust-{tag}",
        first=f"Zelda{tag}",
        last=f"Quux{tag}",
        email=f"z.{tag}@example.com",
        phone=f"+1415555{int(tag, 16) % 10_000:04d}",
        item=f"Lamp-{tag}",
    )


async def raw_history(client: Client, wid: str) -> bytes:
    """The run's history exactly as the server stores and serves it (nothing decoded)."""
    raw, token = b"", b""
    while True:
        page = await client.workflow_service.get_workflow_execution_history(
            GetWorkflowExecutionHistoryRequest(
                namespace=client.namespace,
                execution=WorkflowExecution(workflow_id=wid),
                next_page_token=token,
            )
        )
        raw += page.history.SerializeToString()
        token = page.next_page_token
        if not token:
            return raw


def payloads_in(message: Message) -> list[Payload]:
    """Every Payload anywhere in a protobuf message (inputs, results, failures, metadata)."""
    if isinstance(message, Payload):
        return [message]
    found: list[Payload] = []
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if isinstance(value, Message):
            items = [value]
        elif field.message_type.GetOptions().map_entry:
            items = list(value.values())
        else:
            items = list(value)  # a repeated field
        found += [p for item in items if isinstance(item, Message) for p in payloads_in(item)]
    return found


@dataclass
class Sealed:
    run: Running
    codec: EncryptionCodec
    client: Client
    customers: list[Customer]


@pytest.fixture
async def sealed_runs(dev_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Sealed]:
    codec = EncryptionCodec(parse_keys([new_key("k2"), new_key("k1")]))
    client = sealed(dev_env.client, codec)
    channels: dict[str, Channel] = {"email": AcceptingChannel("email"), "sms": RefusingSms()}
    async with running_stack(dev_env, tmp_path, RECEIPT, TEMPLATES, channels, client=client) as run:
        people = [customer(n) for n in range(3)]
        for c in people:
            await run.post_event(
                {
                    "name": "order_placed",
                    "customer_id": c.id,
                    "event_id": f"{c.id}-order",
                    "data": {
                        "order": {
                            "id": f"o-{c.id}",
                            "item": c.item,
                            "buyer": {"name": f"{c.first} {c.last}", "email": c.email},
                            "shipping_phone": c.phone,
                        }
                    },
                    "contact": {
                        "first_name": c.first,
                        "last_name": c.last,
                        "email": c.email,
                        "phone": c.phone,
                        "consents": {"email": True, "sms": True},
                    },
                }
            )
        yield Sealed(run, codec, client, people)


async def test_history_holds_no_contact_or_event_data_in_plain(sealed_runs: Sealed) -> None:
    s = sealed_runs
    for c in s.customers:
        state = await s.run.result(f"receipt/customer-{c.id}")  # decoded by the sealed client
        assert [(m["channel"], m["status"], m.get("reason", "")) for m in state["messages"]] == [
            ("email", "sent", ""),
            ("sms", "failed", "invalid_address"),
        ]
        raw = await raw_history(s.client, f"receipt/customer-{c.id}")
        leaked = [value for value in c.secrets if value.encode() in raw]
        assert leaked == [], f"in plain text in the history of {c.id}: {leaked}"
        # They are there, sealed: decoding the history's payloads finds the event data.
        history = await s.client.get_workflow_handle(f"receipt/customer-{c.id}").fetch_history()
        decoded = await s.codec.decode([p for e in history.events for p in payloads_in(e)])
        assert c.item.encode() in b"".join(p.data for p in decoded)
        logged = await s.run.svc.send_log.get(state["messages"][1]["key"])
        assert logged is not None and c.phone in logged.reason  # the details: send log only


async def test_codec_server_decodes_for_an_authorised_caller_only(sealed_runs: Sealed) -> None:
    s = sealed_runs
    c = s.customers[0]
    await s.run.result(f"receipt/customer-{c.id}")
    history = await s.client.get_workflow_handle(f"receipt/customer-{c.id}").fetch_history()
    sealed_payloads = [p for e in history.events for p in payloads_in(e)]
    body = json.loads(json_format.MessageToJson(Payloads(payloads=sealed_payloads)))
    app = codec_app(
        s.codec,
        s.run.svc.keys,
        origins=[UI],
        sessions=SqlSessions(s.run.svc.keys.sessions),
        secret=b"c" * 32,
    )
    async with serving(app) as base, httpx.AsyncClient(base_url=base) as http:
        anonymous = await http.post("/decode", json=body)
        assert anonymous.status_code == 401
        forged = await http.post("/decode", json=body, headers=_bearer(s.run.key[:-4] + "AAAA"))
        assert forged.status_code == 401
        decoded = await http.post("/decode", json=body, headers=_bearer(s.run.key))
        assert decoded.status_code == 200
        data = b"".join(base64.b64decode(p["data"]) for p in decoded.json()["payloads"])
        assert c.item.encode() in data and c.email.encode() in data
        encoded = await http.post("/encode", json=decoded.json(), headers=_bearer(s.run.key))
        metas = [p["metadata"] for p in encoded.json()["payloads"]]
        assert {base64.b64decode(m["encryption-key-id"]) for m in metas} == {b"k2"}
        # The UI: a CORS preflight from its origin only, then a cookie from /login.
        preflight = {
            "Origin": UI,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-namespace",
        }
        ok = await http.options("/decode", headers=preflight)
        assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == UI
        evil = await http.options("/decode", headers={**preflight, "Origin": "https://evil.test"})
        assert "access-control-allow-origin" not in evil.headers
        form = await http.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None
        login = await http.post("/login", data={"key": s.run.key, "csrf": csrf.group(1)})
        assert login.status_code == 200 and "httponly" in login.headers["set-cookie"].lower()
        by_cookie = await http.post("/decode", json=body, headers={"Origin": UI})
        assert by_cookie.status_code == 200
        assert by_cookie.headers["access-control-allow-origin"] == UI


async def test_temporal_cli_shows_decoded_history_with_the_api_key(
    sealed_runs: Sealed, dev_env: WorkflowEnvironment
) -> None:
    s = sealed_runs
    c = s.customers[1]
    wid = f"receipt/customer-{c.id}"
    await s.run.result(wid)
    address = dev_env.client.service_client.config.target_host
    app = codec_app(
        s.codec,
        s.run.svc.keys,
        origins=[UI],
        sessions=SqlSessions(s.run.svc.keys.sessions),
        secret=b"c" * 32,
    )
    async with serving(app) as base:

        async def show(*auth: str) -> str:  # the CLI's output, payloads decoded
            cli = await asyncio.create_subprocess_exec(
                temporal_cli(),
                *("workflow", "show", "--address", address, "-w", wid, "-o", "json"),
                *("--codec-endpoint", base, *auth),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = await cli.communicate()
            # -o json shows each payload's data in base64: decode them all.
            datas = re.findall(r'"data": "([A-Za-z0-9+/=]+)"', out.decode())
            return err.decode() + b"".join(base64.b64decode(d) for d in datas).decode()

        # (Without --codec-auth the server answers 401, which the CLI retries until its
        # deadline, 20 s later: the refusal is tested over HTTP above.)
        assert c.item in await show("--codec-auth", f"Bearer {s.run.key}")


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
