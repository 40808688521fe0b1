"""WhatsApp end to end: events through the HTTP API, runs on a Temporal dev server, a worker
sending through the real WhatsApp and SMS adapters to the local Twilio API, and customers'
WhatsApp messages arriving on the signed Twilio webhook. Several customers' events interleave;
the assertions read who received what on the wire."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from e2e_stack import Running, running_stack
from peers.twilio_api import TwilioPeer
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment
from twilio.request_validator import RequestValidator

from channels.base import Channel
from channels.settings import SmsSettings, WhatsappSettings
from channels.sms import SmsChannel, twilio_client
from channels.whatsapp import WhatsappChannel
from orchestrator.api.serve import serving

TOKEN = "twilio-e2e-token-" + "x" * 16
SID = "HX" + "ab" * 16
SCENARIO = """
scenario: wa
trigger: {event: cart_updated, per: cart.id}
goal: {event: order_placed}
steps:
  - escalate:
      - whatsapp: wa/reminder
        wait: 3s
      - sms: wa/last
sample:
  cart_updated: {cart: {id: c-1, note: hi, url: "https://shop.example/cart"}}
"""
TEMPLATES = {
    "wa/reminder/whatsapp.yaml": f"content_sid: {SID}\nvariables:\n"
    "  1: contact.first_name\n  2: cart.note\n  3: link(cart.url)\n",
    "wa/reminder/whatsapp": "{% block text %}Hi {{ contact.first_name }}, "
    "cart {{ cart.id }}: {{ cart.note }}{% endblock %}",
    "wa/last/sms": "{% block text %}Last call for cart {{ cart.id }}{% endblock %}",
}
NUMBERS = {"ana": "+15005551101", "bo": "+15005551102", "cy": "+15005551103", "di": "+15005551104"}


@dataclass
class Stack:
    run: Running
    twilio: TwilioPeer

    async def trigger(self, cid: str, cart: str, note: str, contact: dict[str, Any]) -> str:
        await self.run.post_event(
            {
                "name": "cart_updated",
                "customer_id": cid,
                "event_id": f"{cid}-{cart}",
                "data": {"cart": {"id": cart, "note": note, "url": "https://shop.example/c"}},
                "contact": contact,
            }
        )
        return f"wa/customer-{cid}/cart-{cart}"

    async def writes(self, sid: str, number: str, text: str) -> None:
        """The customer's WhatsApp message, as Twilio posts it (signed)."""
        path = "/webhooks/twilio/inbound"
        form = {"From": f"whatsapp:{number}", "To": "whatsapp:+15005550001", "Body": text}
        form["MessageSid"] = sid
        url = self.run.svc.settings.public_base_url + path
        signature = RequestValidator(TOKEN).compute_signature(url, form)
        answer = await self.run.http.post(
            path, data=form, headers={"X-Twilio-Signature": signature}
        )
        assert answer.status_code == 200, answer.text

    def received(self) -> dict[str, list[dict[str, str]]]:
        """To -> the forms sent to that address, in order, read from the raw bodies."""
        out: dict[str, list[dict[str, str]]] = {}
        for raw in self.twilio.wire:
            form = {k: v[0] for k, v in parse_qs(raw.decode("ascii")).items()}
            out.setdefault(form["To"], []).append(form)
        return out


@pytest.fixture
async def stack(dev_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Stack]:
    twilio = TwilioPeer()
    async with serving(twilio.app()) as base:
        account = {
            "account_sid": twilio.account_sid,
            "auth_token": twilio.auth_token,
            "base_url": base,
            "messages_per_second": 100,
        }
        sms = SmsSettings(from_number="+15005550001", **account)
        wa = WhatsappSettings(from_number="+15005550001", **account)
        channels: dict[str, Channel] = {
            "sms": SmsChannel(sms, twilio_client(sms)),
            "whatsapp": WhatsappChannel(wa, twilio_client(wa)),
        }
        async with running_stack(dev_env, tmp_path, SCENARIO, TEMPLATES, channels) as run:
            run.svc.settings = run.svc.settings.model_copy(
                update={"twilio_auth_token": SecretStr(TOKEN)}
            )
            yield Stack(run, twilio)
        for channel in channels.values():
            await channel.close()
    assert twilio.violations == [], "requests the real Twilio API would reject"


async def wait_for(check: Any, timeout: float = 20.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def test_customers_get_their_own_whatsapp_message_by_their_window(stack: Stack) -> None:
    """ana wrote on WhatsApp an hour ago: free text, per cart. bo never wrote: the approved
    template with bo's hostile note, then bo replies on WhatsApp and the ladder stops. cy has
    only an SMS phone and di refused WhatsApp: both skipped on WhatsApp, then SMS."""
    await stack.writes("SMana1", NUMBERS["ana"], "is the red one back?")
    hostile = 'bo\'s "note" \\ {{1}} <b>x</b>\r\nline2'
    base = {"first_name": "", "consents": {"whatsapp": True, "sms": True}}
    ids = [
        await stack.trigger(
            "ana", "a1", "one", {**base, "first_name": "Ana", "whatsapp": NUMBERS["ana"]}
        ),
        await stack.trigger(
            "bo", "b1", hostile, {**base, "first_name": "Bo", "whatsapp": NUMBERS["bo"]}
        ),
        await stack.trigger("cy", "c1", "cy", {**base, "first_name": "Cy", "phone": NUMBERS["cy"]}),
        await stack.trigger(
            "di",
            "d1",
            "di",
            {
                "first_name": "Di",
                "whatsapp": NUMBERS["di"],
                "phone": NUMBERS["di"],
                "consents": {"whatsapp": False, "sms": True},
            },
        ),
        await stack.trigger("ana", "a2", "two", {"first_name": "Ana"}),
    ]
    bo = f"whatsapp:{NUMBERS['bo']}"
    await wait_for(lambda: bo in stack.received())
    await stack.writes("SMbo1", NUMBERS["bo"], "yes please")  # a reply: a reaction
    states = {wid: await stack.run.result(wid) for wid in ids}
    got = stack.received()

    ana = got.pop(f"whatsapp:{NUMBERS['ana']}")
    assert sorted(m["Body"] for m in ana) == ["Hi Ana, cart a1: one", "Hi Ana, cart a2: two"]
    assert all("ContentSid" not in m and m["From"] == "whatsapp:+15005550001" for m in ana)

    [to_bo] = got.pop(bo)
    assert "Body" not in to_bo and to_bo["ContentSid"] == SID
    variables = json.loads(to_bo["ContentVariables"])
    assert variables["1"] == "Bo" and variables["2"] == hostile
    assert variables["3"].startswith(str(stack.run.http.base_url).rstrip("/") + "/t/c/")
    assert states[ids[1]]["outcome"] == "reacted"

    for cid, reason in (
        ("cy", "no_address: no whatsapp address on file"),
        ("di", "no_consent: customer refused"),
    ):
        [sms] = got.pop(NUMBERS[cid])
        cart = {"cy": "c1", "di": "d1"}[cid]
        # A marketing SMS: the preference center's short link is its last line.
        text, link = sms["Body"].split("\nPreferences: ")
        assert text == f"Last call for cart {cart}" and sms["From"] == "+15005550001"
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/p/[\w-]{12}", link), link
        state = states[f"wa/customer-{cid}/cart-{cart}"]
        skips = [m for m in state["messages"] if m["channel"] == "whatsapp"]
        assert [(m["status"], m["reason"]) for m in skips] == [("skipped", reason)]
    # ana (no SMS phone) and bo (reacted) get no SMS; nobody else got anything.
    assert got == {}
