"""The HTTP API's settings (the configuration fills them from ``OMNI_*`` variables).

Kept apart from the services so reading the configuration never imports FastAPI or the store.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from channels.settings import Positive, WebUrl, WebUrls


class ApiSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Reject events no scenario knows (422) instead of accepting and reporting them.
    strict_events: bool = False
    #: Largest request body accepted, in bytes.
    max_body_bytes: Annotated[int, Field(ge=1)] = 1_048_576
    #: Public https base URL of this API (tracking links, unsubscribe, webhooks).
    public_base_url: WebUrl = "http://127.0.0.1:8000"
    #: Telegram webhook secret (X-Telegram-Bot-Api-Secret-Token); None disables the webhook.
    telegram_secret_token: SecretStr | None = None
    #: Telegram bot username, for t.me deep links.
    telegram_bot_username: str = ""
    #: Twilio auth token, to verify X-Twilio-Signature; None disables the Twilio webhooks.
    twilio_auth_token: SecretStr | None = None
    #: Postal address shown on the unsubscribe page (CAN-SPAM).
    postal_address: str = ""
    #: Seconds between outbox relay rounds (stored events not yet delivered); 0: no relay.
    relay_interval: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 1.0
    #: Seconds the request that stored an event has to deliver it before a relay may.
    event_lease_seconds: Positive = 30.0
    #: Push origins exempt from the public-host check (tests, a private push service).
    trusted_push_origins: WebUrls = ()
    #: Seconds an API key verification is cached: a revoked key stops working on every API
    #: process within this time.
    key_cache_seconds: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 2.0
    #: Failed authentications a client may make in a row before 429s, and how many a minute
    #: it regains (valid keys are never throttled).
    auth_failure_burst: Annotated[int, Field(ge=1)] = 10
    auth_failures_per_minute: Positive = 30.0
    #: Seconds a request waits on a busy (locked) or unreachable store before it answers 503
    #: with Retry-After: SQLite's busy timeout, PostgreSQL's lock_timeout and
    #: statement_timeout, and the queue for SQLite's writer, on the API's engine only.
    store_deadline_seconds: Positive = 5.0
