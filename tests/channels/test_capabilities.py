"""Every adapter says what it does by naming its protocols (channels/base.py): all are a
``Channel``; only those that can look a message up are ``FindsSent``, only those that change
the message on its way ``ShowsAsSent``. mypy holds each adapter to the protocols it names; this
holds the declarations to the methods, so the engine's one ``isinstance`` at wiring finds them."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import channels
from channels.base import Channel, FindsSent, ShowsAsSent
from channels.email import EmailChannel
from channels.push import PushChannel
from channels.recording import RecordingChannel
from channels.sms import SmsChannel
from channels.telegram import TelegramChannel
from channels.unconfigured import UnconfiguredChannel
from channels.whatsapp import WhatsappChannel

OPTIONAL = {FindsSent: "find_sent", ShowsAsSent: "as_sent"}
DECLARED: dict[type, set[type]] = {
    EmailChannel: {ShowsAsSent},
    PushChannel: {ShowsAsSent},  # the preference action
    TelegramChannel: {ShowsAsSent},  # the preference link
    SmsChannel: {FindsSent, ShowsAsSent},
    WhatsappChannel: {FindsSent},
    RecordingChannel: set(),
    UnconfiguredChannel: set(),
}


def adapters() -> set[type]:
    """Every class in channels/ that implements ``send`` (whatever its name), but the
    protocols themselves."""
    found: set[type] = set()
    for info in pkgutil.iter_modules(channels.__path__):
        if info.name == "base":
            continue
        module = importlib.import_module(f"channels.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and "send" in vars(cls):
                found.add(cls)
    return found


def test_every_adapter_is_listed_here() -> None:
    assert adapters() == set(DECLARED)


def test_each_adapter_names_its_protocols_and_has_exactly_their_methods() -> None:
    for cls, capabilities in DECLARED.items():
        assert Channel in cls.__mro__, f"{cls.__name__} does not name Channel"
        for protocol, method in OPTIONAL.items():
            named = protocol in cls.__mro__
            assert named == (protocol in capabilities), f"{cls.__name__}: {protocol.__name__}"
            # A method without its protocol would go unused; a protocol without it, unchecked.
            assert (method in dir(cls)) == named, f"{cls.__name__}.{method}"
        for name in ("send", "check", "close"):
            assert inspect.iscoroutinefunction(getattr(cls, name)), f"{cls.__name__}.{name}"
