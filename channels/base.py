"""The channel protocols, what crosses them (``Outbound``, ``Delivery``) and the errors every
adapter maps its provider's failures to.

Every adapter is a ``Channel``. What only some providers can do is a protocol of its own that
the adapter names among its bases, so mypy holds the adapter to it and the engine finds it with
one ``isinstance`` when it is wired (never a probe per send): ``FindsSent`` (the provider can
say whether it already has a message) and ``ShowsAsSent`` (the adapter changes the message on
its way, e.g. email's footer).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable


@dataclass
class Rendered:
    """A message ready for a channel adapter."""

    channel: str
    locale: str
    subject: str = ""
    html: str = ""
    text: str = ""
    title: str = ""
    body: str = ""
    url: str = ""
    icon: str = ""
    buttons: list[tuple[str, str]] = field(default_factory=list)
    #: A WhatsApp template approved by WhatsApp (Twilio Content API) instead of text, and
    #: its variables ("1", "2", ... -> the text that fills {{1}}, {{2}}, ...).
    content_sid: str = ""
    content_variables: dict[str, str] = field(default_factory=dict)

    def preview(self, limit: int = 160) -> str:
        head = self.subject or self.title or self.content_sid
        main = self.text or self.body or " | ".join(self.content_variables.values())
        joined = f"{head} | {main}" if head else main
        joined = " ".join(joined.split())
        return joined if len(joined) <= limit else joined[: limit - 1] + "…"


class ChannelError(Exception):
    pass


class TransientChannelError(ChannelError):
    """Worth retrying later (timeouts, 4xx SMTP, 429, 5xx); ``retry_after`` in seconds if known."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class PermanentChannelError(ChannelError):
    """Will never work for this address. ``reason`` starts with a short code
    (``invalid_address``, ``blocked``, ``unsubscribed``, ``expired``, ``rejected``) followed by
    the provider's words; ``suppress`` marks the channel unusable for this contact."""

    def __init__(
        self, reason: str, *, suppress: bool = False, gone: list[str] | None = None
    ) -> None:
        self.reason = reason
        self.suppress = suppress
        #: Addresses reported gone for good (e.g. expired push subscriptions) to delete.
        self.gone = gone or []
        super().__init__(reason)


class SendStopped(ChannelError):
    """Raised by ``Outbound.handing_over``: the message's run ended (a goal, an exit, a
    cancel) before the provider could receive it, so the adapter must not hand it over.
    Nothing reached the provider; an adapter's connection is as it was."""


class ChannelMisconfigured(ChannelError):
    """Bad credentials or settings: raised by ``check()`` at worker start and by omni doctor."""


@dataclass
class Outbound:
    """One message to one address, ready to hand to a provider."""

    key: str
    channel: str
    address: Any
    message: Rendered
    customer_id: str
    scenario: str
    template: str
    #: Marketing mail carries List-Unsubscribe; transactional does not need to.
    marketing: bool = True
    #: One-click unsubscribe URL (https) for List-Unsubscribe / the footer; "" if none.
    unsubscribe_url: str = ""
    #: The customer's preference center, "" if none: email's footer link beside Unsubscribe;
    #: for marketing SMS, Telegram and web push a short link the adapter adds where it fits
    #: (``channels.preferences``).
    preferences_url: str = ""
    #: Tracking pixel URL for email opens; "" if none.
    open_pixel_url: str = ""
    #: Provider status callback URL (SMS delivery receipts); "" if none.
    status_callback_url: str = ""
    #: Called by the adapter right before the provider can first receive the message (after
    #: rate limits and connections): Omni records its intent to send there, so a message
    #: still queued in the adapter when a worker dies was never in doubt, and a run that
    #: ended first stops it there (``SendStopped``). See ``handing_over``.
    handover: Callable[[], Awaitable[None]] | None = field(default=None, repr=False)

    async def handing_over(self) -> None:
        if self.handover is not None:
            await self.handover()


@dataclass
class Delivery:
    """What the provider said: its message id, and addresses it reported gone for good
    (e.g. expired push subscriptions, to delete from the profile)."""

    provider_id: str
    gone: list[str] = field(default_factory=list)
    #: Kept locally, never handed to a provider (``RecordingChannel``: a record-only channel,
    #: ``omni dev``): the send log says ``recorded``, and nothing counts it as delivered.
    recorded: bool = False


class Channel(Protocol):
    """One provider (or a stand-in for one). ``send`` calls ``out.handing_over()`` right before
    the provider can first receive the message, after its rate limits and connections, and
    never when it gives up before that (see ``Outbound.handover``)."""

    name: str

    async def send(self, out: Outbound) -> Delivery:
        """Deliver and return the provider's answer; raise a ChannelError on failure."""
        ...

    async def check(self) -> None:
        """Verify credentials/settings once; raise ChannelMisconfigured with a clear message."""
        ...

    async def close(self) -> None:
        """Release connections and sessions (at shutdown, after omni doctor's check)."""
        ...


@runtime_checkable
class FindsSent(Channel, Protocol):
    """A provider that can look a message up: an attempt after a crash between the handover
    and the provider's answer asks it instead of sending twice (``engine/once.py``)."""

    async def find_sent(self, address: str, since: datetime) -> str | None:
        """The provider's id of a message to ``address`` it has had since ``since``, or None."""
        ...


@runtime_checkable
class ShowsAsSent(Channel, Protocol):
    """An adapter that changes the message on its way to the provider."""

    def as_sent(self, out: Outbound) -> Rendered:
        """The message as the customer receives it: what the send log keeps for the console."""
        ...
