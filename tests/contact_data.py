"""Contact data as shops send it, for the property tests: mostly updates the model should take
(every accepted form of an address, hostile but sendable text, any JSON in attributes, null),
now and then one broken field (a bad address, text no store keeps, a type the strict model
refuses, a key no contact has). Addresses come from small pools, so customers share them. A
script is a few updates of a few customers. The model is the tests' oracle; the data only
decides what gets tried."""

from __future__ import annotations

from typing import Any

from harness import PUSH_KEYS
from hypothesis import strategies as st
from odd_text import ODD

#: Text a provider takes: RTL marks, combining characters, emoji, CR/LF, DEL, C1...
SENDABLE = [
    "\u200f",
    "\u202e",
    "e\u0301",
    "😀",
    "\U0010fffd",
    "\ufeff",
    "\t",
    "\r\n",
    "\x7f",
    "\x85",
]
#: ...and what no store keeps or no provider takes.
UNSENDABLE = ["\ud800", "\udfff", "\x00", "\x07", "\x1b[31m"]
TEXT = st.one_of(
    st.lists(
        st.characters(exclude_categories=["Cs", "Cc"]) | st.sampled_from(SENDABLE), max_size=12
    ).map("".join),
    st.sampled_from(['<b>Zoë</b> & "Co"', "Al\r\nBcc: x@evil.example", "'; DROP TABLE x;--"]),
)
LONG = st.builds(lambda c, n: c * n, st.sampled_from(["a", "é", "😀"]), st.integers(196, 204))

GOOD_EMAILS = [
    "alex@example.com",
    "ALEX@Example.COM",
    "Zoë.Ünïcødé@EXAMPLE.com",
    "a+t@x.example.org",
]
BAD_EMAILS = [
    "alex@example.com\r\nBcc: victim@example.com",
    "Alex <alex@example.com>",
    "alex@localhost",
    "@example.com",
    "a" * 330 + "@example.com",
]
GOOD_PHONES = ["+15005550006", "+1 500 555 0006", "+49 151 1234-5678", "+4915112345678"]
BAD_PHONES = ["0151 1234567", "+1555", "+1500555\r\n0006", "call me"]
GOOD_WHATSAPP = ["+4915112345678", "whatsapp:+49 151 1234-5678", "+15005550006"]
BAD_WHATSAPP = ["whatsapp:", "whatsapp:0151 1234567", "x" * 40]
GOOD_ZONES = ["Europe/Berlin", "UTC", "America/Argentina/Buenos_Aires", "Asia/Kathmandu"]
BAD_ZONES = ["Mars/Olympus", "utc ", "Europe/Berlin\n"]
GOOD_ENDPOINTS = [
    "https://push.example.com/a",
    "https://push.example.com/b",
    "https://fcm.googleapis.com/fcm/send/abc:APA91b",
    "http://127.0.0.1:8089/push/trusted",  # the property tests' trusted push origin
]
BAD_ENDPOINTS = [
    "https://10.1.2.3/push",  # private: every store refuses it
    "http://push.example.com/plain",  # not https: refused
    "https://[::1]/push",
    "javascript:alert(1)",  # not a URL: the model refuses it
]
GOOD_KEYS = [PUSH_KEYS, {**PUSH_KEYS, "auth": "AAECAwQFBgcICQoLDA0ODg"}]
BAD_KEYS = [{"p256dh": "p", "auth": "a"}, {"p256dh": PUSH_KEYS["p256dh"]}]
CHANNELS = ["email", "push", "telegram", "sms", "whatsapp"]

SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([float("nan"), float("inf"), -0.0, 1e308, 5e-324, 2**53 + 1]),
    TEXT,
)
JSON = st.recursive(
    SCALAR,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(TEXT, inner, max_size=3)),
    max_leaves=8,
)


def subscriptions(endpoints: list[str], keys: list[dict[str, str]]) -> st.SearchStrategy[Any]:
    return st.lists(
        st.fixed_dictionaries(
            {"endpoint": st.sampled_from(endpoints), "keys": st.sampled_from(keys)},
            optional={"expirationTime": st.one_of(st.none(), st.integers(0, 2**41))},
        ),
        min_size=1,
        max_size=3,
    )


def nested(depth: int) -> Any:
    return ["x"] if depth == 0 else [nested(depth - 1)]


def _maybe(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(values, st.none())


GOOD: dict[str, st.SearchStrategy[Any]] = {
    "first_name": _maybe(st.one_of(TEXT, st.sampled_from(["x" * 200]))),
    "last_name": _maybe(TEXT),
    "email": _maybe(st.sampled_from(GOOD_EMAILS)),
    "phone": _maybe(st.sampled_from(GOOD_PHONES)),
    "telegram_chat_id": _maybe(st.one_of(st.integers(-(10**13), 10**13), st.just("777"))),
    "whatsapp": _maybe(st.sampled_from(GOOD_WHATSAPP)),
    "push_subscriptions": _maybe(subscriptions(GOOD_ENDPOINTS, GOOD_KEYS)),
    "timezone": _maybe(st.sampled_from(GOOD_ZONES)),
    "locale": _maybe(st.sampled_from(["de-DE", "en", "ru", "zh-Hant-TW"])),
    "consents": _maybe(st.dictionaries(st.sampled_from(CHANNELS), st.booleans(), max_size=3)),
    "attributes": _maybe(st.dictionaries(TEXT, JSON, min_size=1, max_size=4)),
}
BAD: dict[str, st.SearchStrategy[Any]] = {
    "first_name": st.one_of(st.sampled_from(UNSENDABLE + ODD[:3]), LONG, st.integers()),
    "email": st.one_of(st.sampled_from(BAD_EMAILS), st.integers(), st.just(["a@example.com"])),
    "phone": st.one_of(st.sampled_from(BAD_PHONES), st.integers(1, 10**12)),
    "telegram_chat_id": st.sampled_from(["x" * 40, True, "7\x00"]),
    "whatsapp": st.sampled_from(BAD_WHATSAPP),
    "push_subscriptions": st.one_of(
        subscriptions(BAD_ENDPOINTS, GOOD_KEYS),
        subscriptions(GOOD_ENDPOINTS, BAD_KEYS),
        st.just([{"endpoint": GOOD_ENDPOINTS[0], "keys": PUSH_KEYS, "extra": 1}]),
        st.just("https://push.example.com/a"),
    ),
    "timezone": st.sampled_from(BAD_ZONES),
    "locale": st.one_of(LONG, st.sampled_from(UNSENDABLE)),
    "consents": st.sampled_from([{"fax": True}, {"email": "yes"}, {"sms": 1}, ["email"]]),
    "attributes": st.one_of(
        st.dictionaries(st.sampled_from(UNSENDABLE), JSON, min_size=1, max_size=1),
        st.lists(JSON, max_size=2),
        st.just({"deep": nested(40)}),
    ),
    "suppressions": st.just({"email": "stop"}),  # the store's to say, never a shop's
    "Email": st.just("alex@example.com"),
}


@st.composite
def update(draw: st.DrawFn) -> dict[str, Any]:
    """One body of ``PUT /v1/contacts/{id}`` (an event's ``contact``): a few fields, and
    one time in four one of them broken."""
    body = {name: draw(good) for name, good in GOOD.items() if draw(st.integers(0, 2)) == 0}
    if draw(st.integers(0, 3)) == 0:
        broken = draw(st.sampled_from(sorted(BAD)))
        body[broken] = draw(BAD[broken])
    return body


#: (customer index, body): a few customers, updated in turn.
SCRIPT = st.lists(st.tuples(st.integers(0, 2), update()), min_size=1, max_size=4)
