"""Local SMTP server for the development stack: it accepts every message and keeps it as an
.eml file, so a newcomer sees real email without any account."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session


class _KeepMail:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns()}.eml"
        content = envelope.original_content or b""
        (self.folder / name).write_bytes(
            content if isinstance(content, bytes) else content.encode()
        )
        return "250 kept"


def start_smtp_sink(folder: Path, *, host: str = "127.0.0.1", port: int = 2525) -> Controller:
    """Start it in a background thread; call ``.stop()`` to end it."""
    controller = Controller(_KeepMail(folder), hostname=host, port=port)
    controller.start()
    return controller
