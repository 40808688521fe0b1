"""WhatsApp's settings: switched on by a sender (or a Messaging Service), sent with the Twilio
account of the SMS settings, at the Twilio API root they name (a local peer in tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

from channels.sms import SmsChannel
from channels.unconfigured import UnconfiguredChannel
from channels.whatsapp import WhatsappChannel
from orchestrator.app.providers import build_channels
from orchestrator.config.settings import load_settings

TWILIO = {
    "OMNI_TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
    "OMNI_TWILIO_AUTH_TOKEN": "twilio-SECRET",
    "OMNI_TWILIO_API_URL": "http://127.0.0.1:9",
    "OMNI_PUBLIC_URL": "https://omni.example.com",
}


def test_whatsapp_is_off_until_a_sender_is_set() -> None:
    assert load_settings(TWILIO).whatsapp is None


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OMNI_WHATSAPP_FROM", "+15550001111"),
        ("OMNI_WHATSAPP_MESSAGING_SERVICE_SID", "MG" + "2" * 32),
    ],
)
def test_a_sender_or_a_messaging_service_switches_it_on(variable: str, value: str) -> None:
    config = load_settings({**TWILIO, variable: value, "OMNI_WHATSAPP_PER_SECOND": "5"})
    wa = config.whatsapp
    assert wa is not None and wa.messages_per_second == 5.0
    assert (wa.account_sid, wa.auth_token.get_secret_value(), wa.base_url) == (
        "AC" + "1" * 32,
        "twilio-SECRET",
        "http://127.0.0.1:9",
    )
    assert wa.status_callback_url == "https://omni.example.com/webhooks/twilio/status"
    assert "twilio-SECRET" not in repr(config)


def test_whatsapp_without_the_twilio_account_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="OMNI_TWILIO_ACCOUNT_SID"):
        load_settings({"OMNI_WHATSAPP_FROM": "+15550001111"})


async def test_the_worker_builds_the_whatsapp_channel(tmp_path: Path) -> None:
    env = {**TWILIO, "OMNI_WHATSAPP_FROM": "+15550001111", "OMNI_DATA_DIR": str(tmp_path)}
    channels = build_channels(load_settings(env))
    assert isinstance(channels["whatsapp"], WhatsappChannel)
    # A Twilio account for WhatsApp alone leaves SMS without a provider, not half-configured.
    assert isinstance(channels["sms"], UnconfiguredChannel)
    with_sms = build_channels(load_settings({**env, "OMNI_TWILIO_FROM": "+15550002222"}))
    assert isinstance(with_sms["sms"], SmsChannel)
    for built in (channels, with_sms):
        for channel in built.values():
            if hasattr(channel, "close"):
                await channel.close()
