"""Building the MIME message for a rendered email: headers marketing mail needs (RFC 8058),
a Message-ID derived from the idempotency key, footer, open pixel and optional DKIM."""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate

import dkim

from channels.base import Outbound


@dataclass(frozen=True)
class DkimKey:
    selector: str
    domain: str
    private_key_pem: bytes = field(repr=False)


SIGNED_HEADERS = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
)


def message_id(key: str, domain: str) -> str:
    """Stable per idempotency key: a resend after a crash carries the same Message-ID, which
    receiving systems use to drop the duplicate."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


def bare_address(sender: str) -> str:
    """``Shop <news@shop.example>`` -> ``news@shop.example``."""
    return sender.rpartition("<")[2].rstrip(">").strip() if "<" in sender else sender.strip()


def sender_domain(sender: str) -> str:
    return bare_address(sender).rpartition("@")[2] or "localhost"


def build(
    out: Outbound,
    *,
    sender: str,
    reply_to: str = "",
    postal_address: str = "",
    unsubscribe_mailto: str = "",
) -> EmailMessage:
    m = out.message
    domain = sender_domain(sender)
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = str(out.address)
    msg["Subject"] = m.subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = message_id(out.key, domain)
    if reply_to:
        msg["Reply-To"] = reply_to
    text, body = m.text, m.html
    if postal_address:
        text += f"\n\n--\n{postal_address}"
        body += f'<p style="font-size:12px;color:#666">{html.escape(postal_address)}</p>'
    if out.marketing and out.unsubscribe_url:
        targets = [f"<{out.unsubscribe_url}>"]
        if unsubscribe_mailto:
            targets.append(f"<mailto:{unsubscribe_mailto}>")
        msg["List-Unsubscribe"] = ", ".join(targets)
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        text += f"\nUnsubscribe: {out.unsubscribe_url}"
        body += (
            f'<p style="font-size:12px"><a href="{html.escape(out.unsubscribe_url)}">'
            "Unsubscribe</a></p>"
        )
    if out.open_pixel_url:
        body += (
            f'<img src="{html.escape(out.open_pixel_url)}" width="1" height="1" alt="" '
            'style="display:none">'
        )
    msg.set_content(text)
    msg.add_alternative(body, subtype="html")
    return msg


def to_bytes(msg: EmailMessage, dkim_key: DkimKey | None = None) -> bytes:
    """The exact bytes to send (CRLF line ends); the DKIM signature, if any, is computed over
    these very bytes and prepended, so nothing re-serialises the message after signing."""
    raw = msg.as_bytes(policy=SMTP)
    if dkim_key is None:
        return raw
    present = [h for h in SIGNED_HEADERS if msg.get(h.decode()) is not None]
    signature: bytes = dkim.sign(
        raw,
        dkim_key.selector.encode(),
        dkim_key.domain.encode(),
        dkim_key.private_key_pem,
        include_headers=present,
    )
    return signature.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + raw
