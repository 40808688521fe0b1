"""Tracking tokens: round trips, tampering, expiry, rotation, no open redirect."""

from __future__ import annotations

import re

import pytest

from orchestrator.engine.tracking import (
    TokenError,
    TokenExpired,
    TokenMalformed,
    TokenTampered,
    Tracker,
)

SECRET = b"s" * 32
NOW = [1_800_000_000.0]


def tracker(secret: bytes = SECRET, **kw: object) -> Tracker:
    return Tracker(secret, "https://t.shop.example", clock=lambda: NOW[0], **kw)  # type: ignore[arg-type]


def click(t: Tracker, url: str = "https://shop.example/cart?id=1") -> str:
    return t.link(run_id="cart/cart-1", message_key="k1", customer_id="42", channel="email")(
        url
    ).rsplit("/", 1)[1]


def test_click_round_trip_resolves_only_to_the_signed_url() -> None:
    t = tracker()
    claims = t.verify(click(t), "click")
    assert (claims.url, claims.run_id, claims.message_key, claims.customer_id, claims.channel) == (
        "https://shop.example/cart?id=1",
        "cart/cart-1",
        "k1",
        "42",
        "email",
    )
    assert claims.event_id == f"click:{claims.nonce}"


@pytest.mark.parametrize("part", [0, 1])
def test_tampered_tokens_are_rejected(part: int) -> None:
    t = tracker()
    token = click(t)
    pieces = token.split(".")
    pieces[part] = ("A" if pieces[part][3] != "A" else "B").join(
        [pieces[part][:3], pieces[part][4:]]
    )
    with pytest.raises((TokenTampered, TokenMalformed)):
        t.verify(".".join(pieces), "click")


def test_other_key_wrong_kind_and_garbage() -> None:
    token = click(tracker())
    with pytest.raises(TokenTampered):
        tracker(b"x" * 32).verify(token, "click")
    with pytest.raises(TokenTampered):
        tracker().verify(token, "unsubscribe")
    with pytest.raises(TokenMalformed):
        tracker().verify("no-dot", "click")


def test_expiry_and_rotation() -> None:
    old = tracker(b"o" * 32)
    token = click(old)
    rotated = tracker(SECRET, previous=(b"o" * 32,))
    assert rotated.verify(token, "click").url.startswith("https://shop.example")
    NOW[0] += 91 * 86400
    try:
        with pytest.raises(TokenExpired):
            rotated.verify(token, "click")
    finally:
        NOW[0] -= 91 * 86400


def test_only_http_links_are_tracked() -> None:
    t = tracker()
    link = t.link(run_id="r", message_key="k", customer_id="c", channel="email")
    assert link("mailto:help@shop.example") == "mailto:help@shop.example"
    assert link("javascript:alert(1)") == "javascript:alert(1)"
    with pytest.raises(ValueError):
        t.sign("click", url="javascript:alert(1)")


def test_base_url_must_be_https_except_locally() -> None:
    with pytest.raises(ValueError, match="https"):
        Tracker(SECRET, "http://t.shop.example")
    Tracker(SECRET, "http://127.0.0.1:8000")
    with pytest.raises(ValueError, match="32 bytes"):
        Tracker(b"short", "https://t.shop.example")


def test_telegram_token_fits_and_verifies() -> None:
    t = tracker()
    token = t.telegram_token("customer-4242")
    assert len(token) <= 64 and re.fullmatch(r"[A-Za-z0-9_-]+", token)
    assert t.telegram_customer(token) == "customer-4242"
    with pytest.raises(TokenTampered):
        t.telegram_customer(token[:-1] + ("A" if token[-1] != "A" else "B"))
    with pytest.raises(ValueError):
        t.telegram_token("x" * 40)


@pytest.mark.parametrize(
    "token",
    ["é" * 30, "a" * 20 + "é" * 16, "\ud800" * 30, "😀" * 26, "\x00" * 30, "a" * 10 + "ß" * 20],
)
def test_telegram_tokens_with_odd_characters_are_refused_not_a_crash(token: str) -> None:
    t = tracker()
    with pytest.raises(TokenError):
        t.telegram_customer(token)
    with pytest.raises(TokenError):
        t.verify(token + "." + token, "click")


#: Made by the hand-made HMAC code before tokens went through itsdangerous (secret b"k" * 32,
#: the unsubscribe link with the rotated-out b"p" * 32), at NOW: links already in customers'
#: mailboxes and chats must keep working.
EARLIER_CLICK = (
    "eyJrIjoiY2xpY2siLCJyIjoici8xIiwibSI6InIvMS9nMC9zdGVwcy4wL2VtYWlsIiwiYyI6IlpvXHUwMGViIDx4PiIs"
    "ImgiOiJlbWFpbCIsInUiOiJodHRwczovL3Nob3AuZXhhbXBsZS9jP2E9MSZiPTIiLCJlIjoxODA3Nzc2MDAwLCJuIjoi"
    "SW5FNGtlMENlWUJ4In0.IIN975dDO5NwyCsSdp-pCw"
)
EARLIER_UNSUBSCRIBE = (
    "eyJrIjoidW5zdWJzY3JpYmUiLCJjIjoiYy0xIiwiaCI6InNtcyIsImUiOjE4MzE1MzYwMDAsIm4iOiJSS2dlUC0xemNw"
    "em8ifQ.TAuGWCKJgsNnmDmbS6P8YA"
)
EARLIER_TELEGRAM = "Y3VzdC00Mg06b530c80dr2WkQ1q40apjvHi"


def test_tokens_signed_before_itsdangerous_still_verify() -> None:
    t = tracker(b"k" * 32, previous=(b"p" * 32,))
    claims = t.verify(EARLIER_CLICK, "click")
    assert (claims.url, claims.customer_id) == ("https://shop.example/c?a=1&b=2", "Zoë <x>")
    assert t.verify(EARLIER_UNSUBSCRIBE, "unsubscribe").customer_id == "c-1"
    assert t.telegram_customer(EARLIER_TELEGRAM) == "cust-42"
    # The same format now: a Telegram token for the same customer at the same time is the same.
    assert t.telegram_token("cust-42") == EARLIER_TELEGRAM
    with pytest.raises(TokenTampered):
        tracker(b"k" * 32).verify(EARLIER_UNSUBSCRIBE, "unsubscribe")  # its key retired
    with pytest.raises(TokenMalformed):
        t.verify(EARLIER_CLICK[:-2] + "é" + EARLIER_CLICK[-2:], "click")
