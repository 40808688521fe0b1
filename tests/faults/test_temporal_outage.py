"""Temporal goes away (SIGKILL) and comes back on the same database with rungs overdue: the
replies the API stored meanwhile reach their runs before any of those timers can send
(README, "Events accepted while Temporal is down"). Customers share one cart id; the ones who
replied get no next rung, the others get theirs. Real processes: Temporal's dev server, an
API process, a worker process, an SMTP server and a Twilio API on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from faults.processes import kill_all, omni_process, pid_listening_on, smtp_env, until_up
from faults.processes import worker_env as omni_env
from harness import quick_cart
from peers.smtp import SmtpPeer
from peers.twilio_api import TwilioPeer
from temporalio.client import Client
from twilio.request_validator import RequestValidator

from orchestrator.api.keys import ApiKeys
from orchestrator.api.serve import free_port, serving
from orchestrator.dev.devserver import start_dev_server
from orchestrator.engine.ids import id_part, workflow_id
from orchestrator.store.db import make_engine, sessions

#: Long enough for the slowest email to be out (six sends on a loaded 2-core machine took up
#: to 8 s) before the first rung falls due: the outage must come while every run waits.
RUNG_WAIT = 15.0


@pytest.mark.timeout(300)
@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
async def test_replies_stored_in_an_outage_stop_the_overdue_rungs(
    tmp_path: Path, store_url: str
) -> None:
    quick_cart(tmp_path, first_wait="1s", rung_wait=f"{RUNG_WAIT:g}s")
    port = free_port()
    db_file = tmp_path / "temporal.db"
    temporal = await start_dev_server(db_file=db_file, port=port)
    engine = make_engine(store_url)
    key = await ApiKeys(sessions(engine)).create("shop", scopes=["ingest", "read", "admin"])
    twilio = TwilioPeer()
    api_port = free_port()
    base = f"http://127.0.0.1:{api_port}"
    tag = uuid.uuid4().hex[:6]
    customers = [f"out-{tag}-{i}" for i in range(6)]
    phones = {c: f"+1500555{i:04d}" for i, c in enumerate(customers)}
    replied = customers[:3]  # the first two through POST /v1/events, the third by SMS
    processes = []
    try:
        with SmtpPeer() as smtp:
            async with serving(twilio.app()) as twilio_url:
                env = omni_env(
                    f"127.0.0.1:{port}",
                    f"outage-{tag}",
                    store_url,
                    tmp_path,
                    OMNI_API_PORT=str(api_port),
                    OMNI_PUBLIC_URL=base,
                    OMNI_TWILIO_ACCOUNT_SID=twilio.account_sid,
                    OMNI_TWILIO_AUTH_TOKEN=twilio.auth_token,
                    OMNI_TWILIO_FROM="+15005550006",
                    OMNI_TWILIO_API_URL=twilio_url,
                    **smtp_env(smtp.port),
                )
                log = tmp_path / "processes.log"
                api = omni_process("run_api", env, log)
                worker = omni_process("run_worker", env, log)
                processes += [api, worker]
                await until_up(base, api)
                auth = {"Authorization": f"Bearer {key}"}
                async with httpx.AsyncClient(base_url=base, timeout=60) as http:
                    for c in customers:
                        cart = {
                            "name": "cart_updated",
                            "customer_id": c,
                            "event_id": f"{c}-cart",
                            "data": {"cart": {"id": "shared-cart", "total": 9}},
                            "contact": {
                                "email": f"{c}@example.com",
                                "phone": phones[c],
                                "consents": {"email": True, "sms": True},
                            },
                        }
                        answer = await http.post("/v1/events", headers=auth, json=cart)
                        assert answer.status_code == 202, answer.text
                    await until(lambda: len(smtp.received) == len(customers), 60)
                    emailed = time.monotonic()
                    assert texted(twilio) == set(), "a rung fell due before the outage began"
                    # Temporal dies with every run waiting for a reaction to its email.
                    os.kill(pid_listening_on(port), signal.SIGKILL)
                    replies = [
                        http.post(
                            "/v1/events",
                            headers=auth,
                            json={
                                "name": "message_replied",
                                "customer_id": c,
                                "event_id": f"{c}-reply",
                                "data": {"channel": "email"},
                            },
                        )
                        for c in replied[:2]
                    ]
                    form = {"From": phones[replied[2]], "Body": "not now", "MessageSid": f"SM{tag}"}
                    url = f"{base}/webhooks/twilio/inbound"
                    signature = RequestValidator(twilio.auth_token).compute_signature(url, form)
                    sms_reply = http.post(
                        "/webhooks/twilio/inbound",
                        data=form,
                        headers={"X-Twilio-Signature": signature},
                    )
                    answers = await asyncio.gather(*replies, sms_reply)
                    assert [a.status_code for a in answers] == [202, 202, 200]
                    for a in answers[:2]:
                        assert a.json()["results"][0]["status"] == "pending"
                    # Back on the same database once every rung's wait is over: the timers
                    # fall due the moment it starts.
                    await asyncio.sleep(max(0.0, emailed + RUNG_WAIT + 1 - time.monotonic()))
                    restarted = await start_dev_server(db_file=db_file, port=port)
                    async with restarted:
                        silent = customers[3:]
                        await until(lambda: texted(twilio) >= {phones[c] for c in silent}, 60)
                        # Every run ends after its last rung or its reply: once all six have
                        # ended and the worker is gone, the Twilio peer holds every text.
                        client = await Client.connect(f"127.0.0.1:{port}")
                        for c in customers:
                            wid = workflow_id(
                                "quick_cart", f"customer-{id_part(c)}/cart-shared-cart"
                            )
                            await asyncio.wait_for(client.get_workflow_handle(wid).result(), 60)
                        kill_all(processes)
                    got = [m["To"] for m in twilio.messages]
    finally:
        kill_all(processes)
        await engine.dispose()
        with contextlib.suppress(Exception):  # its server was killed above
            await temporal.shutdown()
    assert sorted(got) == sorted(phones[c] for c in customers[3:]), (
        f"rungs after a reply: {sorted(set(got) & {phones[c] for c in replied})}"
    )
    assert twilio.violations == []


def texted(twilio: TwilioPeer) -> set[str]:
    return {str(m["To"]) for m in twilio.messages}


async def until(check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not reached in time"
        await asyncio.sleep(0.1)
