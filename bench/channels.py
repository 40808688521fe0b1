"""Channel adapters against the bare library calls, each against its local peer.

    .venv/bin/python bench/channels.py [--messages 2000] [--concurrency 50] [--only email,...]

Per channel: N messages through the adapter (rendering excluded: the same Rendered message),
then, in the same run and to the same peer, N through the bare library call with the same
connection reuse and concurrency. Rate limits are lifted: this measures adapter overhead.
Prints messages/s and the ratio adapter/bare (target >= 0.8).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from email.message import EmailMessage
from pathlib import Path

import aiohttp
import aiosmtplib
from pywebpush import webpush_async

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from peers.push_service import PushService  # noqa: E402
from peers.smtp import SmtpPeer  # noqa: E402
from peers.telegram_api import TelegramPeer  # noqa: E402
from peers.twilio_api import TwilioPeer  # noqa: E402

from bench.runlog import Run  # noqa: E402
from channels.base import Outbound, Rendered  # noqa: E402
from channels.email import EmailChannel  # noqa: E402
from channels.push import PushChannel  # noqa: E402
from channels.settings import (  # noqa: E402
    EmailSettings,
    PushSettings,
    SmsSettings,
    TelegramSettings,
)
from channels.sms import SmsChannel, twilio_client  # noqa: E402
from channels.telegram import TelegramChannel, telegram_bot  # noqa: E402
from channels.vapid import generate_vapid_keys  # noqa: E402
from orchestrator.api.serve import serving  # noqa: E402

Job = Callable[[int], Awaitable[object]]
FAST = 1e9  # "no limit" for the rate limiters


async def drive(n: int, concurrency: int, job: Job) -> float:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)

    async def worker() -> None:
        while not queue.empty():
            await job(queue.get_nowait())

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return n / (time.perf_counter() - start)


def outbound(channel: str, address: object, i: int, **message: object) -> Outbound:
    return Outbound(
        key=f"bench/{channel}/{i}",
        channel=channel,
        address=address,
        customer_id="42",
        scenario="bench",
        template="bench/msg",
        message=Rendered(channel=channel, locale="", **message),
    )  # type: ignore[arg-type]


async def email(n: int, c: int) -> tuple[float, float]:
    with SmtpPeer() as peer:
        adapter = EmailChannel(
            EmailSettings(
                host="127.0.0.1",
                port=peer.port,
                security="none",
                sender="Shop <news@shop.example>",
                rate_per_second=FAST,
            )
        )
        a = await drive(
            n,
            c,
            lambda i: adapter.send(
                outbound(
                    "email", "a@example.com", i, subject="Your cart", html="<p>Hi</p>", text="Hi"
                )
            ),
        )
        await adapter.close()
        # Bare: the same single reused connection, one transaction at a time.
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=peer.port, start_tls=False)
        await smtp.connect()
        lock = asyncio.Lock()

        async def bare(i: int) -> None:
            msg = EmailMessage()
            msg["From"], msg["To"], msg["Subject"] = "news@shop.example", "a@example.com", "Cart"
            msg.set_content("Hi")
            msg.add_alternative("<p>Hi</p>", subtype="html")
            async with lock:
                await smtp.send_message(msg)

        b = await drive(n, c, bare)
        await smtp.quit()
    return a, b


async def push(n: int, c: int) -> tuple[float, float]:
    service = PushService()
    private, _ = generate_vapid_keys()
    async with serving(service.app()) as base:
        service.base = base
        sub = service.subscribe("bench")
        adapter = PushChannel(
            PushSettings(
                vapid_private_key=private, subject="mailto:o@x.test", rate_per_second=FAST
            ),
            aiohttp.ClientSession(),
        )
        a = await drive(
            n,
            c,
            lambda i: adapter.send(
                outbound("push", [sub], i, title="Cart", body="Still there", url="https://x.test/")
            ),
        )
        await adapter.close()
        vapid = adapter._key()
        async with aiohttp.ClientSession() as session:
            b = await drive(
                n,
                c,
                lambda i: webpush_async(
                    sub,
                    '{"title": "Cart"}',
                    vapid_private_key=vapid,
                    vapid_claims={"sub": "mailto:o@x.test"},
                    ttl=86400,
                    aiohttp_session=session,
                ),
            )
    return a, b


async def telegram(n: int, c: int) -> tuple[float, float]:
    peer = TelegramPeer()
    async with serving(peer.app()) as base:
        settings = TelegramSettings(
            token=peer.token, base_url=f"{base}/bot", messages_per_second=FAST
        )
        adapter = TelegramChannel(settings, telegram_bot(settings))
        adapter._per_chat.rate = FAST  # the bench measures overhead, not Telegram's limits
        a = await drive(
            n, c, lambda i: adapter.send(outbound("telegram", str(1000 + i), i, text="<b>Cart</b>"))
        )
        await adapter.close()
        bot = telegram_bot(settings)
        await bot.initialize()
        b = await drive(
            n,
            c,
            lambda i: bot.send_message(
                chat_id=str(1000 + i), text="<b>Cart</b>", parse_mode="HTML"
            ),
        )
        await bot.shutdown()
    return a, b


async def sms(n: int, c: int) -> tuple[float, float]:
    peer = TwilioPeer()
    async with serving(peer.app()) as base:
        settings = SmsSettings(
            account_sid=peer.account_sid,
            auth_token=peer.auth_token,
            from_number="+15005550001",
            base_url=base,
            messages_per_second=FAST,
        )
        adapter = SmsChannel(settings, twilio_client(settings))
        a = await drive(
            n,
            c,
            lambda i: adapter.send(outbound("sms", "+15005550006", i, text="Your cart is waiting")),
        )
        await adapter.close()
        client = twilio_client(settings)  # the bare SDK call through the same HTTP client
        b = await drive(
            n,
            c,
            lambda i: client.messages.create_async(
                to="+15005550006", from_="+15005550001", body="Your cart is waiting"
            ),
        )
        await client.http_client.close()
    return a, b


BENCHES = {"email": email, "push": push, "telegram": telegram, "sms": sms}


async def main(n: int, c: int, only: list[str]) -> None:
    print(f"messages per channel: {n}, concurrency: {c}")
    for name in only:
        adapter, bare = await BENCHES[name](n, c)
        print(
            f"{name:9} adapter {adapter:8.1f}/s   bare {bare:8.1f}/s   "
            f"ratio {adapter / bare:.2f}  (target >= 0.80)",
            flush=True,
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--only", default=",".join(BENCHES))
    args = parser.parse_args()
    with Run("channels", vars(args)).recording():
        asyncio.run(main(args.messages, args.concurrency, args.only.split(",")))
    sys.stdout.flush()
    os._exit(0)  # the Temporal-free run still shares the CLI's exit path: no lingering threads
