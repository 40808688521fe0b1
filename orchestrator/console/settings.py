"""The console's settings and what its pages share (built once by worker.py or a test)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from channels.base import Channel
from orchestrator.api.browser import LoginThrottle, Signing
from orchestrator.api.services import Services
from orchestrator.store.funnel import SqlFunnel
from orchestrator.store.message_views import SqlMessages
from orchestrator.store.sessions import SqlSessions


@dataclass(frozen=True)
class ConsoleSettings:
    #: Console password; unset: log in with an API key only.
    password: str | None = field(default=None, repr=False)
    #: Keep every rendered message in the send log so the console can show it (PII).
    keep_messages: bool = False
    #: The Temporal UI, for links from runs to their page.
    temporal_ui_url: str = "http://127.0.0.1:8233"
    #: Hours a console login lasts at most, used or not.
    session_hours: int = 12
    #: The only addresses test sends may go to: emails, phone numbers (E.164, for SMS) and
    #: Telegram chat ids the shop declared as its own. Empty: no test sends.
    test_recipients: tuple[str, ...] = field(default=(), repr=False)
    #: Test sends a console user (the password, or one API key) may make in an hour.
    test_sends_per_hour: int = 10
    #: Minutes of inactivity that end a console login.
    idle_minutes: float = 30.0
    #: Login attempts checked per client address and minute (more get 429 unchecked).
    logins_per_minute: int = 10
    #: Failed console password attempts per hour, from all addresses (more get 429).
    password_failures_per_hour: int = 100

    def test_recipients_for(self, channel: str) -> list[str]:
        """The declared recipients a test by ``channel`` may go to."""
        return [r for r in self.test_recipients if _recipient_channel(r) == channel]


def _recipient_channel(recipient: str) -> str:
    if "@" in recipient:
        return "email"
    if recipient.startswith("+"):
        return "sms"
    return "telegram" if recipient.lstrip("-").isdigit() else ""


@dataclass
class Console:
    svc: Services
    funnel: SqlFunnel
    messages: SqlMessages
    #: Signs sessions and CSRF tokens and encrypts references to customers in URLs; API
    #: processes behind one load balancer need the same one (worker.py derives it).
    secret: bytes = field(repr=False)
    settings: ConsoleSettings = field(default_factory=ConsoleSettings)
    #: The providers test sends go through (the worker's, or omni dev's sinks).
    channels: dict[str, Channel] = field(default_factory=dict)
    #: Where the scenarios live, to show the files' validation result now.
    scenario_dirs: list[Path] = field(default_factory=list)
    templates_dir: Path = Path("templates")
    #: The From header test emails are built with (for the email size shown in previews).
    email_sender: str = "Omni <omni@localhost>"
    #: Logins: server-side sessions, their signed ids and CSRF tokens, the login throttle
    #: (build_console makes them).
    sessions: SqlSessions = field(init=False)
    signing: Signing = field(init=False)
    throttle: LoginThrottle = field(init=False)
    #: The keyed fingerprint of ``settings.password`` its sessions carry.
    password_tag: str | None = field(init=False)
    _password_checked: asyncio.Lock = field(init=False, default_factory=asyncio.Lock)
    _password_done: bool = field(init=False, default=False)

    async def forget_old_passwords(self) -> None:
        """Once per process: end the sessions of any other console password, in every
        process (a changed OMNI_CONSOLE_PASSWORD logs everybody who used the old one out)."""
        if self._password_done:
            return
        async with self._password_checked:
            if not self._password_done:
                await self.sessions.end_other_passwords(self.password_tag)
                self._password_done = True
