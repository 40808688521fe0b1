"""An email Outbound as the engine hands it to the adapter."""

from __future__ import annotations

from channels.base import (
    Outbound,
    Rendered,
)

SENDER = "Shop <news@shop.example>"


def outbound(
    key: str = "cart/cart-1/g0/steps.2.rung1/email",
    to: str = "alex@example.com",
    marketing: bool = True,
) -> Outbound:
    message = Rendered(
        channel="email",
        locale="",
        subject="Your cart is waiting",
        html="<p>Hi Alex</p>",
        text="Hi Alex",
    )
    return Outbound(
        key=key,
        channel="email",
        address=to,
        message=message,
        customer_id="42",
        scenario="cart",
        template="cart/reminder",
        marketing=marketing,
        unsubscribe_url="https://t.shop.example/u/TOKEN",
        open_pixel_url="https://t.shop.example/t/o/PIXEL",
    )
