"""Building the MIME message for a rendered email: headers marketing mail needs (RFC 8058),
a Message-ID derived from the idempotency key, footer, open pixel and optional DKIM."""

from __future__ import annotations

import hashlib
import html
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import formatdate

import dkim

from channels.base import Outbound
from channels.settings import DkimKey

SIGNED_HEADERS = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
)


#: Headers that carry URIs in angle brackets (RFC 2369, RFC 8058): mail clients parse them as
#: written, so they must never become RFC 2047 encoded words.
URI_LIST_HEADERS = frozenset({"list-unsubscribe", "list-unsubscribe-post"})
#: RFC 5322: lines SHOULD stay within 78 characters and MUST within 998.
FOLD_AT, HARD_LIMIT = 78, 998


class MailPolicy(EmailPolicy):
    """``email.policy.SMTP``, except for the URI list headers: the standard policy writes a
    header holding a token longer than 78 characters (every unsubscribe URL) as encoded words
    (``=?utf-8?q?=3Chttps=3A//...?=``), which no mail client reads as a URI. These are written
    as RFC 2369 has them, ``<https://...>``, folded between URIs when the line is long."""

    def fold_binary(self, name: str, value: str) -> bytes:
        if name.lower() in URI_LIST_HEADERS:
            return fold_uri_list(name, str(value), self.linesep).encode("ascii")
        return super().fold_binary(name, value)


SMTP_POLICY = MailPolicy(linesep="\r\n")


def fold_uri_list(name: str, value: str, linesep: str = "\r\n") -> str:
    """``Name: <uri1>, <uri2>`` on one line, or one URI a line when that would pass 78."""
    if not value.isascii() or any(ch in value for ch in "\r\n\0"):
        raise ValueError(f"{name} must be ASCII on one line")
    items = [item.strip() for item in value.split(",") if item.strip()]
    line = f"{name}: {items[0] if items else ''}"
    lines: list[str] = []
    for item in items[1:]:
        if len(line) + 2 + len(item) > FOLD_AT:
            lines.append(line + ",")
            line = " " + item
        else:
            line += ", " + item
    lines.append(line)
    if any(len(part) > HARD_LIMIT for part in lines):
        raise ValueError(f"{name}: a URI longer than {HARD_LIMIT - len(name) - 4} characters")
    return linesep.join(lines) + linesep


def message_id(key: str, domain: str) -> str:
    """Stable per idempotency key: a resend after a crash carries the same Message-ID, which
    receiving systems use to drop the duplicate."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


def bare_address(sender: str) -> str:
    """``Shop <news@shop.example>`` -> ``news@shop.example``."""
    return sender.rpartition("<")[2].rstrip(">").strip() if "<" in sender else sender.strip()


def sender_domain(sender: str) -> str:
    return bare_address(sender).rpartition("@")[2] or "localhost"


def with_footer(out: Outbound, postal_address: str = "") -> tuple[str, str]:
    """The text and HTML bodies as the customer receives them: the rendered message, then the
    postal address and (marketing) the unsubscribe link. The console shows exactly this."""
    text, body = out.message.text, out.message.html
    if postal_address:
        text += f"\n\n--\n{postal_address}"
        body += f'<p style="font-size:12px;color:#666">{html.escape(postal_address)}</p>'
    if out.marketing and out.unsubscribe_url:
        text += f"\nUnsubscribe: {out.unsubscribe_url}"
        body += (
            f'<p style="font-size:12px"><a href="{html.escape(out.unsubscribe_url)}">'
            "Unsubscribe</a></p>"
        )
    if out.preferences_url:
        text += f"\nPreferences: {out.preferences_url}"
        body += (
            f'<p style="font-size:12px"><a href="{html.escape(out.preferences_url)}">'
            "Manage your preferences</a></p>"
        )
    return text, body


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
    text, body = with_footer(out, postal_address)
    if out.marketing and out.unsubscribe_url:
        targets = [f"<{out.unsubscribe_url}>"]
        if unsubscribe_mailto:
            targets.append(f"<mailto:{unsubscribe_mailto}>")
        msg["List-Unsubscribe"] = ", ".join(targets)
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
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
    raw = msg.as_bytes(policy=SMTP_POLICY)
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
