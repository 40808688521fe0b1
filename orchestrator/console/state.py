"""What the console's pages share, built once per process (by the composition root,
``orchestrator.app``, or a test)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from channels.base import Channel
from orchestrator.api.browser import LoginThrottle, Signing
from orchestrator.api.services import Services
from orchestrator.console.settings import ConsoleSettings
from orchestrator.store.funnel import SqlFunnel
from orchestrator.store.message_views import SqlMessages
from orchestrator.store.send_times import SqlSendTimes
from orchestrator.store.sessions import SqlSessions


@dataclass
class Console:
    svc: Services
    funnel: SqlFunnel
    messages: SqlMessages
    #: Signs sessions and CSRF tokens and encrypts references to customers in URLs; API
    #: processes behind one load balancer need the same one (orchestrator.app derives it).
    secret: bytes = field(repr=False)
    settings: ConsoleSettings = field(default_factory=ConsoleSettings)
    #: The providers test sends go through (the worker's, or omni dev's sinks).
    channels: dict[str, Channel] = field(default_factory=dict)
    #: Where the scenarios live, to show the files' validation result now.
    scenario_dirs: list[Path] = field(default_factory=list)
    templates_dir: Path = Path("templates")
    #: The From header test emails are built with (for the email size shown in previews).
    email_sender: str = "Omni <omni@localhost>"
    #: The shop's zone for customers without one (OMNI_DEFAULT_TIMEZONE): their send times.
    default_timezone: str = "UTC"
    #: Reaction times and held sends (console/send_times.py makes it on first use).
    send_times: SqlSendTimes | None = None
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
