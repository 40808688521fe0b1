"""Each channel's settings: what an adapter is built with, validated when it is made.

Pydantic models, apart from the adapters, so reading and checking the configuration never
imports a provider's client library (``omni validate`` and ``omni send-event`` stay quick).
Values arrive as text from the environment or as Python values from code and tests; either way
a wrong one (a port that is not a number, an unknown security mode, a URL without http) is
refused here. Secrets are ``SecretStr``: their repr and str never show them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr

TWILIO = "https://api.twilio.com"


def web_url(value: str) -> str:
    """``value`` when it is an absolute http(s) URL; the text is kept as given."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("not an http(s) URL; write it like https://host/path")
    return value


def web_urls(values: tuple[str, ...]) -> tuple[str, ...]:
    for value in values:
        web_url(value)
    return values


#: An absolute http(s) URL, kept as the text given (callers join paths to it).
WebUrl = Annotated[str, AfterValidator(web_url)]
WebUrls = Annotated[tuple[str, ...], AfterValidator(web_urls)]
#: Rates and timeouts: a positive number.
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Port = Annotated[int, Field(ge=1, le=65535)]


class ChannelSettings(BaseModel):
    """Frozen, no unknown fields (a misspelt keyword is an error, not a silent default)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


@dataclass(frozen=True)
class DkimKey:
    selector: str
    domain: str
    private_key_pem: bytes = field(repr=False)


class EmailSettings(ChannelSettings):
    #: SMTP server host and port.
    host: Annotated[str, Field(min_length=1)]
    port: Port = 587
    #: "starttls" (port 587), "tls" (implicit TLS, port 465) or "none" (local sinks only).
    security: Literal["starttls", "tls", "none"] = "starttls"
    #: AUTH credentials; empty username skips AUTH.
    username: str = ""
    password: SecretStr = SecretStr("")
    #: The From header, e.g. "Shop <news@shop.example>".
    sender: str = "Omni <omni@localhost>"
    reply_to: str = ""
    #: Postal address appended to every message (CAN-SPAM).
    postal_address: str = ""
    #: Optional mailto for List-Unsubscribe, besides the https one-click link.
    unsubscribe_mailto: str = ""
    dkim: DkimKey | None = None
    #: CA bundle for a private server certificate; None uses the system store.
    ca_file: str | None = None
    timeout: Positive = 30.0
    #: Messages per second for this account, shared by every run in the worker.
    rate_per_second: Positive = 50.0


class PushSettings(ChannelSettings):
    #: VAPID private key (PEM, or base64url raw) and the contact URL push services may use
    #: (``mailto:`` or ``https:``; the channel's ``check`` refuses others, naming the rule).
    vapid_private_key: SecretStr
    subject: str
    #: How long the push service keeps an undelivered notification (seconds).
    ttl: Annotated[int, Field(ge=0)] = 86400
    urgency: Literal["very-low", "low", "normal", "high"] = "normal"
    timeout: Positive = 10.0
    rate_per_second: Positive = 200.0
    #: Origins (``https://host:port``) exempt from the public-host check: a push service on a
    #: private network, or a test's. Empty for real traffic.
    trusted_origins: WebUrls = ()


class TelegramSettings(ChannelSettings):
    #: The bot token from @BotFather.
    token: SecretStr
    #: Bot API root (``.../bot``); tests point it at a local server.
    base_url: WebUrl = "https://api.telegram.org/bot"
    #: Telegram's limits: about 30 messages a second per bot, one a second per chat.
    messages_per_second: Positive = 30.0
    per_chat_per_second: Positive = 1.0
    #: Concurrent HTTP connections to the Bot API.
    connections: Annotated[int, Field(ge=1)] = 64


class SmsSettings(ChannelSettings):
    #: Account SID and auth token (or an API key SID and secret).
    account_sid: str
    auth_token: SecretStr
    #: Sender number (E.164) or a Messaging Service SID; one of the two.
    from_number: str = ""
    messaging_service_sid: str = ""
    #: Delivery status callback (Omni's /webhooks/twilio/status), unless the message has one.
    status_callback_url: str = ""
    #: Longer messages are refused before sending (cost control).
    max_segments: Annotated[int, Field(ge=1)] = 4
    #: The sender's rate, shared by every run in the worker (a US long code: about 1/s).
    messages_per_second: Positive = 1.0
    #: Twilio's API root; tests point it at a local peer.
    base_url: WebUrl = TWILIO


class WhatsappSettings(ChannelSettings):
    #: A WhatsApp sender registered with Twilio (E.164, without ``whatsapp:``), or a
    #: Messaging Service SID whose sender pool has one; one of the two.
    from_number: str = ""
    messaging_service_sid: str = ""
    #: The sender's rate, shared by every run in the worker.
    messages_per_second: Positive = 10.0
    #: The Twilio account (the SMS settings' ``OMNI_TWILIO_*``; the configuration copies them).
    account_sid: str = ""
    auth_token: SecretStr = SecretStr("")
    base_url: WebUrl = TWILIO
    #: Delivery status callback (Omni's /webhooks/twilio/status).
    status_callback_url: str = ""
