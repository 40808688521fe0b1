"""The email adapter against a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from email_outbound import SENDER, outbound
from peers.smtp import SmtpPeer

from channels.base import (
    ChannelMisconfigured,
    PermanentChannelError,
    TransientChannelError,
)
from channels.email import EmailChannel
from channels.settings import DkimKey, EmailSettings


@pytest.fixture
def peer() -> Iterator[SmtpPeer]:
    with SmtpPeer() as p:
        yield p


def plain(peer: SmtpPeer, **kw: Any) -> EmailChannel:
    return EmailChannel(
        EmailSettings(
            host="127.0.0.1",
            port=peer.port,
            security="none",
            sender=SENDER,
            reply_to="help@shop.example",
            postal_address="Shop GmbH, Hauptstr. 1, Berlin",
            **kw,
        )
    )


async def test_headers_and_parts_as_the_server_sees_them(peer: SmtpPeer) -> None:
    channel = plain(peer)
    delivery = await channel.send(outbound())
    await channel.close()
    [got] = peer.received
    msg = got.message
    assert got.sender == "news@shop.example" and got.recipients == ["alex@example.com"]
    assert msg["From"] == SENDER and msg["To"] == "alex@example.com"
    assert msg["Subject"] == "Your cart is waiting" and msg["Reply-To"] == "help@shop.example"
    assert msg["Message-ID"] == delivery.provider_id and msg["Message-ID"].endswith(
        "@shop.example>"
    )
    assert msg["List-Unsubscribe"] == "<https://t.shop.example/u/TOKEN>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Hi Alex" in text and "Hauptstr. 1" in text
    assert '<img src="https://t.shop.example/t/o/PIXEL"' in html and "Hauptstr. 1" in html


async def test_transactional_mail_has_no_list_unsubscribe(peer: SmtpPeer) -> None:
    channel = plain(peer)
    await channel.send(outbound(marketing=False))
    await channel.close()
    assert peer.received[0].message["List-Unsubscribe"] is None


async def test_one_connection_serves_many_messages_and_ids_are_stable(peer: SmtpPeer) -> None:
    channel = plain(peer)
    ids = [(await channel.send(outbound(key=f"k{i % 2}"))).provider_id for i in range(4)]
    await channel.close()
    assert len(peer.handler.sessions) == 1
    assert ids[0] == ids[2] and ids[1] == ids[3] and ids[0] != ids[1]


async def test_rejected_recipient_is_permanent_and_suppresses(peer: SmtpPeer) -> None:
    peer.behaviour.refuse["gone@example.com"] = "550 5.1.1 no such user"
    channel = plain(peer)
    with pytest.raises(PermanentChannelError) as info:
        await channel.send(outbound(to="gone@example.com"))
    await channel.close()
    assert info.value.suppress and info.value.reason.startswith("invalid_address: SMTP 550")


async def test_temporary_failure_is_transient(peer: SmtpPeer) -> None:
    peer.behaviour.data_reply = "451 4.3.0 try again later"
    channel = plain(peer)
    with pytest.raises(TransientChannelError, match="451"):
        await channel.send(outbound())
    peer.behaviour.data_reply = None
    await channel.send(outbound())  # the connection still works after a 4xx
    await channel.close()
    assert len(peer.received) == 1


async def test_rate_limit_4xx_on_recipient_is_transient(peer: SmtpPeer) -> None:
    peer.behaviour.refuse["busy@example.com"] = "452 4.5.3 too many recipients, slow down"
    channel = plain(peer)
    with pytest.raises(TransientChannelError, match="452"):
        await channel.send(outbound(to="busy@example.com"))
    await channel.close()


async def test_starttls_and_auth(tmp_path: Path) -> None:
    with SmtpPeer(tls_folder=tmp_path, users={"omni": "s3cret"}) as peer:
        assert peer.cert is not None
        settings = dict(
            host="localhost",
            port=peer.port,
            security="starttls",
            username="omni",
            sender=SENDER,
            ca_file=str(peer.cert),
        )
        good = EmailChannel(EmailSettings(password="s3cret", **settings))
        await good.check()
        await good.send(outbound())
        await good.close()
        assert len(peer.received) == 1
        bad = EmailChannel(EmailSettings(password="wrong", **settings))
        with pytest.raises(ChannelMisconfigured, match="login") as info:
            await bad.check()
        assert "wrong" not in str(info.value)
        untrusted = EmailChannel(EmailSettings(password="s3cret", **{**settings, "ca_file": None}))
        with pytest.raises(ChannelMisconfigured, match="TLS"):
            await untrusted.check()


async def test_dkim_signature_verifies_on_the_server_side(peer: SmtpPeer) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    channel = plain(peer, dkim=DkimKey("omni", "shop.example", pem))
    await channel.send(outbound())
    await channel.close()
    raw = peer.received[0].raw
    assert raw.startswith(b"DKIM-Signature:")
    head = raw.split(b"\r\n\r\n")[0].replace(b"\r\n\t", b"").replace(b"\r\n ", b"")
    signed = head.split(b"h=")[1].split(b";")[0].replace(b" ", b"").lower().split(b":")
    assert {
        b"from",
        b"subject",
        b"message-id",
        b"list-unsubscribe",
        b"list-unsubscribe-post",
    } <= set(signed)
    assert dkim.verify(raw, dnsfunc=lambda name, timeout=5: record)
