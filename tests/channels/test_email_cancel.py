"""A send cancelled mid-transaction (a worker shutting down, an activity timing out) must not
leave the shared SMTP session half-used: the next customer's message goes out on a fresh
session, whole and only to its own recipient. A send stopped at its handover (its run ended)
leaves the session as it was."""

from __future__ import annotations

import asyncio

from email_outbound import outbound
from peers.smtp import Behaviour, Received, SmtpPeer

from channels.base import SendStopped
from channels.email import EmailChannel
from channels.settings import EmailSettings


def channel(peer: SmtpPeer) -> EmailChannel:
    return EmailChannel(
        EmailSettings(host="127.0.0.1", port=peer.port, security="none", timeout=20)
    )


async def test_a_cancel_mid_data_discards_the_session_for_the_next_customer() -> None:
    entered = asyncio.Event()
    release = asyncio.Event()
    loop = asyncio.get_running_loop()

    async def hold(got: Received) -> None:
        # The server keeps the first customer's DATA unanswered: a slow server.
        if "ann@example.com" in got.recipients:
            loop.call_soon_threadsafe(entered.set)
            await asyncio.sleep(30)

    with SmtpPeer(behaviour=Behaviour(hold=hold)) as peer:
        email = channel(peer)
        first = asyncio.create_task(email.send(outbound(key="k/ann", to="ann@example.com")))
        await asyncio.wait_for(entered.wait(), timeout=10)
        first.cancel()
        await asyncio.gather(first, return_exceptions=True)
        release.set()
        # Bob's message: on a new session, delivered whole, to Bob alone.
        delivery = await asyncio.wait_for(
            email.send(outbound(key="k/bob", to="bob@example.com")), timeout=10
        )
        await email.close()
    bob = [r for r in peer.received if r.recipients == ["bob@example.com"]]
    assert len(bob) == 1 and delivery.provider_id == bob[0].message["Message-ID"]
    assert b"Hi Alex" in bob[0].raw
    assert len(peer.handler.sessions) == 2  # Ann's session was not reused for Bob


async def test_a_send_stopped_at_its_handover_keeps_the_session() -> None:
    with SmtpPeer() as peer:
        email = channel(peer)
        await email.send(outbound(key="k/cat", to="cat@example.com"))
        stopped = outbound(key="k/dan", to="dan@example.com")

        async def refuse() -> None:
            raise SendStopped("the run ended before the handover")

        stopped.handover = refuse
        try:
            await email.send(stopped)
        except SendStopped:
            pass
        else:
            raise AssertionError("a stopped send must not go out")
        await email.send(outbound(key="k/eve", to="eve@example.com"))
        await email.close()
    assert [r.recipients for r in peer.received] == [["cat@example.com"], ["eve@example.com"]]
    assert len(peer.handler.sessions) == 1  # one session served both
