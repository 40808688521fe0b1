"""Email over SMTP (aiosmtplib): STARTTLS or implicit TLS, AUTH, one connection reused.

Idempotency: the send log is checked before sending and written after. If the worker dies
between the server's 250 and the log write, the retried activity sends again with the same
Message-ID (derived from the idempotency key), which mail systems use to drop duplicates.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import replace

import aiosmtplib

from channels.base import (
    ChannelMisconfigured,
    Delivery,
    Outbound,
    PermanentChannelError,
    Rendered,
    ShowsAsSent,
    TransientChannelError,
)
from channels.email_message import (
    bare_address,
    build,
    message_id,
    sender_domain,
    to_bytes,
    with_footer,
)
from channels.ratelimit import TokenBucket
from channels.settings import EmailSettings

INVALID_RECIPIENT = {550, 551, 553}


class EmailChannel(ShowsAsSent):
    name = "email"

    def __init__(self, settings: EmailSettings) -> None:
        self.settings = settings
        self._smtp: aiosmtplib.SMTP | None = None
        self._lock = asyncio.Lock()
        self._rate = TokenBucket(settings.rate_per_second)

    def _client(self) -> aiosmtplib.SMTP:
        s = self.settings
        context = ssl.create_default_context(cafile=s.ca_file)
        return aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            timeout=s.timeout,
            use_tls=s.security == "tls",
            start_tls=s.security == "starttls",
            tls_context=context,
        )

    async def _connect(self) -> aiosmtplib.SMTP:
        smtp = self._client()
        try:
            await smtp.connect()
            if self.settings.username:
                await smtp.login(self.settings.username, self.settings.password.get_secret_value())
        except BaseException:
            smtp.close()
            raise

        return smtp

    async def _open(self) -> aiosmtplib.SMTP:
        """Connect, turning configuration mistakes into ChannelMisconfigured."""
        try:
            return await self._connect()
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise ChannelMisconfigured(
                f"SMTP login to {self.settings.host} refused ({exc.code})"
            ) from None
        except ssl.SSLError as exc:
            raise ChannelMisconfigured(
                f"TLS with {self.settings.host} failed: {exc.__class__.__name__}"
            ) from None

    async def check(self) -> None:
        try:
            smtp = await self._open()
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise ChannelMisconfigured(
                f"cannot reach SMTP {self.settings.host}:"
                f"{self.settings.port}: {exc.__class__.__name__}"
            ) from None
        await smtp.quit()

    def _discard(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
        self._smtp = None

    async def close(self) -> None:
        async with self._lock:
            if self._smtp is not None and self._smtp.is_connected:
                await self._smtp.quit()
            self._smtp = None

    def as_sent(self, out: Outbound) -> Rendered:
        """The message as the customer receives it (footer included, open pixel left out):
        what the send log keeps for the console to show."""
        text, body = with_footer(out, self.settings.postal_address)
        return replace(out.message, text=text, html=body)

    async def send(self, out: Outbound) -> Delivery:
        s = self.settings
        if not is_plain_address(str(out.address)):
            # CR/LF here would inject SMTP commands into the envelope (RCPT TO) or headers.
            raise PermanentChannelError("invalid_address: not one plain email address")
        msg = build(
            out,
            sender=s.sender,
            reply_to=s.reply_to,
            postal_address=s.postal_address,
            unsubscribe_mailto=s.unsubscribe_mailto,
        )
        raw = to_bytes(msg, s.dkim)
        await self._rate.acquire()
        async with self._lock:  # one connection, reused; SMTP is one transaction at a time
            try:
                if self._smtp is None or not self._smtp.is_connected:
                    self._smtp = await self._open()
                await out.handing_over()
                refused, _ = await self._smtp.sendmail(
                    bare_address(s.sender), [str(out.address)], raw
                )
            except ChannelMisconfigured:
                raise
            except aiosmtplib.SMTPRecipientsRefused as exc:
                raise _map_code(exc.recipients[0].code, exc.recipients[0].message) from None
            except aiosmtplib.SMTPResponseException as exc:
                self._smtp = None if exc.code >= 500 else self._smtp
                raise _map_code(exc.code, exc.message) from None
            except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
                self._smtp = None  # reconnect on the next message
                raise TransientChannelError(f"SMTP: {exc.__class__.__name__}") from None
            except asyncio.CancelledError:
                # Stopped mid-transaction (a worker shutting down, a timeout): the session's
                # state is unknown, so the next message, another customer's, must not use it.
                self._discard()
                raise
        if refused:
            code, text = next(iter(refused.values()))
            raise _map_code(code, text)
        return Delivery(provider_id=message_id(out.key, sender_domain(s.sender)))


def is_plain_address(address: str) -> bool:
    """One ``local@domain`` address: no display name, no list, no whitespace or controls."""
    local, at, domain = address.rpartition("@")
    return (
        bool(local and at and domain)
        and not any(ch.isspace() or ord(ch) < 0x20 or ch in '<>,;"\x7f' for ch in address)
        and "@" not in local
    )


def _map_code(code: int, text: str) -> Exception:
    if 400 <= code < 500:
        return TransientChannelError(f"SMTP {code}: {text}")
    if code in INVALID_RECIPIENT:
        return PermanentChannelError(f"invalid_address: SMTP {code} {text}", suppress=True)
    return PermanentChannelError(f"rejected: SMTP {code} {text}")
