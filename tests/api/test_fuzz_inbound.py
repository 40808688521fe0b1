"""Arbitrary unicode at every inbound surface (events, contacts, the Telegram and Twilio
webhooks, tracking links): a 2xx or 4xx answer, never a 5xx; the app answers afterwards; and
the text the API accepted reaches a provider (the Twilio peer, by the SMS adapter) byte-exact.

OMNI_FUZZ_EXAMPLES sets how many strings are drawn (a modest number by default)."""

from __future__ import annotations

import json
from urllib.parse import quote

from api_stack import Api
from odd_text import EXAMPLES, draw, form_text
from peers.twilio_api import TwilioPeer
from pydantic import SecretStr
from twilio.request_validator import RequestValidator

from channels.base import Outbound, Rendered
from channels.settings import SmsSettings
from channels.sms import SmsChannel, twilio_client
from orchestrator.api.serve import serving

TOKEN = "twilio-fuzz-token"
PUBLIC = "https://omni.shop.example"


def path_part(value: str) -> str:
    # A URL holds bytes: a lone surrogate cannot travel in one (servers see U+FFFD instead).
    return quote(value[:2000], safe="", errors="surrogatepass") or "x"


async def test_arbitrary_unicode_never_gets_a_5xx(api: Api) -> None:
    api.svc.settings = api.svc.settings.model_copy(
        update={"twilio_auth_token": SecretStr(TOKEN), "public_base_url": PUBLIC}
    )
    json_headers = {**api.auth, "Content-Type": "application/json"}
    hook = {"X-Telegram-Bot-Api-Secret-Token": "tg-secret", "Content-Type": "application/json"}
    accepted: list[str] = []
    answers: list[tuple[str, int]] = []

    def seen(where: str, status: int) -> None:
        answers.append((where, status))

    for i, value in enumerate(draw(EXAMPLES)):
        event = api.event(f"fz-{i}", customer=f"fz-{i}")
        event["data"] = {"cart": {"id": f"{api.cart}-{i}", "total": 5, "note": value}}
        answer = await api.client.post(
            "/v1/events", headers=json_headers, content=json.dumps(event)
        )
        seen("POST /v1/events data", answer.status_code)
        if answer.status_code == 202:
            accepted.append(value)
        for as_id in ("customer_id", "event_id"):
            odd = {**event, as_id: value[:300]}
            answer = await api.client.post(
                "/v1/events", headers=json_headers, content=json.dumps(odd)
            )
            seen(f"POST /v1/events {as_id}", answer.status_code)
        answer = await api.client.put(
            f"/v1/contacts/{path_part(value)}",
            headers=json_headers,
            content=json.dumps({"first_name": value[:200], "attributes": {value[:50]: value}}),
        )
        seen("PUT /v1/contacts", answer.status_code)
        update = {
            "update_id": 10_000 + i,
            "message": {"message_id": i, "chat": {"id": 900 + i}, "text": f"/start {value}"},
        }
        answer = await api.client.post(
            "/webhooks/telegram", headers=hook, content=json.dumps(update)
        )
        seen("POST /webhooks/telegram", answer.status_code)
        form = {"From": form_text(value)[:40], "Body": form_text(value), "MessageSid": f"SM{i}"}
        path = "/webhooks/twilio/inbound"
        signature = RequestValidator(TOKEN).compute_signature(f"{PUBLIC}{path}", form)
        answer = await api.client.post(path, data=form, headers={"X-Twilio-Signature": signature})
        seen("POST /webhooks/twilio/inbound", answer.status_code)
        for route in ("/t/c/", "/t/o/", "/u/", "/s/"):
            answer = await api.client.get(route + path_part(value))
            seen(f"GET {route}", answer.status_code)
    server_errors = [(where, status) for where, status in answers if status >= 500]
    assert server_errors == []
    assert (await api.client.get("/health")).status_code == 200
    assert accepted, "no drawn text was accepted: the strategy or the rule is off"

    # What was accepted reaches the provider byte-exact (as an SMS the adapter takes).
    twilio = TwilioPeer()
    async with serving(twilio.app()) as base:
        sms_settings = SmsSettings(
            account_sid=twilio.account_sid,
            auth_token=twilio.auth_token,
            from_number="+15005550001",
            base_url=base,
            messages_per_second=1000,
        )
        channel = SmsChannel(sms_settings, twilio_client(sms_settings))
        sent = [text for text in accepted if text.strip()][:20]
        for n, text in enumerate(sent):
            body = text[:120]  # within the adapter's 4 segments, UCS-2 included
            await channel.send(
                Outbound(
                    key=f"fz-{n}",
                    channel="sms",
                    address="+15005550006",
                    customer_id="fz",
                    scenario="quick_cart",
                    template="quick/reminder",
                    message=Rendered(channel="sms", locale="", text=body),
                )
            )
        await channel.close()
    assert [m["Body"] for m in twilio.messages] == [t[:120] for t in sent]
    assert twilio.violations == []
