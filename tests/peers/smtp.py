"""A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives and can be told to
refuse recipients, fail temporarily, require STARTTLS and AUTH."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    sender: str
    recipients: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        msg = message_from_bytes(self.raw, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        return msg

    def body(self, kind: str = "html") -> str:
        """The decoded ``html`` or ``plain`` part, as a mail client shows it."""
        part = self.message.get_body((kind,))
        assert part is not None, f"no {kind} part"
        return str(part.get_content())


@dataclass
class Behaviour:
    refuse: dict[str, str] = field(default_factory=dict)  # address -> "550 ..." reply
    data_reply: str | None = None  # e.g. "451 4.3.0 try later"
    #: Called with each message once it is stored, before the reply (fault injection).
    on_data: Callable[[Received], None] | None = None
    #: Awaited (on the server's own event loop) after ``on_data``, before the reply: the
    #: client waits for its "250" meanwhile, as with a slow server.
    hold: Callable[[Received], Awaitable[None]] | None = None


class Handler:
    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.received: list[Received] = []
        self.sessions: set[int] = set()

    async def handle_RCPT(
        self,
        server: Any,
        session: Session,
        envelope: Envelope,
        address: str,
        options: list[str],
    ) -> str:
        if address in self.behaviour.refuse:
            return self.behaviour.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(
        self,
        server: Any,
        session: Session,
        envelope: Envelope,
    ) -> str:
        if self.behaviour.data_reply:
            return self.behaviour.data_reply
        self.sessions.add(id(session))
        content = envelope.original_content or b""
        got = Received(str(envelope.mail_from), list(envelope.rcpt_tos), bytes(content))
        self.received.append(got)
        if self.behaviour.on_data is not None:
            self.behaviour.on_data(got)
        if self.behaviour.hold is not None:
            await self.behaviour.hold(got)
        return "250 2.0.0 queued"


def self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class SmtpPeer:
    def __init__(
        self,
        *,
        tls_folder: Path | None = None,
        users: dict[str, str] | None = None,
        behaviour: Behaviour | None = None,
    ) -> None:
        self.behaviour = behaviour or Behaviour()
        self.handler = Handler(self.behaviour)
        self.port = free_port()
        self.cert: Path | None = None
        kwargs: dict[str, Any] = {}
        if tls_folder is not None:
            self.cert, key = self_signed(tls_folder)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.cert, key)
            kwargs.update(tls_context=context, require_starttls=True)
        if users is not None:

            def auth(
                server: Any, session: Session, envelope: Envelope, mechanism: str, data: Any
            ) -> AuthResult:
                ok = (
                    isinstance(data, LoginPassword)
                    and users.get(data.login.decode()) == data.password.decode()
                )
                return AuthResult(success=ok, handled=False)

            kwargs.update(authenticator=auth, auth_required=True)
        self.controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            server_hostname="localhost",
            **kwargs,
        )

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def __enter__(self) -> SmtpPeer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
