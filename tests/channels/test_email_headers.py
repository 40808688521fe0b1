"""List-Unsubscribe as the receiving server sees it: the raw DATA bytes, never a decoded header.

Python's standard SMTP policy writes a header holding a token longer than 78 characters as RFC
2047 encoded words, which mail clients do not read as a URI list; decoding the header in the test
would hide exactly that, so these tests read the bytes aiosmtpd received.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from peers.smtp import SmtpPeer

from channels.base import Outbound, Rendered
from channels.email import EmailChannel
from channels.email_message import fold_uri_list
from channels.settings import DkimKey, EmailSettings
from orchestrator.engine.tracking import Tracker

TRACKER = Tracker(b"s" * 32, "https://t.shop.example")
#: Several customers, ids with unicode and hostile characters: every token is long.
CUSTOMERS = ["42", "jane.doe+vip@example.com", "Ünïcødé-客户-" + "x" * 40, "a\r\nb<script>"]


def outbound(customer: str, *, subject: str = "Your cart") -> Outbound:
    """A marketing email whose unsubscribe URL is a real token (a random nonce each call)."""
    return Outbound(
        key=f"cart/{customer}/g0/steps.1/email",
        channel="email",
        address="alex@example.com",
        message=Rendered(channel="email", locale="", subject=subject, html="<p>Hi</p>", text="Hi"),
        customer_id=customer,
        scenario="cart",
        template="cart/reminder",
        unsubscribe_url=TRACKER.unsubscribe_url(customer_id=customer, channel="email"),
    )


def headers(raw: bytes) -> bytes:
    return raw.split(b"\r\n\r\n", 1)[0]


def header_lines(raw: bytes, name: bytes) -> bytes:
    """The header as written, folding included (continuation lines start with a space)."""
    match = re.search(rb"(?im)^" + name + rb":[^\r\n]*(?:\r\n[ \t][^\r\n]*)*", headers(raw))
    assert match is not None, f"no {name!r} header"
    return match.group(0)


@pytest.fixture
def peer() -> Iterator[SmtpPeer]:
    with SmtpPeer() as p:
        yield p


def channel(peer: SmtpPeer, **kw: object) -> EmailChannel:
    settings = EmailSettings(host="127.0.0.1", port=peer.port, security="none", **kw)
    return EmailChannel(settings)


async def test_list_unsubscribe_is_a_plain_uri_in_the_raw_bytes(peer: SmtpPeer) -> None:
    ch = channel(peer)
    sent = [outbound(c, subject="Привет, " + "очень длинная тема " * 8) for c in CUSTOMERS]
    for out in sent:
        await ch.send(out)
    await ch.close()
    assert len(peer.received) == len(CUSTOMERS)
    for customer, out, got in zip(CUSTOMERS, sent, peer.received, strict=True):
        url = out.unsubscribe_url
        assert len(url) > 78  # long enough that the standard policy would encode it
        head = header_lines(got.raw, b"List-Unsubscribe")
        token = url.rsplit("/", 1)[1].encode()
        assert head.startswith(b"List-Unsubscribe: <https://t.shop.example/u/")
        assert token in head and b"=?" not in head, head
        assert header_lines(got.raw, b"List-Unsubscribe-Post") == (
            b"List-Unsubscribe-Post: List-Unsubscribe=One-Click"
        )
        # The token in the header verifies as this customer's, byte for byte.
        found = re.search(rb"<https://t\.shop\.example/u/([^>]+)>", head)
        assert found is not None
        assert TRACKER.verify(found.group(1).decode(), "unsubscribe").customer_id == customer
        # Other headers keep the standard policy (the subject is still encoded, and folded).
        assert b"Subject: =?utf-8?" in headers(got.raw)
        assert all(len(line) <= 998 for line in got.raw.split(b"\r\n"))


async def test_two_uris_fold_between_them_never_inside(peer: SmtpPeer) -> None:
    ch = channel(peer, unsubscribe_mailto="unsubscribe@shop.example")
    out = outbound("42")
    await ch.send(out)
    await ch.close()
    head = header_lines(peer.received[0].raw, b"List-Unsubscribe")
    first, second = head.split(b"\r\n")
    assert first == b"List-Unsubscribe: <" + out.unsubscribe_url.encode() + b">,"
    assert second == b" <mailto:unsubscribe@shop.example>"


async def test_dkim_still_verifies_over_the_unencoded_header(peer: SmtpPeer) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )

    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    ch = channel(peer, dkim=DkimKey("omni", "shop.example", pem), sender="Shop <n@shop.example>")
    await ch.send(outbound(CUSTOMERS[2]))
    await ch.close()
    raw = peer.received[0].raw
    assert b"=?" not in header_lines(raw, b"List-Unsubscribe")
    assert dkim.verify(raw, dnsfunc=lambda name, timeout=5: record)


def test_folding_rules() -> None:
    assert fold_uri_list("List-Unsubscribe", "<https://a.example/u/1>") == (
        "List-Unsubscribe: <https://a.example/u/1>\r\n"
    )
    long = "<https://a.example/u/" + "t" * 200 + ">"
    assert fold_uri_list("List-Unsubscribe", f"{long}, <mailto:u@a.example>") == (
        f"List-Unsubscribe: {long},\r\n <mailto:u@a.example>\r\n"
    )
    for bad in ("<https://a.example/\r\nBcc: x@evil.example>", "<https://a.example/ü>"):
        with pytest.raises(ValueError):
            fold_uri_list("List-Unsubscribe", bad)
