"""The console's settings (the configuration fills them from ``OMNI_*`` variables).

Kept apart from the console's state (``console.state``) so reading the configuration never
imports FastAPI or the store.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from channels.settings import Positive, WebUrl


class ConsoleSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Console password; unset: log in with an API key only.
    password: SecretStr | None = None
    #: Keep every rendered message in the send log so the console can show it (PII).
    keep_messages: bool = False
    #: The Temporal UI, for links from runs to their page.
    temporal_ui_url: WebUrl = "http://127.0.0.1:8233"
    #: Hours a console login lasts at most, used or not.
    session_hours: int = 12
    #: The only addresses test sends may go to: emails, phone numbers (E.164, for SMS) and
    #: Telegram chat ids the shop declared as its own. Empty: no test sends.
    test_recipients: tuple[str, ...] = Field(default=(), repr=False)
    #: Test sends a console user (the password, or one API key) may make in an hour.
    test_sends_per_hour: Annotated[int, Field(ge=0)] = 10
    #: Minutes of inactivity that end a console login.
    idle_minutes: Positive = 30.0
    #: Login attempts checked per client address and minute (more get 429 unchecked).
    logins_per_minute: int = 10
    #: Failed console password attempts per hour, from all addresses (more get 429).
    password_failures_per_hour: int = 100

    def test_recipients_for(self, channel: str) -> list[str]:
        """The declared recipients a test by ``channel`` may go to."""
        return [r for r in self.test_recipients if _recipient_channel(r) == channel]

    def password_text(self) -> str | None:
        """The password itself, for comparing and fingerprinting only."""
        return self.password.get_secret_value() if self.password is not None else None


def _recipient_channel(recipient: str) -> str:
    if "@" in recipient:
        return "email"
    if recipient.startswith("+"):
        return "sms"
    return "telegram" if recipient.lstrip("-").isdigit() else ""
